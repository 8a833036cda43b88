"""Seats are never overbooked and the same request twice is one booking, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import booking
from bot.db import transaction
from bot.models import IntakeRequest, IntakeSlot, Offering, Person, Profile


async def _people(factory, n: int) -> list[int]:
    async with transaction(factory) as session:
        people = [
            Person(language="en", profiles=[Profile(kind="self", birth_year=1990, municipality_code="0127")])
            for _ in range(n)
        ]
        session.add_all(people)
        await session.flush()
        return [person.id for person in people]


async def _slot(factory, capacity: int) -> tuple[int, int]:
    async with transaction(factory) as session:
        offering = await session.scalar(select(Offering).where(Offering.source_id == "bk-sfi-ab-dag-2027v"))
        slot = await session.scalar(
            select(IntakeSlot).where(IntakeSlot.offering_id == offering.id).order_by(IntakeSlot.starts_at)
        )
        slot.capacity, slot.booked = capacity, 0
    return offering.id, slot.id


async def _book(factory, offering_id: int, person_id: int, slot_id: int, now: datetime, seed: int) -> str:
    async with transaction(factory) as session:
        offering = await session.get(Offering, offering_id)
        status, _ = await booking.request_intake(
            session,
            offering=offering,
            person_id=person_id,
            profile_id=None,
            slot_id=slot_id,
            now=now,
            rng=random.Random(seed),
            language="en",
            channel="terminal",
        )
        return status


NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


async def test_the_last_seats_go_to_exactly_as_many_people_as_there_are_seats(factory, catalogue) -> None:
    offering_id, slot_id = await _slot(factory, capacity=3)
    people = await _people(factory, 12)
    results = await asyncio.gather(
        *(_book(factory, offering_id, p, slot_id, NOW, i) for i, p in enumerate(people))
    )
    assert sorted(results) == ["booked"] * 3 + ["full"] * 9
    async with factory() as session:
        slot = await session.get(IntakeSlot, slot_id)
        requests = await session.scalar(select(func.count()).select_from(IntakeRequest))
    assert slot.booked == 3 and requests == 3


async def test_the_same_request_twice_is_one_booking(factory, catalogue) -> None:
    offering_id, slot_id = await _slot(factory, capacity=5)
    [person] = await _people(factory, 1)
    results = await asyncio.gather(*(_book(factory, offering_id, person, slot_id, NOW, i) for i in range(4)))
    assert sorted(results) == ["booked"] + ["exists"] * 3
    async with factory() as session:
        assert (await session.get(IntakeSlot, slot_id)).booked == 1


async def test_a_slot_in_the_past_cannot_be_booked(factory, catalogue) -> None:
    offering_id, slot_id = await _slot(factory, capacity=5)
    [person] = await _people(factory, 1)
    async with factory() as session:
        starts_at = (await session.get(IntakeSlot, slot_id)).starts_at
    assert await _book(factory, offering_id, person, slot_id, starts_at + timedelta(minutes=1), 1) == "full"


def test_reference_codes_have_no_look_alike_characters() -> None:
    rng = random.Random(1)
    codes = {booking.new_reference(rng) for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", code)
        assert not set(code) & set("0O1IL2Z5S8B6G")


def test_a_typed_reference_is_normalised() -> None:
    assert booking.normalise_reference(" k7p 3qx") == "K7P-3QX"
