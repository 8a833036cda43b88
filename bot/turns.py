"""The turn runner: one inbound message, one database transaction.

Load the person and their conversation state, run the dialog step, apply what it changed, save the state and
queue the replies in the outbox. Either all of it happens or none of it does.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload

import dialogs.flows  # noqa: F401 - registers the steps
from bot import broadcasts, outbox, privacy, reminders
from bot.db import transaction
from bot.models import ChannelIdentity, ConversationState, InboundMessage, Person
from bot.municipalities import MunicipalityDirectory
from bot.services import TurnServices
from dialogs.engine import Context, interject, run_step
from dialogs.i18n import Translator
from dialogs.model import Inbound, Output

log = logging.getLogger(__name__)
LOCALES = Path(__file__).resolve().parent.parent / "locales"
RATE_WINDOW = timedelta(minutes=1)
# How finely a person's last activity is kept: it decides erasure after months of silence, so a turn writes
# it only when it is older than this, and most turns leave the person's row alone (one statement less).
ACTIVITY_GRAIN = timedelta(minutes=10)


@dataclass(frozen=True)
class TurnResult:
    outputs: list[Output]
    duplicate: bool = False


class TurnRunner:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        directory: MunicipalityDirectory,
        *,
        tz: ZoneInfo,
        localedir: Path = LOCALES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        max_chars: int = 1000,
        rate_limit: int = 20,
        reminder_offsets: tuple[timedelta, ...] | None = None,
        offer_hours: int = 24,
    ):
        self.factory = factory
        self.directory = directory
        self.tz = tz
        self.localedir = localedir
        self.clock = clock
        self.rng = rng or random.SystemRandom()
        self.max_chars = max_chars
        self.rate_limit = rate_limit
        self.reminder_offsets = reminder_offsets or reminders.DEFAULT_OFFSETS
        self.offer_hours = offer_hours
        # Set by a channel's sender: woken when a turn has queued replies, so they go out at once.
        self.wake: dict[str, asyncio.Event] = {}
        # Set by a channel: the staff contact its help text gives (SMS_HELP_CONTACT).
        self.help_contacts: dict[str, str] = {}

    async def handle(
        self, channel: str, address: str, inbound: Inbound, *, external_id: str | None = None
    ) -> TurnResult:
        result = await self._turn(channel, address, inbound, external_id)
        if result.outputs and channel in self.wake:
            self.wake[channel].set()
        return result

    async def _turn(
        self, channel: str, address: str, inbound: Inbound, external_id: str | None
    ) -> TurnResult:
        now = self.clock()
        async with transaction(self.factory) as session:
            if external_id and not await _first_delivery(session, channel, external_id, now):
                log.info("duplicate delivery ignored", extra={"channel": channel})
                return TurnResult([], duplicate=True)
            identity = await _identity(session, channel, address, now)
            person = identity.person
            pace = _count_message(identity, now, self.rate_limit)
            if pace != "ok":
                return self._slow_down(session, identity, pace, now)
            # With the count, so that the identity is written once even when the dialog flushes midway.
            identity.last_seen_at, identity.unreachable_at = now, None
            state = await _state(session, person.id)
            services = TurnServices(
                session, person, self.directory, now, self.rng, channel, self.tz, self.reminder_offsets
            )
            services.ask, services.offer_hours = self.interject, self.offer_hours
            t = Translator(self.localedir, person.language, self.tz)
            ctx = Context(services, t, now, self.max_chars, help_contact=self.help_contacts.get(channel))
            news = broadcasts.news_word(inbound) if person.opted_out_at is None else None
            if news:  # announcements muted or unmuted; the conversation stays where it was
                outputs, new_state = [broadcasts.set_news(person, news, t, now)], state.data
            else:
                outputs, new_state = await run_step(state.data, inbound, ctx)
            person_id: int | None = person.id
            if services.erase_requested:
                await privacy.erase(session, person, now)
                person_id = None
            else:
                state.data, state.version, state.updated_at = new_state, state.version + 1, now
                _active(person, channel, now)
            for index, output in enumerate(outputs):
                key = f"reply:{channel}:{external_id}:{index}" if external_id else None
                outbox.queue(
                    session,
                    person_id=person_id,
                    channel=channel,
                    address=address,
                    output=output,
                    dedupe_key=key,
                    now=now,
                )
            if external_id:
                await session.flush()
            return TurnResult(outputs)

    def _slow_down(
        self, session: AsyncSession, identity: ChannelIdentity, pace: str, now: datetime
    ) -> TurnResult:
        """Over the per-sender limit: one polite notice in the window, then silence; nothing else runs."""
        log.warning("sender over the rate limit", extra={"channel": identity.channel})
        if pace == "silent":
            return TurnResult([])
        t = Translator(self.localedir, identity.person.language, self.tz)
        output = Output(
            text=t._("You are writing very fast. Please wait a minute, then write again."), rtl=t.rtl
        )
        outbox.queue(
            session,
            person_id=identity.person_id,
            channel=identity.channel,
            address=identity.address,
            output=output,
            now=now,
        )
        return TurnResult([output])

    async def preset_language(self, channel: str, address: str, code: str) -> None:
        """For a person who has not chosen a language yet: use `code` (a deep link, `chat --lang`)."""
        async with transaction(self.factory) as session:
            identity = await _identity(session, channel, address, self.clock())
            if identity.person.language is None:
                identity.person.language = code

    async def interject(
        self, session: AsyncSession, person_id: int, step: str, values: dict, *, priority: int
    ) -> str | None:
        """Asks a person something outside their own turn (staff propose another time), in the caller's
        transaction: the step is asked now, on the channel they last used, and answered like any other.
        Returns that channel, or None for someone who cannot be asked (erased, opted out, unreachable)."""
        now = self.clock()
        person = await session.scalar(
            select(Person)
            .where(Person.id == person_id)
            .options(selectinload(Person.profiles), selectinload(Person.identities))
        )
        if person is None or person.opted_out_at is not None or person.consented_at is None:
            return None
        identity = next(
            (i for i in person.identities if i.channel == person.last_channel and i.unreachable_at is None),
            None,
        )
        if identity is None:
            return None
        state = await _state(session, person.id)
        services = TurnServices(
            session, person, self.directory, now, self.rng, identity.channel, self.tz, self.reminder_offsets
        )
        services.ask, services.offer_hours = self.interject, self.offer_hours
        ctx = Context(services, Translator(self.localedir, person.language, self.tz), now, self.max_chars)
        outputs, new_state = await interject(state.data, step, values, ctx)
        state.data, state.version, state.updated_at = new_state, state.version + 1, now
        for output in outputs:
            outbox.queue(
                session,
                person_id=person.id,
                channel=identity.channel,
                address=identity.address,
                output=output,
                priority=priority,
                now=now,
            )
        return identity.channel


def _active(person: Person, channel: str, now: datetime) -> None:
    """Notes that the person wrote (setting a value it already has writes nothing)."""
    if now - person.last_active_at >= ACTIVITY_GRAIN:
        person.last_active_at = now
    person.last_channel, person.retention_warned_at = channel, None


def _count_message(identity: ChannelIdentity, now: datetime, limit: int) -> str:
    """Counts a message in the sender's one-minute window: "ok", "notice" (first over) or "silent"."""
    if identity.window_started_at is None or now - identity.window_started_at >= RATE_WINDOW:
        identity.window_started_at, identity.window_count = now, 0
    identity.window_count += 1
    if identity.window_count <= limit:
        return "ok"
    return "notice" if identity.window_count == limit + 1 else "silent"


async def _first_delivery(session: AsyncSession, channel: str, external_id: str, now: datetime) -> bool:
    """Records a delivery; False when it was recorded before (one statement: this is every turn's path)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(InboundMessage)
        .values(channel=channel, external_id=external_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    )
    return result.rowcount == 1


async def _identity(session: AsyncSession, channel: str, address: str, now: datetime) -> ChannelIdentity:
    query = (
        select(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.address == address)
        .options(joinedload(ChannelIdentity.person).joinedload(Person.profiles))
    )
    if session.bind.dialect.name == "postgresql":
        # Two messages from one sender at once: the second waits here, so it counts after the first.
        query = query.with_for_update(of=ChannelIdentity)
    identity = (await session.execute(query)).unique().scalar_one_or_none()
    if identity is not None:
        return identity
    try:
        async with session.begin_nested():
            person = Person(created_at=now, last_active_at=now, profiles=[])
            identity = ChannelIdentity(person=person, channel=channel, address=address, last_seen_at=now)
            session.add(identity)
            await session.flush()
        return identity
    except IntegrityError:
        found = await session.execute(query.execution_options(populate_existing=True))
        return found.unique().scalar_one()


async def _state(session: AsyncSession, person_id: int) -> ConversationState:
    query = select(ConversationState).where(ConversationState.person_id == person_id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    with session.no_autoflush:  # what the turn changed so far is written once, at its end
        state = await session.scalar(query)
    if state is None:
        state = ConversationState(person_id=person_id, data={}, version=0)
        session.add(state)
        await session.flush()
    return state
