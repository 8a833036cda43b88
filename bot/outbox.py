"""The outbox: every message to a person is queued as a row in the same transaction as the turn that made
it, then delivered by a sender that claims rows, sends them and records the result."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.models import PRIORITY_BULK, PRIORITY_REPLY, ChannelIdentity, OutboundMessage
from dialogs.model import Output

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
# A row left in "sending" this long belongs to a sender that died; it is tried again.
STALE_SENDING = timedelta(minutes=5)

Send = Callable[[str, Output], Awaitable[str | None]]
# A channel that sends one output as several provider messages (SMS within a segment budget) registers how it
# splits one here: each part is queued as its own row, so a retry after a partial send repeats nothing.
Splitter = Callable[[Output], list[Output]]
SPLITTERS: dict[str, Splitter] = {}
# A channel whose provider can be asked whether a message went out registers how here: given a row's address,
# its output and when it was claimed, the provider's id of that message, or None. A row found still "sending"
# (its sender died while handing it over) is looked up before it is sent again (bot/channels/sms.py).
Reconciler = Callable[[str, Output, datetime], Awaitable[str | None]]
RECONCILERS: dict[str, Reconciler] = {}
# A channel whose provider reports on a message later by its id (SMS status callbacks) registers here: each
# send is recorded at once, before the report can come. Other channels' sends are recorded together, in the
# transaction that claims the next rows (one transaction a message less); a sender that dies meanwhile leaves
# that batch "sending", to be sent again after STALE_SENDING.
REPORTED: set[str] = set()
# Rows are claimed a few at a time (a bulk row alone); rows left "sending" are looked for this often.
CLAIM_BATCH = 10
STALE_CHECK = timedelta(seconds=10)
_stale_checked: dict[str, datetime] = {}
# Rows with `hold_quiet` (announcements) stay queued during quiet hours in this zone (bot/app.py sets it).
QUIET_TZ = ZoneInfo("Europe/Stockholm")


def queue(
    session: AsyncSession,
    *,
    person_id: int | None,
    channel: str,
    address: str,
    output: Output,
    priority: int = PRIORITY_REPLY,
    dedupe_key: str | None = None,
    now: datetime,
) -> OutboundMessage:
    """Queues `output` (as one row per part on a channel with a splitter); returns the first row."""
    parts = SPLITTERS[channel](output) if channel in SPLITTERS else [output]
    rows = [
        OutboundMessage(
            person_id=person_id,
            channel=channel,
            address=address,
            payload=part.to_dict(),
            priority=priority,
            dedupe_key=f"{dedupe_key}/{index}" if dedupe_key and index else dedupe_key,
            created_at=now,
        )
        for index, part in enumerate(parts or [output])
    ]
    session.add_all(rows)
    return rows[0]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 300))


async def claim(
    factory: async_sessionmaker[AsyncSession],
    channel: str,
    now: datetime,
    limit: int = 50,
    sent: list[dict] | None = None,
) -> list[OutboundMessage]:
    """Marks up to `limit` due rows as "sending" and returns them, replies before bulk, oldest first. A row
    for an address marked unreachable (the person blocked us) fails at once: nothing goes to them until they
    write again (the turn runner clears the mark). `sent`: sends of the previous batch, recorded first.

    Bulk rows are claimed one at a time, so that a sender that dies leaves at most one of them in doubt
    (handed to the provider, not yet marked sent); rows marked `hold_quiet` wait out the quiet hours."""
    from bot.reminders import in_quiet_hours  # bot.reminders queues through this module

    quiet = in_quiet_hours(now, QUIET_TZ)
    async with transaction(factory) as session:
        await _record_sent(session, sent or [])
        due = await _due(session, channel, now, min(limit, CLAIM_BATCH), quiet)
        for row, blocked in due:
            if blocked:
                row.status, row.error, row.next_attempt_at = "failed", "unreachable", None
        rows = [row for row, blocked in due if not blocked]
        rows = (
            rows[:1]
            if rows and rows[0].priority >= PRIORITY_BULK
            else [row for row in rows if row.priority < PRIORITY_BULK]
        )
        for row in rows:
            # Found "sending": its sender died with it in hand. Sent or not, the provider may be able to say.
            stale = row.status == "sending" and row.next_attempt_at is not None
            row.in_doubt_since = row.next_attempt_at - STALE_SENDING if stale else None
            row.status = "sending"
            row.attempts += 1
            row.next_attempt_at = now + STALE_SENDING
        return rows


async def _due(
    session: AsyncSession, channel: str, now: datetime, limit: int, quiet: bool
) -> list[tuple[OutboundMessage, bool]]:
    """Due rows, queued or left "sending" by a sender that died, in order, each with whether its address is
    marked unreachable. Each query walks the queue index (status, channel, priority, id) in order instead of
    sorting the whole queue; rows of dead senders are looked for every STALE_CHECK (they have waited
    STALE_SENDING already)."""
    queued = (OutboundMessage.status == "queued") & or_(
        OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now
    )
    stale = (OutboundMessage.status == "sending") & (OutboundMessage.next_attempt_at <= now)
    rows: list[tuple[OutboundMessage, bool]] = []
    recipient = and_(
        ChannelIdentity.channel == OutboundMessage.channel, ChannelIdentity.address == OutboundMessage.address
    )
    last = _stale_checked.get(channel)
    check_stale = last is None or not timedelta(0) <= now - last < STALE_CHECK
    if check_stale:
        _stale_checked[channel] = now
    for condition in (queued, stale) if check_stale else (queued,):
        query = (
            select(OutboundMessage, ChannelIdentity.unreachable_at.is_not(None))
            .outerjoin(ChannelIdentity, recipient)
            .where(OutboundMessage.channel == channel, condition)
            .order_by(OutboundMessage.priority, OutboundMessage.id)
            .limit(limit)
        )
        if quiet:
            query = query.where(OutboundMessage.hold_quiet.is_(False))
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(of=OutboundMessage, skip_locked=True)
        rows.extend((row, bool(blocked)) for row, blocked in (await session.execute(query)).all())
    return sorted(rows, key=lambda due: (due[0].priority, due[0].id))[:limit]


async def finish(
    factory: async_sessionmaker[AsyncSession],
    row_id: int,
    *,
    provider_id: str | None = None,
    error: str | None = None,
    now: datetime,
    final: bool = False,
) -> None:
    async with transaction(factory) as session:
        if error is None:
            await _record_sent(session, [_sent(row_id, provider_id, now)])
            return
        row = await session.get(OutboundMessage, row_id)
        if row is None:
            return
        row.error = error[:200]
        if final or row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.status, row.next_attempt_at = "queued", now + backoff(row.attempts)


def _sent(row_id: int, provider_id: str | None, now: datetime) -> dict:
    return {"id": row_id, "provider_message_id": provider_id, "sent_at": now}


async def _record_sent(session: AsyncSession, sent: list[dict]) -> None:
    """Marks rows sent: one statement however many (an UPDATE by primary key, executed for each)."""
    if sent:
        await session.execute(
            update(OutboundMessage), [{**row, "status": "sent", "next_attempt_at": None} for row in sent]
        )


class RetryAfter(Exception):
    """The provider asks us to wait (flood control, HTTP 429): nothing goes out on the channel until then."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Unreachable(Exception):
    """The recipient blocked us or opted out at the provider: nothing more goes to them until they write."""


class PermanentFailure(Exception):
    """The provider refused this message for good (bad address, message too long …); retrying cannot help."""


@dataclass
class Delivery:
    claimed: int = 0
    sent: int = 0
    pause_until: datetime | None = None


class Pacer:
    """At most `per_second` messages on a channel; for bulk traffic at least `per_address_interval` seconds
    between two messages to one address; and, whatever the traffic, at least `group_interval` seconds between
    two messages to a group chat (`is_group`), a wait that `deliver` spends with the message back in the queue
    rather than holding up everyone else's."""

    def __init__(
        self,
        per_second: float,
        per_address_interval: float = 0.0,
        group_interval: float = 0.0,
        is_group: Callable[[str], bool] = lambda address: False,
    ):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.per_address_interval = per_address_interval
        self.group_interval = group_interval
        self.is_group = is_group
        self._next = 0.0
        self._next_by_address: dict[str, float] = {}
        self._next_by_group: dict[str, float] = {}

    def group_busy_for(self, address: str) -> float:
        """Seconds before `address`, if it is a group chat, may have its next message; 0 when it may now."""
        if not self.group_interval or not self.is_group(address):
            return 0.0
        return max(0.0, self._next_by_group.get(address, 0.0) - time.monotonic())

    async def wait(self, address: str, bulk: bool) -> None:
        now = time.monotonic()
        start = max(now, self._next)
        if bulk and self.per_address_interval:
            start = max(start, self._next_by_address.get(address, 0.0))
        self._next = start + self.interval
        if bulk and self.per_address_interval:
            self._next_by_address[address] = start + self.per_address_interval
            if len(self._next_by_address) > 10_000:
                self._next_by_address = {a: t for a, t in self._next_by_address.items() if t > now}
        if self.group_interval and self.is_group(address):
            self._next_by_group[address] = start + self.group_interval
        if start > now:
            await asyncio.sleep(start - now)


async def deliver(
    factory: async_sessionmaker[AsyncSession],
    channel: str,
    send: Send,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    pacer: Pacer | None = None,
    limit: int = 50,
    stop: asyncio.Event | None = None,
) -> Delivery:
    """Sends what is due on `channel`, replies first, up to `limit` messages. Stops early when the provider
    asks us to wait, or when `stop` is set (paced at one SMS a second, a batch would otherwise hold a
    shutdown for most of a minute): what is claimed and not sent goes back to the queue. Claims again after
    each batch: bulk rows come one per claim, and a reply queued meanwhile goes before the next of them."""
    delivery = Delivery()
    sent: list[dict] = []  # recorded with the next claim, or when this ends (see REPORTED)
    unreachable: set[str] = set()
    # An address that must wait (a send failed for now, a group chat had its share): what follows for it
    # waits too, so it arrives in order.
    held: dict[str, datetime] = {}
    try:
        while delivery.claimed < limit and not (stop and stop.is_set()):
            rows = await claim(factory, channel, clock(), limit - delivery.claimed, sent)
            sent.clear()
            if not rows:
                break
            delivery.claimed += len(rows)
            for index, row in enumerate(rows):
                if stop and stop.is_set():
                    await release(factory, [r.id for r in rows[index:]], clock())
                    return delivery
                if row.address in unreachable:
                    await finish(factory, row.id, error="unreachable", now=clock(), final=True)
                    continue
                if row.address in held:
                    await release(factory, [row.id], held[row.address])
                    continue
                settled = await _settle_in_doubt(factory, channel, row, clock)
                if settled == "sent":
                    delivery.sent += 1
                if settled:
                    continue
                if pacer:
                    if busy := pacer.group_busy_for(row.address):
                        held[row.address] = clock() + timedelta(seconds=busy)
                        await release(factory, [row.id], held[row.address])
                        continue
                    await pacer.wait(row.address, bulk=row.priority > PRIORITY_REPLY)
                try:
                    provider_id = await send(row.address, Output.from_dict(row.payload))
                except RetryAfter as exc:
                    delivery.pause_until = clock() + timedelta(seconds=exc.seconds)
                    await release(factory, [r.id for r in rows[index:]], delivery.pause_until)
                    return delivery
                except Unreachable:
                    unreachable.add(row.address)
                    await mark_unreachable(factory, channel, row.address, clock())
                    await finish(factory, row.id, error="unreachable", now=clock(), final=True)
                    continue
                except PermanentFailure as exc:
                    await finish(factory, row.id, error=f"refused: {exc}", now=clock(), final=True)
                    continue
                except Exception as exc:  # noqa: BLE001 - network errors and 5xx: retried with backoff
                    log.warning(
                        "send failed, will retry", extra={"channel": channel, "error": type(exc).__name__}
                    )
                    await finish(factory, row.id, error=f"{type(exc).__name__}: {exc}", now=clock())
                    held[row.address] = clock() + backoff(row.attempts)
                    continue
                if channel in REPORTED:
                    await finish(factory, row.id, provider_id=provider_id, now=clock())
                else:
                    sent.append(_sent(row.id, provider_id, clock()))
                delivery.sent += 1
    finally:
        if sent:
            async with transaction(factory) as session:
                await _record_sent(session, sent)
    return delivery


async def _settle_in_doubt(
    factory: async_sessionmaker[AsyncSession],
    channel: str,
    row: OutboundMessage,
    clock: Callable[[], datetime],
) -> str | None:
    """A row a dead sender left in doubt, on a channel whose provider can be asked: "sent" when the provider
    has it (recorded so now), "later" when it could not be asked (put back). None: send it."""
    reconcile = RECONCILERS.get(channel)
    if not (reconcile and getattr(row, "in_doubt_since", None)):
        return None
    try:
        found = await reconcile(row.address, Output.from_dict(row.payload), row.in_doubt_since)
    except Exception:  # noqa: BLE001 - the lookup failed: put the row back, ask again later
        log.warning("could not ask the provider about a message in doubt", extra={"channel": channel})
        await release(factory, [row.id], clock() + backoff(row.attempts))
        return "later"
    if not found:
        return None
    log.info("a message in doubt had gone out; not sent again", extra={"channel": channel})
    await finish(factory, row.id, provider_id=found, now=clock())
    return "sent"


async def release(
    factory: async_sessionmaker[AsyncSession], row_ids: list[int], not_before: datetime
) -> None:
    """Puts claimed rows back in the queue without counting an attempt."""
    async with transaction(factory) as session:
        await session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(row_ids))
            .values(
                status="queued",
                next_attempt_at=not_before,
                attempts=case((OutboundMessage.attempts > 0, OutboundMessage.attempts - 1), else_=0),
            )
        )


async def mark_unreachable(
    factory: async_sessionmaker[AsyncSession], channel: str, address: str, now: datetime
) -> None:
    async with transaction(factory) as session:
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
            .values(unreachable_at=now)
        )


async def run_sender(
    factory: async_sessionmaker[AsyncSession],
    channel: str,
    send: Send,
    *,
    pacer: Pacer | None,
    wake: asyncio.Event,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    idle_poll: float = 1.0,
) -> None:
    """The sender loop of one channel: deliver, wait for work (or a provider's pause), repeat until `stop`."""
    while not stop.is_set():
        # Cleared before looking, not after: a turn that queues and wakes us meanwhile is not missed.
        wake.clear()
        try:
            delivery = await deliver(factory, channel, send, clock, pacer, stop=stop)
        except Exception:  # noqa: BLE001 - the database may be briefly away; the loop must survive it
            log.exception("outbox delivery failed", extra={"channel": channel})
            delivery = Delivery()
        if delivery.pause_until:
            await _sleep_or_stop(stop, (delivery.pause_until - clock()).total_seconds())
        elif delivery.claimed == 0:
            await _first_of(wake, stop, idle_poll)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        pass


async def _first_of(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
