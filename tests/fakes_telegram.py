"""A fake Telegram Bot API server on 127.0.0.1, for the real aiogram client to talk to, and `run_assistant`:
`vagvisare run` with the Telegram channel against it (bot.server.serve, the real polling and webhook code).

It answers the methods the channel uses (getMe, getUpdates, sendMessage, editMessageText,
answerCallbackQuery, setWebhook, deleteWebhook, setMyCommands) with Telegram's shapes and errors: it checks
HTML parse mode the way Telegram does (an unescaped "<" or "&" is a 400), callback data (1-64 bytes),
"message is not modified", unknown or twice-answered callback queries. It can answer 429 with retry_after,
403 for a chat that blocked the bot, and 5xx. As "Telegram" it also makes updates: a person's message,
button press, sticker, location …, served by getUpdates or POSTed to a webhook.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import socket
import time
from dataclasses import dataclass, field

from aiohttp import ClientSession, web

from bot import server
from bot.app import App
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.config import load_settings
from bot.db import transaction
from bot.staff import add_staff, set_staff_chat

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-token_for-the-fake-api"
BOT_USERNAME = "vagvisare_test_bot"
SUPPORTED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(\s[^>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class ParseError(Exception):
    pass


def parse_html(text: str) -> str:
    """The plain text of Telegram-HTML `text`, or ParseError as Telegram would refuse it."""
    plain: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if not match or match.group(2).lower() not in SUPPORTED_TAGS:
                raise ParseError(f"Unsupported start tag at byte offset {position}")
            position = match.end()
        elif char == "&":
            match = _ENTITY.match(text, position)
            if not match:
                raise ParseError(f"Character entity expected at byte offset {position}")
            plain.append(html.unescape(match.group(0)))
            position = match.end()
        else:
            plain.append(char)
            position += 1
    return "".join(plain)


@dataclass
class Sent:
    """A message the bot sent (and perhaps edited since)."""

    chat_id: int
    message_id: int
    text: str
    html: str
    buttons: list[list[tuple[str, str]]]
    edits: int = 0

    def button(self, label: str) -> str:
        for row in self.buttons:
            for text, data in row:
                if text == label:
                    return data
        raise KeyError(f"no button {label!r} in {self.buttons}")

    @property
    def labels(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    chat_id: int | None = None
    times: int = 1


@dataclass
class Call:
    method: str
    params: dict
    at: float
    status: int


@dataclass
class FakeBotAPI:
    token: str = TOKEN
    max_poll_wait: float = 0.5
    updates: list[dict] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    events: list[tuple[str, Sent]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    webhook: dict | None = None
    commands: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(1000)
        self._query_ids = itertools.count(5_000_000_000)
        self._message_ids: dict[int, itertools.count] = {}
        self._open_queries: set[str] = set()
        self._new_update = asyncio.Event()
        self._changed = asyncio.Event()
        self._confirmed = 0
        self._runner: web.AppRunner | None = None
        # Files sent with sendDocument: (chat id, file name, content).
        self.documents: list[tuple[int, str, bytes]] = []
        self.base = ""

    # --- the server ----------------------------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        form = await request.post()
        params = {key: _value(key, value) for key, value in form.items()}
        failure = self._failure(method, params)
        if failure is not None:
            response = self._error(
                failure.status, failure.description, failure.retry_after, failure.migrate_to_chat_id
            )
        else:
            handler = getattr(self, f"_{method}", None)
            if handler is None:
                response = self._error(404, "Not Found: method not found")
            else:
                try:
                    response = web.json_response({"ok": True, "result": await handler(params)})
                except _ApiError as exc:
                    response = self._error(exc.status, exc.description)
        self.calls.append(Call(method, params, time.monotonic(), response.status))
        self._changed.set()
        return response

    def _failure(self, method: str, params: dict) -> Failure | None:
        chat_id = params.get("chat_id")
        for failure in self.failures:
            if failure.method == method and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        if method in ("sendMessage", "editMessageText") and chat_id in self.blocked:
            return Failure(method, 403, "Forbidden: bot was blocked by the user")
        return None

    @staticmethod
    def _error(
        status: int, description: str, retry_after: int | None = None, migrate_to: int | None = None
    ) -> web.Response:
        body: dict = {"ok": False, "error_code": status, "description": description}
        parameters = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to is not None:
            parameters["migrate_to_chat_id"] = migrate_to
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    # --- methods -------------------------------------------------------------------------------------

    async def _getMe(self, params: dict) -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Vägvisare",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _getUpdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset", 0))
        if offset:
            self._confirmed = max(self._confirmed, offset)
        timeout = min(float(params.get("timeout", 0)), self.max_poll_wait)
        deadline = time.monotonic() + timeout
        while True:
            pending = [u for u in self.updates if u["update_id"] >= self._confirmed]
            if pending or time.monotonic() >= deadline:
                return pending[:100]
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=deadline - time.monotonic())
            except TimeoutError:
                pass

    async def _sendMessage(self, params: dict) -> dict:
        chat_id = params["chat_id"]
        text, plain = self._text(params)
        buttons = self._buttons(params)
        sent = Sent(chat_id, self._next_message_id(chat_id), plain, text, buttons)
        self.sent.append(sent)
        self.events.append(("send", sent))
        return self._message(sent)

    async def _sendDocument(self, params: dict) -> dict:
        chat_id, document = params["chat_id"], params["document"]
        if isinstance(document, str) and document.startswith("attach://"):
            document = params[document.removeprefix("attach://")]
        self.documents.append((chat_id, document.filename, document.file.read()))
        sent = Sent(chat_id, self._next_message_id(chat_id), str(params.get("caption", "")), "", [])
        return {**self._message(sent), "document": {"file_id": "f1", "file_unique_id": "u1"}}

    async def _editMessageText(self, params: dict) -> dict:
        chat_id, message_id = params["chat_id"], params["message_id"]
        sent = next((s for s in self.sent if s.chat_id == chat_id and s.message_id == message_id), None)
        if sent is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text, plain = self._text(params)
        buttons = self._buttons(params)
        if text == sent.html and buttons == sent.buttons:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message",
            )
        sent.text, sent.html, sent.buttons = plain, text, buttons
        sent.edits += 1
        self.events.append(("edit", sent))
        return self._message(sent)

    async def _answerCallbackQuery(self, params: dict) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._open_queries:
            raise _ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        self._open_queries.discard(query_id)
        self.answers.append(params)
        return True

    async def _setWebhook(self, params: dict) -> bool:
        self.webhook = params
        return True

    async def _deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _setMyCommands(self, params: dict) -> bool:
        self.commands[params.get("language_code", "")] = params["commands"]
        return True

    def _text(self, params: dict) -> tuple[str, str]:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                plain = parse_html(text)
            except ParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            plain = text
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(plain) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return text, plain

    @staticmethod
    def _buttons(params: dict) -> list[list[tuple[str, str]]]:
        markup = params.get("reply_markup") or {}
        rows = []
        for row in markup.get("inline_keyboard", []):
            buttons = []
            for button in row:
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                buttons.append((button["text"], data))
            rows.append(buttons)
        return rows

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message(self, sent: Sent) -> dict:
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": _chat(sent.chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Vägvisare", "username": BOT_USERNAME},
            "text": sent.text,
        }
        if sent.buttons:
            message["reply_markup"] = {
                "inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in sent.buttons]
            }
        return message

    # --- what people do (updates) ---------------------------------------------------------------------

    def _update(self, **content) -> dict:
        update = {"update_id": next(self._update_ids), **content}
        self.updates.append(update)
        self._new_update.set()
        return update

    def requeue(self, update: dict) -> None:
        """Telegram serving an update again (it was not confirmed before a crash)."""
        self._confirmed = min(self._confirmed, update["update_id"])
        if update not in self.updates:
            self.updates.append(update)
            self.updates.sort(key=lambda u: u["update_id"])
        self._new_update.set()

    def _user_message(
        self, chat_id: int, user_id: int | None = None, language: str = "en", **content
    ) -> dict:
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Test", "language_code": language}
        return {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": user,
            **content,
        }

    def text(self, chat_id: int, text: str, **kwargs) -> dict:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        message = self._user_message(chat_id, text=text, **kwargs)
        if entities:
            message["entities"] = entities
        return self._update(message=message)

    def sticker(self, chat_id: int) -> dict:
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._update(message=self._user_message(chat_id, sticker=sticker))

    def photo(self, chat_id: int) -> dict:
        photo = [{"file_id": "AgACAgQ", "file_unique_id": "AQADphoto", "width": 90, "height": 90}]
        return self._update(message=self._user_message(chat_id, photo=photo))

    def voice(self, chat_id: int) -> dict:
        voice = {"file_id": "AwACAgQ", "file_unique_id": "AgADvoice", "duration": 3}
        return self._update(message=self._user_message(chat_id, voice=voice))

    def contact(self, chat_id: int) -> dict:
        contact = {"phone_number": "+46701234567", "first_name": "Test", "user_id": chat_id}
        return self._update(message=self._user_message(chat_id, contact=contact))

    def location(self, chat_id: int, latitude: float, longitude: float) -> dict:
        location = {"latitude": latitude, "longitude": longitude}
        return self._update(message=self._user_message(chat_id, location=location))

    def edited(self, update: dict, text: str) -> dict:
        message = {**update["message"], "text": text, "edit_date": int(time.time()) + 1}
        return self._update(edited_message=message)

    def group_text(self, chat_id: int, text: str, user_id: int = 4242, language: str = "en") -> dict:
        message = self._user_message(chat_id, user_id=user_id, language=language, text=text)
        message["chat"] = {"id": chat_id, "type": "supergroup", "title": "A group"}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._update(message=message)

    def press(
        self, sent: Sent, label: str | None = None, *, data: str | None = None, user_id: int | None = None
    ) -> dict:
        """A press of the button `label` on `sent` (or of a button carrying `data`, forged or not)."""
        query_id = str(next(self._query_ids))
        self._open_queries.add(query_id)
        user = {"id": user_id or sent.chat_id, "is_bot": False, "first_name": "Test", "language_code": "en"}
        query = {
            "id": query_id,
            "from": user,
            "chat_instance": "-1234",
            "message": {
                **self._message(sent),
                "chat": _chat(sent.chat_id),
            },
            "data": data if data is not None else sent.button(label),
        }
        return self._update(callback_query=query)

    def blocked_by(self, chat_id: int) -> dict:
        """The person blocks the bot: Telegram says so (my_chat_member), and refuses messages with 403."""
        self.blocked.add(chat_id)
        user = {"id": chat_id, "is_bot": False, "first_name": "Test"}
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Vägvisare", "username": BOT_USERNAME}
        return self._update(
            my_chat_member={
                "chat": _chat(chat_id),
                "from": user,
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": bot},
                "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
            }
        )

    def fail(self, method: str, status: int, description: str, **kwargs) -> None:
        self.failures.append(Failure(method, status, description, **kwargs))

    # --- as Telegram calling a webhook ------------------------------------------------------------------

    async def post(self, url: str, update: dict, secret: str | None) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with ClientSession() as session, session.post(url, json=update, headers=headers) as response:
            await response.read()
            return response.status

    # --- waiting for the bot ---------------------------------------------------------------------------

    def messages(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait(self, condition, within: float = 10.0):
        """Waits until `condition()` is truthy and returns its value."""
        deadline = time.monotonic() + within
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not do what was expected in time")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)
            except TimeoutError:
                pass

    async def next_event(self, chat_id: int, after: int, within: float = 10.0) -> Sent:
        """The first message sent to (or edited in) `chat_id` after `after` events."""

        def found():
            return next((s for kind, s in self.events[after:] if s.chat_id == chat_id), None)

        return await self.wait(found, within)

    def answered(self, update: dict) -> dict | None:
        query_id = update["callback_query"]["id"]
        return next((a for a in self.answers if a["callback_query_id"] == query_id), None)


class _ApiError(Exception):
    def __init__(self, status: int, description: str):
        self.status, self.description = status, description


def _chat(chat_id: int) -> dict:
    if chat_id < 0:
        return {"id": chat_id, "type": "supergroup", "title": "Staff"}
    return {"id": chat_id, "type": "private", "first_name": "Test"}


INT_FIELDS = {"chat_id", "message_id", "offset", "timeout", "limit"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "link_preview_options"}


def _value(key: str, value) -> object:
    if hasattr(value, "file"):  # an uploaded file (sendDocument): kept as it is
        return value
    text = str(value)
    if key in JSON_FIELDS:
        return json.loads(text)
    if key in INT_FIELDS:
        return int(text)
    if key == "show_alert":
        return text == "true"
    return text


# --- `vagvisare run` with the Telegram channel against the fake -------------------------------------

SECRET = "s3cret-token_for-tests"
PUBLIC_URL = "https://vagvisare.example/telegram/webhook"
STAFF_CHAT = -1001234567
STOCKHOLM_COUNTY = ("0123", "0126", "0127", "0136", "0180", "0181", "0184")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    application: App
    channel: TelegramChannel
    stop: asyncio.Event
    task: asyncio.Task
    port: int
    fake: FakeBotAPI

    @property
    def webhook(self) -> bool:
        return bool(self.channel.webhook_url)

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    async def push(self, update: dict) -> int | None:
        """Delivers an update the way the mode does: served by getUpdates, or POSTed to the webhook."""
        if self.webhook:
            return await self.fake.post(self.local_url, update, SECRET)
        return None

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=15)


async def run_assistant(
    runner, engine, fake: FakeBotAPI, *, webhook: bool = False, **settings_overrides
) -> Running:
    """`settings_overrides` may configure more channels (SMS against the fake Twilio: twilio_* settings)."""
    port = free_port()
    settings = load_settings(
        telegram_bot_token=TOKEN,
        telegram_api_base=fake.base,
        telegram_webhook_url=PUBLIC_URL if webhook else None,
        telegram_webhook_secret=SECRET if webhook else None,
        http_host="127.0.0.1",
        http_port=port,
        **settings_overrides,
    )
    application = App(settings=settings, engine=engine, factory=runner.factory, runner=runner)
    channels = server.configured_channels(application)
    [channel] = [c for c in channels if isinstance(c, TelegramChannel)]
    stop = asyncio.Event()
    task = asyncio.create_task(server.serve(application, channels, stop))
    running = Running(application, channel, stop, task, port, fake)
    if webhook:
        await fake.wait(lambda: fake.webhook is not None)
    else:
        await fake.wait(lambda: any(call.method == "getUpdates" for call in fake.calls))
    return running


async def staff_setup(factory, clock, *, telegram_id: int = 555, codes=STOCKHOLM_COUNTY) -> None:
    """A staff chat for the county's municipalities, and one staff member of them all."""
    async with transaction(factory) as session:
        for code in STOCKHOLM_COUNTY:
            await set_staff_chat(session, code, STAFF_CHAT, clock())
        await add_staff(session, telegram_id, list(codes), "staff", clock())


class Chat:
    """One person's chat with the bot: what they do, and the bot's next message (sent or edited)."""

    def __init__(self, running: Running, chat_id: int):
        self.running, self.fake, self.chat_id = running, running.fake, chat_id

    async def do(self, update: dict) -> Sent:
        after = len(self.fake.events)
        status = await self.running.push(update)
        assert status in (None, 200), status
        return await self.fake.next_event(self.chat_id, after)

    async def say(self, text: str) -> Sent:
        return await self.do(self.fake.text(self.chat_id, text))

    async def press(self, message: Sent, label: str) -> Sent:
        return await self.do(self.fake.press(message, label))

    async def onboard(self, municipality: str = "Botkyrka") -> Sent:
        """/start, English, OK, the municipality: returns the "What do you want to do?" message."""
        welcome = await self.say("/start")
        consent = await self.press(welcome, "English")
        question = await self.press(consent, "OK")
        assert question.text == "Which municipality do you live in?", question.text
        return await self.say(municipality)
