"""Erasing a person: every personal field goes; bookings stay as anonymous rows for statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import IntakeRequest, IntakeSlot, Person


async def erase(session: AsyncSession, person: Person, now: datetime) -> None:
    requests = (
        await session.scalars(select(IntakeRequest).where(IntakeRequest.person_id == person.id))
    ).all()
    for request in requests:
        if request.status in ("requested", "confirmed"):
            request.status = "cancelled"
            if request.slot_id is not None:
                await session.execute(
                    update(IntakeSlot)
                    .where(IntakeSlot.id == request.slot_id, IntakeSlot.booked > 0)
                    .values(booked=IntakeSlot.booked - 1)
                )
        request.person_id = None
        request.profile_id = None
        request.updated_at = now
    await session.flush()
    await session.delete(person)
    await session.flush()
