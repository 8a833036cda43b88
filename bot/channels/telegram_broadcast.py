"""The staff menu on Telegram: /staff in a private chat opens it for registered staff (bot/broadcast_menu.py
does the rest); anyone else gets the newcomer dialog, as if it were any other word.

While a staff member composes an announcement, what they type is the menu's, not the newcomer dialog's;
/cancel or the Cancel button ends it. A message is taken once (the same delivery record as a turn's), a
button press once (`telegram_staff.first_delivery`). The menu is edited in place where it can be; anything
new goes through the outbox like every other message.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiogram.types import CallbackQuery, Message
from sqlalchemy import select

from bot import broadcast_menu, outbox
from bot.broadcast_menu import Reply, StaffMenu
from bot.channels import telegram_render
from bot.channels.telegram_staff import first_delivery
from bot.db import transaction
from bot.models import InboundMessage, OutboundMessage, Staff
from bot.staff import LOCALES, STAFF_LANGUAGE, staff_member
from dialogs.i18n import Translator
from dialogs.model import Output

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel

log = logging.getLogger(__name__)
CHANNEL = "telegram"
TAKEN = object()  # a message delivered again, taken the first time: nothing more to do
# Every newcomer's message passes here: who is staff at all is read at most this often (seconds), so that a
# newcomer's turn costs no extra query. Only a pre-filter: what staff may do is read at every message.
STAFF_IDS_TTL = 10.0


def command(text: str) -> str | None:
    """ "/staff@vagvisare_bot" -> "staff"; None for a text that is no command."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    return words[0].split("@", 1)[0].casefold() if words else None


class StaffMenuButtons:
    def __init__(self, channel: TelegramChannel, sms_budget: int = 3):
        self.channel = channel
        self.sms_budget = sms_budget
        self._staff_ids: set[int] = set()
        self._staff_ids_at: float | None = None

    async def _maybe_staff(self, telegram_id: int) -> bool:
        now = time.monotonic()
        if self._staff_ids_at is None or now - self._staff_ids_at > STAFF_IDS_TTL:

            async def load() -> set[int]:
                async with self.channel.runner.factory() as session:
                    query = select(Staff.telegram_id).where(Staff.telegram_id.is_not(None))
                    return set((await session.scalars(query)).all())

            self._staff_ids, self._staff_ids_at = await self.channel._with_database(load), now
        return telegram_id in self._staff_ids

    def _menu(self, session, member, dialog, now, telegram_id: int) -> StaffMenu:
        runner = self.channel.runner
        return StaffMenu(
            session,
            member,
            dialog,
            now,
            telegram_id=telegram_id,
            tz=runner.tz,
            localedir=LOCALES,
            sms_budget=self.sms_budget,
        )

    async def take(self, message: Message) -> bool:
        """A private message: True when it was the staff menu's, False when it is for the newcomer dialog."""
        user = message.from_user
        if message.text is None or user is None or user.id != message.chat.id:
            return False
        word = command(message.text)
        if word != "staff" and not await self._maybe_staff(user.id):
            return False  # a newcomer's message
        chat_id, runner = message.chat.id, self.channel.runner
        external_id = f"m:{chat_id}:{message.message_id}"

        async def work() -> Reply | object | None:
            now = runner.clock()
            async with transaction(runner.factory) as session:
                member, dialog = await broadcast_menu.member_and_dialog(session, user.id)
                if member is None:
                    if word == "staff" and not await _seen(session, external_id):
                        broadcast_menu.refuse(session, None, user.id, "open", now)
                    return None
                self._staff_ids.add(user.id)  # registered since the ids were read
                composing = broadcast_menu.composing(dialog)
                if word != "staff" and not composing:
                    return None  # /cancel and text outside composing: the newcomer dialog's
                if not await first_delivery(session, external_id, now):
                    return TAKEN
                menu = self._menu(session, member, dialog, now, user.id)
                if word == "staff":
                    reply = await menu.open()
                elif word == "cancel":
                    reply = await menu.leave()
                else:
                    reply = await menu.text(message.text)
                if reply.output is not None:
                    await _queue(session, chat_id, reply.output, f"staff:{external_id}", now)
                return reply

        result = await self.channel._with_database(work)
        if result is None:
            return False
        self.channel._wake()
        return True

    async def press(self, query: CallbackQuery, value: str) -> tuple[str | None, bool]:
        """A staff-menu button; returns what to answer the callback query with, and whether as an alert."""
        runner, user_id = self.channel.runner, query.from_user.id
        message = query.message
        key = f"c:{query.id}"

        async def work() -> tuple[Reply, bool] | None:
            now = runner.clock()
            async with transaction(runner.factory) as session:
                if not await first_delivery(session, key, now):
                    return None
                member, dialog = await broadcast_menu.member_and_dialog(session, user_id)
                if member is None:
                    broadcast_menu.refuse(session, None, user_id, "press", now)
                    return Reply(), False
                reply = await self._menu(session, member, dialog, now, user_id).press(value)
                editable = (
                    reply.edit
                    and message is not None
                    and bool(message.date)
                    and reply.output is not None
                    and len(telegram_render.render(reply.output).chunks()) == 1
                )
                if reply.output is not None and not editable:
                    await _queue(session, user_id, reply.output, f"staff:{key}", now)
                return reply, editable

        done = await self.channel._with_database(work)
        if done is None:
            return None, False
        reply, editable = done
        if editable and not await self.channel.edit(message.chat.id, message.message_id, reply.output):
            # Too old or deleted: the menu as a new message instead.
            async with transaction(runner.factory) as session:
                await _queue(session, user_id, reply.output, f"staff:{key}:new", runner.clock())
        self.channel._wake()
        if reply.alert:
            return reply.alert, True
        return reply.notice, False

    async def after_help(self, message: Message) -> None:
        """/help from a staff member: the newcomer help, then a line on the staff menu (only for staff)."""
        user, runner = message.from_user, self.channel.runner
        if user is None or user.id != message.chat.id:
            return
        key = f"staff:help:{message.chat.id}:{message.message_id}"

        async def work() -> None:
            async with transaction(runner.factory) as session:
                if await staff_member(session, user.id) is None:
                    return
                t = Translator(LOCALES, STAFF_LANGUAGE, runner.tz)
                text = t._("For staff: /staff opens the staff menu (announcements and their reports).")
                await _queue(session, message.chat.id, Output(text=text), key, runner.clock())

        await self.channel._with_database(work)
        self.channel._wake()


async def _seen(session, external_id: str) -> bool:
    found = await session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.channel == CHANNEL, InboundMessage.external_id == external_id
        )
    )
    return found is not None


async def _queue(session, chat_id: int, output: Output, key: str, now) -> None:
    # The same delivery, taken again (a redelivered update), queues nothing twice.
    if await session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
        return
    outbox.queue(
        session, person_id=None, channel=CHANNEL, address=str(chat_id), output=output, dedupe_key=key, now=now
    )
