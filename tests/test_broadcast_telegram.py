"""The staff menu on Telegram (issue #9, done when): a staff member composes an announcement in three
languages, chooses its audience, previews, confirms and schedules it, all by pressing through the real
aiogram code against the fake Bot API; when it is due, the people in the audience get it once, in their
language, on the channel they used last (Telegram through the fake Bot API, SMS through the fake Twilio),
and no one else gets anything. Also: the menu is for staff only, the scope is checked at every press, the
draft survives a restart, scheduled ones can be cancelled and running ones stopped, a past time is refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot import broadcasts
from bot.db import transaction
from bot.models import Announcement, OutboundMessage, StaffAudit, StaffDialog
from bot.staff import add_staff
from tests.conftest import LOCALES, STOCKHOLM
from tests.fakes_telegram import Chat, FakeBotAPI, Sent, run_assistant
from tests.fakes_twilio import FakeTwilio, twilio_settings
from tests.test_broadcast import add_person

STAFF = 555
STRANGER = 999
SV = "Öppet hus på Tumba bibliotek på lördag kl. 11 <välkomna> & ta med vänner."
AR = "يوم مفتوح في مكتبة تومبا يوم السبت الساعة 11."
SO = "Maalin furan oo ka dhacda maktabadda Tumba Sabtida saacadda 11."

# Botkyrka (0127) people who get the announcement: (name, language, identities, last channel).
AUDIENCE = {
    "sv_tg": ("sv", (("telegram", "2001"),), None),
    "ar_tg": ("ar", (("telegram", "2002"),), None),
    "so_sms": ("so", (("sms", "+46701000021"),), None),
    "ar_sms": ("ar", (("telegram", "2003"), ("sms", "+46701000022")), "sms"),  # used SMS last
}


@pytest.fixture
async def fake():
    api = await FakeBotAPI().start()
    yield api
    await api.close()


@pytest.fixture
async def twilio():
    api = await FakeTwilio().start()
    yield api
    await api.close()


@pytest.fixture
async def people(factory, clock):
    """The staff member (Botkyrka and Huddinge), the audience, and people who must get nothing."""
    async with transaction(factory) as session:
        await add_staff(session, STAFF, ["0127", "0126"], "staff", clock())
        ids = {}
        for name, (language, identities, last) in AUDIENCE.items():
            person = await add_person(session, language=language, identities=identities, last_channel=last)
            ids[name] = person.id
        outside = {
            "fa_skipped": dict(
                language="fa", identities=(("telegram", "2010"),)
            ),  # no Persian text: "nothing"
            "huddinge": dict(municipality="0126", identities=(("telegram", "2011"),)),
            "stockholm": dict(municipality="0180", identities=(("sms", "+46701000031"),)),
            "opted_out": dict(opted_out=True, identities=(("sms", "+46701000032"),)),
            "muted": dict(language="so", muted=True, identities=(("telegram", "2012"),)),
        }
        for name, values in outside.items():
            ids[name] = (await add_person(session, **values)).id
    return ids


@pytest.fixture
async def running(runner, engine, fake, twilio, people):
    running = await run_assistant(runner, engine, fake, **_sms_settings(twilio))
    yield running
    await running.shutdown()


def _sms_settings(twilio: FakeTwilio) -> dict:
    sms = twilio_settings(twilio)
    return {
        "twilio_account_sid": sms.twilio_account_sid,
        "twilio_auth_token": sms.twilio_auth_token,
        "twilio_from": sms.twilio_from,
        "twilio_api_base": sms.twilio_api_base,
        "public_base_url": sms.public_base_url,
        "sms_per_second": 100,
    }


class Staff(Chat):
    """The staff member's private chat with the bot."""

    def __init__(self, running, chat_id: int = STAFF):
        super().__init__(running, chat_id)

    async def press(self, message: Sent, label: str) -> Sent:
        after = len(self.fake.events)
        update = self.fake.press(message, label)
        await self.fake.wait(lambda: self.fake.answered(update))
        return await self.fake.next_event(self.chat_id, after)

    async def answer(self, message: Sent, label: str) -> dict:
        update = self.fake.press(message, label)
        return await self.fake.wait(lambda: self.fake.answered(update))

    async def forge(self, message: Sent, data: str, user_id: int | None = None) -> dict:
        update = self.fake.press(message, data=data, user_id=user_id)
        return await self.fake.wait(lambda: self.fake.answered(update))


async def compose(chat: Staff) -> Sent:
    """/staff → new → Swedish, Arabic, Somali → "nothing" for the rest → Botkyrka only → urgent: the
    preview."""
    menu = await chat.say("/staff")
    assert menu.text == "Personalmeny. Vad vill du göra?"
    assert menu.labels == ["Nytt utskick", "Mina utskick"]
    ask = await chat.press(menu, "Nytt utskick")
    assert ask.text.startswith("Skriv utskicket på svenska")
    langs = await chat.say(SV)
    assert langs.text.startswith("Texter: svenska.")
    ask = await chat.press(langs, "arabiska")
    assert ask.text == "Skriv texten på arabiska."
    langs = await chat.say(AR)
    ask = await chat.press(langs, "somaliska")
    langs = await chat.say(SO)
    assert langs.text.startswith("Texter: svenska, arabiska, somaliska.")
    assert "✓ arabiska" in langs.labels and "✓ somaliska" in langs.labels
    missing = await chat.press(langs, "Klar")
    assert "Det finns ingen engelsk text" in missing.text
    municipalities = await chat.press(missing, "Ingenting")
    assert municipalities.text.startswith("Vilka kommuner?\nValt: alla")
    assert {"Botkyrka", "Huddinge"} <= set(municipalities.labels) and "Stockholm" not in municipalities.labels
    municipalities = await chat.press(municipalities, "Botkyrka")
    assert municipalities.text.startswith("Vilka kommuner?\nValt: Botkyrka")
    assert "✓ Botkyrka" in municipalities.labels
    languages = await chat.press(municipalities, "Nästa")
    goals = await chat.press(languages, "Nästa")
    ages = await chat.press(goals, "Nästa")
    channels = await chat.press(ages, "Nästa")
    assert channels.labels[:2] == ["Telegram", "SMS"]
    urgent = await chat.press(channels, "Nästa")
    # Urgent: the test's sender runs on the real clock, which may be in the quiet hours.
    return await chat.press(urgent, "Ja, brådskande")


async def test_staff_compose_preview_schedule_and_the_audience_gets_it_once(
    running, fake, twilio, factory, clock, people
) -> None:
    chat = Staff(running)
    preview = await compose(chat)
    lines = preview.text.splitlines()
    assert lines[0] == "Förhandsvisning. Mottagare: 4"
    assert lines[1:5] == [
        "SMS, arabiska: 1",
        "SMS, somaliska: 1",
        "Telegram, arabiska: 1",
        "Telegram, svenska: 1",
    ]
    assert lines[5] == "Ingen text på deras språk, ingenting till: persiska (1)"
    assert lines[6].startswith("SMS: 2 meddelanden, ")
    assert (
        "— Telegram, svenska —" in preview.text
        and SV in preview.text
        and "[Stäng av nyheter]" in preview.text
    )
    assert "— SMS, somaliska —" in preview.text and SO in preview.text
    assert AR in preview.text
    assert "&lt;välkomna&gt; &amp;" in preview.html  # the staff member's text, escaped
    assert preview.labels == ["Bekräfta", "Ändra mottagare", "Avbryt"]

    when = await chat.press(preview, "Bekräfta")
    assert when.labels == ["Skicka nu", "I morgon 09:00", "Avbryt"]
    refused = await chat.say("2026-11-27 09:00")  # the test clock says 10:00
    assert refused.text.startswith("Den tiden har redan varit. Välj en senare tid.")
    refused = await chat.say("2026-11-28 02:30")  # the hour the clocks may skip or repeat
    assert refused.text.startswith("Inget skickas mellan 02:00 och 03:00")
    done = await chat.say("2026-11-27 14:00")
    async with factory() as session:
        announcement = await session.scalar(select(Announcement))
    assert done.text.startswith(f"Utskick {announcement.id} är schemalagt till fre 27 nov. 14:00.")
    assert announcement.status == "scheduled" and announcement.urgent
    assert announcement.texts == {"sv": SV, "ar": AR, "so": SO} and announcement.missing_language == "skip"
    assert announcement.audience["municipalities"] == ["0127"]

    # Not yet due: nothing goes out.
    await broadcasts.dispatch_due(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES)
    assert (await _rows(factory)) == 0
    clock.advance(hours=4, minutes=1)
    outcome = await broadcasts.dispatch_due(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES)
    assert outcome["started"] == 1 and outcome["queued"] == 4
    running.application.runner.wake["telegram"].set()
    running.application.runner.wake["sms"].set()

    await fake.wait(lambda: all(fake.messages(int(chat_id)) for chat_id in ("2001", "2002")))
    await fake.wait(lambda: len(twilio.messages) >= 2)
    await _settled(factory)
    await asyncio.sleep(0.5)  # anything more it would (wrongly) send

    [sv] = fake.messages(2001)
    [ar] = fake.messages(2002)
    assert sv.text.startswith("Meddelande från Botkyrka:\n") and SV in sv.text
    assert sv.labels == ["Stäng av nyheter"]
    assert AR in ar.text and SV not in ar.text
    assert [SO in body for body in twilio.bodies("+46701000021")] == [True]
    assert [AR in body for body in twilio.bodies("+46701000022")] == [True]
    assert fake.messages(2003) == [], "the one who used SMS last gets it by SMS only"
    for chat_id in (2010, 2011, 2012):
        assert fake.messages(chat_id) == []
    for number in ("+46701000031", "+46701000032"):
        assert twilio.bodies(number) == []
    assert len(twilio.messages) == 2

    # The report in the menu.
    await broadcasts.dispatch_due(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES)
    menu = await chat.say("/staff")
    listing = await chat.press(menu, "Mina utskick")
    assert listing.labels[0].startswith(f"{announcement.id} · skickat · ")
    report = await chat.press(listing, listing.labels[0])
    assert report.text.splitlines()[0] == f"Utskick {announcement.id}: skickat"
    assert "SMS, somaliska: 0 / 1 / 0 / 0 / 0" in report.text
    assert "Telegram, svenska: 0 / 1 / 0 / 0 / 0" in report.text
    assert "Alla: 0 / 4 / 0 / 0 / 0" in report.text
    assert "Avbryt utskicket" not in report.labels and "Stoppa" not in report.labels

    async with factory() as session:
        actions = (await session.scalars(select(StaffAudit.action).order_by(StaffAudit.id))).all()
    assert actions == [
        "broadcast.menu",
        "broadcast.create",
        "broadcast.schedule",
        "broadcast.menu",
        "broadcast.report",
    ]


async def _rows(factory) -> int:
    async with factory() as session:
        return await session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.announcement_id.is_not(None))
        )


async def _settled(factory, within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with factory() as session:
            busy = await session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(
                    OutboundMessage.announcement_id.is_not(None),
                    OutboundMessage.status.in_(("queued", "sending")),
                )
            )
        if not busy:
            return
        assert asyncio.get_running_loop().time() < deadline, f"still busy: {busy}"
        await asyncio.sleep(0.1)


async def test_the_staff_menu_is_only_for_staff(running, fake, factory) -> None:
    stranger = Chat(running, STRANGER)
    reply = await stranger.say("/staff")
    assert "Personal" not in reply.text and "utskick" not in reply.text
    assert all("bc:" not in data for row in reply.buttons for _, data in row)
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(StaffDialog)) == 0
        [refused] = (await session.scalars(select(StaffAudit))).all()
    assert refused.action == "broadcast.menu.open.refused" and refused.staff_id is None
    assert str(STRANGER) not in str(refused.details)
    # /help lists the staff menu for staff only.
    help_text = await stranger.say("/help")
    assert "/staff" not in help_text.text
    staff = Staff(running)
    after = len(fake.events)
    await staff.say("/help")
    await fake.wait(lambda: any("/staff" in s.text for _, s in fake.events[after:]))
    assert not any("/staff" in s.text for s in fake.messages(STRANGER))


async def test_a_forged_municipality_outside_the_scope_is_refused_and_audited(running, fake, factory) -> None:
    chat = Staff(running)
    menu = await chat.say("/staff")
    await chat.press(menu, "Nytt utskick")
    langs = await chat.say("Hej")
    missing = await chat.press(langs, "Klar")
    municipalities = await chat.press(missing, "Svenska och engelska")
    data = municipalities.button("Botkyrka").replace(":0127", ":0180")  # Stockholm: not in the scope
    answer = await chat.forge(municipalities, data)
    assert answer["show_alert"] is True and answer["text"] == "Det ligger utanför dina kommuner."
    # A stranger pressing the staff member's buttons changes nothing either.
    answer = await chat.forge(municipalities, municipalities.button("Botkyrka"), user_id=STRANGER)
    assert not answer.get("text")
    # Nonsense and stale buttons are harmless.
    await chat.forge(municipalities, "x:bc:zz")
    async with factory() as session:
        dialog = await session.scalar(select(StaffDialog))
        audit = (await session.scalars(select(StaffAudit.action).order_by(StaffAudit.id))).all()
    assert dialog.data["audience"]["municipalities"] == []
    assert audit == ["broadcast.menu", "broadcast.menu.pick.refused", "broadcast.menu.press.refused"]


async def test_a_restart_in_the_middle_of_composing_keeps_the_draft(
    runner, engine, fake, twilio, people
) -> None:
    first = await run_assistant(runner, engine, fake)
    chat = Staff(first)
    menu = await chat.say("/staff")
    await chat.press(menu, "Nytt utskick")
    langs = await chat.say(SV)
    await chat.press(langs, "arabiska")
    await first.shutdown()

    second = await run_assistant(runner, engine, fake)
    try:
        chat = Staff(second)
        langs = await chat.say(AR)  # still the Arabic text the menu waited for
        assert langs.text.startswith("Texter: svenska, arabiska.")
        again = await chat.say("/staff")  # shows where the composing is
        assert again.text.startswith("Texter: svenska, arabiska.")
        left = await chat.say("/cancel")
        assert left.text == "Personalmeny. Vad vill du göra?"
        # Out of composing, text is the newcomer dialog's again.
        reply = await chat.say("Hello")
        assert not reply.text.startswith("Personalmeny")
    finally:
        await second.shutdown()


async def _scheduled(chat: Staff, factory, clock) -> int:
    preview = await compose(chat)
    when = await chat.press(preview, "Bekräfta")
    done = await chat.press(when, "I morgon 09:00")
    assert "är schemalagt till lör 28 nov. 09:00" in done.text
    async with factory() as session:
        return await session.scalar(select(Announcement.id).where(Announcement.status == "scheduled"))


async def test_cancel_a_scheduled_announcement_in_the_menu(running, fake, factory, clock) -> None:
    chat = Staff(running)
    announcement_id = await _scheduled(chat, factory, clock)
    done = fake.messages(STAFF)[-1]
    assert "Avbryt utskicket" in done.labels
    answer = await chat.answer(done, "Avbryt utskicket")
    assert answer["text"] == "Avbrutet."
    assert done.text.splitlines()[0] == f"Utskick {announcement_id}: avbrutet"
    async with factory() as session:
        assert (await session.get(Announcement, announcement_id)).status == "cancelled"
    clock.advance(days=1)
    await broadcasts.dispatch_due(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES)
    assert await _rows(factory) == 0


async def test_stop_a_running_announcement_in_the_menu(running, fake, factory, clock) -> None:
    chat = Staff(running)
    announcement_id = await _scheduled(chat, factory, clock)
    # Due, and queued, but nothing sent yet: the senders are paused by holding every row.
    running.stop.set()
    await asyncio.wait_for(running.task, timeout=15)
    clock.advance(days=1)
    await broadcasts.dispatch_due(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES)
    restarted = await run_assistant(running.application.runner, running.application.engine, fake)
    # The restarted assistant has no SMS channel: the SMS rows stay queued until stopped.
    try:
        chat = Staff(restarted)
        menu = await chat.say("/staff")
        listing = await chat.press(menu, "Mina utskick")
        shown = await chat.press(listing, listing.labels[0])
        assert shown.text.splitlines()[0] == f"Utskick {announcement_id}: skickas"
        answer = await chat.answer(shown, "Stoppa")
        assert answer["text"] == "Stoppat."
        assert shown.text.splitlines()[0] == f"Utskick {announcement_id}: stoppat"
        async with factory() as session:
            report = await broadcasts.report(session, announcement_id)
            actions = (await session.scalars(select(StaffAudit.action))).all()
        assert report.totals["cancelled"] >= 2 and report.totals["queued"] == 0
        assert "broadcast.stop" in actions
    finally:
        await restarted.shutdown()


async def test_change_the_audience_from_the_preview(running, fake, factory) -> None:
    chat = Staff(running)
    preview = await compose(chat)
    municipalities = await chat.press(preview, "Ändra mottagare")
    assert municipalities.text.startswith("Vilka kommuner?\nValt: Botkyrka")  # the choices are kept
    municipalities = await chat.press(municipalities, "Huddinge")
    screen = municipalities
    for _step in range(4):  # languages, goals, ages, channels
        screen = await chat.press(screen, "Nästa")
    preview = await chat.press(await chat.press(screen, "Nästa"), "Ja, brådskande")
    assert preview.text.splitlines()[0] == "Förhandsvisning. Mottagare: 5"  # the Huddinge person too
    async with factory() as session:
        statuses = (await session.scalars(select(Announcement.status).order_by(Announcement.id))).all()
    assert statuses == ["cancelled", "draft"], "the first preview's draft is dropped, not left behind"


async def test_a_press_delivered_twice_acts_once(running, fake, factory) -> None:
    chat = Staff(running)
    menu = await chat.say("/staff")
    await chat.press(menu, "Nytt utskick")
    langs = await chat.say("Hej")
    missing = await chat.press(langs, "Klar")
    municipalities = await chat.press(missing, "Svenska och engelska")
    press = fake.press(municipalities, "Botkyrka")
    await fake.wait(lambda: fake.answered(press))
    fake.requeue(press)  # Telegram serves it again (not confirmed before a crash)
    await fake.wait(lambda: fake._confirmed > press["update_id"])
    async with factory() as session:
        dialog = await session.scalar(select(StaffDialog))
    assert dialog.data["audience"]["municipalities"] == ["0127"], "toggled once, not on and off again"
    assert municipalities.text.startswith("Vilka kommuner?\nValt: Botkyrka")
