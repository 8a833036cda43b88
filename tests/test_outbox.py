"""The outbox: replies before bulk, provider pauses honoured, unreachable people left alone, nothing lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import outbox
from bot.db import transaction
from bot.models import (
    PRIORITY_BULK,
    PRIORITY_REMINDER,
    PRIORITY_REPLY,
    ChannelIdentity,
    OutboundMessage,
    Person,
)
from dialogs.model import Output


async def _queue(factory, clock, rows: list[tuple[str, int]]) -> None:
    async with transaction(factory) as session:
        for address, priority in rows:
            outbox.queue(
                session,
                person_id=None,
                channel="test",
                address=address,
                output=Output(text=f"to {address}"),
                priority=priority,
                now=clock(),
            )


async def _rows(factory) -> list[OutboundMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))).all())


class Recorder:
    """A provider that records what it sent, and fails the calls numbered in `failures` (from 0)."""

    def __init__(self, failures: dict[int, Exception] | None = None):
        self.sent: list[str] = []
        self.calls = 0
        self.failures = failures or {}

    async def __call__(self, address: str, output: Output) -> str:
        self.calls += 1
        failure = self.failures.pop(self.calls - 1, None)
        if failure:
            raise failure
        self.sent.append(address)
        return f"id-{len(self.sent)}"


async def test_replies_go_before_bulk_whatever_was_queued_first(factory, clock) -> None:
    await _queue(factory, clock, [("a", PRIORITY_BULK), ("b", PRIORITY_BULK), ("c", PRIORITY_REPLY)])
    recorder = Recorder()
    delivery = await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["c", "a", "b"]
    assert delivery.sent == 3
    assert {row.status for row in await _rows(factory)} == {"sent"}


async def test_flood_control_pauses_the_channel_and_loses_nothing(factory, clock) -> None:
    await _queue(factory, clock, [("a", PRIORITY_REPLY), ("b", PRIORITY_REPLY), ("c", PRIORITY_REPLY)])
    recorder = Recorder({1: outbox.RetryAfter(7)})
    delivery = await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["a"]
    assert delivery.pause_until == clock() + timedelta(seconds=7)
    rows = await _rows(factory)
    assert [row.status for row in rows] == ["sent", "queued", "queued"]
    assert [row.attempts for row in rows[1:]] == [0, 0], "a provider's pause is not a failed attempt"
    assert (await outbox.deliver(factory, "test", recorder, clock)).claimed == 0, (
        "nothing before the pause ends"
    )
    clock.advance(seconds=7)
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["a", "b", "c"]


async def test_a_person_who_blocked_us_gets_nothing_more(factory, clock) -> None:
    async with transaction(factory) as session:
        session.add(Person(identities=[ChannelIdentity(channel="test", address="a")]))
    await _queue(factory, clock, [("a", PRIORITY_REPLY), ("a", PRIORITY_BULK), ("b", PRIORITY_BULK)])
    recorder = Recorder({0: outbox.Unreachable()})
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["b"]
    rows = await _rows(factory)
    assert [(row.status, row.error) for row in rows[:2]] == [("failed", "unreachable")] * 2
    async with factory() as session:
        assert (await session.scalar(select(ChannelIdentity))).unreachable_at == clock()


async def test_passing_failures_are_retried_with_backoff_until_they_give_up(factory, clock) -> None:
    await _queue(factory, clock, [("a", PRIORITY_REPLY)])

    async def broken(address: str, output: Output) -> str:
        raise ConnectionError("provider down")

    await outbox.deliver(factory, "test", broken, clock)
    [row] = await _rows(factory)
    assert row.status == "queued" and row.next_attempt_at == clock() + outbox.backoff(1)
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        clock.advance(seconds=301)
        await outbox.deliver(factory, "test", broken, clock)
    [row] = await _rows(factory)
    assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS


async def test_a_refused_message_fails_at_once(factory, clock) -> None:
    await _queue(factory, clock, [("a", PRIORITY_REPLY)])
    await outbox.deliver(factory, "test", Recorder({0: outbox.PermanentFailure("bad request")}), clock)
    [row] = await _rows(factory)
    assert row.status == "failed" and row.attempts == 1


async def test_a_message_claimed_by_a_sender_that_died_is_sent_later(factory, clock) -> None:
    await _queue(factory, clock, [("a", PRIORITY_REPLY)])
    assert len(await outbox.claim(factory, "test", clock())) == 1
    recorder = Recorder()
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == [], "still within the claim of the first sender"
    clock.advance(minutes=6)
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["a"]


@pytest.fixture
def monotonic(monkeypatch) -> list[float]:
    """The pacer's clock, moved by hand."""
    now = [100.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def slept(monkeypatch, monotonic) -> list[float]:
    """The pacer's sleeps, recorded; each moves its clock on."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        monotonic[0] += seconds

    monkeypatch.setattr(outbox.asyncio, "sleep", fake_sleep)
    return slept


async def test_the_pacer_spaces_messages_per_channel_and_per_address(slept) -> None:
    pacer = outbox.Pacer(per_second=4, per_address_interval=1.0)
    for address in ["a", "b", "a", "c"]:
        await pacer.wait(address, bulk=True)
    # b waits for the channel's rate; the second "a" waits a full second after the first.
    assert slept == [0.25, 0.75, 0.25]
    slept.clear()
    await pacer.wait("a", bulk=False)
    assert slept == [0.25], "replies are only held to the channel's rate"


def _group_pacer(per_second: float) -> outbox.Pacer:
    """Three seconds between two messages to a group; groups are the addresses that start with "-"."""
    return outbox.Pacer(
        per_second=per_second, group_interval=3.0, is_group=lambda address: address.startswith("-")
    )


async def test_a_group_chat_gets_a_message_every_three_seconds_whatever_its_priority(monotonic) -> None:
    pacer = _group_pacer(per_second=30)
    await pacer.wait("-100", bulk=False)
    assert pacer.group_busy_for("-100") == pytest.approx(3.0)
    assert pacer.group_busy_for("-200") == 0.0, "another group has its own share"
    assert pacer.group_busy_for("7") == 0.0, "a private chat is not a group"
    monotonic[0] += 3.0
    assert pacer.group_busy_for("-100") == 0.0


async def test_a_busy_group_chat_waits_in_the_queue_without_holding_up_anyone_else(
    factory, clock, monotonic, slept
) -> None:
    await _queue(factory, clock, [("-100", PRIORITY_REMINDER)] * 3 + [("a", PRIORITY_REPLY)])
    pacer = _group_pacer(per_second=1000)
    recorder = Recorder()
    await outbox.deliver(factory, "test", recorder, clock, pacer)
    assert recorder.sent == ["a", "-100"]
    assert sum(slept) < 0.1, "nobody waits for the group's next turn"
    first, second, third, _ = await _rows(factory)
    assert first.status == "sent"
    assert (second.status, third.status) == ("queued", "queued")
    assert second.next_attempt_at == third.next_attempt_at == clock() + timedelta(seconds=3)
    assert second.attempts == third.attempts == 0, "waiting for a turn is not a failed attempt"

    for _ in range(2):
        monotonic[0] += 3.0
        clock.advance(seconds=3)
        await outbox.deliver(factory, "test", recorder, clock, pacer)
    assert recorder.sent == ["a", "-100", "-100", "-100"]
    assert [row.status for row in await _rows(factory)] == ["sent"] * 4


async def test_the_sender_loop_wakes_for_new_work_and_stops_when_told(factory, clock) -> None:
    recorder = Recorder()
    wake, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        outbox.run_sender(
            factory, "test", recorder, pacer=None, wake=wake, stop=stop, clock=clock, idle_poll=30
        )
    )
    await asyncio.sleep(0.05)
    await _queue(factory, clock, [("a", PRIORITY_REPLY)])
    wake.set()
    for _ in range(100):
        if recorder.sent:
            break
        await asyncio.sleep(0.02)
    assert recorder.sent == ["a"]
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_stopping_ends_a_batch_at_once_and_puts_the_rest_back(factory, clock) -> None:
    await _queue(factory, clock, [(f"r{n}", PRIORITY_REPLY) for n in range(3)])
    await _queue(factory, clock, [(f"b{n}", PRIORITY_BULK) for n in range(3)])
    stop = asyncio.Event()
    recorder = Recorder()

    async def send_then_stop(address: str, output: Output) -> str:
        if len(recorder.sent) == 1:
            stop.set()  # a shutdown while the second message goes out
        return await recorder(address, output)

    await outbox.deliver(factory, "test", send_then_stop, clock, stop=stop)
    assert recorder.sent == ["r0", "r1"]
    rows = {row.address: row for row in await _rows(factory)}
    assert {a for a, row in rows.items() if row.status == "sent"} == {"r0", "r1"}
    assert {a for a, row in rows.items() if row.status == "queued"} == {"r2", "b0", "b1", "b2"}
    assert rows["r2"].attempts == 0, "put back, not counted as an attempt"
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["r0", "r1", "r2", "b0", "b1", "b2"], "nothing lost, nothing twice"


@pytest.mark.parametrize("seconds", [0])
async def test_a_zero_pause_is_harmless(factory, clock, seconds) -> None:
    await _queue(factory, clock, [("a", PRIORITY_REPLY)])
    recorder = Recorder({0: outbox.RetryAfter(seconds)})
    await outbox.deliver(factory, "test", recorder, clock)
    await outbox.deliver(factory, "test", recorder, clock)
    assert recorder.sent == ["a"]


async def _sent_ids(factory) -> dict[str, str | None]:
    return {row.address: row.provider_message_id for row in await _rows(factory) if row.status == "sent"}


async def test_a_channel_whose_provider_reports_later_has_each_send_recorded_before_the_next(
    factory, clock
) -> None:
    # An SMS status callback names the message by the id its sending recorded: it may come at once.
    outbox.REPORTED.add("test")
    await _queue(factory, clock, [(f"r{n}", PRIORITY_REPLY) for n in range(3)])
    recorder = Recorder()
    seen: list[dict] = []

    async def send(address: str, output: Output) -> str:
        seen.append(await _sent_ids(factory))
        return await recorder(address, output)

    await outbox.deliver(factory, "test", send, clock)
    assert seen == [{}, {"r0": "id-1"}, {"r0": "id-1", "r1": "id-2"}]
    assert await _sent_ids(factory) == {"r0": "id-1", "r1": "id-2", "r2": "id-3"}


async def test_sends_recorded_together_are_recorded_however_the_batch_ends(factory, clock) -> None:
    await _queue(factory, clock, [(f"r{n}", PRIORITY_REPLY) for n in range(3)])

    async def send_then_break(address: str, output: Output) -> str:
        if address == "r2":
            raise asyncio.CancelledError  # the sender task cancelled mid-batch
        return f"id-{address}"

    with pytest.raises(asyncio.CancelledError):
        await outbox.deliver(factory, "test", send_then_break, clock)
    assert await _sent_ids(factory) == {"r0": "id-r0", "r1": "id-r1"}
    [left] = [row for row in await _rows(factory) if row.status != "sent"]
    assert (left.address, left.status) == ("r2", "sending"), "sent again once it is stale"


async def test_a_reply_queued_while_the_sender_finds_nothing_is_not_left_waiting(
    factory, clock, monkeypatch
) -> None:
    # A turn commits and wakes the sender just after the sender's claim looked and found nothing.
    wake, stop = asyncio.Event(), asyncio.Event()
    real_claim, raced = outbox.claim, asyncio.Event()

    async def claim_then_a_turn_commits(*args, **kwargs):
        rows = await real_claim(*args, **kwargs)
        if not rows and not raced.is_set():
            raced.set()
            await _queue(factory, clock, [("a", PRIORITY_REPLY)])
            wake.set()
        return rows

    monkeypatch.setattr(outbox, "claim", claim_then_a_turn_commits)
    recorder = Recorder()
    sent = asyncio.Event()

    async def send(address: str, output: Output) -> str:
        sent.set()
        return await recorder(address, output)

    task = asyncio.create_task(
        outbox.run_sender(factory, "test", send, pacer=None, wake=wake, stop=stop, clock=clock, idle_poll=30)
    )
    try:
        await asyncio.wait_for(sent.wait(), timeout=5)  # not the 30 s of the idle poll
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert recorder.sent == ["a"]
