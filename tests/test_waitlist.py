"""The waiting list: a full slot puts people in a queue; a freed seat is held and offered to the first one
with a deadline; yes books it, no or silence offers it to the next. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import intake
from bot.db import transaction
from bot.models import (
    IntakeRequest,
    IntakeSlot,
    Offering,
    OutboundMessage,
    Person,
    Profile,
    Reminder,
    WaitlistEntry,
)
from dialogs.model import Inbound

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
# Up to "Free times:" for Botkyrka's SFI A-B: language, consent, municipality, goal, birth year, result, book.
JOURNEY = ("Hi", "2", "1", "Botkyrka", "1", "1990", "1", "1")


async def _slot(factory, capacity: int, source_id: str = "bk-sfi-ab-dag-2027v") -> tuple[int, int]:
    async with transaction(factory) as session:
        offering = await session.scalar(select(Offering).where(Offering.source_id == source_id))
        slot = await session.scalar(
            select(IntakeSlot).where(IntakeSlot.offering_id == offering.id).order_by(IntakeSlot.starts_at)
        )
        slot.capacity, slot.booked = capacity, 0
    return offering.id, slot.id


async def _people(factory, n: int, schooling: list[int | None] | None = None) -> list[int]:
    async with transaction(factory) as session:
        people = [
            Person(
                language="en",
                profiles=[
                    Profile(
                        kind="self",
                        birth_year=1990,
                        municipality_code="0127",
                        schooling_years=schooling[i] if schooling else None,
                    )
                ],
            )
            for i in range(n)
        ]
        session.add_all(people)
        await session.flush()
        return [person.id for person in people]


async def _book_or_wait(factory, offering_id: int, person_id: int, slot_id: int, seed: int) -> str:
    async with transaction(factory) as session:
        offering = await session.get(Offering, offering_id)
        profile = await session.scalar(select(Profile.id).where(Profile.person_id == person_id))
        status, _ = await intake.book_or_wait(
            session,
            offering=offering,
            person_id=person_id,
            profile_id=profile,
            slot_id=slot_id,
            now=NOW,
            rng=random.Random(seed),
            language="en",
            channel="terminal",
        )
        return status


async def test_fifty_people_for_five_seats_five_booked_the_rest_waiting(factory, catalogue) -> None:
    offering_id, slot_id = await _slot(factory, capacity=5)
    people = await _people(factory, 50)
    results = await asyncio.gather(
        *(_book_or_wait(factory, offering_id, p, slot_id, i) for i, p in enumerate(people))
    )
    assert sorted(results) == ["booked"] * 5 + ["waiting"] * 45
    async with factory() as session:
        slot = await session.get(IntakeSlot, slot_id)
        requests = await session.scalar(select(func.count()).select_from(IntakeRequest))
        waiting = await session.scalar(
            select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.status == "waiting")
        )
    assert slot.booked == 5 and requests == 5 and waiting == 45


async def test_joining_twice_is_one_place(factory, catalogue) -> None:
    offering_id, slot_id = await _slot(factory, capacity=0)
    [person] = await _people(factory, 1)
    results = await asyncio.gather(
        *(_book_or_wait(factory, offering_id, person, slot_id, i) for i in range(4))
    )
    assert results == ["waiting"] * 4
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(WaitlistEntry)) == 1


async def test_adult_education_puts_the_least_schooled_first(factory, catalogue) -> None:
    async with transaction(factory) as session:
        offering = await session.scalar(select(Offering).where(Offering.category == "komvux-basic").limit(1))
        offering_id = offering.id
        slot = IntakeSlot(offering_id=offering.id, starts_at=NOW + timedelta(days=5), capacity=0, booked=0)
        session.add(slot)
    a, b, c = await _people(factory, 3, schooling=[12, 3, None])
    positions = {}
    async with transaction(factory) as session:
        offering = await session.get(Offering, offering_id)
        for person, minutes in ((a, 0), (b, 1), (c, 2)):
            profile = await session.scalar(select(Profile.id).where(Profile.person_id == person))
            _, entry, _ = await intake.join_waitlist(
                session,
                offering=offering,
                person_id=person,
                profile_id=profile,
                slot_id=None,
                language="en",
                now=NOW + timedelta(minutes=minutes),
            )
            positions[person] = entry.id
    async with factory() as session:
        entries = {pid: await session.get(WaitlistEntry, eid) for pid, eid in positions.items()}
        places = {pid: await intake._position(session, e) for pid, e in entries.items()}
    # Three years of schooling before twelve, unknown last (SL 20 kap. 9 §).
    assert places == {b: 1, a: 2, c: 3}


async def _journey(runner, address: str) -> str:
    for text in JOURNEY:
        reply = await runner.handle("terminal", address, Inbound(text=text))
    return reply.outputs[0].text


async def _slots_of(session, offering_id: int) -> list[IntakeSlot]:
    return list(
        (await session.scalars(select(IntakeSlot).where(IntakeSlot.offering_id == offering_id))).all()
    )


async def _last_text(factory, person_id: int) -> str:
    async with factory() as session:
        row = await session.scalar(
            select(OutboundMessage)
            .where(OutboundMessage.person_id == person_id)
            .order_by(OutboundMessage.id.desc())
            .limit(1)
        )
        return row.payload["text"]


async def test_a_freed_seat_is_held_offered_and_taken_through_the_chat(
    runner, factory, clock, catalogue
) -> None:
    # Anna books the last seat of the first time; then every time is full and Bashir joins the waiting list.
    async with transaction(factory) as session:
        offering = await session.scalar(select(Offering).where(Offering.source_id == "bk-sfi-ab-dag-2027v"))
        offering_id = offering.id
        for slot in await _slots_of(session, offering_id):
            slot.capacity, slot.booked = 1, 0
    await _journey(runner, "terminal:anna")
    reply = await runner.handle("terminal", "terminal:anna", Inbound(text="1"))
    assert "Booked" in reply.outputs[0].text
    async with transaction(factory) as session:
        for slot in await _slots_of(session, offering_id):
            slot.booked = slot.capacity
    assert "There are no free times now." in await _journey(runner, "terminal:bashir")
    reply = await runner.handle("terminal", "terminal:bashir", Inbound(text="1"))  # 1 Join the waiting list
    assert "waiting list, place 1" in reply.outputs[0].text
    # Anna cancels with the cancel word; the seat is held for Bashir and offered to him.
    async with factory() as session:
        anna_request = await session.scalar(select(IntakeRequest))
        slot = await session.get(IntakeSlot, anna_request.slot_id)
        booked_before = slot.booked
    reply = await runner.handle("terminal", "terminal:anna", Inbound(text="unbook"))
    assert reply.outputs[0].text.startswith("Cancel this booking?")
    reply = await runner.handle("terminal", "terminal:anna", Inbound(text="1"))
    assert "Your booking is cancelled" in reply.outputs[0].text
    async with factory() as session:
        entry = await session.scalar(select(WaitlistEntry))
        assert entry.status == "offered" and entry.offered_slot_id == anna_request.slot_id
        assert entry.offer_expires_at == clock() + timedelta(hours=24)
        assert (await session.get(IntakeSlot, anna_request.slot_id)).booked == booked_before, "held, not free"
        bashir = entry.person_id
    assert (await _last_text(factory, bashir)).startswith("A seat is free for you:")
    reply = await runner.handle("terminal", "terminal:bashir", Inbound(text="yes"))
    assert reply.outputs[0].text.startswith("Booked:")
    async with factory() as session:
        request = await session.scalar(select(IntakeRequest).where(IntakeRequest.person_id == bashir))
        assert request.slot_id == anna_request.slot_id and request.status == "requested"
        assert (await session.get(IntakeSlot, request.slot_id)).booked == booked_before
        assert await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.intake_request_id == request.id)
        )
        assert (await session.get(WaitlistEntry, entry.id)).status == "booked"
        cancelled = await session.get(IntakeRequest, anna_request.id)
        assert cancelled.status == "cancelled"
        assert not (
            await session.scalars(
                select(Reminder).where(
                    Reminder.intake_request_id == anna_request.id, Reminder.status == "pending"
                )
            )
        ).all()


async def _waiting_people(runner, factory, n: int) -> tuple[int, list[int]]:
    """n people through the chat, on the waiting list of a slot with one seat that one more person holds."""
    offering_id, slot_id = await _slot(factory, capacity=1)
    ids = []
    for i in range(n):
        await _journey(runner, f"terminal:w{i}")
    async with factory() as session:
        ids = list(
            (
                await session.scalars(
                    select(Person.id).where(Person.consented_at.is_not(None)).order_by(Person.id)
                )
            ).all()
        )
    async with transaction(factory) as session:
        offering = await session.get(Offering, offering_id)
        for minute, person in enumerate(ids):
            await intake.join_waitlist(
                session,
                offering=offering,
                person_id=person,
                profile_id=None,
                slot_id=slot_id,
                language="en",
                now=NOW + timedelta(minutes=minute),
            )
        (await session.get(IntakeSlot, slot_id)).booked = 1
    return slot_id, ids


async def test_an_offer_nobody_answers_goes_to_the_next_at_its_deadline(
    runner, factory, clock, catalogue
) -> None:
    slot_id, (first, second) = await _waiting_people(runner, factory, 2)
    async with transaction(factory) as session:
        await intake.release_seat(session, slot_id, now=clock(), ask=runner.interject, offer_hours=24)
    async with factory() as session:
        states = dict((await session.execute(select(WaitlistEntry.person_id, WaitlistEntry.status))).all())
    assert states == {first: "offered", second: "waiting"}
    # Not yet: a sweep before the deadline changes nothing.
    clock.advance(hours=23)
    assert (await intake.sweep_offers(factory, now=clock(), ask=runner.interject))["expired"] == 0
    clock.advance(hours=1, minutes=1)
    assert (await intake.sweep_offers(factory, now=clock(), ask=runner.interject))["expired"] == 1
    async with factory() as session:
        states = dict((await session.execute(select(WaitlistEntry.person_id, WaitlistEntry.status))).all())
        assert (await session.get(IntakeSlot, slot_id)).booked == 1, "still held, now for the second"
    assert states == {first: "expired", second: "offered"}
    # The first one answers too late: no longer open.
    reply = await runner.handle("terminal", "terminal:w0", Inbound(text="yes"))
    assert "no longer open" in reply.outputs[0].text
    # The second says no, nobody is left: the seat is free again.
    reply = await runner.handle("terminal", "terminal:w1", Inbound(text="no"))
    assert "next person" in reply.outputs[0].text
    async with factory() as session:
        assert (await session.get(IntakeSlot, slot_id)).booked == 0


async def test_an_offer_lasts_no_longer_than_until_the_meeting(runner, factory, clock, catalogue) -> None:
    slot_id, _ = await _waiting_people(runner, factory, 1)
    async with transaction(factory) as session:
        slot = await session.get(IntakeSlot, slot_id)
        slot.starts_at = clock() + timedelta(hours=3)
        await intake.release_seat(session, slot_id, now=clock(), ask=runner.interject, offer_hours=24)
    async with factory() as session:
        entry = await session.scalar(select(WaitlistEntry))
        assert entry.offer_expires_at == clock() + timedelta(hours=3)


async def test_the_scheduler_fires_the_offer_sweep(runner, factory, clock, catalogue) -> None:
    from bot import scheduler

    slot_id, (first, second) = await _waiting_people(runner, factory, 2)
    async with transaction(factory) as session:
        await intake.release_seat(session, slot_id, now=clock(), ask=runner.interject, offer_hours=1)
    clock.advance(hours=2)
    jobs = scheduler.create_scheduler("Europe/Stockholm")
    scheduler.add_waitlist_sweep(jobs, factory, ask=runner.interject, every_seconds=3600, clock=clock)
    jobs.start()
    try:
        for _ in range(100):
            async with factory() as session:
                if (
                    await session.scalar(
                        select(WaitlistEntry.status).where(WaitlistEntry.person_id == second)
                    )
                ) == "offered":
                    break
            await asyncio.sleep(0.05)
    finally:
        jobs.shutdown(wait=False)
    async with factory() as session:
        states = dict((await session.execute(select(WaitlistEntry.person_id, WaitlistEntry.status))).all())
    assert states == {first: "expired", second: "offered"}
