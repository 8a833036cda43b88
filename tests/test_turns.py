"""The turn runner on a real database: one transaction per turn, redeliveries acted on once, erasure."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot import outbox
from bot.models import (
    ChannelIdentity,
    ConversationState,
    InboundMessage,
    IntakeRequest,
    IntakeSlot,
    Offering,
    OutboundMessage,
    Person,
    Profile,
)
from bot.turns import TurnRunner
from dialogs.model import Inbound

CHANNEL, ADDRESS = "terminal", "terminal:test"


async def converse(runner: TurnRunner, *messages: str, address: str = ADDRESS) -> list[str]:
    texts = []
    for message in messages:
        result = await runner.handle(CHANNEL, address, Inbound(text=message))
        texts.append("\n".join(output.text for output in result.outputs))
    return texts


async def count(factory, model, *where) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


ONBOARD = ("Hi", "2", "1", "Botkyrka")


async def test_a_redelivered_message_is_acted_on_once(runner, factory, catalogue) -> None:
    first = await runner.handle(CHANNEL, ADDRESS, Inbound(text="Hi"), external_id="m-1")
    again = await runner.handle(CHANNEL, ADDRESS, Inbound(text="Hi"), external_id="m-1")
    assert first.outputs and not first.duplicate
    assert again.duplicate and again.outputs == []
    assert await count(factory, OutboundMessage) == 1
    async with factory() as session:
        assert (await session.scalar(select(ConversationState))).version == 1


async def test_a_failing_turn_leaves_nothing_half_written(runner, factory, catalogue, monkeypatch) -> None:
    await converse(runner, "Hi", "2", "1")

    def broken_queue(*args, **kwargs):
        raise RuntimeError("outbox is down")

    monkeypatch.setattr(outbox, "queue", broken_queue)
    with pytest.raises(RuntimeError):
        await runner.handle(CHANNEL, ADDRESS, Inbound(text="Botkyrka"), external_id="m-9")
    monkeypatch.undo()
    assert await count(factory, Profile, Profile.municipality_code.is_not(None)) == 0
    assert await count(factory, InboundMessage) == 0, "the redelivery must be acted on"
    async with factory() as session:
        assert (await session.scalar(select(ConversationState))).data["step"] == "ask_municipality"
    retried = await runner.handle(CHANNEL, ADDRESS, Inbound(text="Botkyrka"), external_id="m-9")
    assert retried.outputs[0].text.startswith("You live in Botkyrka.")


async def test_a_restart_mid_conversation_loses_nothing(runner, factory, directory, clock, catalogue) -> None:
    await converse(runner, *ONBOARD)
    restarted = TurnRunner(factory, directory, tz=runner.tz, localedir=runner.localedir, clock=clock)
    [text] = await converse(restarted, "1")
    assert text == "What year were you born? For example 1990."


async def test_nothing_oversized_or_verbatim_is_stored(runner, factory, catalogue) -> None:
    secret = "Lorem ipsum 19900101-1234 " * 400
    await converse(runner, *ONBOARD, secret)
    async with factory() as session:
        state = await session.scalar(select(ConversationState))
    assert len(str(state.data)) < 2000
    assert "19900101" not in str(state.data)


async def test_delete_my_data_erases_the_person_and_keeps_an_anonymous_booking(
    runner, factory, catalogue
) -> None:
    replies = await converse(runner, *ONBOARD, "1", "1990", "1", "1", "1")
    assert "Reference" in replies[-1]
    async with factory() as session:
        request = await session.scalar(select(IntakeRequest))
        booked_before = (await session.get(IntakeSlot, request.slot_id)).booked
    [text] = await converse(runner, "delete")
    assert "Delete all your answers?" in text
    [text] = await converse(runner, "1")
    assert "Your data is deleted" in text
    for model in (Person, ChannelIdentity, Profile, ConversationState):
        assert await count(factory, model) == 0, model
    async with factory() as session:
        request = await session.scalar(select(IntakeRequest))
        assert request.person_id is None and request.profile_id is None and request.status == "cancelled"
        assert (await session.get(IntakeSlot, request.slot_id)).booked == booked_before - 1
        last = await session.scalar(select(OutboundMessage).order_by(OutboundMessage.id.desc()))
        assert last.person_id is None and "deleted" in last.payload["text"]
    [text] = await converse(runner, "Hi")
    assert "Choose your language" in text


async def test_an_opted_out_person_gets_nothing_until_start(runner, factory, catalogue) -> None:
    await converse(runner, *ONBOARD)
    await converse(runner, "stop")
    before = await count(factory, OutboundMessage)
    assert await converse(runner, "1", "hello") == ["", ""]
    assert await count(factory, OutboundMessage) == before
    async with factory() as session:
        assert (await session.scalar(select(Person))).opted_out_at is not None
    [text] = await converse(runner, "START")
    assert text.startswith("Welcome back.")


async def test_a_botkyrka_parent_never_sees_stockholms_own_residents_classes(
    runner, factory, catalogue
) -> None:
    await converse(runner, *ONBOARD, "4", "2009")
    async with factory() as session:
        reserved = (
            await session.scalars(
                select(Offering).where(Offering.open_to == "municipality", Offering.publisher_code == "0180")
            )
        ).all()
    assert reserved, "the sample catalogue must hold Stockholm's own-residents classes"
    shown = []
    for _ in range(5):
        async with factory() as session:
            state = await session.scalar(select(ConversationState))
        shown += [label for _, label in state.data["menu"]["choices"]]
        if state.data["menu"]["choices"][-1][0] != "more":
            break
        await converse(runner, "4")
    titles = {offering.title["en"] for offering in reserved}
    assert not any(title in label for label in shown for title in titles)
    assert any("Södertälje" in label for label in shown)


async def test_a_stockholm_parent_does_see_them(runner, factory, catalogue) -> None:
    replies = await converse(runner, "Hi", "2", "1", "Stockholm", "4", "2009")
    assert "school" in replies[-1]
    async with factory() as session:
        state = await session.scalar(select(ConversationState))
        reserved = (await session.scalars(select(Offering).where(Offering.open_to == "municipality"))).all()
    ids = {choice_id for choice_id, _ in state.data["menu"]["choices"]}
    assert any(f"o{offering.id}" in ids for offering in reserved)


async def test_concurrent_first_messages_from_one_address_make_one_person(runner, factory, catalogue) -> None:
    await asyncio.gather(
        *(runner.handle(CHANNEL, ADDRESS, Inbound(text="Hi"), external_id=f"x{i}") for i in range(5))
    )
    assert await count(factory, Person) == 1
    assert await count(factory, OutboundMessage) == 5


async def test_a_persons_last_activity_is_kept_to_ten_minutes_and_their_channel_at_once(
    runner, factory, clock, catalogue
) -> None:
    # Activity only decides erasure after months of silence: most turns need not write the person's row.
    async def seen() -> tuple:
        async with factory() as session:
            person = await session.scalar(select(Person))
            identity = await session.scalar(select(ChannelIdentity))
            return person.last_active_at, person.last_channel, identity.last_seen_at

    await converse(runner, "Hi")
    first = clock()
    clock.advance(minutes=9)
    await converse(runner, "2")
    assert await seen() == (first, CHANNEL, clock())
    clock.advance(minutes=1)
    await converse(runner, "1")
    assert await seen() == (clock(), CHANNEL, clock())


async def test_concurrent_messages_from_one_sender_are_each_counted_against_the_limit(
    runner, factory, catalogue
) -> None:
    await converse(runner, "Hi")  # the person exists: the turns below race on their count, not on creating it
    await asyncio.gather(
        *(runner.handle(CHANNEL, ADDRESS, Inbound(text="Hi"), external_id=f"x{i}") for i in range(12))
    )
    async with factory() as session:
        assert (await session.scalar(select(ChannelIdentity))).window_count == 13
