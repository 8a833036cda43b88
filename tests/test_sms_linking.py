"""One person on Telegram and SMS: a one-time code links them, so profile, bookings and reminders follow."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from bot import reminders
from bot.models import (
    ChannelIdentity,
    ConversationState,
    IntakeRequest,
    IntakeSlot,
    LinkCode,
    OutboundMessage,
    Person,
    Profile,
    Reminder,
)
from dialogs.model import Inbound
from tests.conftest import LOCALES, STOCKHOLM

pytest_plugins = ["tests.fakes_twilio"]

PHONE = "+46701234567"
CHAT = "5550001"
BOOK_SFI = ("1", "1990", "2", "1", "1")  # learn Swedish, born 1990, the Huddinge course, book, first time


async def telegram(runner, text: str) -> str:
    result = await runner.handle("telegram", CHAT, Inbound(text=text))
    return "\n".join(output.text for output in result.outputs)


async def count(factory, model, *where) -> int:
    async with factory() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def _booked(session, slot_ids: set[int]) -> int:
    return sum([(await session.get(IntakeSlot, slot_id)).booked for slot_id in slot_ids])


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


async def test_a_telegram_user_links_a_basic_phone_and_everything_follows(
    sms, runner, factory, clock, catalogue
):
    for text in ("Hi", "2", "1", "Botkyrka", *BOOK_SFI):
        reply = await telegram(runner, text)
    assert "Booked:" in reply
    reply = await telegram(runner, "link")
    assert "Your code is" in reply and "What do you want to do now?" in reply
    code = code_in(reply)
    async with factory() as session:
        [stored] = (await session.scalars(select(LinkCode))).all()
    assert code not in stored.code_hash and stored.expires_at == clock() + timedelta(minutes=15)

    [text] = await sms.say(PHONE, f"LINK {code}")
    assert text.startswith("Done: SMS and Telegram are linked."), "in the language chosen on Telegram"
    assert "1 Find courses, work or school" in text

    assert await count(factory, Person) == 1
    async with factory() as session:
        person = await session.scalar(select(Person))
        identities = {(i.channel, i.address) for i in (await session.scalars(select(ChannelIdentity))).all()}
        profile = await session.scalar(select(Profile))
        request = await session.scalar(select(IntakeRequest))
    assert identities == {("telegram", CHAT), ("sms", PHONE)}
    assert (profile.municipality_code, profile.birth_year) == ("0127", 1990)
    assert request.person_id == person.id and request.status == "requested"
    assert person.language == "en" and person.consented_at is not None and person.last_channel == "sms"
    assert await count(factory, LinkCode) == 0, "a used code is gone"

    # The basic phone goes on where Telegram left off, by digits: the booking is there.
    [text] = await sms.say(PHONE, "1")
    assert "What would you like" in text or "What do you want to do?" in text

    # Reminders go to the channel used last: SMS now …
    async with factory() as session:
        first, second = (await session.scalars(select(Reminder).order_by(Reminder.due_at))).all()
    clock.now = first.due_at
    await reminders.sweep(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES, instance="t")
    async with factory() as session:
        reminder = await session.scalar(
            select(OutboundMessage).where(OutboundMessage.dedupe_key.like("reminder:%"))
        )
    assert (reminder.channel, reminder.address) == ("sms", PHONE)
    # … and Telegram once they write there again.
    await telegram(runner, "menu")
    clock.now = second.due_at
    await reminders.sweep(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES, instance="t")
    async with factory() as session:
        later = (
            await session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.dedupe_key.like("reminder:%"))
                .order_by(OutboundMessage.id)
            )
        ).all()
    assert [(row.channel, row.address) for row in later] == [("sms", PHONE), ("telegram", CHAT)]


async def test_linking_by_digits_from_the_basic_phone(sms, runner, factory, catalogue) -> None:
    for text in ("Hi", "2", "1", "Stockholm"):
        await telegram(runner, text)
    code = code_in(await telegram(runner, "link"))
    for answer in ("Hej", "1", "1", "Botkyrka", "MENY"):
        text = (await sms.say(PHONE, answer))[-1]
    assert "4 Länka sms och Telegram" in text
    [text] = await sms.say(PHONE, "4")
    assert "1 Få en kod" in text
    [text] = await sms.say(PHONE, "2")
    assert "Skriv koden med 6 siffror." in text
    [text] = await sms.say(PHONE, code)
    assert text.startswith("Klart: sms och Telegram är länkade.")
    assert await count(factory, Person) == 1
    async with factory() as session:
        # The one who wrote the code keeps what they had said: Botkyrka, in Swedish.
        assert (await session.scalar(select(Profile))).municipality_code == "0127"
        assert (await session.scalar(select(Person))).language == "sv"
        assert (await session.scalar(select(ConversationState))).data["step"] == "main_menu"


async def test_a_code_from_the_basic_phone_written_on_telegram(sms, runner, factory, catalogue) -> None:
    for answer in ("Hej", "1", "1", "Botkyrka", *BOOK_SFI):
        await sms.say(PHONE, answer)
    [text] = await sms.say(PHONE, "LÄNKA")
    code = code_in(text)
    reply = await telegram(runner, f"link {code}")
    assert reply.startswith("Klart: sms och Telegram är länkade.")
    async with factory() as session:
        person = await session.scalar(select(Person))
        assert person.last_channel == "telegram"
        assert (await session.scalar(select(IntakeRequest))).person_id == person.id
    assert await count(factory, ChannelIdentity) == 2


async def test_wrong_old_own_and_used_codes(sms, runner, factory, clock, catalogue) -> None:
    for text in ("Hi", "2", "1", "Botkyrka"):
        await telegram(runner, text)
    code = code_in(await telegram(runner, "link"))
    assert "This is your own code." in await telegram(runner, f"link {code}")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    text, _picker = await sms.say(PHONE, f"link {wrong}")  # a new phone: then the picker of twelve languages
    assert "Den koden stämmer inte." in text
    clock.advance(minutes=16)
    text, *_picker = await sms.say(PHONE, f"link {code}")
    assert "Koden är för gammal." in text
    # A new code replaces the old one; once used, it cannot be used again.
    code = code_in(await telegram(runner, "link"))
    text, *_picker = await sms.say(PHONE, f"link {code}")
    assert text.startswith("Done: SMS and Telegram are linked.")
    assert "That code is not right." in await telegram(runner, f"link {code}")
    assert await count(factory, Person) == 1


async def test_five_wrong_codes_lock_linking_for_a_while(sms, runner, factory, clock, catalogue) -> None:
    for text in ("Hi", "2", "1"):
        await telegram(runner, text)
    code = code_in(await telegram(runner, "link"))
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        text, *_picker = await sms.say(PHONE, f"LINK {wrong}")  # the first time, a new phone: the picker too
        assert "Den koden stämmer inte." in text
    text, *_picker = await sms.say(PHONE, f"LINK {code}")
    assert "För många fel koder." in text
    assert await count(factory, Person) == 2
    clock.advance(minutes=14)
    code = code_in(await telegram(runner, "link"))
    clock.advance(minutes=1, seconds=1)
    text, *_picker = await sms.say(PHONE, f"LINK {code}")
    assert text.startswith("Done: SMS and Telegram are linked."), "in the language chosen on Telegram"


async def test_both_asked_for_the_same_course_one_request_remains(sms, runner, factory, catalogue) -> None:
    for text in ("Hi", "2", "1", "Botkyrka", *BOOK_SFI):
        await telegram(runner, text)
    for answer in ("Hej", "1", "1", "Botkyrka", *BOOK_SFI):
        await sms.say(PHONE, answer)
    async with factory() as session:
        slot_ids = {r.slot_id for r in (await session.scalars(select(IntakeRequest))).all()}
        booked_before = await _booked(session, slot_ids)
    code = code_in(await telegram(runner, "link"))
    [text] = await sms.say(PHONE, f"LINK {code}")
    assert text.startswith("Klart")
    async with factory() as session:
        requests = (await session.scalars(select(IntakeRequest).order_by(IntakeRequest.id))).all()
        person = await session.scalar(select(Person))
        booked_after = await _booked(session, slot_ids)
        pending = (await session.scalars(select(Reminder).where(Reminder.status == "pending"))).all()
    assert {r.person_id for r in requests} == {person.id}
    assert sorted(r.status for r in requests) == ["cancelled", "requested"]
    assert booked_after == booked_before - 1, "the cancelled request's seat is free again"
    active = next(r for r in requests if r.status == "requested")
    assert {reminder.intake_request_id for reminder in pending} == {active.id}
    assert await count(factory, Profile, Profile.kind == "self") == 1
