"""Staff buttons on Telegram: Confirm, Decline and Propose another time on an intake request's card.

The decision itself is bot/staff.py's (and works only for registered staff of the request's municipality);
here a press becomes a call of `staff.act`, and the card is replaced in place by what it says now.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.types import CallbackQuery
from sqlalchemy.exc import IntegrityError

from bot import staff
from bot.db import transaction
from bot.models import InboundMessage

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)
ACTIONS = frozenset({"confirm", "decline", "propose", "slot", "back"})


def parse(value: str) -> tuple[str, int, int | None] | None:
    """ "staff:<action>:<request id>[:<slot id>]" -> (action, request id, slot id); None when malformed."""
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[0] != "staff" or parts[1] not in ACTIONS:
        return None
    if not all(part.isdigit() and len(part) <= 12 for part in parts[2:]):
        return None
    return parts[1], int(parts[2]), int(parts[3]) if len(parts) == 4 else None


class StaffButtons:
    def __init__(self, channel: TelegramChannel):
        self.channel = channel

    async def press(self, query: CallbackQuery, value: str) -> tuple[str | None, bool]:
        """Acts on a press; returns what to answer the callback query with, and whether as an alert."""
        parsed = parse(value)
        if parsed is None:
            return None, False
        action, request_id, slot_id = parsed
        runner = self.channel.runner

        async def act() -> staff.Outcome | None:
            async with transaction(runner.factory) as session:
                if not await first_delivery(session, f"c:{query.id}", runner.clock()):
                    return None
                return await staff.act(
                    session,
                    runner,
                    telegram_id=query.from_user.id,
                    action=action,
                    request_id=request_id,
                    slot_id=slot_id,
                    now=runner.clock(),
                )

        outcome = await self.channel._with_database(act)
        if outcome is None:
            return None, False
        for channel in outcome.wake | {self.channel.name}:
            if channel in runner.wake:
                runner.wake[channel].set()
        message = query.message
        if outcome.card is not None and message is not None and message.date:
            await self.channel.edit(message.chat.id, message.message_id, outcome.card)
        if outcome.alert:
            return outcome.alert, True
        return outcome.notice, False


async def first_delivery(session, external_id: str, now) -> bool:
    """A press Telegram delivers twice (a webhook retried) is acted on once."""
    try:
        async with session.begin_nested():
            session.add(InboundMessage(channel="telegram", external_id=external_id, received_at=now))
            await session.flush()
    except IntegrityError:
        return False
    return True
