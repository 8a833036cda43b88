"""The Telegram channel: an aiogram router that turns updates into turns, and the outbox's sender for it.

Updates come by long polling, or by webhook at POST /telegram/webhook on the shared web application. Every
message, button press, location or sticker from a private chat is one turn of the turn runner (one database
transaction, deduplicated by the message or callback query id), so the conversation lives in the database,
never in aiogram's memory. Replies are rows in the outbox; `send` renders them (telegram_render.py) and maps
Telegram's answers onto the outbox's: flood control, blocked, refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot import broadcast_menu, outbox
from bot.broadcasts import MUTE_CHOICE
from bot.channels import telegram_broadcast, telegram_render, telegram_staff
from bot.db import transaction
from bot.models import MunicipalitySetting, OutboundMessage
from bot.municipalities import MunicipalityDirectory, haversine_km
from bot.outbox import Pacer, PermanentFailure, RetryAfter, Unreachable
from bot.staff import LOCALES, is_staff_chat
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES, offered
from dialogs.model import Inbound, Output

if TYPE_CHECKING:
    from bot.app import App
    from bot.turns import TurnRunner

log = logging.getLogger(__name__)
CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's limits: 30 messages a second in all; for bulk traffic one a second per chat; 20 a minute to a
# group (a staff chat), whatever the traffic.
PER_SECOND, PER_CHAT_INTERVAL, PER_GROUP_INTERVAL = 30, 1.0, 3.0
# A shared location this far from every municipality seat says nothing about where the person lives.
NEARBY_KM = 60.0
# The database is away (a restart, a failover): the update is tried again, never dropped.
DATABASE_AWAY = (OperationalError, DBAPIError, ConnectionError, OSError)


def database_away(exc: BaseException) -> bool:
    # A unique constraint is a race two deliveries ran; taken again, the update is a duplicate.
    return isinstance(exc, DATABASE_AWAY) and not isinstance(exc, IntegrityError)


DATABASE_RETRY_MAX = 30.0
NOT_MODIFIED = "message is not modified"
# Deep-link payload parts, joined by "_": a municipality code ("0127"), "lang-en", anything else a campaign.
MUNICIPALITY_CODE = re.compile(r"[0-9]{4}")
COMMANDS = ("start", "menu", "help", "language", "stop")


def is_group_chat(address: str) -> bool:
    """Groups, supergroups and channels have negative chat ids; a private chat has the user's own id."""
    return address.startswith("-")


def command_languages() -> list[str]:
    """The languages the command list is set in besides English (the default), for people whose Telegram is
    in that language. Telegram names a client's language with a two-letter ISO 639-1 code: Dari (prs) and the
    Kurdish languages have none of their own, so their speakers see the list of their Telegram's language."""
    return [lang.code for lang in offered(LOCALES) if lang.code != "en" and len(lang.code) == 2]


T = TypeVar("T")


def nearest_municipality(directory: MunicipalityDirectory, lat: float, lon: float) -> str | None:
    """The municipality whose seat is nearest, when one is within `NEARBY_KM`."""
    best = min(
        directory.places.values(),
        key=lambda place: haversine_km(lat, lon, place.lat, place.lon),
        default=None,
    )
    if best is None or haversine_km(lat, lon, best.lat, best.lon) > NEARBY_KM:
        return None
    return best.code


def keyboard(rendered: telegram_render.Rendered) -> InlineKeyboardMarkup | None:
    if not rendered.rows:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data) for button in row]
            for row in rendered.rows
        ]
    )


class TelegramChannel:
    """The channel `vagvisare run` serves when TELEGRAM_BOT_TOKEN is set: long polling, or a webhook when
    TELEGRAM_WEBHOOK_URL is set too."""

    name = CHANNEL

    def __init__(
        self,
        runner: TurnRunner,
        *,
        token: str,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        api_base: str | None = None,
        polling_timeout: int = 30,
        sms_budget: int = 3,
    ):
        if webhook_url and not webhook_secret:
            raise ValueError("a webhook needs a secret token")
        self.runner = runner
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret or ""
        self.polling_timeout = polling_timeout
        api = TelegramAPIServer.from_base(api_base) if api_base else None
        self.bot = Bot(token, session=AiohttpSession(api=api) if api else AiohttpSession())
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.staff = telegram_staff.StaffButtons(self)
        self.staff_menu = telegram_broadcast.StaffMenuButtons(self, sms_budget)
        self.dispatcher.include_router(self._router())
        self.pacer = Pacer(
            per_second=PER_SECOND,
            per_address_interval=PER_CHAT_INTERVAL,
            group_interval=PER_GROUP_INTERVAL,
            is_group=is_group_chat,
        )
        self.username: str | None = None
        self._task: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    @classmethod
    def from_app(cls, application: App) -> TelegramChannel:
        settings = application.settings
        secret = settings.telegram_webhook_secret
        return cls(
            application.runner,
            token=settings.telegram_bot_token.get_secret_value(),
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=secret.get_secret_value() if secret else None,
            api_base=settings.telegram_api_base,
            sms_budget=settings.sms_segment_budget,
        )

    @property
    def directory(self) -> MunicipalityDirectory:
        return self.runner.directory

    # --- running ---------------------------------------------------------------------------------------

    def install(self, web_app: web.Application) -> None:
        if self.webhook_url:
            web_app.router.add_post(WEBHOOK_PATH, self.handle_webhook)

    async def start(self) -> None:
        """Checks the token at once (a refused token stops `vagvisare run` with a clear message); the rest
        (webhook registration, polling) carries on in the background, waiting out network trouble."""
        self._stopping.clear()
        try:
            me = await self.bot.me()
            self.username = me.username
        except TelegramUnauthorizedError as exc:
            raise RuntimeError("Telegram refused TELEGRAM_BOT_TOKEN (ask @BotFather for the token)") from exc
        except TelegramAPIError as exc:
            log.warning("Telegram not reachable yet, will keep trying", extra={"error": type(exc).__name__})
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def _run(self) -> None:
        await self._retry(self._register)
        if self.webhook_url:
            return
        await self.dispatcher.start_polling(
            self.bot,
            polling_timeout=self.polling_timeout,
            # One update after another: a chat's messages are taken in order, and an update is confirmed
            # to Telegram only once its turn is done (a crash re-reads it; the turn runner acts once).
            handle_as_tasks=False,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )

    async def _register(self) -> None:
        if self.username is None:
            self.username = (await self.bot.me()).username
        if self.webhook_url:
            await self.bot.set_webhook(
                url=self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=self.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
            log.info("telegram webhook registered")
        else:
            # getUpdates is refused while a webhook is set; pending updates stay with Telegram.
            await self.bot.delete_webhook(drop_pending_updates=False)
        try:
            await self.bot.set_my_commands(self._commands("en"))
            for code in command_languages():
                await self.bot.set_my_commands(self._commands(code), language_code=code)
        except TelegramAPIError as exc:
            log.warning("could not set the bot's commands", extra={"error": type(exc).__name__})

    def _commands(self, code: str) -> list[BotCommand]:
        t = Translator(LOCALES, code, self.runner.tz)
        descriptions = {
            "start": t._("Start or continue"),
            "menu": t._("Main menu"),
            "help": t._("Help"),
            "language": t._("Change language"),
            "stop": t._("No more messages"),
        }
        return [BotCommand(command=name, description=descriptions[name]) for name in COMMANDS]

    async def _retry(self, call: Callable[[], Awaitable[None]]) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                await call()
                return
            except TelegramUnauthorizedError:
                log.error("Telegram refused TELEGRAM_BOT_TOKEN; the Telegram channel is not running")
                raise
            except TelegramAPIError as exc:
                log.warning("Telegram not reachable, retrying", extra={"error": type(exc).__name__})
            await _sleep_unless(self._stopping, delay)
            delay = min(delay * 2, 60.0)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            if not self.webhook_url:
                with contextlib.suppress(RuntimeError):  # "Polling is not started": still registering
                    await self.dispatcher.stop_polling()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.bot.session.close()

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """Telegram's POST: checked against the secret token, handled at once, 200 when done. A database
        that is away propagates (the shared middleware answers 503), so Telegram delivers it again."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            log.warning("telegram webhook with a wrong or missing secret token")
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            data = await request.json()
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValueError, ValidationError):
            # Nothing we can read: taking it again would not help; 200 keeps the queue moving.
            log.warning("unreadable telegram update ignored")
            return web.Response(text="ignored")
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except DATABASE_AWAY:
            raise
        except Exception:  # noqa: BLE001 - one broken update must not block every later one
            log.exception("telegram update failed", extra={"update": update.update_id})
        return web.Response(text="ok")

    async def _with_database(self, call: Callable[[], Awaitable[T]]) -> T:
        """In a webhook the error goes back to Telegram (503, delivered again). When polling, the update is
        tried again here until the database is back, so it is neither lost nor taken out of order."""
        if self.webhook_url:
            return await call()
        delay = 0.5
        while True:
            try:
                return await call()
            except DATABASE_AWAY as exc:
                if self._stopping.is_set() or not database_away(exc):
                    raise
                log.warning("database away, retrying the update", extra={"error": type(exc).__name__})
                await _sleep_unless(self._stopping, delay)
                delay = min(delay * 2, DATABASE_RETRY_MAX)

    # --- receiving -------------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router(name="vagvisare")
        private = F.chat.type == "private"
        router.message.register(self.on_message, private)
        router.message.register(self.on_group_message)
        router.edited_message.register(self.on_edited_message, private)
        router.callback_query.register(self.on_callback)
        router.my_chat_member.register(self.on_membership)
        return router

    async def _turn(self, chat_id: int, inbound: Inbound, external_id: str) -> None:
        await self._with_database(
            lambda: self.runner.handle(CHANNEL, str(chat_id), inbound, external_id=external_id)
        )

    async def on_message(self, message: Message) -> None:
        chat_id = message.chat.id
        if message.text is not None and _command(message.text) == "myid" and message.from_user:
            # A staff member's Telegram id, for `vagvisare staff add`: no turn, nothing stored.
            code = message.from_user.language_code
            await self._notice(chat_id, message.message_id, code, _user_id_text, message.from_user.id)
            return
        if message.text is not None and await self.staff_menu.take(message):
            return  # /staff, or what a staff member typed while composing an announcement
        if message.text is not None:
            inbound = await self._text(chat_id, message.text)
        elif message.location is not None:
            code = nearest_municipality(self.directory, message.location.latitude, message.location.longitude)
            inbound = Inbound(payload={"nearby": code} if code else {"unsupported": "media"})
        else:
            # A sticker, photo, voice message, contact (whose number we never keep) …
            inbound = Inbound(payload={"unsupported": "media"})
        await self._turn(chat_id, inbound, f"m:{chat_id}:{message.message_id}")
        if message.text is not None and _command(message.text) == "help":
            await self.staff_menu.after_help(message)

    async def _text(self, chat_id: int, text: str) -> Inbound:
        if not text.startswith("/"):
            return Inbound(text=text)
        command, _, argument = text[1:].partition(" ")
        command = command.split("@", 1)[0].casefold()
        if command == "start":
            return await self._start(chat_id, argument.strip())
        # "/menu" is the word "menu"; "/link 123456" the words "link 123456".
        return Inbound(text=f"{command} {argument}".strip())

    async def _start(self, chat_id: int, payload: str) -> Inbound:
        """/start, perhaps from a link t.me/<bot>?start=0127_lang-en: a municipality (asked once the
        person agrees), a language for someone who has none yet, or a campaign tag (counted in the log)."""
        hints: dict[str, str] = {}
        for part in filter(None, payload[:64].split("_")):
            if part.startswith("lang-") and part[5:] in LANGUAGES:
                await self._with_database(
                    lambda code=part[5:]: self.runner.preset_language(CHANNEL, str(chat_id), code)
                )
            elif MUNICIPALITY_CODE.fullmatch(part) and part in self.directory.places:
                hints["municipality"] = part
            else:
                log.info("start from a campaign link", extra={"campaign": re.sub(r"[^\w-]", "", part)[:32]})
        return Inbound(text="start", payload=hints)

    async def on_edited_message(self, message: Message) -> None:
        chat_id = message.chat.id
        external_id = f"e:{chat_id}:{message.message_id}:{message.edit_date or 0}"
        await self._turn(chat_id, Inbound(payload={"unsupported": "edited"}), external_id)

    async def on_group_message(self, message: Message) -> None:
        """The assistant talks with one person at a time: in a group it says so, briefly, when addressed.
        /chatid tells a group its id, for `vagvisare staff chat`; a staff chat hears nothing else."""
        if message.chat.type not in ("group", "supergroup") or not message.text:
            return
        text = message.text.casefold()
        addressed = text.startswith("/") or (
            self.username is not None and f"@{self.username.casefold()}" in text
        )
        replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None
        if replied:
            addressed = addressed or message.reply_to_message.from_user.id == self.bot.id
        if not addressed:
            return
        chat_id = message.chat.id
        code = message.from_user.language_code if message.from_user else None
        if _command(message.text) == "chatid":
            await self._notice(chat_id, message.message_id, code, _chat_id_text, chat_id)
            return
        await self._notice(
            chat_id, message.message_id, code, _private_chat_text, self.username, unless_staff=True
        )

    async def _notice(
        self,
        chat_id: int,
        message_id: int,
        language: str | None,
        text: Callable[..., str],
        *values: object,
        unless_staff: bool = False,
    ) -> None:
        """A short answer outside the conversation (no person, no turn), in the sender's Telegram language,
        with Swedish first when it is not one of ours; queued once however often the update comes."""
        key = f"notice:{chat_id}:{message_id}"

        async def answer() -> None:
            async with transaction(self.runner.factory) as session:
                if unless_staff and await is_staff_chat(session, chat_id):
                    return
                if await session.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == key)):
                    return  # a replayed update: answered already
                t = Translator(LOCALES, language if language in LANGUAGES else "en", self.runner.tz)
                body = text(t, *values)
                if language not in LANGUAGES:
                    body = text(Translator(LOCALES, "sv", self.runner.tz), *values) + "\n" + body
                outbox.queue(
                    session,
                    person_id=None,
                    channel=CHANNEL,
                    address=str(chat_id),
                    output=Output(text=body),
                    dedupe_key=key,
                    now=self.runner.clock(),
                )

        await self._with_database(answer)
        self._wake()

    async def on_callback(self, query: CallbackQuery) -> None:
        """A button press. Always answered (the spinner on the button stops), whatever the data says."""
        answer: str | None = None
        alert = False
        try:
            kind, token, value = telegram_render.parse_callback(query.data or "")
            chat = query.message.chat if query.message is not None else None
            if kind == "outside" and value.startswith("staff:"):
                answer, alert = await self.staff.press(query, value)
            elif kind == "outside" and value.startswith(f"{broadcast_menu.PREFIX}:"):
                answer, alert = await self.staff_menu.press(query, value)
            elif chat is None or chat.type == "private":
                chat_id = chat.id if chat is not None else query.from_user.id
                # Forged or unknown data is an old menu: the person gets the current one.
                inbound = (
                    Inbound(choice_id=value, menu_token=token)
                    if kind == "menu"
                    else Inbound(choice_id=value)
                    if kind == "outside" and value == MUTE_CHOICE  # an announcement's "Mute news"
                    else Inbound(choice_id="?", menu_token="?")
                )
                await self._turn(chat_id, inbound, f"c:{query.id}")
        finally:
            await self._answer(query, answer, alert)

    async def _answer(self, query: CallbackQuery, text: str | None, alert: bool) -> None:
        try:
            await self.bot.answer_callback_query(query.id, text=text, show_alert=alert)
        except TelegramAPIError as exc:
            # Too old (a redelivered update), or flood control: the spinner stops by itself.
            log.info("callback query not answered", extra={"error": type(exc).__name__})

    async def on_membership(self, event: ChatMemberUpdated) -> None:
        """A person blocked the bot: nothing more goes to them until they write again."""
        if event.chat.type == "private" and event.new_chat_member.status == "kicked":
            await self._with_database(
                lambda: outbox.mark_unreachable(
                    self.runner.factory, CHANNEL, str(event.chat.id), self.runner.clock()
                )
            )
        elif event.chat.type != "private" and event.new_chat_member.status in ("kicked", "left"):
            log.warning("the bot was removed from a group chat")

    def _wake(self) -> None:
        if CHANNEL in self.runner.wake:
            self.runner.wake[CHANNEL].set()

    # --- sending ---------------------------------------------------------------------------------------

    async def send(self, address: str, output: Output) -> str | None:
        """One outbox row to Telegram. A page of the same question ("More") replaces the menu in place when
        that menu is still the last message in the chat."""
        rendered = telegram_render.render(output)
        chunks = rendered.chunks()
        try:
            if output.replaces_menu is not None and len(chunks) == 1:
                message_id = await self._menu_message(address, output.replaces_menu)
                if message_id is not None and await self._edit(int(address), message_id, rendered):
                    return str(message_id)
            if output.attachment is not None and len(chunks) == 1:  # a file ("add to calendar"), captioned
                file = BufferedInputFile(output.attachment.data, filename=output.attachment.filename)
                sent = await self.bot.send_document(
                    chat_id=int(address), document=file, caption=chunks[0], parse_mode="HTML"
                )
                return str(sent.message_id)
            sent = None
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                sent = await self.bot.send_message(
                    chat_id=int(address),
                    text=chunk,
                    parse_mode="HTML",
                    reply_markup=keyboard(rendered) if last else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            return str(sent.message_id) if sent else None
        except TelegramRetryAfter as exc:
            raise RetryAfter(exc.retry_after) from exc
        except TelegramForbiddenError as exc:
            raise Unreachable(str(exc.message)) from exc
        except TelegramMigrateToChat as exc:
            await self._migrated(int(address), exc.migrate_to_chat_id)
            return await self.send(str(exc.migrate_to_chat_id), output)
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            raise PermanentFailure(exc.message) from exc

    async def edit(self, chat_id: int, message_id: int, output: Output) -> bool:
        """Replaces a message's text and buttons (a staff card after a decision); False when it cannot."""
        try:
            return await self._edit(chat_id, message_id, telegram_render.render(output))
        except TelegramAPIError as exc:
            log.info("message not edited", extra={"error": type(exc).__name__})
            return False

    async def _edit(self, chat_id: int, message_id: int, rendered: telegram_render.Rendered) -> bool:
        chunks = rendered.chunks()
        if len(chunks) > 1:
            return False
        try:
            await self.bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=chunks[0],
                parse_mode="HTML",
                reply_markup=keyboard(rendered),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramBadRequest as exc:
            if NOT_MODIFIED in exc.message:
                return True
            # Deleted, or too old to edit: a new message instead.
            return False
        return True

    async def _menu_message(self, address: str, token: str) -> int | None:
        """The message that showed menu `token`, if it is the last one we sent to this chat."""
        async with transaction(self.runner.factory) as session:
            row = (
                await session.execute(
                    select(OutboundMessage.provider_message_id, OutboundMessage.payload)
                    .where(
                        OutboundMessage.channel == CHANNEL,
                        OutboundMessage.address == address,
                        OutboundMessage.status == "sent",
                    )
                    .order_by(OutboundMessage.id.desc())
                    .limit(1)
                )
            ).first()
        if row is None or not row.provider_message_id or row.payload.get("menu_token") != token:
            return None
        return int(row.provider_message_id)

    async def _migrated(self, old: int, new: int) -> None:
        """A staff group became a supergroup: its requests go to the new chat id from now on."""
        async with transaction(self.runner.factory) as session:
            await session.execute(
                update(MunicipalitySetting)
                .where(MunicipalitySetting.telegram_chat_id == old)
                .values(telegram_chat_id=new, updated_at=self.runner.clock())
            )
        log.warning("a staff chat moved to a supergroup; its setting follows")


def _command(text: str) -> str | None:
    """ "/chatid@vagvisare_bot" -> "chatid"; None for a text that is no command."""
    words = text[1:].split(maxsplit=1) if text.startswith("/") else []
    return words[0].split("@", 1)[0].casefold() if words else None


def _private_chat_text(t: Translator, username: str | None) -> str:
    link = f"https://t.me/{username}" if username else ""
    return t._("I only talk in a private chat. Write to me there: {link}", link=link).strip()


def _chat_id_text(t: Translator, chat_id: int) -> str:
    return t._(
        "This chat's id is {chat_id}. To get a municipality's new intake requests here: "
        "vagvisare staff chat --municipality CODE --chat-id {chat_id}",
        chat_id=str(chat_id),  # as it is typed: no locale minus sign
    )


def _user_id_text(t: Translator, user_id: int) -> str:
    return t._(
        "Your Telegram id is {user_id}. Staff are registered with it: vagvisare staff add --telegram-id "
        "{user_id} --municipality CODE",
        user_id=str(user_id),
    )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
