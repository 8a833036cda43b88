"""A sender process killed (SIGKILL) in the middle of a broadcast, with one SMS handed to Twilio and not yet
marked sent, then started again: everyone in the audience gets the announcement exactly once, no one
outside gets anything. The sender is a real subprocess (`vagvisare run`'s outbox loop and SMS channel)
against the fake Twilio API, which also answers the message listing the SMS channel uses to settle the
message in doubt."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot import broadcasts
from bot.broadcasts import Audience
from bot.db import transaction
from bot.models import Announcement, OutboundMessage, Staff
from tests.conftest import LOCALES, STOCKHOLM
from tests.fakes_twilio import FROM_NUMBER, FakeTwilio
from tests.test_broadcast import add_person, add_staff

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = 40
KILL_AT = 15  # the fake holds its answer to this message; the test kills the sender meanwhile

SENDER = """
import asyncio, sys
from datetime import timedelta
from bot import outbox
from bot.app import open_app
from bot.channels.sms import SmsChannel
from bot.config import load_settings

outbox.STALE_SENDING = timedelta(seconds=float(sys.argv[1]))

async def main():
    settings = load_settings()
    async with open_app(settings) as application:
        channel = SmsChannel(settings, application.runner)
        await channel.start()
        await outbox.run_sender(
            application.factory, "sms", channel.send, pacer=channel.pacer,
            wake=asyncio.Event(), stop=asyncio.Event(), idle_poll=0.2,
        )

asyncio.run(main())
"""


class ListingTwilio(FakeTwilio):
    """The fake Twilio, with GET Messages.json (newest first) and one answer held back on request."""

    def __init__(self) -> None:
        super().__init__()
        self.created: dict[str, datetime] = {}
        self.hold_at: int | None = None
        self.holding = asyncio.Event()

    async def start(self) -> ListingTwilio:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create_and_hold)
        app.router.add_get("/2010-04-01/Accounts/{account}/Messages.json", self._list)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def _create_and_hold(self, request: web.Request) -> web.StreamResponse:
        response = await self._create(request)
        if self.messages and self.messages[-1].sid not in self.created:
            self.created[self.messages[-1].sid] = datetime.now(UTC)
            if len(self.messages) == self.hold_at:
                self.holding.set()
                await asyncio.sleep(60)  # the sender is killed before it hears that the message was taken
        return response

    async def _list(self, request: web.Request) -> web.Response:
        to = request.query.get("To")
        sender = request.query.get("From")
        found = [
            m for m in reversed(self.messages) if (to is None or m.to == to) and (sender in (None, m.sender))
        ]
        return web.json_response(
            {
                "messages": [
                    {
                        "sid": m.sid,
                        "account_sid": self.account_sid,
                        "to": m.to,
                        "from": m.sender,
                        "body": m.body,
                        "status": "sent",
                        "date_created": format_datetime(self.created[m.sid]),
                        "direction": "outbound-api",
                    }
                    for m in found
                ],
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "uri": request.path,
            }
        )


def _environment(database_url: str, fake: ListingTwilio) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM": FROM_NUMBER,
        "TWILIO_API_BASE": fake.base_url,
        "PUBLIC_BASE_URL": "https://vagvisare.example.se",
        "SMS_PER_SECOND": "100",
        "LOG_LEVEL": "WARNING",
    }


async def _sender(database_url: str, fake: ListingTwilio, stale_seconds: float):
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SENDER,
        str(stale_seconds),
        cwd=ROOT,
        env=_environment(database_url, fake),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _until(condition, within: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _settled(factory, within: float = 30.0) -> None:
    """Until no row is queued or sending (the one in doubt was looked up at Twilio and marked)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with factory() as session:
            busy = (
                await session.scalars(
                    select(OutboundMessage.id).where(OutboundMessage.status.in_(("queued", "sending")))
                )
            ).all()
        if not busy:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still busy: {busy}"
        await asyncio.sleep(0.1)


async def test_a_sender_killed_mid_broadcast_resumes_with_no_one_twice_and_no_one_missed(
    factory, database_url
):
    now = datetime.now(UTC)
    async with transaction(factory) as session:
        member: Staff = await add_staff(session)
        inside = [f"+4670200{i:04d}" for i in range(AUDIENCE)]
        outside = [f"+4670300{i:04d}" for i in range(5)]
        for number in inside:
            await add_person(session, identities=(("sms", number),))
        for number in outside:
            await add_person(session, municipality="0180", identities=(("sms", number),))
        announcement = await broadcasts.create(
            session, member, {"sv": "Öppet hus på fredag."}, Audience(["0127"]), now, urgent=True
        )
        await broadcasts.schedule(session, member, announcement.id, None, now)
        announcement_id = announcement.id
    await broadcasts.dispatch_due(factory, now=now, tz=STOCKHOLM, localedir=LOCALES)

    fake = await ListingTwilio().start()
    fake.hold_at = KILL_AT
    try:
        # A row left "sending" is taken up again after STALE_SENDING (5 minutes; here 2 s).
        first = await _sender(database_url, fake, stale_seconds=2)
        await asyncio.wait_for(fake.holding.wait(), 60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        assert first.returncode == -signal.SIGKILL
        async with factory() as session:
            in_doubt = (
                await session.scalars(select(OutboundMessage).where(OutboundMessage.status == "sending"))
            ).all()
        assert [row.address for row in in_doubt] == [fake.messages[-1].to]  # handed over, not marked

        fake.hold_at = None
        second = await _sender(database_url, fake, stale_seconds=2)
        try:
            await _until(lambda: len({m.to for m in fake.messages}) >= AUDIENCE)
            await _settled(factory)
            await asyncio.sleep(0.5)  # anything more it would (wrongly) send
        finally:
            second.terminate()
            await second.wait()
    finally:
        await fake.close()

    received = [m.to for m in fake.messages]
    assert sorted(received) == sorted(inside), "each person in the audience exactly once"
    assert not set(received) & set(outside)
    await broadcasts.dispatch_due(factory, now=datetime.now(UTC), tz=STOCKHOLM, localedir=LOCALES)
    async with factory() as session:
        assert (await session.get(Announcement, announcement_id)).status == "sent"
        report = await broadcasts.report(session, announcement_id)
    assert report.totals["sent"] == AUDIENCE and report.totals["queued"] == 0
    async with factory() as session:
        settled = await session.get(OutboundMessage, in_doubt[0].id)
    assert settled.provider_message_id == fake.messages[KILL_AT - 1].sid  # found at Twilio, not sent again
    assert settled.attempts == 2
