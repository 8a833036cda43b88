"""Sending SMS through the real twilio client to a fake Twilio: retries, pauses, opt-outs, and a reply split
into several messages sent exactly once each, in order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot import outbox, server
from bot.app import App
from bot.channels.sms import SmsChannel
from bot.channels.sms_render import count_segments
from bot.db import transaction
from bot.models import ChannelIdentity, ConversationState, OutboundMessage, Person
from dialogs.model import Choice, Expect, Output

pytest_plugins = ["tests.fakes_twilio"]

ME = "+46701234567"
LONG = Output(
    text=" ".join(
        f"Sentence number {n} of a long answer that does not fit in one segment." for n in range(12)
    ),
    choices=(Choice("a", "First choice"), Choice("b", "Second choice"), Choice("c", "Third choice")),
    expect=Expect.CHOICE,
)


async def _rows(factory) -> list[OutboundMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))).all())


async def _queue(factory, clock, output: Output, address: str = ME, key: str | None = None) -> None:
    async with transaction(factory) as session:
        outbox.queue(
            session,
            person_id=None,
            channel="sms",
            address=address,
            output=output,
            dedupe_key=key,
            now=clock(),
        )


async def test_a_server_error_is_retried_and_the_message_sent_once(sms, factory, clock) -> None:
    await _queue(factory, clock, Output(text="Hej"))
    sms.fake.fail_next(500, 20500)
    await sms.deliver()
    [row] = await _rows(factory)
    assert row.status == "queued" and row.attempts == 1 and sms.fake.messages == []
    assert (await sms.deliver()).claimed == 0, "waits for its backoff"
    clock.advance(seconds=outbox.backoff(1).total_seconds())
    await sms.deliver()
    [row] = await _rows(factory)
    assert row.status == "sent" and row.provider_message_id == sms.fake.messages[0].sid
    assert sms.fake.bodies() == ["Hej"] and sms.fake.attempts == 2


async def test_a_dropped_connection_is_retried(sms, factory, clock) -> None:
    await _queue(factory, clock, Output(text="Hej"))
    sms.fake.drop_next()
    await sms.deliver()
    [row] = await _rows(factory)
    assert row.status == "queued" and row.error
    clock.advance(seconds=5)
    await sms.deliver()
    assert sms.fake.bodies() == ["Hej"]


async def test_429_pauses_the_channel_for_as_long_as_twilio_asks(sms, factory, clock) -> None:
    await _queue(factory, clock, Output(text="one"))
    await _queue(factory, clock, Output(text="two"), address="+46701234568")
    sms.fake.fail_next(429, 20429, retry_after="7")
    delivery = await sms.deliver()
    assert delivery.pause_until == clock() + timedelta(seconds=7)
    rows = await _rows(factory)
    assert [row.status for row in rows] == ["queued", "queued"]
    assert [row.attempts for row in rows] == [0, 0], "a pause is not a failed attempt"
    assert (await sms.deliver()).claimed == 0
    clock.advance(seconds=7)
    await sms.deliver()
    assert sms.fake.bodies() == ["one", "two"]


async def test_21610_from_the_api_opts_the_person_out(sms, factory, clock, catalogue) -> None:
    for answer in ("Hej", "1", "1"):
        await sms.say(ME, answer)
    sms.fake.fail_next(400, 21610)
    await sms.text(ME, "Botkyrka")
    await _queue(factory, clock, Output(text="A reminder"))
    await sms.deliver()
    # 4 SMS before (the welcome and the picker, two answers), then the one refused: nothing more is tried.
    assert sms.fake.attempts == 5, "the second message to the number is not even tried"
    async with factory() as session:
        person = await session.scalar(select(Person))
        identity = await session.scalar(select(ChannelIdentity))
        state = await session.scalar(select(ConversationState))
    assert person.opted_out_at == clock() and identity.unreachable_at == clock()
    assert state.data["step"] == "stopped"
    assert [(row.status, row.error) for row in (await _rows(factory))[-2:]] == [("failed", "unreachable")] * 2
    # The person writes START (Twilio lifts its block on START): back in the conversation.
    [welcome] = await sms.say(ME, "START")
    assert welcome.startswith("Välkommen tillbaka")


async def test_any_other_refusal_fails_the_message_at_once(sms, factory, clock) -> None:
    await _queue(factory, clock, Output(text="Hej"))
    sms.fake.fail_next(400, 21211)
    await sms.deliver()
    [row] = await _rows(factory)
    assert row.status == "failed" and row.attempts == 1 and row.error == "refused: twilio 400 21211"


async def test_a_long_reply_is_split_into_messages_each_sent_exactly_once_in_order(
    sms_with, factory, clock
) -> None:
    harness = await sms_with(sms_segment_budget=1)
    await _queue(factory, clock, LONG, key="reply:sms:SM1:0")
    rows = await _rows(factory)
    parts = [row.payload["text"] for row in rows]
    assert len(rows) >= 5, "one row per SMS"
    assert [row.dedupe_key for row in rows] == ["reply:sms:SM1:0"] + [
        f"reply:sms:SM1:0/{n}" for n in range(1, len(rows))
    ]
    assert all(count_segments(part).count == 1 for part in parts)
    assert parts[-1].endswith("1 First choice  2 Second choice  3 Third choice")
    # The third message fails once: the first two are not sent again, and nothing overtakes it.
    harness.fake.fail_attempt(harness.fake.attempts + 3, 500, 20500)
    await harness.deliver()
    assert harness.fake.bodies() == parts[:2]
    statuses = [row.status for row in await _rows(factory)]
    assert statuses[:2] == ["sent", "sent"] and set(statuses[2:]) == {"queued"}
    clock.advance(seconds=10)
    await harness.deliver()
    assert harness.fake.bodies() == parts, "every part once, in order"
    assert {row.status for row in await _rows(factory)} == {"sent"}


async def test_a_messaging_service_sends_as_itself(sms_with, factory, clock) -> None:
    service = "MG" + "2" * 32
    harness = await sms_with(twilio_from=service)
    await _queue(factory, clock, Output(text="Hej"))
    await harness.deliver()
    [message] = harness.fake.messages
    assert message.messaging_service_sid == service and message.sender is None


async def test_an_arabic_reply_is_ucs2_and_kept_within_the_budget(sms, factory, clock) -> None:
    arabic = Output(
        text="مرحبا بك في فيغفيساره. نحن نساعدك في العثور على دورات اللغة السويدية والتدريب والمدارس. " * 3,
        choices=(Choice("yes", "نعم"), Choice("no", "لا")),
        expect=Expect.CHOICE,
        rtl=True,
    )
    await _queue(factory, clock, arabic)
    await sms.deliver()
    bodies = sms.fake.bodies()
    assert len(bodies) >= 2
    assert [count_segments(body).encoding for body in bodies] == ["UCS-2"] * len(bodies)
    assert all(count_segments(body).count <= 3 for body in bodies)
    assert bodies[-1].endswith("1 نعم  2 لا")


async def test_the_channel_paces_per_sender_number(sms_with) -> None:
    assert (await sms_with(sms_per_second=1)).channel.pacer.interval == 1.0
    assert (await sms_with(sms_per_second=4)).channel.pacer.interval == 0.25


async def test_vagvisare_run_serves_sms_when_twilio_is_configured(
    runner, twilio, factory, clock, catalogue
) -> None:
    """The real `serve`: the webhook on the shared application, and the sender loop delivering to Twilio."""
    import socket

    from tests.fakes_twilio import SmsHarness, twilio_settings

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = twilio_settings(twilio, http_port=port)
    application = App(settings, None, factory, runner)
    channels = server.configured_channels(application)
    assert [type(channel) for channel in channels] == [SmsChannel]
    stop = asyncio.Event()
    serving = asyncio.create_task(server.serve(application, channels, stop))
    try:
        harness = SmsHarness(runner, twilio, clock, settings)
        from aiohttp import ClientSession

        params = harness.inbound_params(ME, "Hej")
        async with ClientSession() as session:
            for _ in range(50):
                try:
                    response = await session.post(
                        f"http://127.0.0.1:{port}/sms/inbound",
                        data=params,
                        headers={"X-Twilio-Signature": harness.sign("/sms/inbound", params)},
                    )
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            assert response.status == 200
            assert (await session.get(f"http://127.0.0.1:{port}/healthz")).status == 200
        # The welcome and the picker of twelve languages are two SMS; wait for both, in order.
        for _ in range(200):
            if len(twilio.messages) >= 2:
                break
            await asyncio.sleep(0.05)
        assert [m.to for m in twilio.messages] == [ME, ME]
        assert "Välj språk" in twilio.messages[0].body
    finally:
        stop.set()
        await asyncio.wait_for(serving, timeout=10)


def test_no_sms_channel_without_twilio_settings(runner, factory) -> None:
    from bot.config import load_settings

    application = App(load_settings(), None, factory, runner)
    assert server.configured_channels(application) == []
