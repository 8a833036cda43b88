"""Retention: people who have not written for a long time are warned, then erased; old message history goes.

Runs as a scheduled job. Erasure is the same as "delete my data" (bot/privacy.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot import outbox, privacy
from bot.db import transaction
from bot.models import PRIORITY_BULK, InboundMessage, OutboundMessage, Person
from bot.people import reachable_identity
from dialogs.i18n import Translator
from dialogs.model import Output

DAYS_PER_MONTH = 30.44
BATCH = 500


@dataclass(frozen=True)
class Policy:
    inactive_after: timedelta
    warn_before: timedelta
    history_kept: timedelta

    @classmethod
    def of(cls, months: int, warning_days: int, history_days: int) -> Policy:
        return cls(
            timedelta(days=months * DAYS_PER_MONTH),
            timedelta(days=warning_days),
            timedelta(days=history_days),
        )


async def run(
    factory: async_sessionmaker[AsyncSession], policy: Policy, *, now: datetime, tz: ZoneInfo, localedir: Path
) -> dict[str, int]:
    """One pass: warn, erase, prune. Each step is its own transaction."""
    return {
        "warned": await warn(factory, policy, now=now, tz=tz, localedir=localedir),
        "erased": await erase_inactive(factory, policy, now=now),
        "pruned": await prune_history(factory, policy, now=now),
    }


async def warn(
    factory: async_sessionmaker[AsyncSession], policy: Policy, *, now: datetime, tz: ZoneInfo, localedir: Path
) -> int:
    cutoff = now - policy.inactive_after + policy.warn_before
    async with transaction(factory) as session:
        people = await _inactive(session, cutoff, Person.retention_warned_at.is_(None))
        for person in people:
            person.retention_warned_at = now
            identity = reachable_identity(person)
            if identity is None:
                continue
            t = Translator(localedir, person.language, tz)
            text = t._(
                "You have not written to us for a long time. We will delete your answers in {days} days. "
                "To keep them, write anything.",
                days=policy.warn_before.days,
            )
            outbox.queue(
                session,
                person_id=person.id,
                channel=identity.channel,
                address=identity.address,
                output=Output(text=text, rtl=t.rtl),
                priority=PRIORITY_BULK,
                dedupe_key=f"retention:{person.id}:{now.date().isoformat()}",
                now=now,
            )
        return len(people)


async def erase_inactive(factory: async_sessionmaker[AsyncSession], policy: Policy, *, now: datetime) -> int:
    """Erases people inactive past the limit who were warned at least `warn_before` ago."""
    async with transaction(factory) as session:
        people = await _inactive(
            session,
            now - policy.inactive_after,
            Person.retention_warned_at.is_not(None),
            Person.retention_warned_at <= now - policy.warn_before,
        )
        for person in people:
            await privacy.erase(session, person, now)
        return len(people)


async def prune_history(factory: async_sessionmaker[AsyncSession], policy: Policy, *, now: datetime) -> int:
    cutoff = now - policy.history_kept
    async with transaction(factory) as session:
        outbound = await session.execute(
            delete(OutboundMessage).where(
                OutboundMessage.created_at < cutoff,
                OutboundMessage.status.in_(("sent", "delivered", "failed")),
            )
        )
        inbound = await session.execute(delete(InboundMessage).where(InboundMessage.received_at < cutoff))
        return outbound.rowcount + inbound.rowcount


async def _inactive(session: AsyncSession, before: datetime, *conditions) -> list[Person]:
    query = (
        select(Person)
        .where(Person.last_active_at < before, *conditions)
        .options(selectinload(Person.identities))
        .limit(BATCH)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Person, skip_locked=True)
    return list((await session.scalars(query)).all())
