"""The SMS channel, through Twilio: signed webhooks in, the outbox's messages out through the REST API.

- `POST /sms/inbound`: an incoming SMS (form-encoded, as Twilio sends it). The signature is checked against
  the public URL Twilio called (PUBLIC_BASE_URL + path), the sender normalised to E.164, and the message
  handed to the turn runner with its MessageSid, so a message Twilio delivers twice is acted on once. The
  answer is an empty TwiML response: replies go through the outbox, where they are paced, retried, tracked.
- `POST /sms/status`: Twilio's status callback for a message we sent; recorded on its outbox row.
- Sending: each output is rendered for SMS (numbered choices, GSM-7 where possible) and split into messages of
  at most SMS_SEGMENT_BUDGET segments; each message is its own outbox row (see `outbox.SPLITTERS`), so a retry
  after a partial send sends only what is missing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.rest import Client

from bot import outbox
from bot.channels.sms_render import render_sms
from bot.config import Settings
from bot.db import transaction
from bot.models import ChannelIdentity, ConversationState, OutboundMessage, Person
from bot.outbox import Pacer, PermanentFailure, RetryAfter, Unreachable
from bot.phones import masked, to_e164
from bot.turns import TurnRunner
from dialogs.engine import stopped_state
from dialogs.model import Inbound, Output

log = logging.getLogger(__name__)
# The twilio library logs every request at INFO; ours are summarised below instead.
_twilio_log = logging.getLogger("bot.channels.sms.twilio")
_twilio_log.setLevel(logging.WARNING)

CHANNEL = "sms"
INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
# Twilio's webhook forms are a few kilobytes (a body of at most 1600 characters and some metadata).
MAX_FORM_BYTES = 32 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio error codes: the recipient replied STOP (or another opt-out word) to this sender.
OPTED_OUT = 21610
DEFAULT_RETRY_AFTER = 2.0
MAX_RETRY_AFTER = 3600.0
API_TIMEOUT = 15.0
# Twilio's opt-out classification (Advanced Opt-Out passes OptOutType), as the engine's global words.
PROVIDER_KEYWORDS = {"STOP": "stop", "START": "start", "HELP": "help"}
# How far a message has got, so that a late callback never moves a row backwards.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


def split(output: Output, budget: int) -> list[Output]:
    """One output as the SMS messages it is sent as, each within `budget` segments, in order."""
    return [
        Output(text=part, expect=output.expect, rtl=output.rtl)
        for part in render_sms(output, budget_segments=budget)
    ]


class _TwilioHttpClient(AsyncTwilioHttpClient):
    """Twilio's own asynchronous HTTP client, telling the outbox how long a 429 asks us to wait (and sending
    the credentials as a header, the way aiohttp now wants them)."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict | None = None,
        data: dict | None = None,
        headers: dict | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the twilio client's own signature
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {credentials}"}
        response = await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects=allow_redirects
        )
        if response.status_code == 429:
            raise RetryAfter(_retry_after(response.headers))
        return response


def _retry_after(headers) -> float:
    try:
        seconds = float((headers or {}).get("Retry-After", DEFAULT_RETRY_AFTER))
    except (TypeError, ValueError):
        seconds = DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class SmsChannel:
    """The `bot.channels.base.Channel` for SMS through Twilio."""

    name = CHANNEL

    def __init__(
        self,
        settings: Settings,
        runner: TurnRunner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        if not (settings.sms_configured and settings.public_base_url):
            raise ValueError(
                "the SMS channel needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM and PUBLIC_BASE_URL"
            )
        self.runner = runner
        self.factory: async_sessionmaker[AsyncSession] = runner.factory
        self.clock = clock
        self.account_sid = settings.twilio_account_sid
        self.auth_token = settings.twilio_auth_token.get_secret_value()
        self.sender = settings.twilio_from
        self.api_base = settings.twilio_api_base
        self.public_base_url = settings.public_base_url
        self.budget = settings.sms_segment_budget
        self.pacer = Pacer(per_second=settings.sms_per_second)
        self.validator = RequestValidator(self.auth_token)
        self._client: Client | None = None
        self._http: _TwilioHttpClient | None = None
        outbox.SPLITTERS[CHANNEL] = self.split
        outbox.RECONCILERS[CHANNEL] = self.reconcile
        outbox.REPORTED.add(CHANNEL)  # status callbacks find a message by the id its sending recorded
        if settings.sms_help_contact:
            runner.help_contacts[CHANNEL] = settings.sms_help_contact

    # --- the Channel protocol ------------------------------------------------------------------------

    def install(self, web_app: web.Application) -> None:
        web_app.router.add_post(INBOUND_PATH, self.inbound)
        web_app.router.add_post(STATUS_PATH, self.status)

    async def start(self) -> None:
        self._rest()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None

    def split(self, output: Output) -> list[Output]:
        return split(output, self.budget)

    async def send(self, address: str, output: Output) -> str | None:
        """Sends one outbox row. Rows are queued already split (one SMS each); a row queued by a process
        that did not know the SMS channel is split here and its parts sent in order."""
        parts = render_sms(output, budget_segments=self.budget)
        if len(parts) > 1:
            log.warning(
                "an SMS row was queued unsplit; sending its parts together", extra={"parts": len(parts)}
            )
        sid = None
        for part in parts:
            sid = await self._create(address, part)
        return sid

    async def reconcile(self, address: str, output: Output, since: datetime) -> str | None:
        """A row left "sending" by a sender that died: did Twilio take it? Our messages to `address` created
        since the row was claimed (a minute's slack for clocks) with the same text; the newest one's id."""
        bodies = set(render_sms(output, budget_segments=self.budget))
        sender = {} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            messages = await self._rest().api.account.messages.list_async(to=address, limit=20, **sender)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise await self._failure(address, exc) from None
        for message in messages:
            created = message.date_created
            if message.body in bodies and (created is None or created >= since - timedelta(minutes=1)):
                return message.sid
        return None

    # --- sending --------------------------------------------------------------------------------------

    def _rest(self) -> Client:
        if self._client is None:
            self._http = _TwilioHttpClient(timeout=API_TIMEOUT, logger=_twilio_log)
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            if self.api_base:
                self._client.api.base_url = self.api_base
        return self._client

    async def _create(self, address: str, body: str) -> str:
        sender = (
            {"messaging_service_sid": self.sender} if self.sender.startswith("MG") else {"from_": self.sender}
        )
        try:
            message = await self._rest().api.account.messages.create_async(
                to=address, body=body, status_callback=self.public_base_url + STATUS_PATH, **sender
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise await self._failure(address, exc) from None
        return message.sid

    async def _failure(self, address: str, exc: TwilioRestException | TwilioServiceException) -> Exception:
        """What a refused request means for the outbox (5xx: the exception itself, retried with backoff)."""
        status, code = int(exc.status or 0), _code(exc.code)
        if code == OPTED_OUT:
            await opted_out(self.factory, address, self.clock())
            log.info("recipient opted out at Twilio", extra={"channel": CHANNEL})
            return Unreachable()
        if status == 429:
            return RetryAfter(DEFAULT_RETRY_AFTER)
        if status >= 500 or status == 0:
            return exc
        if status in (401, 403):
            log.error("Twilio refused our credentials; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        return PermanentFailure(f"twilio {status} {code or ''}".strip())

    # --- webhooks -------------------------------------------------------------------------------------

    async def inbound(self, request: web.Request) -> web.Response:
        params = await self._signed_form(request)
        message_sid = params.get("MessageSid") or params.get("SmsSid")
        address = to_e164(params.get("From"))
        if not message_sid or len(message_sid) > 64:
            raise web.HTTPBadRequest(text="MessageSid is missing")
        if address is None:
            log.info("SMS from a number that is not valid, refused", extra={"channel": CHANNEL})
            raise web.HTTPBadRequest(text="From is not a valid phone number")
        keyword = PROVIDER_KEYWORDS.get((params.get("OptOutType") or "").upper())
        inbound = Inbound(text=params.get("Body", ""), payload={"keyword": keyword} if keyword else {})
        result = await self.runner.handle(CHANNEL, address, inbound, external_id=message_sid)
        log.debug("SMS handled", extra={"from": masked(address), "duplicate": result.duplicate})
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def status(self, request: web.Request) -> web.Response:
        params = await self._signed_form(request)
        message_sid = params.get("MessageSid") or params.get("SmsSid")
        if not message_sid:
            raise web.HTTPBadRequest(text="MessageSid is missing")
        await record_status(
            self.factory,
            message_sid,
            (params.get("MessageStatus") or params.get("SmsStatus") or "").lower(),
            _code(params.get("ErrorCode")),
            self.clock(),
        )
        return web.Response(status=204)

    async def _signed_form(self, request: web.Request) -> MultiDict[str]:
        """The form Twilio posted, once its signature is proven; 413 when too large, 403 when not signed."""
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES, actual_size=request.content_length)
        body = await request.read()  # the application's own limit stops a body far larger (413 too)
        if len(body) > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES, actual_size=len(body))
        params = MultiDict(
            parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace")
        )
        signature = request.headers.get(SIGNATURE_HEADER)
        # Twilio signs the URL it called, the public one, not the address this server listens on.
        url = self.public_base_url + request.raw_path
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        if not signature or not self.validator.validate(url, params, signature, algorithm):
            log.warning("unsigned or wrongly signed SMS webhook refused", extra={"path": request.path})
            raise web.HTTPForbidden()
        if params.get("AccountSid", self.account_sid) != self.account_sid:
            raise web.HTTPForbidden()
        return params


def _code(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def record_status(
    factory: async_sessionmaker[AsyncSession],
    message_sid: str,
    status: str,
    error_code: int | None,
    now: datetime,
) -> bool:
    """Records a status callback on the outbox row of that message; False when no row has that id."""
    async with transaction(factory) as session:
        row = await session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.provider_message_id == message_sid, OutboundMessage.channel == CHANNEL
            )
        )
        if row is None:
            log.debug("status for a message we do not know", extra={"status": status})
            return False
        if status in STATUS_RANK and STATUS_RANK[status] >= STATUS_RANK.get(row.provider_status or "", -1):
            row.provider_status = status
        if error_code:
            row.error = f"twilio {error_code}"
        if error_code == OPTED_OUT:
            await _mark_opted_out(session, row.address, now)
        return True


async def opted_out(factory: async_sessionmaker[AsyncSession], address: str, now: datetime) -> None:
    async with transaction(factory) as session:
        await _mark_opted_out(session, address, now)


async def _mark_opted_out(session: AsyncSession, address: str, now: datetime) -> None:
    """The person replied STOP to Twilio itself: opted out, and silent in the conversation until START."""
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == CHANNEL, ChannelIdentity.address == address)
    )
    if identity is None:
        return
    identity.unreachable_at = identity.unreachable_at or now
    person = await session.get(Person, identity.person_id)
    if person is not None and person.opted_out_at is None:
        person.opted_out_at = now
    query = select(ConversationState).where(ConversationState.person_id == identity.person_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    state = await session.scalar(query)
    if state is not None and state.data.get("step") != "stopped":
        state.data, state.version, state.updated_at = stopped_state(state.data), state.version + 1, now
