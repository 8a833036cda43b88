"""Staff broadcasts: an announcement to the newcomers of some municipalities, in their languages, through the
outbox, exactly once per person.

The life of an announcement (`Announcement.status`):

    draft ──schedule──> scheduled ──(due: dispatch)──> sending ──(nothing left queued)──> sent
      └──────cancel──────────┴──> cancelled              └──stop──> stopped (queued rows cancelled)
      (due more than MAX_LATE ago: every instance was down) ──> failed, with the reason in `error`

Fan-out (`dispatch_due`, run every minute by the scheduler): the audience is selected again, and one outbox
row per person is inserted in batches with `ON CONFLICT DO NOTHING` on the dedupe key
`broadcast:<id>:<person_id>`, each batch its own transaction. A crash in the middle leaves the announcement
"sending" without `fanned_out_at`; the next sweep (in this or another instance) does the fan-out again and
the dedupe keys add only the missing rows. The sender delivers them like any other row: bulk priority (after
replies and reminders), one claimed at a time, paced by the channel, held in quiet hours unless urgent.

One message per person: on the channel they used last (`bot.people.reachable_identity`'s rule), among the
channels the announcement uses; people who opted out, muted announcements, never consented or are
unreachable on every channel are left out.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.audit import record as audit
from bot.channels.sms_render import count_segments, render_sms
from bot.db import transaction
from bot.models import (
    PRIORITY_BULK,
    Announcement,
    ChannelIdentity,
    Municipality,
    OutboundMessage,
    Person,
    Profile,
    Staff,
)
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES
from dialogs.model import Choice, Expect, Output
from dialogs.text import fold

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "sms")
MISSING = ("sv_en", "skip")
# Age groups by the age a profile (the person or one of their children) reaches this year.
AGE_GROUPS: dict[str, tuple[int, int]] = {
    "0-5": (0, 5),
    "6-15": (6, 15),
    "16-19": (16, 19),
    "20-64": (20, 64),
    "65+": (65, 150),
}
GOALS = ("sfi", "study", "work", "school")
MAX_TEXT = 1000
BATCH = 1000
# A scheduled announcement found due later than this (every instance was down) is not sent late.
MAX_LATE = timedelta(hours=12)
# The Telegram button under every announcement; bot/channels/telegram.py passes its press as this choice.
MUTE_CHOICE = "news:off"


CLOCK_CHANGE_HOUR = 2


class BroadcastError(Exception):
    """A request staff can correct (a municipality outside their scope, a missing Swedish text …)."""


@dataclass
class Audience:
    municipalities: list[str]
    languages: list[str] = field(default_factory=list)  # empty: every language
    goals: list[str] = field(default_factory=list)  # empty: any goal
    age_groups: list[str] = field(default_factory=list)  # empty: any age
    channels: list[str] = field(default_factory=lambda: list(CHANNELS))

    def to_dict(self) -> dict:
        return {
            "municipalities": self.municipalities,
            "languages": self.languages,
            "goals": self.goals,
            "age_groups": self.age_groups,
            "channels": self.channels,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Audience:
        return cls(
            municipalities=list(data.get("municipalities", [])),
            languages=list(data.get("languages", [])),
            goals=list(data.get("goals", [])),
            age_groups=list(data.get("age_groups", [])),
            channels=list(data.get("channels") or CHANNELS),
        )


@dataclass(frozen=True)
class Recipient:
    person_id: int
    channel: str
    address: str
    language: str
    municipality_code: str


# --- staff and the audit log -------------------------------------------------------------------------


async def find_staff(
    session: AsyncSession, *, telegram_id: int | None = None, phone: str | None = None
) -> Staff:
    if telegram_id is not None:
        member = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    elif phone:
        member = await session.scalar(select(Staff).where(Staff.phone == phone))
    else:
        raise BroadcastError("say which staff member: a Telegram id or a phone number")
    if member is None:
        raise BroadcastError("no such staff member")
    return member


def scope(member: Staff) -> set[str]:
    return {s.municipality_code for s in member.scopes}


def in_scope(member: Staff, announcement: Announcement) -> bool:
    codes = set(Audience.from_dict(announcement.audience).municipalities)
    return member.role == "admin" or codes <= scope(member)


# --- composing ----------------------------------------------------------------------------------------


def _check(texts: dict[str, str], missing: str, audience: Audience, member: Staff) -> None:
    if not (texts.get("sv") or "").strip():
        raise BroadcastError("the Swedish text is required")
    for code, text in texts.items():
        if code not in LANGUAGES:
            raise BroadcastError(f"unknown language {code!r}")
        if not text.strip() or len(text) > MAX_TEXT:
            raise BroadcastError(f"the {code} text must be 1-{MAX_TEXT} characters")
    if missing not in MISSING:
        raise BroadcastError("missing languages get 'sv_en' (Swedish and English) or 'skip' (nothing)")
    if not audience.municipalities:
        raise BroadcastError("choose at least one municipality")
    outside = set(audience.municipalities) - scope(member)
    if outside:
        raise BroadcastError(f"outside your municipalities: {', '.join(sorted(outside))}")
    for name, values, allowed in (
        ("language", audience.languages, LANGUAGES),
        ("goal", audience.goals, GOALS),
        ("age group", audience.age_groups, AGE_GROUPS),
        ("channel", audience.channels, CHANNELS),
    ):
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise BroadcastError(f"unknown {name}: {', '.join(wrong)}")
    if not audience.channels:
        raise BroadcastError("choose at least one channel")


async def create(
    session: AsyncSession,
    member: Staff,
    texts: dict[str, str],
    audience: Audience,
    now: datetime,
    *,
    missing: str = "sv_en",
    urgent: bool = False,
) -> Announcement:
    """A draft: nothing is sent until it is scheduled or sent (`schedule`)."""
    audience.municipalities = audience.municipalities or sorted(scope(member))
    _check(texts, missing, audience, member)
    announcement = Announcement(
        staff_id=member.id,
        texts={code: text.strip() for code, text in texts.items()},
        missing_language=missing,
        audience=audience.to_dict(),
        urgent=urgent,
        status="draft",
        created_at=now,
    )
    session.add(announcement)
    await session.flush()
    audit(
        session,
        member.id,
        "broadcast.create",
        f"announcement:{announcement.id}",
        now,
        languages=sorted(texts),
        audience=audience.to_dict(),
        missing=missing,
        urgent=urgent,
    )
    return announcement


async def own(
    session: AsyncSession, member: Staff, announcement_id: int, *, lock: bool = False
) -> Announcement:
    """The announcement, if it is for municipalities in the member's scope (an admin: any)."""
    query = select(Announcement).where(Announcement.id == announcement_id)
    if lock and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    announcement = await session.scalar(query)
    if announcement is None:
        raise BroadcastError(f"no announcement {announcement_id}")
    if not in_scope(member, announcement):
        raise BroadcastError(f"announcement {announcement_id} is for municipalities outside your scope")
    return announcement


def in_clock_change_hour(local: datetime) -> bool:
    """02:00-03:00 local time is skipped or repeated when daylight saving time begins or ends: a time then
    may not exist or may exist twice, so nothing is scheduled in it (the callers ask for another time)."""
    return local.hour == CLOCK_CHANGE_HOUR


async def schedule(
    session: AsyncSession, member: Staff, announcement_id: int, at: datetime | None, now: datetime
) -> Announcement:
    """Sends at `at` (None: now, with the next sweep, or at once with `dispatch_due`)."""
    announcement = await own(session, member, announcement_id, lock=True)
    if announcement.status not in ("draft", "scheduled"):
        raise BroadcastError(f"announcement {announcement_id} is {announcement.status}")
    announcement.status, announcement.scheduled_at = "scheduled", at or now
    audit(
        session,
        member.id,
        "broadcast.schedule" if at else "broadcast.send",
        f"announcement:{announcement.id}",
        now,
        at=(at or now).isoformat(),
    )
    return announcement


async def cancel(session: AsyncSession, member: Staff, announcement_id: int, now: datetime) -> Announcement:
    """A draft or scheduled announcement that has not started: it never goes out."""
    announcement = await own(session, member, announcement_id, lock=True)
    if announcement.status not in ("draft", "scheduled"):
        raise BroadcastError(
            f"announcement {announcement_id} is {announcement.status}"
            + (": stop it instead" if announcement.status == "sending" else "")
        )
    announcement.status, announcement.finished_at = "cancelled", now
    audit(session, member.id, "broadcast.cancel", f"announcement:{announcement.id}", now)
    return announcement


async def stop(session: AsyncSession, member: Staff, announcement_id: int, now: datetime) -> int:
    """Stops a running announcement: what is still queued is cancelled (what went out stays sent). Returns
    the number of messages cancelled."""
    announcement = await own(session, member, announcement_id, lock=True)
    if announcement.status != "sending":
        raise BroadcastError(
            f"announcement {announcement_id} is {announcement.status}"
            + (": cancel it instead" if announcement.status in ("draft", "scheduled") else "")
        )
    announcement.status, announcement.finished_at = "stopped", now
    result = await session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.announcement_id == announcement.id, OutboundMessage.status == "queued")
        .values(status="cancelled", next_attempt_at=None)
    )
    audit(
        session,
        member.id,
        "broadcast.stop",
        f"announcement:{announcement.id}",
        now,
        cancelled=result.rowcount,
    )
    return result.rowcount


# --- the audience -------------------------------------------------------------------------------------


def _age_ok(birth_year: int | None, groups: Sequence[str], year: int) -> bool:
    if not groups:
        return True
    if birth_year is None:
        return False
    age = year - birth_year
    return any(AGE_GROUPS[g][0] <= age <= AGE_GROUPS[g][1] for g in groups)


async def recipients(
    session: AsyncSession, announcement: Announcement, now: datetime, tz: ZoneInfo
) -> list[Recipient]:
    """Who gets the announcement, and where: one row per person, ordered by person."""
    audience = Audience.from_dict(announcement.audience)
    codes = audience.municipalities
    eligible = (
        Person.opted_out_at.is_(None),
        Person.news_muted_at.is_(None),
        Person.consented_at.is_not(None),
    )
    # Goals (JSON) and birth years are read only when the audience is narrowed by them: decoding a goal list
    # for each of 100,000 people costs a second.
    goals_column = Profile.goals if audience.goals else null()
    birth_year_column = Profile.birth_year if audience.age_groups else null()
    query = (
        select(Profile.person_id, Profile.municipality_code, birth_year_column, goals_column, Person.language)
        .join(Person, Person.id == Profile.person_id)
        .where(Profile.municipality_code.in_(codes), *eligible)
        .order_by(Profile.person_id, Profile.id)
    )
    if audience.languages:
        query = query.where(Person.language.in_(audience.languages))
    year = now.astimezone(tz).year
    matched: dict[int, tuple[str, str]] = {}
    for person_id, code, birth_year, goals, language in (await session.execute(query)).all():
        if person_id in matched:
            continue
        if audience.goals and not set(goals or ()) & set(audience.goals):
            continue
        if not _age_ok(birth_year, audience.age_groups, year):
            continue
        matched[person_id] = (language or "sv", code)
    if not matched:
        return []
    in_audience = exists().where(Profile.person_id == Person.id, Profile.municipality_code.in_(codes))
    identities = (
        select(
            ChannelIdentity.person_id,
            ChannelIdentity.channel,
            ChannelIdentity.address,
            ChannelIdentity.last_seen_at,
            Person.last_channel,
        )
        .join(Person, Person.id == ChannelIdentity.person_id)
        .where(
            ChannelIdentity.unreachable_at.is_(None),
            ChannelIdentity.channel.in_(audience.channels),
            in_audience,
            *eligible,
        )
    )
    best: dict[int, tuple[bool, datetime, str, str]] = {}
    for person_id, channel, address, seen, last_channel in (await session.execute(identities)).all():
        if person_id not in matched:
            continue
        # The channel used last first, then the one seen most recently (bot.people.reachable_identity).
        rank = (channel == last_channel, seen, channel, address)
        if person_id not in best or rank > best[person_id]:
            best[person_id] = rank
    return [Recipient(pid, best[pid][2], best[pid][3], *matched[pid]) for pid in sorted(best)]


# --- rendering ----------------------------------------------------------------------------------------


class Renderer:
    """Renders an announcement per (language, municipality, channel), each once."""

    def __init__(self, announcement: Announcement, names: dict[str, str], localedir: Path, tz: ZoneInfo):
        self.announcement = announcement
        self.names = names
        self.localedir = localedir
        self.tz = tz
        self._cache: dict[tuple[str, str, str], Output | None] = {}

    def body(self, language: str) -> tuple[str, str] | None:
        """The text a reader of `language` gets, and its language; None: nothing (missing, "skip")."""
        texts = self.announcement.texts
        if texts.get(language):
            return texts[language], language
        if self.announcement.missing_language == "skip":
            return None
        if texts.get("en") and language != "sv":
            return f"{texts['sv']}\n\n{texts['en']}", "sv"
        return texts["sv"], "sv"

    def output(self, language: str, municipality: str, channel: str) -> Output | None:
        key = (language, municipality, channel)
        if key not in self._cache:
            self._cache[key] = self._render(language, municipality, channel)
        return self._cache[key]

    def _render(self, language: str, municipality: str, channel: str) -> Output | None:
        body = self.body(language)
        if body is None:
            return None
        text, text_language = body
        # The fixed parts in the reader's language when their text is theirs; else in the text's language.
        t = Translator(self.localedir, language if text_language == language else text_language, self.tz)
        header = t._("Message from {municipality}:", municipality=self.names.get(municipality, municipality))
        if channel == "sms":
            footer = t._("To get no more news from us, write NEWS OFF.")
            return Output(text=f"{header}\n{text}\n\n{footer}", rtl=t.rtl)
        return Output(
            text=f"{header}\n{text}",
            choices=(Choice(MUTE_CHOICE, t._("Mute news")),),
            expect=Expect.NOTHING,
            rtl=t.rtl,
        )


async def _names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    rows = await session.execute(
        select(Municipality.code, Municipality.name).where(Municipality.code.in_(codes))
    )
    return dict(rows.all())


def sms_parts(output: Output, budget: int) -> list[str]:
    return render_sms(output, budget_segments=budget)


@dataclass
class Preview:
    counts: dict[tuple[str, str], int]  # (channel, language) -> people
    samples: dict[tuple[str, str], str]  # (channel, language) -> the rendered text (first municipality)
    skipped: dict[str, int]  # language -> people who get nothing ("skip" and no text in their language)
    sms_messages: int
    sms_segments: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def preview(
    session: AsyncSession,
    announcement: Announcement,
    now: datetime,
    tz: ZoneInfo,
    localedir: Path,
    sms_budget: int = 3,
) -> Preview:
    people = await recipients(session, announcement, now, tz)
    renderer = Renderer(
        announcement, await _names(session, announcement.audience["municipalities"]), localedir, tz
    )
    counts: Counter[tuple[str, str]] = Counter()
    skipped: Counter[str] = Counter()
    samples: dict[tuple[str, str], str] = {}
    segments: dict[tuple[str, str], tuple[int, int]] = {}
    sms_messages = sms_segments = 0
    for person in people:
        output = renderer.output(person.language, person.municipality_code, person.channel)
        if output is None:
            skipped[person.language] += 1
            continue
        key = (person.channel, person.language)
        counts[key] += 1
        if key not in samples:
            samples[key] = _sample(output, person.channel, sms_budget)
        if person.channel == "sms":
            cost_key = (person.language, person.municipality_code)
            if cost_key not in segments:
                parts = sms_parts(output, sms_budget)
                segments[cost_key] = (len(parts), sum(count_segments(p).count for p in parts))
            sms_messages += segments[cost_key][0]
            sms_segments += segments[cost_key][1]
    return Preview(dict(counts), samples, dict(skipped), sms_messages, sms_segments)


def _sample(output: Output, channel: str, budget: int) -> str:
    if channel == "sms":
        return "\n---\n".join(sms_parts(output, budget))
    buttons = "  ".join(f"[{c.label}]" for c in output.choices)
    return f"{output.text}\n{buttons}" if buttons else output.text


# --- fan-out ------------------------------------------------------------------------------------------


def _insert(session: AsyncSession):
    dialect = session.bind.dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(OutboundMessage.__table__)


async def fan_out(
    factory: async_sessionmaker[AsyncSession],
    announcement_id: int,
    now: datetime,
    tz: ZoneInfo,
    localedir: Path,
    sms_budget: int = 3,
) -> int:
    """Queues the announcement for its audience (again: rows already queued are kept as they are). Returns
    the announcement's rows in the outbox. Safe to run twice or in two instances at once: the dedupe key
    decides."""
    async with factory() as session:
        announcement = await session.get(Announcement, announcement_id)
        if announcement is None or announcement.status != "sending":
            return 0
        people = await recipients(session, announcement, now, tz)
        renderer = Renderer(
            announcement, await _names(session, announcement.audience["municipalities"]), localedir, tz
        )
        hold_quiet = not announcement.urgent
    rows: list[dict] = []
    payloads: dict[tuple[str, str, str], list[dict]] = {}
    for person in people:
        key = (person.language, person.municipality_code, person.channel)
        if key not in payloads:
            output = renderer.output(*key)
            if output is None:
                payloads[key] = []
            elif person.channel == "sms":
                payloads[key] = [
                    Output(text=part, rtl=output.rtl).to_dict() for part in sms_parts(output, sms_budget)
                ]
            else:
                payloads[key] = [output.to_dict()]
        for index, payload in enumerate(payloads[key]):
            dedupe = f"broadcast:{announcement_id}:{person.person_id}"
            rows.append(
                {
                    "person_id": person.person_id,
                    "channel": person.channel,
                    "address": person.address,
                    "payload": payload,
                    "priority": PRIORITY_BULK,
                    "status": "queued",
                    "attempts": 0,
                    "dedupe_key": f"{dedupe}/{index}" if index else dedupe,
                    "announcement_id": announcement_id,
                    "created_at": now,
                    "hold_quiet": hold_quiet,
                    "language": person.language,
                }
            )
    for start in range(0, len(rows), BATCH):
        async with transaction(factory) as session:
            query = select(Announcement.status).where(Announcement.id == announcement_id)
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(read=True)
            if await session.scalar(query) != "sending":
                break  # stopped meanwhile: queue nothing more
            # One statement, many parameter sets (compiled once); a row already there is left as it is.
            statement = _insert(session).on_conflict_do_nothing(index_elements=["dedupe_key"])
            await session.execute(statement, rows[start : start + BATCH])
    async with transaction(factory) as session:
        announcement = await session.get(Announcement, announcement_id)
        if announcement is not None and announcement.status == "sending":
            announcement.fanned_out_at = now
        return await session.scalar(
            select(func.count()).where(OutboundMessage.announcement_id == announcement_id)
        )


async def dispatch_due(
    factory: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    tz: ZoneInfo,
    localedir: Path,
    sms_budget: int = 3,
) -> dict[str, int]:
    """Starts the announcements that are due, finishes a fan-out a crash interrupted, and marks sent the
    announcements with nothing left to send."""
    outcome = {"started": 0, "queued": 0, "finished": 0, "failed": 0}
    async with transaction(factory) as session:
        query = select(Announcement).where(
            Announcement.status == "scheduled", Announcement.scheduled_at <= now
        )
        if session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for announcement in (await session.scalars(query)).all():
            if now - announcement.scheduled_at > MAX_LATE:
                # Due while no instance ran: news of an open day is wrong days later. Staff see why.
                announcement.status, announcement.finished_at = "failed", now
                announcement.error = "not sent: no server was running when it was due; send it again"
                outcome["failed"] += 1
                log.warning("a scheduled broadcast was missed", extra={"announcement": announcement.id})
                continue
            announcement.status = "sending"
            outcome["started"] += 1
    async with factory() as session:
        pending = list(
            (
                await session.scalars(
                    select(Announcement.id).where(
                        Announcement.status == "sending", Announcement.fanned_out_at.is_(None)
                    )
                )
            ).all()
        )
    for announcement_id in pending:
        try:
            outcome["queued"] += await fan_out(factory, announcement_id, now, tz, localedir, sms_budget)
        except Exception as exc:  # noqa: BLE001 - told to staff in the report, never silent
            log.exception("broadcast fan-out failed", extra={"announcement": announcement_id})
            outcome["failed"] += 1
            async with transaction(factory) as session:
                announcement = await session.get(Announcement, announcement_id)
                if announcement is not None:
                    announcement.error = f"{type(exc).__name__}: {exc}"[:200]
    async with transaction(factory) as session:
        busy = exists().where(
            OutboundMessage.announcement_id == Announcement.id,
            OutboundMessage.status.in_(("queued", "sending")),
        )
        result = await session.execute(
            update(Announcement)
            .where(Announcement.status == "sending", Announcement.fanned_out_at.is_not(None), ~busy)
            .values(status="sent", finished_at=now)
        )
        outcome["finished"] = result.rowcount or 0
    return outcome


# --- muting announcements -----------------------------------------------------------------------------

# NEWS OFF / NYHETER AV mute announcements only; STOP stays the word that stops everything (docs/staff.md).
NEWS_WORDS = {
    "news off": "off",
    "nyheter av": "off",
    "news on": "on",
    "nyheter pa": "on",
}


def news_word(inbound) -> str | None:
    """The news word (NEWS OFF, NYHETER PÅ …) the person wrote alone, or the mute button they pressed."""
    if inbound.choice_id == MUTE_CHOICE:
        return "off"
    return NEWS_WORDS.get(fold(inbound.text or "")) if inbound.text else None


def set_news(person: Person, word: str, t: Translator, now: datetime) -> Output:
    """Mutes or unmutes announcements for the person; the answer says how to undo it."""
    if word == "off":
        person.news_muted_at = person.news_muted_at or now
        text = t._(
            "You will get no more news from us. Everything else works as before. "
            "To get news again, write NEWS ON."
        )
    else:
        person.news_muted_at = None
        text = t._("You will get news from us again. To stop them, write NEWS OFF.")
    return Output(text=text, rtl=t.rtl)


# --- the report ---------------------------------------------------------------------------------------

REPORT_COLUMNS = ("queued", "sent", "delivered", "failed", "cancelled")


@dataclass
class Report:
    announcement: Announcement
    rows: dict[tuple[str, str], dict[str, int]]  # (channel, language) -> column -> messages

    @property
    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = dict.fromkeys(REPORT_COLUMNS, 0)
        for counts in self.rows.values():
            for column, value in counts.items():
                totals[column] += value
        return totals


def _column(status: str, provider_status: str | None) -> str:
    if status in ("queued", "sending"):
        return "queued"
    if status == "sent":
        if provider_status == "delivered" or provider_status == "read":
            return "delivered"
        if provider_status in ("failed", "undelivered"):
            return "failed"
        return "sent"
    return "cancelled" if status == "cancelled" else "failed"


async def report(session: AsyncSession, announcement_id: int) -> Report:
    """Messages of the announcement by channel and language: queued (or being sent), sent, delivered (the
    provider confirmed it: SMS status callbacks), failed, cancelled (stopped)."""
    announcement = await session.get(Announcement, announcement_id)
    if announcement is None:
        raise BroadcastError(f"no announcement {announcement_id}")
    query = (
        select(
            OutboundMessage.channel,
            OutboundMessage.language,
            OutboundMessage.status,
            OutboundMessage.provider_status,
            func.count(),
        )
        .where(OutboundMessage.announcement_id == announcement_id)
        .group_by(
            OutboundMessage.channel,
            OutboundMessage.language,
            OutboundMessage.status,
            OutboundMessage.provider_status,
        )
    )
    rows: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(REPORT_COLUMNS, 0))
    for channel, language, status, provider_status, count in (await session.execute(query)).all():
        rows[(channel, language or "?")][_column(status, provider_status)] += count
    return Report(announcement, dict(sorted(rows.items())))
