"""Intake requests: a seat is never given twice, and the same request made twice is one booking."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import IntakeRequest, IntakeSlot, Offering

# No look-alikes: without 0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G.
REFERENCE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
REFERENCE_TRIES = 5


def new_reference(rng: random.Random) -> str:
    code = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{code[:3]}-{code[3:]}"


def normalise_reference(text: str) -> str:
    """What a person types from a desk slip ("k7p 3qx") in the stored form ("K7P-3QX")."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{letters[:3]}-{letters[3:]}" if len(letters) == 6 else text.upper()


async def free_slots(session: AsyncSession, offering_id: int, now: datetime) -> list[IntakeSlot]:
    return list(
        (
            await session.scalars(
                select(IntakeSlot)
                .where(
                    IntakeSlot.offering_id == offering_id,
                    IntakeSlot.starts_at > now,
                    IntakeSlot.booked < IntakeSlot.capacity,
                )
                .order_by(IntakeSlot.starts_at)
            )
        ).all()
    )


async def has_future_slots(session: AsyncSession, offering_id: int, now: datetime) -> bool:
    found = await session.scalar(
        select(IntakeSlot.id)
        .where(IntakeSlot.offering_id == offering_id, IntakeSlot.starts_at > now)
        .limit(1)
    )
    return found is not None


async def active_request(session: AsyncSession, person_id: int, offering_id: int) -> IntakeRequest | None:
    return await session.scalar(
        select(IntakeRequest).where(
            IntakeRequest.person_id == person_id,
            IntakeRequest.offering_id == offering_id,
            IntakeRequest.status.in_(("requested", "confirmed")),
        )
    )


async def request_intake(
    session: AsyncSession,
    *,
    offering: Offering,
    person_id: int,
    profile_id: int | None,
    slot_id: int | None,
    now: datetime,
    rng: random.Random,
    language: str | None,
    channel: str | None,
) -> tuple[str, IntakeRequest | None]:
    """Returns ("booked" | "exists" | "full", request). The seat is taken with one conditional UPDATE, so two
    people can never both get the last one, on SQLite or PostgreSQL."""
    existing = await active_request(session, person_id, offering.id)
    if existing is not None:
        return "exists", existing
    for _ in range(REFERENCE_TRIES):
        try:
            async with session.begin_nested():
                if slot_id is not None and not await _take_seat(session, offering.id, slot_id, now):
                    return "full", None
                request = IntakeRequest(
                    reference=new_reference(rng),
                    person_id=person_id,
                    profile_id=profile_id,
                    offering_id=offering.id,
                    slot_id=slot_id,
                    municipality_code=offering.municipality_code,
                    language=language,
                    channel=channel,
                    created_at=now,
                    updated_at=now,
                )
                session.add(request)
                await session.flush()
            return "booked", request
        except IntegrityError:
            existing = await active_request(session, person_id, offering.id)
            if existing is not None:
                return "exists", existing
    raise RuntimeError("could not find a free reference code")


async def _take_seat(session: AsyncSession, offering_id: int, slot_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(IntakeSlot)
        .where(
            IntakeSlot.id == slot_id,
            IntakeSlot.offering_id == offering_id,
            IntakeSlot.starts_at > now,
            IntakeSlot.booked < IntakeSlot.capacity,
        )
        .values(booked=IntakeSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
