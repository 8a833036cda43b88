"""A fake Twilio REST API on 127.0.0.1: records the messages the real twilio client sends, and answers with
the failures a test scripts (21610 opted out, 429, 500, a dropped connection).

Only what the SMS channel uses: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+46766860001"
SERVICE_SID = "MG" + "2" * 32


@dataclass
class SentMessage:
    sid: str
    to: str
    body: str
    sender: str | None
    messaging_service_sid: str | None
    status_callback: str | None


@dataclass
class Failure:
    status: int
    code: int | None = None
    retry_after: str | None = None
    message: str = "scripted failure"
    drop: bool = False  # close the connection instead of answering


@dataclass
class FakeTwilio:
    """`messages` are the accepted messages in order; `attempts` counts every request, accepted or not."""

    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[SentMessage] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    by_attempt: dict[int, Failure] = field(default_factory=dict)
    attempts: int = 0
    server: TestServer | None = None
    _sids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        assert self.server is not None, "start() the fake first"
        return str(self.server.make_url("")).rstrip("/")

    def fail_next(self, status: int, code: int | None = None, *, retry_after: str | None = None) -> None:
        self.failures.append(Failure(status, code, retry_after))

    def drop_next(self) -> None:
        self.failures.append(Failure(0, drop=True))

    def fail_attempt(self, number: int, status: int, code: int | None = None) -> None:
        """Fails the `number`-th request counted from the fake's start (see `attempts`)."""
        self.by_attempt[number] = Failure(status, code)

    def bodies(self, to: str | None = None) -> list[str]:
        return [m.body for m in self.messages if to is None or m.to == to]

    async def start(self) -> FakeTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.attempts += 1
        if not self._authorised(request) or request.match_info["account"] != self.account_sid:
            return _error(401, 20003, "Authenticate")
        form = await request.post()
        failure = self.by_attempt.pop(self.attempts, None)
        if failure is None and self.failures:
            failure = self.failures.pop(0)
        if failure is not None:
            if failure.drop:
                assert request.transport is not None
                request.transport.close()
                raise ConnectionResetError("dropped by the fake")
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return _error(failure.status, failure.code, failure.message, headers)
        if "To" not in form or "Body" not in form:
            return _error(400, 21602, "Message body is required")
        if "From" not in form and "MessagingServiceSid" not in form:
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        sid = f"SM{next(self._sids):032x}"
        message = SentMessage(
            sid=sid,
            to=form["To"],
            body=form["Body"],
            sender=form.get("From"),
            messaging_service_sid=form.get("MessagingServiceSid"),
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(message)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": message.to,
                "from": message.sender,
                "messaging_service_sid": message.messaging_service_sid,
                "body": message.body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
            status=201,
        )


def _error(status: int, code: int | None, message: str, headers: dict | None = None) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    body["status"] = status
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers or {}
    )


# --- the other side: Twilio calling our webhooks, and the fixtures of the SMS tests ----------------------

PUBLIC_BASE_URL = "https://vagvisare.example.org"
INBOUND_FIELDS = {
    "ToCountry": "SE",
    "ToState": "",
    "NumMedia": "0",
    "ToCity": "",
    "FromZip": "",
    "SmsStatus": "received",
    "FromCountry": "SE",
    "To": FROM_NUMBER,
    "ToZip": "",
    "NumSegments": "1",
    "ApiVersion": "2010-04-01",
}


def twilio_settings(fake: FakeTwilio, **overrides):
    from bot.config import load_settings

    values = {
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_from": FROM_NUMBER,
        "twilio_api_base": fake.base_url,
        "public_base_url": PUBLIC_BASE_URL,
        "sms_per_second": 100,
        **overrides,
    }
    return load_settings(**values)


class SmsHarness:
    """Our aiohttp application with the SMS channel installed, a test client that signs its requests as
    Twilio does, and the sender that delivers the outbox to the fake Twilio."""

    def __init__(self, runner, fake: FakeTwilio, clock, settings) -> None:
        from bot.channels.sms import SmsChannel

        self.runner, self.fake, self.clock, self.settings = runner, fake, clock, settings
        self.channel = SmsChannel(settings, runner, clock=clock)
        self._sids = itertools.count(1)
        self._seen: dict[str, int] = {}
        self.client = None

    async def start(self) -> SmsHarness:
        from aiohttp.test_utils import TestClient

        from bot.web import build_web_app

        web_app = build_web_app(self.runner.factory)
        self.channel.install(web_app)
        self.client = TestClient(TestServer(web_app, host="127.0.0.1"))
        await self.client.start_server()
        await self.channel.start()
        return self

    async def close(self) -> None:
        await self.channel.stop()
        if self.client is not None:
            await self.client.close()

    def sign(self, path: str, params: dict, token: str | None = None) -> str:
        from twilio.request_validator import RequestValidator

        validator = RequestValidator(token or self.fake.auth_token)
        return validator.compute_signature(PUBLIC_BASE_URL + path, params)

    async def post(self, path: str, params: dict, *, signature: str | None = "sign", headers=None):
        """Posts a form; `signature="sign"` signs it correctly, None sends no signature."""
        sent_headers = dict(headers or {})
        if signature == "sign":
            signature = self.sign(path, params)
        if signature is not None:
            sent_headers["X-Twilio-Signature"] = signature
        return await self.client.post(path, data=params, headers=sent_headers)

    def inbound_params(self, sender: str, body: str, sid: str | None = None, **extra: str) -> dict:
        sid = sid or f"SM{next(self._sids):030d}ab"
        return {
            **INBOUND_FIELDS,
            "AccountSid": self.fake.account_sid,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "From": sender,
            "Body": body,
            **extra,
        }

    async def text(self, sender: str, body: str, sid: str | None = None, **extra: str):
        """The person texts `body`; returns the webhook's response."""
        return await self.post("/sms/inbound", self.inbound_params(sender, body, sid, **extra))

    async def deliver(self):
        from bot import outbox

        return await outbox.deliver(
            self.runner.factory, "sms", self.channel.send, self.clock, self.channel.pacer
        )

    async def say(self, sender: str, body: str, **extra: str) -> list[str]:
        """Texts `body`, lets the sender deliver, and returns the SMS bodies the person received since."""
        response = await self.text(sender, body, **extra)
        assert response.status == 200, await response.text()
        await self.deliver()
        return self.received(sender)

    def received(self, number: str) -> list[str]:
        bodies = self.fake.bodies(number)
        new = bodies[self._seen.get(number, 0) :]
        self._seen[number] = len(bodies)
        return new

    async def status(self, sid: str, status: str, error_code: str | None = None, to: str = "+46701234567"):
        params = {
            "AccountSid": self.fake.account_sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": to,
            "From": FROM_NUMBER,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        return await self.post("/sms/status", params)


@pytest.fixture
async def twilio() -> FakeTwilio:
    fake = await FakeTwilio().start()
    yield fake
    await fake.close()


@pytest.fixture
async def sms(runner, twilio, clock) -> SmsHarness:
    harness = await SmsHarness(runner, twilio, clock, twilio_settings(twilio)).start()
    yield harness
    await harness.close()


@pytest.fixture
async def sms_with(runner, twilio, clock):
    """Another SMS channel set-up: `await sms_with(sms_help_contact="…", twilio_from="MG…")`."""
    harnesses: list[SmsHarness] = []

    async def make(**overrides) -> SmsHarness:
        harness = await SmsHarness(runner, twilio, clock, twilio_settings(twilio, **overrides)).start()
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        await harness.close()
