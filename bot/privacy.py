"""Erasing a person: every personal field goes; bookings stay as anonymous rows for statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    ChannelIdentity,
    ConversationState,
    IntakeRequest,
    IntakeSlot,
    OutboundMessage,
    Person,
    Profile,
    Reminder,
)


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


async def find_person(session: AsyncSession, address: str, channel: str | None = None) -> Person | None:
    """The person behind an address (a phone number in E.164, a Telegram chat id, …)."""
    query = select(ChannelIdentity).where(ChannelIdentity.address == address.strip())
    if channel:
        query = query.where(ChannelIdentity.channel == channel)
    identity = await session.scalar(query)
    return await session.get(Person, identity.person_id) if identity else None


async def export(session: AsyncSession, person: Person) -> dict:
    """Everything stored about a person (the right of access), as plain JSON-ready data."""
    identities = (
        await session.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == person.id))
    ).all()
    profiles = (await session.scalars(select(Profile).where(Profile.person_id == person.id))).all()
    state = await session.get(ConversationState, person.id)
    requests = (
        await session.scalars(select(IntakeRequest).where(IntakeRequest.person_id == person.id))
    ).all()
    messages = (
        await session.scalars(select(OutboundMessage).where(OutboundMessage.person_id == person.id))
    ).all()
    return {
        "person": _columns(person),
        "channel_identities": [_columns(i) for i in identities],
        "profiles": [_columns(p) for p in profiles],
        "conversation_state": state.data if state else None,
        "intake_requests": [
            {
                **_columns(r),
                "offering": r.offering.title,
                "slot_starts_at": r.slot.starts_at if r.slot else None,
            }
            for r in requests
        ],
        "reminders": [
            _columns(reminder)
            for reminder in (
                await session.scalars(
                    select(Reminder).where(Reminder.intake_request_id.in_([r.id for r in requests]))
                )
            ).all()
        ],
        "messages_sent_to_them": [_columns(m) for m in messages],
        "note": "Messages people send us are never stored; only provider message ids, to act on each once.",
    }


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
