"""Municipal staff and intake requests: who may act for which municipality, where a municipality's staff get
new requests (a Telegram chat), and what confirming, declining or proposing another time does.

Channel-neutral: the Telegram channel (bot/channels/telegram_staff.py) turns button presses into `act`; the
messages to staff are outputs queued in the outbox like any other. Staff read Swedish.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import Locale
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import audit, outbox, reminders
from bot.logs import pseudonym
from bot.models import (
    PRIORITY_REMINDER,
    ChannelIdentity,
    IntakeProposal,
    IntakeRequest,
    IntakeSlot,
    Municipality,
    MunicipalitySetting,
    Person,
    Profile,
    Staff,
    StaffScope,
)
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES, pick_text
from dialogs.model import Choice, Output

if TYPE_CHECKING:
    from bot.turns import TurnRunner

log = logging.getLogger(__name__)
LOCALES = Path(__file__).resolve().parent.parent / "locales"
STAFF_LANGUAGE = "sv"
STAFF_CHANNEL = "telegram"
ROLES = ("staff", "admin")
# Notices (to staff, and to a person about their request) go after replies, before bulk announcements.
PRIORITY_NOTICE = PRIORITY_REMINDER
# How many other free times a staff member is offered to propose.
PROPOSE_SLOTS = 5


# --- setting up: staff members and their chats (the CLI) -------------------------------------------------


class StaffError(Exception):
    """A setup command cannot be done; the message says why, in one line."""


async def _check_codes(session: AsyncSession, codes: list[str]) -> None:
    known = set((await session.scalars(select(Municipality.code).where(Municipality.code.in_(codes)))).all())
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise StaffError(f"unknown municipality code: {', '.join(unknown)} (use SCB codes such as 0127)")


async def set_staff_chat(session: AsyncSession, code: str, chat_id: int | None, now: datetime) -> None:
    """Where `code`'s staff get new intake requests; None: nowhere."""
    await _check_codes(session, [code])
    setting = await session.get(MunicipalitySetting, code)
    if setting is None:
        setting = MunicipalitySetting(code=code)
        session.add(setting)
    setting.telegram_chat_id, setting.updated_at = chat_id, now


async def staff_chats(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(code, name, chat id) of every municipality with a staff chat."""
    rows = await session.execute(
        select(MunicipalitySetting.code, Municipality.name, MunicipalitySetting.telegram_chat_id)
        .join(Municipality, Municipality.code == MunicipalitySetting.code)
        .where(MunicipalitySetting.telegram_chat_id.is_not(None))
        .order_by(MunicipalitySetting.code)
    )
    return [(code, name, chat_id) for code, name, chat_id in rows]


async def is_staff_chat(session: AsyncSession, chat_id: int) -> bool:
    found = await session.scalar(
        select(MunicipalitySetting.code).where(MunicipalitySetting.telegram_chat_id == chat_id).limit(1)
    )
    return found is not None


async def add_staff(
    session: AsyncSession, telegram_id: int, codes: list[str], role: str, now: datetime
) -> Staff:
    """Registers a staff member, or adds municipalities to one (and sets the role)."""
    if role not in ROLES:
        raise StaffError(f"role must be one of: {', '.join(ROLES)}")
    if not codes:
        raise StaffError("give at least one --municipality")
    await _check_codes(session, codes)
    member = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    if member is None:
        member = Staff(telegram_id=telegram_id, role=role, created_at=now, scopes=[])
        session.add(member)
    member.role = role
    have = {scope.municipality_code for scope in member.scopes}
    member.scopes.extend(
        StaffScope(municipality_code=code) for code in dict.fromkeys(codes) if code not in have
    )
    await session.flush()
    return member


async def remove_staff(session: AsyncSession, telegram_id: int, codes: list[str] | None = None) -> bool:
    """Removes a staff member, or only their scope for `codes`. False when there is no such member."""
    member = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    if member is None:
        return False
    if codes:
        member.scopes = [scope for scope in member.scopes if scope.municipality_code not in codes]
    if not codes or not member.scopes:
        await session.delete(member)
    await session.flush()
    return True


async def list_staff(session: AsyncSession) -> list[Staff]:
    return list((await session.scalars(select(Staff).order_by(Staff.id))).all())


# --- the card staff see for a request ----------------------------------------------------------------


def _t(tz: ZoneInfo) -> Translator:
    return Translator(LOCALES, STAFF_LANGUAGE, tz)


def language_name(code: str | None) -> str:
    """A person's language as staff read it ("engelska"), to book an interpreter."""
    if not code:
        return "?"
    name = Locale.parse(STAFF_LANGUAGE).languages.get("fa" if code == "prs" else code)
    if code == "prs":
        name = "dari"
    known = LANGUAGES.get(code)
    return name or (known.english_name if known else code)


async def _load(session: AsyncSession, request_id: int) -> IntakeRequest | None:
    return await session.get(IntakeRequest, request_id, populate_existing=True)


async def _open_proposal(session: AsyncSession, request_id: int) -> IntakeProposal | None:
    return await session.scalar(
        select(IntakeProposal)
        .where(IntakeProposal.intake_request_id == request_id, IntakeProposal.status == "open")
        .order_by(IntakeProposal.id.desc())
        .limit(1)
    )


async def card(session: AsyncSession, request: IntakeRequest, tz: ZoneInfo, headline: str = "") -> Output:
    """The request as staff see it, with the buttons its status allows. No phone number, no chat id."""
    t = _t(tz)
    _ = t._
    offering = request.offering
    lines = [headline] if headline else []
    lines.append(_("Intake request {ref}", ref=request.reference))
    lines.append(pick_text(offering.title, STAFF_LANGUAGE))
    where = ", ".join(
        part for part in (offering.provider.name if offering.provider else "", offering.street) if part
    )
    if where:
        lines.append(where)
    if request.slot:
        lines.append(_("Time: {when}", when=t.datetime(request.slot.starts_at)))
    else:
        lines.append(_("No time chosen."))
    lines.append(_("Language: {language}", language=language_name(request.language)))
    profile = await session.get(Profile, request.profile_id) if request.profile_id else None
    if profile is not None and profile.kind == "child" and profile.birth_year:
        lines.append(_("For: a child born {year}", year=profile.birth_year))
    choices: tuple[Choice, ...] = ()
    if request.status == "requested":
        proposal = await _open_proposal(session, request.id)
        if proposal is not None:
            lines.append(
                _("Proposed: {when}. Waiting for the answer.", when=t.datetime(proposal.slot.starts_at))
            )
        else:
            lines.append(_("Waiting for your answer."))
        choices = (
            Choice(f"staff:confirm:{request.id}", _("Confirm")),
            Choice(f"staff:decline:{request.id}", _("Decline")),
            Choice(f"staff:propose:{request.id}", _("Propose another time")),
        )
    else:
        status = {
            "confirmed": _("Confirmed."),
            "declined": _("Declined."),
            "cancelled": _("Cancelled by the person."),
        }
        lines.append(status.get(request.status, request.status))
    return Output(text="\n".join(lines), choices=choices)


async def notify_new_request(
    session: AsyncSession, request: IntakeRequest, *, now: datetime, tz: ZoneInfo
) -> bool:
    """Queues the new request's card to its municipality's staff chat, if one is set (same transaction)."""
    setting = await session.get(MunicipalitySetting, request.municipality_code)
    if setting is None or setting.telegram_chat_id is None:
        return False
    await session.refresh(request, ["offering", "slot"])
    outbox.queue(
        session,
        person_id=None,
        channel=STAFF_CHANNEL,
        address=str(setting.telegram_chat_id),
        output=await card(session, request, tz, _t(tz)._("New intake request.")),
        priority=PRIORITY_NOTICE,
        dedupe_key=f"staff:new:{request.id}",
        now=now,
    )
    return True


async def _notify_staff(
    session: AsyncSession, request: IntakeRequest, headline: str, now: datetime, tz: ZoneInfo
) -> None:
    setting = await session.get(MunicipalitySetting, request.municipality_code)
    if setting is None or setting.telegram_chat_id is None:
        return
    outbox.queue(
        session,
        person_id=None,
        channel=STAFF_CHANNEL,
        address=str(setting.telegram_chat_id),
        output=await card(session, request, tz, headline),
        priority=PRIORITY_NOTICE,
        now=now,
    )


# --- what staff do --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """`alert`: a refusal shown to the one who pressed; `notice`: a short confirmation; `card`: what the
    pressed message should now show; `wake`: channels with new messages in the outbox."""

    alert: str | None = None
    notice: str | None = None
    card: Output | None = None
    wake: set[str] = field(default_factory=set)


async def staff_member(session: AsyncSession, telegram_id: int) -> Staff | None:
    return await session.scalar(
        select(Staff).where(Staff.telegram_id == telegram_id).options(selectinload(Staff.scopes))
    )


async def act(
    session: AsyncSession,
    runner: TurnRunner,
    *,
    telegram_id: int,
    action: str,
    request_id: int,
    slot_id: int | None = None,
    now: datetime,
) -> Outcome:
    """A staff member pressed a button on a request's card. Only staff whose scope holds the request's
    municipality may act; anyone else changes nothing."""
    tz = runner.tz
    _ = _t(tz)._
    request = await _load(session, request_id)
    if request is None:
        return Outcome(alert=_("This request no longer exists."))
    member = await staff_member(session, telegram_id)
    if member is None or request.municipality_code not in {s.municipality_code for s in member.scopes}:
        name = (await session.get(Municipality, request.municipality_code)).name
        log.info("staff button refused", extra={"municipality": request.municipality_code})
        # Who tried is kept as a pseudonym: enough to see repeated attempts, not a Telegram id in the clear.
        audit.record(
            session,
            member.id if member else None,
            f"intake.{action}.refused",
            request.reference,
            now,
            who=pseudonym(str(telegram_id)),
            municipality=request.municipality_code,
        )
        return Outcome(
            alert=_("Only registered staff of {municipality} can answer this request.", municipality=name)
        )
    if action != "back":
        audit.record(session, member.id, f"intake.{action}", request.reference, now, slot=slot_id)
    if action == "back":
        return Outcome(card=await card(session, request, tz))
    if request.status != "requested":
        return Outcome(alert=_("This request is already answered."), card=await card(session, request, tz))
    if action == "confirm":
        return await _confirm(session, request, member, now, tz)
    if action == "decline":
        return await _decline(session, request, member, now, tz, ask=runner.interject)
    if action == "propose":
        return await _times_to_propose(session, request, now, tz)
    if action == "slot" and slot_id is not None:
        return await _propose(session, runner, request, member, slot_id, now)
    return Outcome(card=await card(session, request, tz))


async def _withdraw_proposals(session: AsyncSession, request: IntakeRequest, now: datetime) -> None:
    await session.execute(
        update(IntakeProposal)
        .where(IntakeProposal.intake_request_id == request.id, IntakeProposal.status == "open")
        .values(status="withdrawn", answered_at=now)
    )


async def _confirm(
    session: AsyncSession, request: IntakeRequest, member: Staff, now: datetime, tz: ZoneInfo
) -> Outcome:
    request.status, request.updated_at = "confirmed", now
    await _withdraw_proposals(session, request, now)
    log.info("intake request confirmed", extra={"request": request.id, "staff": member.id})
    title, ref = request.offering.title, request.reference

    def text(t: Translator) -> str:
        if request.slot:
            return t._(
                "Your intake meeting is confirmed: {title}, {when}, {address}. Reference {ref}.",
                title=pick_text(title, t.code),
                when=t.datetime(request.slot.starts_at),
                address=_address(request),
                ref=ref,
            )
        return t._(
            "Staff have accepted your request for {title} (reference {ref}). They will send you a time here.",
            title=pick_text(title, t.code),
            ref=ref,
        )

    from bot.intake import queue_calendar  # "add to calendar" on Telegram (bot/intake.py)

    wake = await tell_person(session, request, text, now, tz)
    wake |= await queue_calendar(session, request, now, tz)
    return Outcome(notice=_t(tz)._("Confirmed."), card=await card(session, request, tz), wake=wake)


async def _decline(
    session: AsyncSession,
    request: IntakeRequest,
    member: Staff,
    now: datetime,
    tz: ZoneInfo,
    ask: Callable[..., Awaitable[str | None]] | None = None,
) -> Outcome:
    from bot.intake import release_seat  # the freed seat goes to the waiting list (bot/intake.py)

    request.status, request.updated_at = "declined", now
    await _withdraw_proposals(session, request, now)
    await reminders.cancel_for(session, request.id)
    freed = await release_seat(session, request.slot_id, now=now, ask=ask)
    log.info("intake request declined", extra={"request": request.id, "staff": member.id})
    title, ref, reason = request.offering.title, request.reference, request.decline_reason

    def text(t: Translator) -> str:
        if reason:
            return t._(
                "Sorry, your request for {title} (reference {ref}) was declined: {reason}. Write MENU to "
                "look for other offerings.",
                title=pick_text(title, t.code),
                ref=ref,
                reason=reason,
            )
        return t._(
            "Sorry, your request for {title} (reference {ref}) was declined. Write MENU to look for other "
            "offerings.",
            title=pick_text(title, t.code),
            ref=ref,
        )

    wake = await tell_person(session, request, text, now, tz) | freed
    return Outcome(notice=_t(tz)._("Declined."), card=await card(session, request, tz), wake=wake)


async def free_times(session: AsyncSession, request: IntakeRequest, now: datetime) -> list[IntakeSlot]:
    """The next free times of the request's offering, other than the one it has."""
    query = (
        select(IntakeSlot)
        .where(
            IntakeSlot.offering_id == request.offering_id,
            IntakeSlot.starts_at > now,
            IntakeSlot.booked < IntakeSlot.capacity,
        )
        .order_by(IntakeSlot.starts_at)
        .limit(PROPOSE_SLOTS + 1)
    )
    slots = [slot for slot in (await session.scalars(query)).all() if slot.id != request.slot_id]
    return slots[:PROPOSE_SLOTS]


async def _times_to_propose(
    session: AsyncSession, request: IntakeRequest, now: datetime, tz: ZoneInfo
) -> Outcome:
    t = _t(tz)
    slots = await free_times(session, request, now)
    if not slots:
        return Outcome(alert=t._("There are no other free times for this offering."))
    current = await card(session, request, tz)
    choices = tuple(
        Choice(f"staff:slot:{request.id}:{slot.id}", t.datetime(slot.starts_at)) for slot in slots
    )
    text = current.text + "\n\n" + t._("Choose a time to propose:")
    return Outcome(
        card=Output(text=text, choices=(*choices, Choice(f"staff:back:{request.id}", t._("Back"))))
    )


async def _propose(
    session: AsyncSession,
    runner: TurnRunner,
    request: IntakeRequest,
    member: Staff,
    slot_id: int,
    now: datetime,
) -> Outcome:
    tz = runner.tz
    _ = _t(tz)._
    slot = next((s for s in await free_times(session, request, now) if s.id == slot_id), None)
    if slot is None:
        return Outcome(alert=_("That time is no longer free."), card=await card(session, request, tz))
    if request.person_id is None:
        return Outcome(alert=_("The person can no longer be reached."), card=await card(session, request, tz))
    await _withdraw_proposals(session, request, now)
    session.add(
        IntakeProposal(
            intake_request_id=request.id, slot_id=slot.id, staff_id=member.id, status="open", created_at=now
        )
    )
    await session.flush()
    channel = await runner.interject(
        session, request.person_id, "answer_proposal", {"proposal": request.id}, priority=PRIORITY_NOTICE
    )
    if channel is None:
        await _withdraw_proposals(session, request, now)
        return Outcome(alert=_("The person can no longer be reached."), card=await card(session, request, tz))
    log.info("intake time proposed", extra={"request": request.id, "staff": member.id})
    return Outcome(notice=_("Proposed."), card=await card(session, request, tz), wake={channel})


def _address(request: IntakeRequest) -> str:
    offering = request.offering
    return ", ".join(part for part in (offering.street, offering.city) if part)


async def tell_person(
    session: AsyncSession,
    request: IntakeRequest,
    text: Callable[[Translator], str],
    now: datetime,
    tz: ZoneInfo,
) -> set[str]:
    """Queues a notice to the person who made `request`, in their language, on the channel they last used;
    nothing for someone erased, opted out or unreachable. Returns the channel it goes out on."""
    if request.person_id is None:
        return set()
    person = await session.get(Person, request.person_id, options=[selectinload(Person.identities)])
    if person is None or person.opted_out_at is not None:
        return set()
    identity = _reachable(person)
    if identity is None:
        return set()
    t = Translator(LOCALES, person.language, tz)
    outbox.queue(
        session,
        person_id=person.id,
        channel=identity.channel,
        address=identity.address,
        output=Output(text=text(t), rtl=t.rtl),
        priority=PRIORITY_NOTICE,
        now=now,
    )
    return {identity.channel}


def _reachable(person: Person) -> ChannelIdentity | None:
    return next(
        (i for i in person.identities if i.channel == person.last_channel and i.unreachable_at is None), None
    )


# --- what the person answers to a proposed time (from their own turn) ------------------------------------


async def open_proposal_for(
    session: AsyncSession, person_id: int, request_id: int
) -> tuple[IntakeRequest, IntakeProposal] | None:
    request = await session.get(IntakeRequest, request_id)
    if request is None or request.person_id != person_id or request.status != "requested":
        return None
    proposal = await _open_proposal(session, request.id)
    return (request, proposal) if proposal is not None else None


async def answer_proposal(
    session: AsyncSession,
    person_id: int,
    request_id: int,
    accept: bool,
    now: datetime,
    tz: ZoneInfo,
    reminder_offsets: tuple[timedelta, ...] = reminders.DEFAULT_OFFSETS,
) -> tuple[str, IntakeRequest | None]:
    """("booked" | "full" | "declined" | "gone", request). Saying yes takes the seat with one conditional
    UPDATE, like a booking; the seat of the old time is freed. Staff are told either way."""
    found = await open_proposal_for(session, person_id, request_id)
    if found is None:
        return "gone", None
    request, proposal = found
    proposal.answered_at = now
    _ = _t(tz)._
    if not accept:
        proposal.status = "declined"
        await session.flush()
        await _notify_staff(session, request, _("The person said no to the proposed time."), now, tz)
        return "declined", request
    taken = await session.execute(
        update(IntakeSlot)
        .where(
            IntakeSlot.id == proposal.slot_id,
            IntakeSlot.starts_at > now,
            IntakeSlot.booked < IntakeSlot.capacity,
        )
        .values(booked=IntakeSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        proposal.status = "taken"
        await session.flush()
        await _notify_staff(
            session, request, _("The proposed time was taken before the person said yes."), now, tz
        )
        return "full", request
    if request.slot_id is not None:
        await session.execute(
            update(IntakeSlot)
            .where(IntakeSlot.id == request.slot_id, IntakeSlot.booked > 0)
            .values(booked=IntakeSlot.booked - 1)
            .execution_options(synchronize_session=False)
        )
    proposal.status = "accepted"
    request.slot_id, request.status, request.updated_at = proposal.slot_id, "confirmed", now
    await session.flush()
    await session.refresh(request, ["slot"])
    await reminders.cancel_for(session, request.id)
    reminders.schedule(session, request, request.slot.starts_at, reminder_offsets, tz, now)
    await _notify_staff(session, request, _("The person said yes to the proposed time."), now, tz)
    return "booked", request
