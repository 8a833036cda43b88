"""Telling staff that a feed was held: one outbox message per admin whose scope covers the feed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.models import PRIORITY_BULK, Staff
from dialogs.model import Output

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def admins_for(session: AsyncSession, municipalities: Iterable[str]) -> list[Staff]:
    """Admins (role "admin") with a Telegram id whose scope includes one of the feed's municipalities;
    every admin when the feed names no municipality."""
    wanted = set(municipalities)
    admins = (await session.scalars(select(Staff).where(Staff.role == "admin").order_by(Staff.id))).all()
    return [
        admin
        for admin in admins
        if admin.telegram_id is not None
        and (not wanted or wanted & {scope.municipality_code for scope in admin.scopes})
    ]


def held_text(feed: str, status: str, message: str | None, when: datetime) -> str:
    local = when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
    reason = message or "okänt fel / unknown error"
    return (
        f"Vägvisare: flödet {feed} hölls tillbaka ({local}); katalogen behåller sina tidigare erbjudanden. "
        f"Orsak: {reason}\n"
        f"Feed {feed} was held ({status}); the catalogue keeps its previous offerings. Reason: {reason}\n"
        "vagvisare sync status"
    )


async def notify_held(
    session: AsyncSession,
    *,
    feed: str,
    status: str,
    message: str | None,
    municipalities: Iterable[str],
    run_id: int,
    now: datetime,
) -> int:
    """Queues the message in the caller's transaction; returns how many admins it goes to."""
    text = held_text(feed, status, message, now)
    admins = await admins_for(session, municipalities)
    for admin in admins:
        outbox.queue(
            session,
            person_id=None,
            channel="telegram",
            address=str(admin.telegram_id),
            output=Output(text=text),
            priority=PRIORITY_BULK,
            dedupe_key=f"sync-held:{run_id}:{admin.id}",
            now=now,
        )
    return len(admins)
