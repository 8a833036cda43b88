"""Reminders arrive at the right local time, never at night, never twice, never after the appointment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import reminders
from bot.models import IntakeRequest, IntakeSlot, OutboundMessage, Reminder
from dialogs.model import Inbound
from tests.conftest import LOCALES, STOCKHOLM


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM)


DAY, TWO_HOURS = timedelta(hours=24), timedelta(hours=2)


@pytest.mark.parametrize(
    ("appointment", "offset", "expected"),
    [
        (local(2026, 12, 3, 10), DAY, local(2026, 12, 2, 10)),
        (local(2026, 12, 3, 10), TWO_HOURS, local(2026, 12, 3, 8)),
        # 07:00 is in the quiet hours: the evening before instead.
        (local(2026, 12, 3, 9), TWO_HOURS, local(2026, 12, 2, 20)),
        (local(2026, 12, 3, 23, 30), TWO_HOURS, local(2026, 12, 3, 20)),
        (local(2026, 12, 3, 8, 30), DAY, local(2026, 12, 2, 8, 30)),
        (local(2026, 12, 3, 7, 59), DAY, local(2026, 12, 1, 20)),
        # Spring forward (28 March 2027): the day before at the same wall-clock time, 23 real hours.
        (local(2027, 3, 28, 10), DAY, local(2027, 3, 27, 10)),
        (local(2027, 3, 28, 10), TWO_HOURS, local(2027, 3, 28, 8)),
        # Fall back (25 October 2026): 25 real hours.
        (local(2026, 10, 25, 10), DAY, local(2026, 10, 24, 10)),
        (local(2026, 10, 25, 10), TWO_HOURS, local(2026, 10, 25, 8)),
    ],
)
def test_due_time(appointment: datetime, offset: timedelta, expected: datetime) -> None:
    due = reminders.due_time(appointment, offset, STOCKHOLM)
    assert due == expected
    assert due.astimezone(STOCKHOLM).utcoffset() == expected.utcoffset()
    assert not reminders.in_quiet_hours(due, STOCKHOLM)


def test_real_hours_across_the_clock_changes() -> None:
    spring = reminders.due_time(local(2027, 3, 28, 10), DAY, STOCKHOLM)
    autumn = reminders.due_time(local(2026, 10, 25, 10), DAY, STOCKHOLM)
    assert local(2027, 3, 28, 10).astimezone(UTC) - spring.astimezone(UTC) == timedelta(hours=23)
    assert local(2026, 10, 25, 10).astimezone(UTC) - autumn.astimezone(UTC) == timedelta(hours=25)


def test_reminders_in_the_past_or_too_close_are_dropped() -> None:
    appointment = local(2026, 12, 3, 9)
    both = reminders.due_times(appointment, [DAY, TWO_HOURS], STOCKHOLM, now=local(2026, 12, 1, 12))
    assert both == [local(2026, 12, 2, 9), local(2026, 12, 2, 20)]
    late = reminders.due_times(appointment, [DAY, TWO_HOURS], STOCKHOLM, now=local(2026, 12, 2, 12))
    assert late == [local(2026, 12, 2, 20)]
    # 07:00 moves to 20:00 the evening before; 20:30 is then within the hour: one reminder, not two.
    merged = reminders.due_times(
        appointment, [TWO_HOURS, timedelta(hours=12, minutes=30)], STOCKHOLM, now=local(2026, 11, 1)
    )
    assert merged == [local(2026, 12, 2, 20)]


JOURNEY = ("Hi", "2", "1", "Botkyrka", "1", "1990", "1", "1", "1")


async def _book(runner) -> IntakeRequest:
    for text in JOURNEY:
        await runner.handle("terminal", "terminal:r", Inbound(text=text))
    async with runner.factory() as session:
        return await session.scalar(select(IntakeRequest))


async def _sweep(runner, clock, instance: str = "a") -> dict[str, int]:
    return await reminders.sweep(
        runner.factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES, instance=instance
    )


async def _reminder_messages(factory) -> list[OutboundMessage]:
    async with factory() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.dedupe_key.like("reminder:%"))
        )
        return list(rows.all())


async def test_a_booking_gets_two_reminders_sent_once_each_in_the_persons_language(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner)
    appointment = request.slot.starts_at
    async with factory() as session:
        due = sorted((await session.scalars(select(Reminder.due_at))).all())
    assert due == [
        a.astimezone(STOCKHOLM)
        for a in reminders.due_times(appointment, reminders.DEFAULT_OFFSETS, STOCKHOLM, clock())
    ]
    assert len(due) == 2
    clock.now = due[0]
    assert (await _sweep(runner, clock))["sent"] == 1
    assert (await _sweep(runner, clock))["sent"] == 0
    clock.now = due[1] + timedelta(minutes=1)
    await _sweep(runner, clock)
    messages = await _reminder_messages(factory)
    assert len(messages) == 2
    text = messages[0].payload["text"]
    assert text.startswith("Reminder: your intake meeting is") and request.reference in text
    assert messages[0].channel == "terminal" and messages[0].address == "terminal:r"


async def test_two_instances_sweeping_at_once_send_each_reminder_once(
    runner, factory, clock, catalogue
) -> None:
    await _book(runner)
    async with factory() as session:
        due = sorted((await session.scalars(select(Reminder.due_at))).all())
    for moment in due:
        clock.now = moment
        outcomes = await asyncio.gather(*(_sweep(runner, clock, instance=f"i{n}") for n in range(4)))
        assert sum(o["sent"] for o in outcomes) == 1
    assert len(await _reminder_messages(factory)) == 2


async def test_after_downtime_a_due_reminder_is_sent_if_the_meeting_is_still_ahead(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner)
    clock.now = request.slot.starts_at - timedelta(hours=1)
    outcome = await _sweep(runner, clock)
    assert outcome["sent"] == 1 and outcome["superseded"] == 1, "both were due: only the later one is sent"
    [message] = await _reminder_messages(factory)
    assert request.reference in message.payload["text"]


async def test_after_downtime_past_the_meeting_nothing_is_sent(runner, factory, clock, catalogue) -> None:
    request = await _book(runner)
    clock.now = request.slot.starts_at + timedelta(minutes=5)
    outcome = await _sweep(runner, clock)
    assert outcome["sent"] == 0 and outcome["missed"] + outcome["superseded"] == 2
    assert await _reminder_messages(factory) == []


async def test_a_reminder_that_falls_due_at_night_waits_for_the_morning(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner)
    appointment = request.slot.starts_at.astimezone(STOCKHOLM)
    clock.now = datetime.combine(
        appointment.date() - timedelta(days=1), datetime.min.time(), STOCKHOLM
    ) + timedelta(hours=23)
    outcome = await _sweep(runner, clock)
    assert outcome["held"] >= 1 and outcome["sent"] == 0
    clock.now = clock.now + timedelta(hours=9)
    assert (await _sweep(runner, clock))["sent"] == 1


async def test_a_cancelled_request_is_not_reminded(runner, factory, clock, catalogue) -> None:
    request = await _book(runner)
    async with runner.factory() as session, session.begin():
        (await session.get(IntakeRequest, request.id)).status = "cancelled"
    clock.now = request.slot.starts_at - timedelta(hours=1)
    outcome = await _sweep(runner, clock)
    assert outcome["cancelled"] + outcome["superseded"] == 2 and outcome["sent"] == 0


async def test_the_scheduler_fires_the_sweep_that_sends_due_reminders(
    runner, factory, clock, catalogue
) -> None:
    from bot import scheduler

    request = await _book(runner)
    now = clock()  # daytime: the sweep holds reminders in the quiet hours
    async with factory() as session, session.begin():
        slot = await session.get(IntakeSlot, request.slot_id)
        slot.starts_at = now + timedelta(days=1)
        session.add(Reminder(intake_request_id=request.id, due_at=now - timedelta(minutes=1)))
    jobs = scheduler.create_scheduler("Europe/Stockholm")
    scheduler.add_reminder_sweep(
        jobs, factory, localedir=LOCALES, instance="t", every_seconds=3600, clock=clock
    )
    jobs.start()
    try:
        for _ in range(100):
            if await _reminder_messages(factory):
                break
            await asyncio.sleep(0.05)
    finally:
        jobs.shutdown(wait=False)
    assert len(await _reminder_messages(factory)) == 1
