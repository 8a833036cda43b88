"""The outbox: every message to a person is queued as a row in the same transaction as the turn that made
it, then delivered by a sender that claims rows, sends them and records the result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.models import PRIORITY_REPLY, OutboundMessage
from dialogs.model import Output

MAX_ATTEMPTS = 6
# A row left in "sending" this long belongs to a sender that died; it is tried again.
STALE_SENDING = timedelta(minutes=5)

Send = Callable[[str, Output], Awaitable[str | None]]


def queue(
    session: AsyncSession,
    *,
    person_id: int | None,
    channel: str,
    address: str,
    output: Output,
    priority: int = PRIORITY_REPLY,
    dedupe_key: str | None = None,
    now: datetime,
) -> OutboundMessage:
    row = OutboundMessage(
        person_id=person_id,
        channel=channel,
        address=address,
        payload=output.to_dict(),
        priority=priority,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    session.add(row)
    return row


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


async def claim(
    factory: async_sessionmaker[AsyncSession], channel: str, now: datetime, limit: int = 50
) -> list[OutboundMessage]:
    """Marks up to `limit` due rows as "sending" and returns them, replies before bulk, oldest first."""
    async with transaction(factory) as session:
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.channel == channel,
                or_(
                    OutboundMessage.status == "queued",
                    (OutboundMessage.status == "sending") & (OutboundMessage.next_attempt_at <= now),
                ),
                or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
            )
            .order_by(OutboundMessage.priority, OutboundMessage.id)
            .limit(limit)
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list((await session.scalars(query)).all())
        for row in rows:
            row.status = "sending"
            row.attempts += 1
            row.next_attempt_at = now + STALE_SENDING
        return rows


async def finish(
    factory: async_sessionmaker[AsyncSession],
    row_id: int,
    *,
    provider_id: str | None = None,
    error: str | None = None,
    now: datetime,
) -> None:
    async with transaction(factory) as session:
        row = await session.get(OutboundMessage, row_id)
        if row is None:
            return
        if error is None:
            row.status, row.sent_at, row.provider_message_id, row.next_attempt_at = (
                "sent",
                now,
                provider_id,
                None,
            )
            return
        row.error = error[:200]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.status, row.next_attempt_at = "queued", now + backoff(row.attempts)


async def deliver(
    factory: async_sessionmaker[AsyncSession],
    channel: str,
    send: Send,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Sends what is due on `channel`; returns how many were sent."""
    sent = 0
    for row in await claim(factory, channel, clock()):
        try:
            provider_id = await send(row.address, Output.from_dict(row.payload))
        except Exception as exc:  # noqa: BLE001 - any failure of a provider is retried later
            await finish(factory, row.id, error=f"{type(exc).__name__}: {exc}", now=clock())
            continue
        await finish(factory, row.id, provider_id=provider_id, now=clock())
        sent += 1
    return sent
