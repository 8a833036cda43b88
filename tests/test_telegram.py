"""The Telegram channel end to end: real aiogram polling and webhook code against a fake Bot API on
127.0.0.1, the shared web application, the turn runner and the outbox's sender (bot.server.serve)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot import outbox
from bot.db import transaction
from bot.models import PRIORITY_BULK, ChannelIdentity, InboundMessage, IntakeRequest, OutboundMessage
from bot.turns import TurnRunner
from dialogs.model import Output
from tests.fakes_telegram import (
    PUBLIC_URL,
    SECRET,
    STAFF_CHAT,
    Chat,
    FakeBotAPI,
    run_assistant,
    staff_setup,
)

PERSON = 424242


@pytest.fixture
async def fake():
    api = await FakeBotAPI().start()
    yield api
    await api.close()


async def count(factory, model, *where) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_conversation_from_start_to_an_intake_request(
    runner, engine, factory, clock, catalogue, fake, webhook
) -> None:
    await staff_setup(factory, clock)
    running = await run_assistant(runner, engine, fake, webhook=webhook)
    try:
        chat = Chat(running, PERSON)
        welcome = await chat.say("/start")
        assert "Choose your language" in welcome.text
        consent = await chat.press(welcome, "English")
        assert consent.text.startswith("We save your answers")
        question = await chat.press(consent, "OK")
        assert question.text == "Which municipality do you live in?"
        goals = await chat.say("Botkyrka")
        assert goals.text.startswith("You live in Botkyrka.")
        year = await chat.press(goals, "Learn Swedish")
        results = await chat.say("1990")
        assert "SFI" in results.text and "1. " in results.text, results.text
        assert results.labels[:2] == ["1", "2"], "results are numbered lines with number buttons"
        details = await chat.press(results, "1")
        times = await chat.press(details, "Book an intake meeting")
        assert times.text.startswith("Free times")
        booked = await chat.press(times, times.labels[0])
        assert booked.text.startswith("Booked:"), booked.text
        assert year.text.startswith("What year were you born?")
        async with factory() as session:
            request = await session.scalar(select(IntakeRequest))
        assert request is not None and request.channel == "telegram"
        card = await fake.wait(lambda: fake.messages(STAFF_CHAT))
        assert request.reference in card[0].text
        assert card[0].labels == ["Bekräfta", "Avböj", "Föreslå en annan tid"]
        assert str(PERSON) not in card[0].text
        # Every button press was answered.
        assert len(fake.answers) == 6
    finally:
        await running.shutdown()
    assert await count(factory, OutboundMessage, OutboundMessage.status != "sent") == 0


async def test_the_command_list_is_set_in_each_language_telegram_can_name(runner, engine, fake) -> None:
    running = await run_assistant(runner, engine, fake)  # polling: it starts once the commands are set
    await running.shutdown()
    described = {code: {c["command"]: c["description"] for c in cs} for code, cs in fake.commands.items()}
    assert described[""]["menu"] == "Main menu" and described["sv"]["menu"] == "Huvudmeny"
    assert described["ar"]["menu"] not in ("Main menu", "Huvudmeny")
    assert set(described) == {"", "sv", "ar", "fa", "ps", "so", "ti", "uk", "ru"}, "two-letter codes only"
    assert all(list(listed) == ["start", "menu", "help", "language", "stop"] for listed in described.values())


async def test_a_restart_mid_conversation_loses_nothing(
    runner, engine, factory, directory, clock, catalogue, fake
) -> None:
    running = await run_assistant(runner, engine, fake)
    chat = Chat(running, PERSON)
    welcome = await chat.say("/start")
    consent = await chat.press(welcome, "English")
    await running.shutdown()

    restarted = TurnRunner(factory, directory, tz=runner.tz, localedir=runner.localedir, clock=clock)
    running = await run_assistant(restarted, engine, fake)
    try:
        # A button of a message sent before the restart still works: the state is in the database.
        question = await Chat(running, PERSON).press(consent, "OK")
        assert question.text == "Which municipality do you live in?"
    finally:
        await running.shutdown()


async def test_a_replayed_webhook_update_is_handled_once(runner, engine, factory, catalogue, fake) -> None:
    running = await run_assistant(runner, engine, fake, webhook=True)
    try:
        chat = Chat(running, PERSON)
        welcome = await chat.say("/start")
        press = fake.press(welcome, "English")
        consent = await chat.do(press)
        sent_before = len(fake.sent)
        assert await running.push(press) == 200, "a redelivery is acknowledged"
        assert await running.push(fake.updates[0]) == 200
        await _settled(factory)
        assert len(fake.sent) == sent_before, "no second reply"
        assert consent.text.startswith("We save your answers")
        assert await count(factory, InboundMessage) == 2
    finally:
        await running.shutdown()


async def test_an_update_served_again_after_a_crash_is_handled_once(
    runner, engine, factory, catalogue, fake
) -> None:
    """Polling: Telegram serves an update again when the offset was not confirmed before a crash."""
    running = await run_assistant(runner, engine, fake)
    chat = Chat(running, PERSON)
    update = fake.text(PERSON, "/start")
    await fake.next_event(PERSON, 0)
    await running.shutdown()
    fake.requeue(update)
    running = await run_assistant(runner, engine, fake)
    try:
        await fake.wait(lambda: fake._confirmed > update["update_id"])
        await _settled(factory)
        assert len(fake.messages(PERSON)) == 1
        consent = await chat.press(fake.messages(PERSON)[0], "English")
        assert consent.text.startswith("We save your answers")
    finally:
        await running.shutdown()


async def test_flood_control_waits_retry_after_then_delivers_everything_once(
    runner, engine, factory, catalogue, fake
) -> None:
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    running = await run_assistant(runner, engine, fake)
    try:
        people = [PERSON, PERSON + 1, PERSON + 2]
        for person in people:
            fake.text(person, "/start")
        await fake.wait(lambda: all(fake.messages(person) for person in people))
        await _settled(factory)
        calls = [call for call in fake.calls if call.method == "sendMessage"]
        assert [call.status for call in calls] == [429, 200, 200, 200]
        assert calls[1].at - calls[0].at >= 0.95, "the sender waited retry_after before trying again"
        assert all(len(fake.messages(person)) == 1 for person in people), "nothing lost, nothing twice"
    finally:
        await running.shutdown()
    async with factory() as session:
        rows = (await session.scalars(select(OutboundMessage))).all()
    assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 3


async def test_network_errors_and_5xx_are_retried(
    runner, engine, factory, catalogue, fake, monkeypatch
) -> None:
    monkeypatch.setattr(outbox, "backoff", lambda attempts: timedelta(seconds=0.2))
    fake.fail("sendMessage", 502, "Bad Gateway")
    running = await run_assistant(runner, engine, fake)
    try:
        welcome = await Chat(running, PERSON).say("/start")
        assert "Choose your language" in welcome.text
        assert [c.status for c in fake.calls if c.method == "sendMessage"] == [502, 200]
    finally:
        await running.shutdown()


async def test_a_person_who_blocked_the_bot_gets_nothing_until_they_write_again(
    runner, engine, factory, clock, catalogue, fake
) -> None:
    running = await run_assistant(runner, engine, fake)
    try:
        chat = Chat(running, PERSON)
        welcome = await chat.say("/start")
        fake.blocked.add(PERSON)
        fake.press(welcome, "English")
        await fake.wait(lambda: [c for c in fake.calls if c.method == "sendMessage" and c.status == 403])
        await _settled(factory)
        async with factory() as session:
            identity = await session.scalar(select(ChannelIdentity))
            assert identity.unreachable_at is not None
        # Something for them later (a staff decision, a reminder): not even tried.
        async with transaction(factory) as session:
            outbox.queue(
                session,
                person_id=identity.person_id,
                channel="telegram",
                address=str(PERSON),
                output=Output(text="Your intake meeting is confirmed."),
                priority=PRIORITY_BULK,
                now=clock(),
            )
        running.application.runner.wake["telegram"].set()
        await _settled(factory)
        assert [c.status for c in fake.calls if c.method == "sendMessage"] == [200, 403]
        # They unblock the bot and write again: answered.
        fake.blocked.discard(PERSON)
        consent = await chat.say("/start")
        assert consent.text.startswith("We save your answers")
        async with factory() as session:
            assert (await session.scalar(select(ChannelIdentity))).unreachable_at is None
    finally:
        await running.shutdown()


async def test_blocking_the_bot_is_noticed_before_anything_is_sent(
    runner, engine, factory, catalogue, fake
) -> None:
    running = await run_assistant(runner, engine, fake)
    try:
        await Chat(running, PERSON).say("/start")
        fake.blocked_by(PERSON)
        await fake.wait(lambda: fake._confirmed > fake.updates[-1]["update_id"])

        async def marked() -> bool:
            async with factory() as session:
                return (await session.scalar(select(ChannelIdentity))).unreachable_at is not None

        for _ in range(100):
            if await marked():
                break
            await asyncio.sleep(0.05)
        assert await marked()
    finally:
        await running.shutdown()


async def test_the_webhook_refuses_a_wrong_or_missing_secret_and_healthz_answers(
    runner, engine, factory, catalogue, fake
) -> None:
    running = await run_assistant(runner, engine, fake, webhook=True)
    try:
        assert fake.webhook["url"] == PUBLIC_URL and fake.webhook["secret_token"] == SECRET
        update = fake.text(PERSON, "/start")
        assert await fake.post(running.local_url, update, "wrong") == 401
        assert await fake.post(running.local_url, update, None) == 401
        assert await count(factory, InboundMessage) == 0
        async with ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{running.port}/healthz") as response:
                assert response.status == 200
                assert (await response.json())["database"] == "ok"
        assert await fake.post(running.local_url, update, SECRET) == 200
        await fake.wait(lambda: fake.messages(PERSON))
    finally:
        await running.shutdown()


async def test_a_database_away_answers_503_so_telegram_delivers_again(
    runner, engine, factory, catalogue, fake, monkeypatch
) -> None:
    running = await run_assistant(runner, engine, fake, webhook=True)
    handle = runner.handle

    async def away(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database is restarting"))

    try:
        welcome = await Chat(running, PERSON).say("/start")
        press = fake.press(welcome, "English")
        monkeypatch.setattr(runner, "handle", away)
        assert await running.push(press) == 503
        assert fake.answered(press) is not None, "the button press is answered even so"
        monkeypatch.setattr(runner, "handle", handle)
        after = len(fake.events)
        assert await running.push(press) == 200
        consent = await fake.next_event(PERSON, after)
        assert consent.text.startswith("We save your answers")
    finally:
        await running.shutdown()


async def test_polling_waits_for_the_database_and_loses_no_update(
    runner, engine, factory, catalogue, fake, monkeypatch
) -> None:
    handle = runner.handle
    failures = []

    async def flaky(*args, **kwargs):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database is restarting"))
        return await handle(*args, **kwargs)

    monkeypatch.setattr(runner, "handle", flaky)
    running = await run_assistant(runner, engine, fake)
    try:
        welcome = await Chat(running, PERSON).say("/start")
        assert "Choose your language" in welcome.text and len(failures) == 2
    finally:
        await running.shutdown()


async def _settled(factory, within: float = 5.0) -> None:
    """Waits until the outbox has nothing queued or being sent."""
    for _ in range(int(within / 0.05)):
        pending = await count(factory, OutboundMessage, OutboundMessage.status.in_(("queued", "sending")))
        if not pending:
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not settle")
