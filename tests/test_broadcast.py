"""Staff broadcasts: audience, fan-out through the outbox once per person, quiet hours, cancel and stop, the
report, and the in-doubt message after a crash (bot/broadcasts.py, the hooks in bot/outbox.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import broadcasts, outbox
from bot.broadcasts import Audience, BroadcastError
from bot.db import transaction
from bot.models import (
    PRIORITY_REPLY,
    Announcement,
    ChannelIdentity,
    OutboundMessage,
    Person,
    Profile,
    Staff,
    StaffAudit,
    StaffScope,
)
from dialogs.model import Output
from tests.conftest import LOCALES, STOCKHOLM

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=STOCKHOLM)
TEXTS = {
    "sv": "Ny kvällskurs i SFI från 1 december.",
    "en": "New evening SFI class from 1 December.",
    "ar": "دورة مسائية جديدة في SFI من 1 ديسمبر.",
}


async def add_person(
    session,
    *,
    language: str = "sv",
    municipality: str = "0127",
    identities: tuple[tuple[str, str], ...] = (("sms", "+46701000001"),),
    last_channel: str | None = None,
    goals: tuple[str, ...] = ("sfi",),
    birth_year: int = 1990,
    opted_out: bool = False,
    muted: bool = False,
    consented: bool = True,
    unreachable: tuple[str, ...] = (),
) -> Person:
    person = Person(
        language=language,
        consented_at=NOW if consented else None,
        opted_out_at=NOW if opted_out else None,
        news_muted_at=NOW if muted else None,
        last_channel=last_channel or identities[0][0],
    )
    session.add(person)
    await session.flush()
    for index, (channel, address) in enumerate(identities):
        session.add(
            ChannelIdentity(
                person_id=person.id,
                channel=channel,
                address=address,
                last_seen_at=NOW - timedelta(days=index),
                unreachable_at=NOW if channel in unreachable else None,
            )
        )
    session.add(
        Profile(person_id=person.id, municipality_code=municipality, goals=list(goals), birth_year=birth_year)
    )
    await session.flush()
    return person


async def add_staff(session, codes=("0127",), role="staff", telegram_id=555) -> Staff:
    member = Staff(telegram_id=telegram_id, role=role)
    member.scopes = [StaffScope(municipality_code=code) for code in codes]
    session.add(member)
    await session.flush()
    return member


async def _create(factory, member_id: int, **kw) -> int:
    async with transaction(factory) as session:
        member = await session.get(Staff, member_id)
        audience = kw.pop("audience", Audience(municipalities=["0127"]))
        announcement = await broadcasts.create(session, member, kw.pop("texts", TEXTS), audience, NOW, **kw)
        return announcement.id


async def _send_now(factory, member_id: int, announcement_id: int, now=NOW) -> dict:
    async with transaction(factory) as session:
        await broadcasts.schedule(session, await session.get(Staff, member_id), announcement_id, None, now)
    return await broadcasts.dispatch_due(factory, now=now, tz=STOCKHOLM, localedir=LOCALES)


async def _queued(factory, announcement_id: int) -> list[OutboundMessage]:
    async with factory() as session:
        query = select(OutboundMessage).where(OutboundMessage.announcement_id == announcement_id)
        return list((await session.scalars(query.order_by(OutboundMessage.id))).all())


@pytest.fixture
async def town(factory):
    """Botkyrka (0127) people on SMS and Telegram in three languages, and some who must get nothing."""
    async with transaction(factory) as session:
        member = await add_staff(session)
        people = {
            "sv_sms": await add_person(session, identities=(("sms", "+46701000001"),)),
            "ar_tg": await add_person(session, language="ar", identities=(("telegram", "1001"),)),
            "en_both": await add_person(
                session,
                language="en",
                identities=(("telegram", "1002"), ("sms", "+46701000002")),
                last_channel="sms",
            ),
            "fa_sms": await add_person(session, language="fa", identities=(("sms", "+46701000003"),)),
            "elsewhere": await add_person(
                session, municipality="0180", identities=(("sms", "+46701000009"),)
            ),
            "opted_out": await add_person(session, opted_out=True, identities=(("sms", "+46701000010"),)),
            "muted": await add_person(session, muted=True, identities=(("telegram", "1010"),)),
            "no_consent": await add_person(session, consented=False, identities=(("sms", "+46701000011"),)),
            "unreachable": await add_person(
                session, identities=(("telegram", "1011"),), unreachable=("telegram",)
            ),
            "work": await add_person(session, goals=("work",), identities=(("sms", "+46701000012"),)),
        }
        return member.id, {name: person.id for name, person in people.items()}


async def test_one_message_per_person_in_their_language_on_the_channel_used_last(factory, town):
    member_id, people = town
    announcement_id = await _create(factory, member_id, audience=Audience(["0127"], goals=["sfi"]))
    outcome = await _send_now(factory, member_id, announcement_id)
    assert outcome["started"] == 1
    rows = await _queued(factory, announcement_id)
    by_person = {row.person_id: row for row in rows}
    assert set(by_person) == {people[n] for n in ("sv_sms", "ar_tg", "en_both", "fa_sms")}
    assert len(rows) == 4
    assert by_person[people["en_both"]].channel == "sms"  # used last, though Telegram is also known
    assert TEXTS["ar"] in by_person[people["ar_tg"]].payload["text"]
    assert by_person[people["ar_tg"]].payload["rtl"] is True
    assert by_person[people["ar_tg"]].payload["choices"][0]["id"] == broadcasts.MUTE_CHOICE
    # Persian has no text: Swedish and English (sv_en).
    fa_text = by_person[people["fa_sms"]].payload["text"]
    assert TEXTS["sv"] in fa_text and TEXTS["en"] in fa_text and "Botkyrka" in fa_text
    assert "NYHETER AV" in by_person[people["sv_sms"]].payload["text"]
    assert "Meddelande från Botkyrka:" in by_person[people["sv_sms"]].payload["text"]
    assert all(row.priority == 10 and row.hold_quiet and row.dedupe_key for row in rows)

    # A second sweep (a restart, another instance) queues nothing more.
    async with transaction(factory) as session:
        (await session.get(Announcement, announcement_id)).fanned_out_at = None
    await broadcasts.dispatch_due(factory, now=NOW, tz=STOCKHOLM, localedir=LOCALES)
    assert len(await _queued(factory, announcement_id)) == 4


async def test_skip_leaves_out_languages_without_a_text_and_filters_apply(factory, town):
    member_id, people = town
    announcement_id = await _create(
        factory,
        member_id,
        missing="skip",
        audience=Audience(["0127"], languages=["sv", "fa", "ar"], age_groups=["20-64"], channels=["sms"]),
    )
    await _send_now(factory, member_id, announcement_id)
    rows = await _queued(factory, announcement_id)
    # fa: no text and "skip"; ar: on Telegram only; en: not among the languages; work: any goal counts.
    assert {row.person_id for row in rows} == {people["sv_sms"], people["work"]}


async def test_scope_and_texts_are_checked_and_every_action_audited(factory, town):
    member_id, _ = town
    with pytest.raises(BroadcastError, match="outside"):
        await _create(factory, member_id, audience=Audience(["0180"]))
    with pytest.raises(BroadcastError, match="Swedish"):
        await _create(factory, member_id, texts={"en": "Hello"})
    announcement_id = await _create(factory, member_id)
    async with transaction(factory) as session:
        member = await session.get(Staff, member_id)
        await broadcasts.schedule(session, member, announcement_id, NOW + timedelta(days=1), NOW)
        await broadcasts.cancel(session, member, announcement_id, NOW)
    assert await broadcasts.dispatch_due(
        factory, now=NOW + timedelta(days=2), tz=STOCKHOLM, localedir=LOCALES
    )
    assert await _queued(factory, announcement_id) == []
    async with factory() as session:
        actions = (await session.scalars(select(StaffAudit.action).order_by(StaffAudit.id))).all()
    assert actions == ["broadcast.create", "broadcast.schedule", "broadcast.cancel"]


async def test_a_scheduled_announcement_waits_for_its_time(factory, town):
    member_id, _ = town
    announcement_id = await _create(factory, member_id)
    at = NOW + timedelta(hours=3)
    async with transaction(factory) as session:
        await broadcasts.schedule(session, await session.get(Staff, member_id), announcement_id, at, NOW)
    await broadcasts.dispatch_due(factory, now=NOW, tz=STOCKHOLM, localedir=LOCALES)
    assert await _queued(factory, announcement_id) == []
    await broadcasts.dispatch_due(factory, now=at, tz=STOCKHOLM, localedir=LOCALES)
    assert len(await _queued(factory, announcement_id)) == 5


async def test_stop_cancels_what_is_queued_and_the_report_counts_it(factory, town):
    member_id, _ = town
    announcement_id = await _create(factory, member_id)
    await _send_now(factory, member_id, announcement_id)
    sent: list[str] = []

    async def send(address: str, output: Output) -> str:
        sent.append(address)
        return f"id-{len(sent)}"

    await outbox.deliver(factory, "sms", send, lambda: NOW, limit=2)
    async with transaction(factory) as session:
        cancelled = await broadcasts.stop(session, await session.get(Staff, member_id), announcement_id, NOW)
    assert cancelled == 4 - 2 + 1  # four on SMS, two sent; one on Telegram
    async with factory() as session:
        report = await broadcasts.report(session, announcement_id)
    assert report.totals == {"queued": 0, "sent": 2, "delivered": 0, "failed": 0, "cancelled": 3}
    assert report.rows[("sms", "sv")]["sent"] >= 1
    await outbox.deliver(factory, "sms", send, lambda: NOW)
    assert len(sent) == 2  # nothing more after the stop (Telegram's queued ones were cancelled too)


async def test_quiet_hours_hold_announcements_but_not_replies_or_urgent_ones(factory, town):
    member_id, _ = town
    evening = datetime(2026, 11, 27, 22, 30, tzinfo=STOCKHOLM)
    held = await _create(factory, member_id)
    urgent = await _create(factory, member_id, urgent=True, audience=Audience(["0127"], channels=["sms"]))
    await _send_now(factory, member_id, held, evening)
    await _send_now(factory, member_id, urgent, evening)
    async with transaction(factory) as session:
        outbox.queue(
            session,
            person_id=None,
            channel="sms",
            address="+46701000001",
            output=Output(text="a reply"),
            priority=PRIORITY_REPLY,
            now=evening,
        )
    sent: list[tuple[str, str]] = []

    async def send(address: str, output: Output) -> str:
        sent.append((address, output.text))
        return "x"

    for _ in range(10):
        await outbox.deliver(factory, "sms", send, lambda: evening)
    assert sent[0][1] == "a reply"
    urgent_rows = await _queued(factory, urgent)
    assert len(sent) == 1 + len(urgent_rows)
    assert all(row.status == "sent" for row in urgent_rows)
    morning = datetime(2026, 11, 28, 8, 0, tzinfo=STOCKHOLM)
    for _ in range(10):
        await outbox.deliver(factory, "sms", send, lambda: morning)
    assert {row.status for row in await _queued(factory, held) if row.channel == "sms"} == {"sent"}


async def test_a_message_in_doubt_is_looked_up_before_it_is_sent_again(factory, town):
    member_id, _ = town
    announcement_id = await _create(factory, member_id, audience=Audience(["0127"], channels=["sms"]))
    await _send_now(factory, member_id, announcement_id)
    claimed = await outbox.claim(factory, "sms", NOW)  # a sender claims one and dies with it in hand
    assert len(claimed) == 1
    asked: list[tuple[str, datetime]] = []

    async def reconcile(address: str, output: Output, since: datetime) -> str | None:
        asked.append((address, since))
        return "SM-already-sent"

    sent: list[str] = []

    async def send(address: str, output: Output) -> str:
        sent.append(address)
        return "new"

    outbox.RECONCILERS["sms"] = reconcile
    later = NOW + outbox.STALE_SENDING + timedelta(seconds=1)
    for _ in range(6):
        await outbox.deliver(factory, "sms", send, lambda: later)
    assert asked == [(claimed[0].address, NOW)]
    assert claimed[0].address not in sent and len(sent) == 3
    async with factory() as session:
        row = await session.get(OutboundMessage, claimed[0].id)
        assert (row.status, row.provider_message_id) == ("sent", "SM-already-sent")
        finished = await session.scalar(
            select(func.count()).select_from(Announcement).where(Announcement.status == "sent")
        )
    assert finished == 0
    await broadcasts.dispatch_due(factory, now=NOW, tz=STOCKHOLM, localedir=LOCALES)
    async with factory() as session:
        assert (await session.get(Announcement, announcement_id)).status == "sent"


async def test_preview_counts_people_per_channel_and_language_and_sms_segments(factory, town):
    member_id, _ = town
    announcement_id = await _create(factory, member_id)
    async with factory() as session:
        result = await broadcasts.preview(
            session, await session.get(Announcement, announcement_id), NOW, STOCKHOLM, LOCALES
        )
    assert result.counts == {("sms", "sv"): 2, ("sms", "en"): 1, ("sms", "fa"): 1, ("telegram", "ar"): 1}
    assert result.total == 5
    assert result.sms_messages == 4 and result.sms_segments >= 4
    assert "[" in result.samples[("telegram", "ar")]


async def test_news_off_mutes_announcements_only_and_news_on_brings_them_back(factory, runner, town):
    from dialogs.model import Inbound

    member_id, people = town
    result = await runner.handle("sms", "+46701000001", Inbound(text="Nyheter av"))
    assert "NYHETER PÅ" in result.outputs[0].text
    async with factory() as session:
        person = await session.get(Person, people["sv_sms"])
        assert person.news_muted_at is not None and person.opted_out_at is None
    announcement_id = await _create(factory, member_id)
    await _send_now(factory, member_id, announcement_id)
    assert people["sv_sms"] not in {row.person_id for row in await _queued(factory, announcement_id)}

    # The Telegram button under an announcement does the same; NEWS ON undoes it.
    await runner.handle("telegram", "1001", Inbound(choice_id=broadcasts.MUTE_CHOICE))
    await runner.handle("sms", "+46701000001", Inbound(text="nyheter på"))
    async with factory() as session:
        assert (await session.get(Person, people["ar_tg"])).news_muted_at is not None
        assert (await session.get(Person, people["sv_sms"])).news_muted_at is None


async def test_the_report_counts_what_the_sms_status_callbacks_said(factory, town):
    from bot.channels.sms import record_status

    member_id, _ = town
    announcement_id = await _create(factory, member_id, audience=Audience(["0127"], channels=["sms"]))
    await _send_now(factory, member_id, announcement_id)
    sids = iter(f"SM{i}" for i in range(10))

    async def send(address: str, output: Output) -> str:
        return next(sids)

    await outbox.deliver(factory, "sms", send, lambda: NOW)
    assert await record_status(factory, "SM0", "delivered", None, NOW)
    assert await record_status(factory, "SM1", "undelivered", 30003, NOW)
    async with factory() as session:
        report = await broadcasts.report(session, announcement_id)
    assert report.totals == {"queued": 0, "sent": 2, "delivered": 1, "failed": 1, "cancelled": 0}
    assert sum(counts["delivered"] + counts["failed"] for counts in report.rows.values()) == 2


async def test_the_dispatch_job_is_on_the_scheduler_and_starts_what_is_due(factory, town):
    from bot import scheduler

    member_id, _ = town
    jobs = scheduler.create_scheduler()
    job = scheduler.add_broadcast_dispatch(jobs, factory, localedir=LOCALES)
    assert job.id == scheduler.BROADCAST_DISPATCH_JOB
    announcement_id = await _create(factory, member_id)
    async with transaction(factory) as session:
        await broadcasts.schedule(session, await session.get(Staff, member_id), announcement_id, NOW, NOW)
    outcome = await scheduler.broadcast_dispatch(factory, STOCKHOLM, LOCALES, 3, lambda: NOW)
    assert outcome["started"] == 1 and outcome["queued"] == 5


async def test_a_telegram_message_in_doubt_is_sent_again(factory, town):
    """Telegram cannot be asked what went out: a row its sender died with is sent again (docs/staff.md)."""
    member_id, _ = town
    announcement_id = await _create(factory, member_id, audience=Audience(["0127"], channels=["telegram"]))
    await _send_now(factory, member_id, announcement_id)
    [claimed] = await outbox.claim(factory, "telegram", NOW)
    sent: list[str] = []

    async def send(address: str, output: Output) -> str:
        sent.append(address)
        return "1"

    await outbox.deliver(factory, "telegram", send, lambda: NOW + outbox.STALE_SENDING + timedelta(seconds=1))
    assert sorted(sent) == ["1001", "1002"]  # the one in doubt, and the other one
    async with factory() as session:
        row = await session.get(OutboundMessage, claimed.id)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_an_announcement_missed_while_no_server_ran_is_not_sent_late_and_says_so(factory, town):
    member_id, _ = town
    announcement_id = await _create(factory, member_id)
    async with transaction(factory) as session:
        member = await session.get(Staff, member_id)
        await broadcasts.schedule(session, member, announcement_id, NOW + timedelta(hours=1), NOW)
    later = NOW + timedelta(days=2)
    outcome = await broadcasts.dispatch_due(factory, now=later, tz=STOCKHOLM, localedir=LOCALES)
    assert outcome["failed"] == 1 and outcome["started"] == 0
    assert await _queued(factory, announcement_id) == []
    async with factory() as session:
        report = await broadcasts.report(session, announcement_id)
    assert report.announcement.status == "failed" and "no server" in report.announcement.error
