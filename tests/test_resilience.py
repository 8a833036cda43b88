"""Faults a municipality must survive, on PostgreSQL servers of the tests' own (stopped and started at will):
the database going away during a run, and two instances of `vagvisare run` sharing one database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import broadcasts, reference
from bot.db import make_engine, session_factory, transaction, upgrade
from bot.models import (
    ChannelIdentity,
    ConversationState,
    InboundMessage,
    IntakeRequest,
    IntakeSlot,
    Offering,
    Person,
    Profile,
    Reminder,
    Staff,
    StaffScope,
)
from bot.municipalities import MunicipalityDirectory
from bot.turns import TurnRunner
from catalog_sync.loader import load_file, sample_files
from tests.conftest import LOCALES, STOCKHOLM, Clock
from tests.fakes_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    SmsHarness,
    twilio_settings,
)
from tests.private_postgres import PrivatePostgres, available

pytest_plugins = ["tests.fakes_twilio"]
pytestmark = pytest.mark.skipif(
    not available(), reason="needs the PostgreSQL server binaries (initdb, pg_ctl)"
)

ROOT = Path(__file__).resolve().parent.parent
ME, OTHER = "+46701234567", "+46707654321"
NEWS_SV, NEWS_EN = "Ny kvällskurs i sfi.", "A new evening SFI class."


async def _prepare(url: str) -> None:
    engine = make_engine(url)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        await reference.seed(session)
    for path in sample_files():
        await load_file(factory, path)
    await engine.dispose()


@pytest.fixture
def private_pg():
    server = PrivatePostgres().init()
    server.start()
    upgrade(server.url)
    asyncio.run(_prepare(server.url))
    yield server
    server.destroy()


async def _count(factory, model, *where) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_while_the_database_is_down_webhooks_answer_503_and_nothing_is_half_written(private_pg, twilio):
    engine = make_engine(private_pg.url)
    factory = session_factory(engine)
    async with factory() as session:
        directory = await MunicipalityDirectory.load(session)
    clock = Clock(datetime(2026, 11, 27, 10, tzinfo=STOCKHOLM))
    runner = TurnRunner(factory, directory, tz=STOCKHOLM, localedir=LOCALES, clock=clock, rate_limit=1000)
    sms = await SmsHarness(runner, twilio, clock, twilio_settings(twilio)).start()
    try:
        assert "Welcome to Vägvisare" in " ".join(await sms.say(ME, "Hi"))
        await asyncio.to_thread(private_pg.stop)
        response = await sms.text(ME, "2", sid="SM" + "7" * 32)
        assert response.status == 503, await response.text()
        assert (await sms.client.get("/healthz")).status == 503
        await asyncio.to_thread(private_pg.start)
        assert (await sms.client.get("/healthz")).status == 200
        # Twilio delivers the same message again; now it is acted on, once.
        response = await sms.text(ME, "2", sid="SM" + "7" * 32)
        assert response.status == 200
        await sms.deliver()
        received = sms.received(ME)
        assert len(received) == 1 and received[0].startswith("We save your answers")
        again = await sms.text(ME, "2", sid="SM" + "7" * 32)
        assert again.status == 200
        await sms.deliver()
        assert sms.received(ME) == []
        assert await _count(factory, InboundMessage) == 2
        async with factory() as session:
            assert (await session.scalar(select(ConversationState))).data["step"] == "consent"
            assert (await session.scalar(select(Person))).language == "en"
    finally:
        await sms.close()
        await engine.dispose()


# --- two instances ------------------------------------------------------------------------------------


def _daytime_zone() -> str:
    """A time zone where it is now working hours, so that no reminder is held for the quiet hours."""
    for zone in (
        "Europe/Stockholm",
        "Asia/Dubai",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Australia/Sydney",
        "Pacific/Auckland",
        "America/Sao_Paulo",
        "America/New_York",
        "America/Los_Angeles",
    ):
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("no zone in working hours")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _booking_with_a_due_reminder(url: str) -> str:
    """A person on SMS with a booked intake meeting tomorrow and a reminder due a minute ago."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    async with transaction(session_factory(engine)) as session:
        slot = await session.scalar(
            select(IntakeSlot).join(Offering).where(Offering.category == "sfi").limit(1)
        )
        slot.starts_at, slot.booked = now + timedelta(days=1), 1
        person = Person(
            language="en",
            consented_at=now,
            last_channel="sms",
            identities=[ChannelIdentity(channel="sms", address=OTHER)],
            profiles=[Profile(kind="self", birth_year=1990, municipality_code="0127", goals=[], schedule=[])],
        )
        session.add(person)
        await session.flush()
        offering = await session.get(Offering, slot.offering_id)
        request = IntakeRequest(
            reference="ACD-EFH",
            person_id=person.id,
            offering_id=offering.id,
            slot_id=slot.id,
            municipality_code=offering.municipality_code,
            language="en",
            channel="sms",
        )
        session.add(request)
        await session.flush()
        session.add(Reminder(intake_request_id=request.id, due_at=now - timedelta(minutes=1)))
        member = Staff(role="admin", telegram_id=4242, scopes=[StaffScope(municipality_code="0127")])
        session.add(member)
        await session.flush()
        announcement = await broadcasts.create(
            session, member, {"sv": NEWS_SV, "en": NEWS_EN}, broadcasts.Audience(["0127"]), now, urgent=True
        )
        await broadcasts.schedule(session, member, announcement.id, None, now)
    await engine.dispose()
    return "ACD-EFH"


def _start_instance(url: str, port: int, twilio_base: str, zone: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": FROM_NUMBER,
        "TWILIO_API_BASE": twilio_base,
        "SMS_PER_SECOND": "100",
        "TIMEZONE": zone,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_healthy(http: aiohttp.ClientSession, port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        assert process.poll() is None, process.stderr.read().decode()
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"instance on port {port} did not start")


async def _wait_for(predicate, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)


async def test_two_instances_answer_each_message_once_and_send_each_reminder_and_announcement_once(
    private_pg, twilio
):
    reference_code = await _booking_with_a_due_reminder(private_pg.url)
    zone = _daytime_zone()
    ports = [_free_port(), _free_port()]
    instances = [
        _start_instance(private_pg.url.replace("+asyncpg", ""), port, twilio.base_url, zone) for port in ports
    ]
    signer = SmsHarness.__new__(SmsHarness)
    signer.fake = twilio
    try:
        async with aiohttp.ClientSession() as http:
            for port, process in zip(ports, instances, strict=True):
                await _wait_healthy(http, port, process)

            async def deliver(port: int, body: str, sid: str) -> int:
                params = {
                    "AccountSid": ACCOUNT_SID,
                    "MessageSid": sid,
                    "From": ME,
                    "To": FROM_NUMBER,
                    "Body": body,
                }
                headers = {"X-Twilio-Signature": signer.sign("/sms/inbound", params)}
                async with http.post(
                    f"http://127.0.0.1:{port}/sms/inbound", data=params, headers=headers
                ) as r:
                    return r.status

            # Twilio retried one message and the load balancer sent each delivery to another instance.
            statuses = await asyncio.gather(*(deliver(port, "Hi", "SM" + "1" * 32) for port in ports))
            assert statuses == [200, 200]
            await _wait_for(lambda: twilio.bodies(ME))
            await asyncio.sleep(2)
            welcome = twilio.bodies(ME)  # the welcome and the picker of twelve languages: one answer, two SMS
            assert len(welcome) == 2 and "Choose your language" in welcome[0] and "2 English" in welcome[1]
            # The conversation goes on through the other instance: the state is shared.
            assert await deliver(ports[1], "2", "SM" + "2" * 32) == 200
            await _wait_for(lambda: len(twilio.bodies(ME)) > 2)
            assert twilio.bodies(ME)[2].startswith("We save your answers")
            # Both instances run the reminder sweep and the broadcast dispatch: each goes out once.
            await _wait_for(lambda: len(twilio.bodies(OTHER)) >= 2)
            await asyncio.sleep(2)
            received = twilio.bodies(OTHER)
            assert sum(reference_code in body for body in received) == 1
            assert sum(NEWS_EN in body for body in received) == 1
            assert len(received) == 2, received
    finally:
        for process in instances:
            process.terminate()
        for process in instances:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
