"""Reminders before an intake meeting. They are rows, the source of truth: the scheduler only triggers
`sweep`, which claims what is due, so a restart loses nothing and two instances never send one twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot import outbox
from bot.db import transaction
from bot.models import (
    PRIORITY_REMINDER,
    IntakeRequest,
    Municipality,
    Offering,
    Person,
    Reminder,
)
from bot.people import reachable_identity
from dialogs.i18n import Translator
from dialogs.model import Output

DEFAULT_OFFSETS = (timedelta(hours=24), timedelta(hours=2))
# No reminder between 21:00 and 08:00 local time; one that would fall there goes out the evening before.
QUIET_FROM, QUIET_UNTIL, EVENING_BEFORE = time(21, 0), time(8, 0), time(20, 0)
# Two reminders closer than this are one reminder (e.g. both moved to the same evening).
MERGE_WITHIN = timedelta(hours=1)
ACTIVE = ("requested", "confirmed")
BATCH = 200


_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """REMINDER_OFFSETS: "24h,2h" (also "1d", "90m") -> the offsets, longest first. Raises ValueError."""
    offsets = []
    for part in text.replace(" ", "").lower().split(","):
        number, unit = part[:-1], part[-1:]
        if unit not in _UNITS or not number.isdigit() or int(number) == 0:
            raise ValueError(f"reminder offset {part!r}: use a whole number and d, h or m, e.g. 24h,2h")
        offsets.append(int(number) * _UNITS[unit])
    if not offsets or len(offsets) > 5:
        raise ValueError("give one to five reminder offsets, e.g. 24h,2h")
    return tuple(sorted(set(offsets), reverse=True))


def in_quiet_hours(moment: datetime, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def _local(day, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def due_time(appointment: datetime, offset: timedelta, tz: ZoneInfo) -> datetime:
    """When to remind: whole days before keep the wall-clock time (right across a clock change), shorter
    offsets are exact; a time in the quiet hours moves to the evening before."""
    local = appointment.astimezone(tz)
    if offset % timedelta(days=1) == timedelta(0):
        due = _local(local.date() - offset, local.time(), tz)
    else:
        due = (appointment - offset).astimezone(tz)
    if due.time() >= QUIET_FROM:
        return _local(due.date(), EVENING_BEFORE, tz)
    if due.time() < QUIET_UNTIL:
        return _local(due.date() - timedelta(days=1), EVENING_BEFORE, tz)
    return due


def due_times(
    appointment: datetime, offsets: Iterable[timedelta], tz: ZoneInfo, now: datetime
) -> list[datetime]:
    """The reminders still ahead for an appointment, without near-duplicates, earliest first."""
    times: list[datetime] = []
    for due in sorted(due_time(appointment, offset, tz) for offset in offsets):
        if now < due < appointment and not (times and due - times[-1] < MERGE_WITHIN):
            times.append(due)
    return times


def schedule(
    session: AsyncSession,
    request: IntakeRequest,
    appointment: datetime,
    offsets: Iterable[timedelta],
    tz: ZoneInfo,
    now: datetime,
) -> list[Reminder]:
    reminders = [
        Reminder(intake_request_id=request.id, due_at=due) for due in due_times(appointment, offsets, tz, now)
    ]
    session.add_all(reminders)
    return reminders


async def cancel_for(session: AsyncSession, request_id: int) -> None:
    for reminder in (
        await session.scalars(
            select(Reminder).where(Reminder.intake_request_id == request_id, Reminder.status == "pending")
        )
    ).all():
        reminder.status = "cancelled"


async def sweep(
    factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    tz: ZoneInfo,
    localedir: Path,
    instance: str,
) -> dict[str, int]:
    """Handles every reminder that is due: queued in the outbox, marked missed or held until morning.
    Claiming, queueing and marking happen in one transaction, so each reminder is queued exactly once."""
    outcome = {"sent": 0, "missed": 0, "held": 0, "cancelled": 0, "superseded": 0}
    async with transaction(factory) as session:
        query = (
            select(Reminder)
            .where(Reminder.status == "pending", Reminder.due_at <= now)
            .order_by(Reminder.due_at)
            .limit(BATCH)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        due = list((await session.scalars(query)).all())
        latest = {reminder.intake_request_id: reminder for reminder in due}
        for reminder in due:
            if latest[reminder.intake_request_id] is not reminder:
                # Two reminders for one meeting are due at once (after downtime): only the later one goes out.
                reminder.status, result = "superseded", "superseded"
            else:
                result = await _handle(session, reminder, now, tz, localedir)
            reminder.claimed_by = instance
            outcome[result] += 1
    return outcome


async def _handle(
    session: AsyncSession, reminder: Reminder, now: datetime, tz: ZoneInfo, localedir: Path
) -> str:
    request = await session.scalar(
        select(IntakeRequest).where(IntakeRequest.id == reminder.intake_request_id)
    )
    appointment = request.slot.starts_at if request and request.slot else None
    if request is None or request.status not in ACTIVE or request.person_id is None or appointment is None:
        reminder.status = "cancelled"
        return "cancelled"
    if appointment <= now:
        reminder.status = "missed"
        return "missed"
    if in_quiet_hours(now, tz):
        morning = _next_morning(now, tz)
        if morning < appointment:
            reminder.due_at = morning
            return "held"
        reminder.status = "missed"
        return "missed"
    person = await session.scalar(
        select(Person).where(Person.id == request.person_id).options(selectinload(Person.identities))
    )
    identity = reachable_identity(person)
    if identity is None:
        reminder.status = "cancelled"
        return "cancelled"
    t = Translator(localedir, person.language, tz)
    outbox.queue(
        session,
        person_id=person.id,
        channel=identity.channel,
        address=identity.address,
        output=reminder_output(t, request, appointment, await _place(session, request.offering)),
        priority=PRIORITY_REMINDER,
        dedupe_key=f"reminder:{reminder.id}",
        now=now,
    )
    reminder.status, reminder.sent_at = "sent", now
    return "sent"


def _next_morning(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return _local(day, QUIET_UNTIL, tz)


def reminder_output(t: Translator, request: IntakeRequest, appointment: datetime, place: str) -> Output:
    # Never the English word CANCEL: Twilio takes it as an opt-out before it reaches us (docs/sms.md).
    text = t._(
        "Reminder: your intake meeting is {when}, {address}. Bring an ID document if you have one. "
        "Reference {ref}. To cancel, write UNBOOK.",
        when=t.datetime(appointment),
        address=place,
        ref=request.reference,
    )
    return Output(text=text, rtl=t.rtl)


async def _place(session: AsyncSession, offering: Offering) -> str:
    city = offering.city
    if not city:
        municipality = await session.get(Municipality, offering.municipality_code)
        city = municipality.name if municipality else ""
    return ", ".join(part for part in (offering.street, city) if part)
