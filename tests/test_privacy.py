"""What a municipality must be able to promise: minimal data, erasure, retention, clean logs, fair limits."""

from __future__ import annotations

import io
import json
import logging
import random

from sqlalchemy import func, select

from bot import privacy, retention
from bot.logs import JsonFormatter, pseudonym
from bot.models import ConversationState, InboundMessage, OutboundMessage, Person
from bot.turns import TurnRunner
from dialogs.model import Inbound
from tests.conftest import LOCALES, STOCKHOLM

PHONE = "+46701234567"
JOURNEY = ("Hi", "2", "1", "botkirka", "1", "1", "1990", "2", "1", "1")


async def talk(runner, *messages: str, channel: str = "sms", address: str = PHONE) -> list[str]:
    replies = []
    for n, message in enumerate(messages):
        result = await runner.handle(
            channel, address, Inbound(text=message), external_id=f"{address}-{n}-{message[:5]}"
        )
        replies.append("\n".join(o.text for o in result.outputs))
    return replies


async def test_a_personal_identity_number_is_not_stored_and_the_person_is_told(
    runner, factory, catalogue
) -> None:
    await talk(runner, "Hi", "2", "1")
    [reply] = await talk(runner, "My number is 811218-9876")
    assert reply.startswith("Please do not send your personal identity number.")
    assert reply.endswith("Which municipality do you live in?")
    async with factory() as session:
        state = await session.scalar(select(ConversationState))
        stored = json.dumps(await privacy.export(session, await session.scalar(select(Person))), default=str)
    assert state.data["step"] == "ask_municipality"
    assert "811218" not in stored and "9876" not in json.dumps(state.data)


async def test_a_sender_over_the_limit_gets_one_polite_notice_then_silence(
    factory, directory, clock, catalogue
) -> None:
    runner = TurnRunner(factory, directory, tz=STOCKHOLM, localedir=LOCALES, clock=clock, rate_limit=3)
    replies = await talk(runner, "Hi", "2", "1", "Botkyrka", "1")
    assert "Which municipality" in replies[2]
    assert replies[3] == "You are writing very fast. Please wait a minute, then write again."
    assert replies[4] == ""
    clock.advance(minutes=1)
    [reply] = await talk(runner, "Botkyrka")
    assert reply.startswith("You live in Botkyrka."), "nothing was lost: the conversation goes on"


async def test_logs_never_hold_a_phone_number_a_chat_id_or_a_message_body(runner, catalogue) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        await talk(runner, *JOURNEY)
        await talk(runner, *JOURNEY[:3], channel="telegram", address="987654321")
        await talk(runner, "Hi", address=PHONE)  # a duplicate external id: logged as such
        logging.getLogger("bot.test").info(
            "sent", extra={"address": PHONE, "text": "botkirka", "chat": 987654321, "channel": "sms"}
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    logged = stream.getvalue()
    assert logged, "the conversation was logged at all"
    for secret in (PHONE, "46701234567", "0701234567", "987654321", "botkirka", "1990"):
        assert secret not in logged


def test_pseudonyms_are_stable_and_say_nothing() -> None:
    assert pseudonym(PHONE) == pseudonym(PHONE) != pseudonym("+46701234568")
    assert "4670" not in pseudonym(PHONE)


POLICY = retention.Policy.of(months=12, warning_days=7, history_days=90)


async def _retention(factory, clock) -> dict[str, int]:
    return await retention.run(factory, POLICY, now=clock(), tz=STOCKHOLM, localedir=LOCALES)


async def test_inactive_people_are_warned_then_erased(runner, factory, clock, catalogue) -> None:
    await talk(runner, *JOURNEY)
    clock.advance(days=365 - 6)
    outcome = await _retention(factory, clock)
    assert (outcome["warned"], outcome["erased"]) == (1, 0)
    async with factory() as session:
        warning = await session.scalar(
            select(OutboundMessage).where(OutboundMessage.dedupe_key.like("retention:%"))
        )
    assert "We will delete your answers in 7 days" in warning.payload["text"]
    assert (await _retention(factory, clock))["warned"] == 0, "warned once"
    clock.advance(days=7, minutes=1)
    assert (await _retention(factory, clock))["erased"] == 1
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0


async def test_writing_after_the_warning_keeps_the_data(runner, factory, clock, catalogue) -> None:
    await talk(runner, *JOURNEY)
    clock.advance(days=365 - 6)
    assert (await _retention(factory, clock))["warned"] == 1
    await talk(runner, "menu")
    clock.advance(days=8)
    assert (await _retention(factory, clock))["erased"] == 0
    async with factory() as session:
        assert (await session.scalar(select(Person))).retention_warned_at is None


async def test_old_message_history_is_pruned(runner, factory, clock, catalogue) -> None:
    await talk(runner, "Hi")
    async with factory() as session, session.begin():
        for row in (await session.scalars(select(OutboundMessage))).all():
            row.status = "sent"
    clock.advance(days=91)
    outcome = await _retention(factory, clock)
    assert outcome["pruned"] == 2
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_the_right_of_access_export_holds_what_is_stored(runner, factory, catalogue) -> None:
    await talk(runner, *JOURNEY)
    async with factory() as session:
        person = await privacy.find_person(session, PHONE)
        data = await privacy.export(session, person)
    assert data["channel_identities"][0]["address"] == PHONE
    assert data["profiles"][0]["municipality_code"] == "0127"
    assert data["profiles"][0]["birth_year"] == 1990
    [request] = data["intake_requests"]
    assert request["offering"]["en"] == "SFI B, evenings" and request["status"] == "requested"
    assert len(data["reminders"]) == 2
    assert data["conversation_state"]["step"] == "main_menu"
    json.dumps(data, default=str)


async def test_an_address_no_one_has_finds_no_one(factory) -> None:
    async with factory() as session:
        assert await privacy.find_person(session, "+46700000000") is None


def test_reference_codes_are_not_predictable_by_default(factory, directory) -> None:
    runner = TurnRunner(factory, directory, tz=STOCKHOLM)
    assert isinstance(runner.rng, random.SystemRandom)
