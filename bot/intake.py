"""Intake requests after the booking: cancelling, the waiting list and the staff actions of the CLI.

What staff may do to a request is bot/staff.py's (confirm, decline, propose another time; the Telegram
buttons call it); here the same actions are reached by the command line, with the staff member's scope checked
and every action audited. The waiting list:

- A person who finds every time of an offering full may wait for a seat (`join_waitlist`); so may one whose
  time was taken while they booked (`book_or_wait`). One active place per person and offering.
- When a seat frees up (the person cancels, staff decline), it is *held* for the first waiting person and
  offered to them with a deadline (`release_seat`): the seat is never counted free in between, so nobody else
  takes it while they think, and a slot still never holds more than its capacity.
- They say yes: the held seat becomes their booking, with reminders. They say no, or the deadline passes
  (`sweep_offers`, every minute beside the reminder sweep): the next waiting person is offered it; with
  nobody left, the seat is free again.
- Order: first come, first served; for municipal adult education the least schooled first (the Education
  Act, 20 kap. 9 §: priority to those with the least education), then first come.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot import audit, booking, calendar_file, outbox, reminders, staff
from bot.db import transaction
from bot.eligibility import ADULT_EDUCATION
from bot.models import (
    IntakeProposal,
    IntakeRequest,
    IntakeSlot,
    Offering,
    Person,
    Profile,
    Staff,
    WaitlistEntry,
)
from bot.people import reachable_identity
from bot.phones import to_e164
from dialogs.i18n import Translator
from dialogs.languages import pick_text
from dialogs.model import Output

log = logging.getLogger(__name__)
DEFAULT_OFFER_HOURS = 24
ACTIVE = ("requested", "confirmed")
WAITING = ("waiting", "offered")
# The step that asks a waiting person whether they take a freed seat (dialogs/bookings.py).
OFFER_STEP = "answer_waitlist"

# Asks a person something outside their own turn: TurnRunner.interject (session, person id, step, values).
Asker = Callable[..., Awaitable[str | None]]


class IntakeError(Exception):
    """A staff command cannot be done; the message says why, in one line."""


# --- the waiting list ----------------------------------------------------------------------------------


async def _position(session: AsyncSession, entry: WaitlistEntry) -> int:
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.offering_id == entry.offering_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.id != entry.id,
            *_ahead_of(entry),
        )
    )
    return (ahead or 0) + 1


def _ahead_of(entry: WaitlistEntry) -> list:
    first_come = (WaitlistEntry.created_at < entry.created_at) | (
        (WaitlistEntry.created_at == entry.created_at) & (WaitlistEntry.id < entry.id)
    )
    if entry.offering.category not in ADULT_EDUCATION:
        return [first_come]
    if entry.schooling_years is None:
        return [WaitlistEntry.schooling_years.is_not(None) | first_come]
    return [
        (WaitlistEntry.schooling_years < entry.schooling_years)
        | ((WaitlistEntry.schooling_years == entry.schooling_years) & first_come)
    ]


async def join_waitlist(
    session: AsyncSession,
    *,
    offering: Offering,
    person_id: int,
    profile_id: int | None,
    slot_id: int | None,
    language: str | None,
    now: datetime,
) -> tuple[str, WaitlistEntry | None, int]:
    """("waiting" | "exists" | "booked", entry, place in the queue). "booked": the person already has an
    active request for this offering (no need to wait)."""
    if await booking.active_request(session, person_id, offering.id) is not None:
        return "booked", None, 0
    existing = await _active_entry(session, person_id, offering.id)
    if existing is not None:
        return "exists", existing, await _position(session, existing)
    profile = await session.get(Profile, profile_id) if profile_id else None
    entry = WaitlistEntry(
        offering_id=offering.id,
        slot_id=slot_id,
        person_id=person_id,
        profile_id=profile_id,
        schooling_years=profile.schooling_years if profile else None,
        language=language,
        status="waiting",
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        existing = await _active_entry(session, person_id, offering.id)
        return "exists", existing, await _position(session, existing) if existing else 0
    await session.refresh(entry, ["offering"])
    log.info("waiting list joined", extra={"offering": offering.id})
    return "waiting", entry, await _position(session, entry)


async def _active_entry(session: AsyncSession, person_id: int, offering_id: int) -> WaitlistEntry | None:
    return await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.person_id == person_id,
            WaitlistEntry.offering_id == offering_id,
            WaitlistEntry.status.in_(WAITING),
        )
    )


async def book_or_wait(
    session: AsyncSession,
    *,
    offering: Offering,
    person_id: int,
    profile_id: int | None,
    slot_id: int | None,
    now: datetime,
    rng,
    language: str | None,
    channel: str | None,
) -> tuple[str, IntakeRequest | WaitlistEntry | None]:
    """Books the slot, or, when it is full, puts the person on the offering's waiting list:
    ("booked" | "exists" | "waiting", the request or the entry)."""
    status, request = await booking.request_intake(
        session,
        offering=offering,
        person_id=person_id,
        profile_id=profile_id,
        slot_id=slot_id,
        now=now,
        rng=rng,
        language=language,
        channel=channel,
    )
    if status != "full":
        return status, request
    status, entry, _ = await join_waitlist(
        session,
        offering=offering,
        person_id=person_id,
        profile_id=profile_id,
        slot_id=slot_id,
        language=language,
        now=now,
    )
    return ("waiting" if status == "exists" else status), entry


async def _next_waiting(session: AsyncSession, slot: IntakeSlot) -> WaitlistEntry | None:
    offering = await session.get(Offering, slot.offering_id)
    order = [WaitlistEntry.created_at, WaitlistEntry.id]
    if offering is not None and offering.category in ADULT_EDUCATION:
        order = [WaitlistEntry.schooling_years.is_(None), WaitlistEntry.schooling_years, *order]
    query = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.offering_id == slot.offering_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.person_id.is_not(None),
            (WaitlistEntry.slot_id.is_(None)) | (WaitlistEntry.slot_id == slot.id),
        )
        .order_by(*order)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WaitlistEntry)
    return await session.scalar(query)


async def _free(session: AsyncSession, slot_id: int) -> None:
    await session.execute(
        update(IntakeSlot)
        .where(IntakeSlot.id == slot_id, IntakeSlot.booked > 0)
        .values(booked=IntakeSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )


async def release_seat(
    session: AsyncSession,
    slot_id: int | None,
    *,
    now: datetime,
    ask: Asker | None,
    offer_hours: int = DEFAULT_OFFER_HOURS,
) -> set[str]:
    """A seat of `slot_id` is no longer wanted: held and offered to the first waiting person who can be asked,
    or counted free. Returns the channels with new messages."""
    if slot_id is None:
        return set()
    slot = await session.get(IntakeSlot, slot_id)
    if slot is None:
        return set()
    deadline = min(now + timedelta(hours=offer_hours), slot.starts_at)
    while ask is not None and slot.starts_at > now:
        entry = await _next_waiting(session, slot)
        if entry is None:
            break
        entry.status, entry.offered_slot_id, entry.offer_expires_at = "offered", slot.id, deadline
        entry.updated_at = now
        await session.flush()
        await session.refresh(entry, ["offered_slot"])
        channel = await ask(session, entry.person_id, OFFER_STEP, {"waitlist": entry.id}, priority=5)
        if channel is not None:
            log.info("waiting list offer", extra={"entry": entry.id, "slot": slot.id})
            return {channel}
        entry.status, entry.offered_slot_id, entry.offer_expires_at = "expired", None, None
    await _free(session, slot.id)
    return set()


async def open_offer(
    session: AsyncSession, person_id: int, entry_id: int, now: datetime
) -> WaitlistEntry | None:
    entry = await session.get(WaitlistEntry, entry_id)
    if (
        entry is None
        or entry.person_id != person_id
        or entry.status != "offered"
        or entry.offered_slot is None
        or entry.offer_expires_at is None
        or entry.offer_expires_at <= now
    ):
        return None
    return entry


async def answer_offer(
    session: AsyncSession,
    *,
    person_id: int,
    entry_id: int,
    accept: bool,
    now: datetime,
    tz: ZoneInfo,
    rng,
    channel: str | None,
    ask: Asker | None,
    offsets: tuple[timedelta, ...] = reminders.DEFAULT_OFFSETS,
    offer_hours: int = DEFAULT_OFFER_HOURS,
) -> tuple[str, IntakeRequest | None, set[str]]:
    """("booked" | "declined" | "gone", request, channels woken). Yes: the held seat becomes the person's
    booking (reminders, staff told). No: the seat goes to the next waiting person."""
    entry = await open_offer(session, person_id, entry_id, now)
    if entry is None:
        return "gone", None, set()
    slot_id = entry.offered_slot_id
    if not accept:
        entry.status, entry.updated_at = "declined", now
        return (
            "declined",
            None,
            await release_seat(session, slot_id, now=now, ask=ask, offer_hours=offer_hours),
        )
    status, request = await booking.request_intake(
        session,
        offering=entry.offering,
        person_id=person_id,
        profile_id=entry.profile_id,
        slot_id=None,  # the seat is already held for them
        now=now,
        rng=rng,
        language=entry.language,
        channel=channel,
    )
    if status != "booked" or request is None:
        entry.status, entry.updated_at = "left", now
        return (
            "gone",
            request,
            await release_seat(session, slot_id, now=now, ask=ask, offer_hours=offer_hours),
        )
    request.slot_id = slot_id
    entry.status, entry.intake_request_id, entry.updated_at = "booked", request.id, now
    await session.flush()
    await session.refresh(request, ["slot", "offering"])
    reminders.schedule(session, request, request.slot.starts_at, offsets, tz, now)
    await staff.notify_new_request(session, request, now=now, tz=tz)
    log.info("waiting list offer taken", extra={"entry": entry.id})
    return "booked", request, set()


async def leave_waitlist(session: AsyncSession, person_id: int, entry_id: int, now: datetime) -> bool:
    entry = await session.get(WaitlistEntry, entry_id)
    if entry is None or entry.person_id != person_id or entry.status != "waiting":
        return False
    entry.status, entry.updated_at = "left", now
    return True


async def sweep_offers(
    factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    ask: Asker | None,
    offer_hours: int = DEFAULT_OFFER_HOURS,
) -> dict[str, int]:
    """Offers nobody answered by their deadline: expired, and the seat offered to the next waiting person."""
    outcome = {"expired": 0}
    async with transaction(factory) as session:
        query = (
            select(WaitlistEntry)
            .where(WaitlistEntry.status == "offered", WaitlistEntry.offer_expires_at <= now)
            .order_by(WaitlistEntry.offer_expires_at)
            .limit(200)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WaitlistEntry)
        for entry in (await session.scalars(query)).all():
            slot_id = entry.offered_slot_id
            entry.status, entry.updated_at = "expired", now
            outcome["expired"] += 1
            await release_seat(session, slot_id, now=now, ask=ask, offer_hours=offer_hours)
    return outcome


# --- the nightly sync changed or withdrew an offering with bookings -----------------------------------


async def tell_catalogue_changes(
    factory: async_sessionmaker[AsyncSession], *, now: datetime, tz: ZoneInfo
) -> dict[str, int]:
    """After a sync run: active requests whose offering was withdrawn, or changed (its text, place or times)
    since the request was made or last told, are marked (`intake list --status changed` shows them), and the
    person (in their language, on their last channel) and the municipality's staff chat are told, once per
    change."""
    told = {"withdrawn": 0, "changed": 0}
    async with transaction(factory) as session:
        rows = (
            await session.execute(
                select(IntakeRequest, Offering)
                .join(Offering, Offering.id == IntakeRequest.offering_id)
                .where(
                    IntakeRequest.status.in_(ACTIVE),
                    (Offering.status == "withdrawn")
                    | (
                        Offering.updated_at
                        > func.coalesce(IntakeRequest.catalogue_changed_at, IntakeRequest.created_at)
                    ),
                )
                .limit(5000)
            )
        ).all()
        for request, offering in rows:
            kind = "withdrawn" if offering.status == "withdrawn" else "changed"
            if kind == "withdrawn" and request.catalogue_change == "withdrawn":
                continue
            request.catalogue_change, request.catalogue_changed_at = kind, now
            title, ref, place = offering.title, request.reference, _address(offering)

            def text(t: Translator, kind=kind, title=title, ref=ref, place=place) -> str:
                if kind == "withdrawn":
                    return t._(
                        "{title} is no longer offered. Staff will contact you about your booking {ref}. "
                        "Write MENU to look for other offerings.",
                        title=pick_text(title, t.code),
                        ref=ref,
                    )
                return t._(
                    "{title} has changed. Check the time and place of your booking {ref}: {place}. "
                    "Write MENU and choose My bookings.",
                    title=pick_text(title, t.code),
                    ref=ref,
                    place=place,
                )

            await staff.tell_person(session, request, text, now, tz)
            headline = (
                staff._t(tz)._("The offering was withdrawn by the catalogue sync.")
                if kind == "withdrawn"
                else staff._t(tz)._("The offering was changed by the catalogue sync.")
            )
            await staff._notify_staff(session, request, headline, now, tz)
            told[kind] += 1
    if any(told.values()):
        log.info("bookings told of catalogue changes", extra=told)
    return told


# --- "add to calendar" ----------------------------------------------------------------------------------


async def queue_calendar(
    session: AsyncSession, request: IntakeRequest, now: datetime, tz: ZoneInfo
) -> set[str]:
    """An iCalendar file of the confirmed meeting, to a person on Telegram (SMS cannot carry it)."""
    if request.person_id is None or request.slot is None:
        return set()
    person = await session.get(Person, request.person_id, options=[selectinload(Person.identities)])
    identity = reachable_identity(person) if person and person.opted_out_at is None else None
    if identity is None or identity.channel != "telegram":
        return set()
    t = Translator(staff.LOCALES, person.language, tz)
    data = calendar_file.intake_event(
        reference=request.reference,
        title=pick_text(request.offering.title, t.code),
        place=_address(request.offering),
        starts_at=request.slot.starts_at,
        tz=tz,
        now=now,
    )
    outbox.queue(
        session,
        person_id=person.id,
        channel=identity.channel,
        address=identity.address,
        output=Output(
            text=t._("Add the meeting to your calendar:"),
            rtl=t.rtl,
            attachment=calendar_file.attachment(request.reference, data),
        ),
        priority=staff.PRIORITY_NOTICE,
        dedupe_key=f"calendar:{request.id}:{request.slot_id}",
        now=now,
    )
    return {identity.channel}


# --- the person's own bookings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mine:
    """One line of "My bookings": a request (kind "request") or a place on a waiting list ("waiting")."""

    kind: str
    id: int
    reference: str | None
    title: dict
    status: str
    starts_at: datetime | None
    address: str
    offering_id: int
    position: int | None = None


def _address(offering: Offering) -> str:
    return ", ".join(part for part in (offering.street, offering.city) if part)


async def my_bookings(session: AsyncSession, person_id: int, now: datetime) -> list[Mine]:
    """The person's requests, active or ended in the last 30 days, and their places in waiting lists."""
    since = now - timedelta(days=30)
    requests = (
        await session.scalars(
            select(IntakeRequest)
            .where(
                IntakeRequest.person_id == person_id,
                IntakeRequest.status.in_(ACTIVE) | (IntakeRequest.updated_at >= since),
            )
            .order_by(IntakeRequest.created_at.desc())
            .limit(20)
        )
    ).all()
    found = [
        Mine(
            "request",
            r.id,
            r.reference,
            r.offering.title,
            r.status,
            r.slot.starts_at if r.slot else None,
            _address(r.offering),
            r.offering_id,
        )
        for r in requests
    ]
    entries = (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.person_id == person_id, WaitlistEntry.status.in_(WAITING))
            .order_by(WaitlistEntry.created_at)
        )
    ).all()
    for entry in entries:
        found.append(
            Mine(
                "waiting",
                entry.id,
                None,
                entry.offering.title,
                entry.status,
                entry.offered_slot.starts_at if entry.offered_slot else None,
                _address(entry.offering),
                entry.offering_id,
                await _position(session, entry) if entry.status == "waiting" else None,
            )
        )
    return found


async def cancel(
    session: AsyncSession,
    *,
    person_id: int,
    request_id: int,
    now: datetime,
    tz: ZoneInfo,
    ask: Asker | None,
    offer_hours: int = DEFAULT_OFFER_HOURS,
) -> tuple[IntakeRequest | None, set[str]]:
    """The person cancels their request: its reminders and open proposals end, staff are told and the seat
    goes to the waiting list (or is free again). None when it is not theirs or not active."""
    request = await session.get(IntakeRequest, request_id, populate_existing=True)
    if request is None or request.person_id != person_id or request.status not in ACTIVE:
        return None, set()
    request.status, request.updated_at = "cancelled", now
    await _end_proposals(session, request.id, now)
    await reminders.cancel_for(session, request.id)
    await session.flush()
    await staff._notify_staff(session, request, staff._t(tz)._("The person cancelled."), now, tz)
    wake = await release_seat(session, request.slot_id, now=now, ask=ask, offer_hours=offer_hours)
    log.info("intake request cancelled", extra={"request": request.id})
    return request, wake


async def _end_proposals(session: AsyncSession, request_id: int, now: datetime) -> None:
    await session.execute(
        update(IntakeProposal)
        .where(IntakeProposal.intake_request_id == request_id, IntakeProposal.status == "open")
        .values(status="withdrawn", answered_at=now)
    )


async def change_time(
    session: AsyncSession,
    *,
    person_id: int,
    request_id: int,
    slot_id: int,
    now: datetime,
    tz: ZoneInfo,
    ask: Asker | None,
    offsets: tuple[timedelta, ...] = reminders.DEFAULT_OFFSETS,
    offer_hours: int = DEFAULT_OFFER_HOURS,
) -> tuple[str, IntakeRequest | None, set[str]]:
    """The person moves their request to another free time of the same offering: ("booked" | "full" |
    "gone", request, woken). The new seat is taken with the conditional UPDATE before the old one is let go;
    the request waits for staff again."""
    request = await session.get(IntakeRequest, request_id, populate_existing=True)
    if request is None or request.person_id != person_id or request.status not in ACTIVE:
        return "gone", None, set()
    if slot_id == request.slot_id:
        return "booked", request, set()
    if not await booking._take_seat(session, request.offering_id, slot_id, now):
        return "full", request, set()
    old = request.slot_id
    request.slot_id, request.status, request.updated_at = slot_id, "requested", now
    await _end_proposals(session, request.id, now)
    await reminders.cancel_for(session, request.id)
    await session.flush()
    await session.refresh(request, ["slot"])
    reminders.schedule(session, request, request.slot.starts_at, offsets, tz, now)
    await staff._notify_staff(session, request, staff._t(tz)._("The person changed the time."), now, tz)
    wake = await release_seat(session, old, now=now, ask=ask, offer_hours=offer_hours)
    return "booked", request, wake


# --- staff on the command line -----------------------------------------------------------------------------


async def staff_by(session: AsyncSession, *, telegram_id: int | None, phone: str | None) -> Staff:
    """The staff member a command acts as (by Telegram id or phone number)."""
    if telegram_id is None and not phone:
        raise IntakeError("give --staff-telegram-id or --staff-phone")
    if telegram_id is not None:
        member = await staff.staff_member(session, telegram_id)
    else:
        number = to_e164(phone)
        member = await session.scalar(
            select(Staff).where(Staff.phone == (number or phone)).options(selectinload(Staff.scopes))
        )
    if member is None:
        raise IntakeError("no such staff member (register them with `vagvisare staff add`)")
    return member


def scope(member: Staff) -> set[str]:
    return {s.municipality_code for s in member.scopes}


async def find_request(session: AsyncSession, member: Staff, reference: str) -> IntakeRequest:
    """The request with this reference, if it is the member's municipality's; otherwise an error that does not
    say whether it exists."""
    request = await session.scalar(
        select(IntakeRequest).where(IntakeRequest.reference == booking.normalise_reference(reference))
    )
    if request is None or request.municipality_code not in scope(member):
        raise IntakeError(f"no request {reference} in your municipalities")
    return request


async def list_requests(
    session: AsyncSession, member: Staff, *, municipality: str | None = None, status: str | None = None
) -> list[IntakeRequest]:
    codes = scope(member)
    if municipality is not None:
        if municipality not in codes:
            raise IntakeError(f"you are not staff of {municipality}")
        codes = {municipality}
    query = select(IntakeRequest).where(IntakeRequest.municipality_code.in_(codes))
    if status == "changed":
        query = query.where(IntakeRequest.catalogue_change.is_not(None))
    elif status:
        query = query.where(IntakeRequest.status == status)
    return list((await session.scalars(query.order_by(IntakeRequest.created_at).limit(500))).all())


def _audit(
    session: AsyncSession, member: Staff, action: str, request: IntakeRequest, now: datetime, **details
) -> None:
    audit.record(session, member.id, f"intake.{action}", request.reference, now, **details)


async def staff_confirm(
    session: AsyncSession, member: Staff, reference: str, *, now: datetime, tz: ZoneInfo
) -> staff.Outcome:
    request = await _open_request(session, member, reference)
    _audit(session, member, "confirm", request, now)
    return await staff._confirm(session, request, member, now, tz)


async def staff_decline(
    session: AsyncSession,
    member: Staff,
    reference: str,
    reason: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    ask: Asker | None,
) -> staff.Outcome:
    request = await _open_request(session, member, reference)
    reason = " ".join(reason.split())[:200]
    if not reason:
        raise IntakeError("give a --reason: the person is told it")
    request.decline_reason = reason
    _audit(session, member, "decline", request, now, reason=reason)
    return await staff._decline(session, request, member, now, tz, ask=ask)


async def staff_propose(
    session: AsyncSession, member: Staff, reference: str, at: datetime, *, now: datetime, runner
) -> staff.Outcome:
    """Proposes the time `at` (a slot of the offering; one seat is added at that time if there is none)."""
    request = await _open_request(session, member, reference)
    if at <= now:
        raise IntakeError("the time has passed")
    slot = await session.scalar(
        select(IntakeSlot).where(IntakeSlot.offering_id == request.offering_id, IntakeSlot.starts_at == at)
    )
    if slot is None:
        slot = IntakeSlot(offering_id=request.offering_id, starts_at=at, capacity=1, booked=0)
        session.add(slot)
        await session.flush()
    elif slot.booked >= slot.capacity:
        raise IntakeError("that time is full")
    _audit(session, member, "propose", request, now, at=at.isoformat())
    outcome = await staff._propose(session, runner, request, member, slot.id, now)
    if outcome.alert:
        raise IntakeError(outcome.alert)
    return outcome


async def _open_request(session: AsyncSession, member: Staff, reference: str) -> IntakeRequest:
    request = await find_request(session, member, reference)
    if request.status != "requested":
        raise IntakeError(f"{request.reference} is already {request.status}")
    return request


def describe(request: IntakeRequest, t: Translator) -> dict[str, str]:
    """A request as the CLI shows it (no phone number, no chat id)."""
    return {
        "reference": request.reference,
        "municipality": request.municipality_code,
        "offering": pick_text(request.offering.title, "sv"),
        "time": t.datetime(request.slot.starts_at) if request.slot else "-",
        "status": request.status,
        "language": staff.language_name(request.language),
        "reason": request.decline_reason or "",
        "catalogue": request.catalogue_change or "",
        "created": t.datetime(request.created_at),
    }
