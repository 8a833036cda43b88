"""Staff notifications on Telegram: a new intake request is posted to its municipality's staff chat, and
the buttons Confirm, Decline and Propose another time work only for registered staff of that municipality."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.models import IntakeProposal, IntakeRequest, IntakeSlot, OutboundMessage, Staff
from bot.staff import StaffError, add_staff, remove_staff, set_staff_chat, staff_chats
from tests.fakes_telegram import STAFF_CHAT, Chat, FakeBotAPI, Sent, run_assistant, staff_setup

PERSON = 626262
STAFF, STOCKHOLM_STAFF, STRANGER = 555, 777, 999
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake():
    api = await FakeBotAPI().start()
    yield api
    await api.close()


@pytest.fixture
async def running(runner, engine, factory, clock, catalogue, fake):
    await staff_setup(factory, clock, telegram_id=STAFF)
    async with transaction(factory) as session:
        await add_staff(session, STOCKHOLM_STAFF, ["0180"], "staff", clock())
    running = await run_assistant(runner, engine, fake)
    yield running
    await running.shutdown()


async def book(chat: Chat, *, with_time: bool = True) -> Sent:
    """A Botkyrka newcomer books SFI in Tumba; returns the card posted to the staff chat."""
    goals = await chat.onboard()
    await chat.press(goals, "Learn Swedish")
    results = await chat.say("1990")
    details = await chat.press(results, "1")
    times = await chat.press(details, "Book an intake meeting")
    booked = await chat.press(times, times.labels[0] if with_time else "No time fits me")
    assert booked.text.startswith("Booked:" if with_time else "Your request is sent."), booked.text
    [card] = await chat.fake.wait(lambda: chat.fake.messages(STAFF_CHAT))
    return card


async def request_row(factory) -> IntakeRequest:
    async with factory() as session:
        return await session.scalar(select(IntakeRequest))


async def press_as(chat: Chat, card: Sent, label: str, user_id: int) -> dict:
    press = chat.fake.press(card, label, user_id=user_id)
    return await chat.fake.wait(lambda: chat.fake.answered(press))


async def test_a_new_request_is_posted_to_the_municipalitys_staff_chat(running, fake, factory) -> None:
    card = await book(Chat(running, PERSON))
    request = await request_row(factory)
    assert card.text.splitlines()[:4] == [
        "Ny intresseanmälan.",
        f"Intresseanmälan {request.reference}",
        "Sfi kurs A-B, dagtid",
        "Botkyrka vuxenutbildning, Storgatan 1",
    ]
    assert "Tid: tors 3 dec. 10:00" in card.text and "Språk: engelska" in card.text
    assert card.labels == ["Bekräfta", "Avböj", "Föreslå en annan tid"]
    assert str(PERSON) not in card.text and "+46" not in card.text


async def test_only_staff_of_the_municipality_can_answer(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    for someone in (STRANGER, STOCKHOLM_STAFF):
        answer = await press_as(chat, card, "Bekräfta", someone)
        assert answer["show_alert"] is True
        assert answer["text"] == "Bara registrerad personal i Botkyrka kan svara på den här anmälan."
    assert (await request_row(factory)).status == "requested"
    assert card.edits == 0 and len(fake.messages(PERSON)) == 9


async def test_confirm_tells_the_person_in_their_language(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    after = len(fake.events)
    answer = await press_as(chat, card, "Bekräfta", STAFF)
    assert answer["text"] == "Bekräftad." and not answer.get("show_alert")
    notice = await fake.next_event(PERSON, after)
    request = await request_row(factory)
    assert notice.text.startswith("Your intake meeting is confirmed: SFI A-B, days, Thu 3 Dec 10:00")
    assert request.reference in notice.text
    assert request.status == "confirmed"
    assert card.edits == 1 and card.labels == [] and card.text.endswith("Bekräftad.")
    again = await press_as(chat, fake.messages(STAFF_CHAT)[0], "Bekräfta", STAFF) if card.labels else None
    assert again is None


async def test_decline_frees_the_seat_and_tells_the_person(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    request = await request_row(factory)
    async with factory() as session:
        booked = (await session.get(IntakeSlot, request.slot_id)).booked
    after = len(fake.events)
    await press_as(chat, card, "Avböj", STAFF)
    notice = await fake.next_event(PERSON, after)
    assert notice.text.startswith("Sorry, your request for SFI A-B, days")
    async with factory() as session:
        assert (await session.get(IntakeSlot, request.slot_id)).booked == booked - 1
    assert (await request_row(factory)).status == "declined"
    assert card.text.endswith("Avböjd.")


async def test_a_proposed_time_is_asked_and_the_persons_yes_moves_the_booking(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    before = await request_row(factory)
    await press_as(chat, card, "Föreslå en annan tid", STAFF)
    assert card.text.endswith("Välj en tid att föreslå:")
    assert card.labels[-1] == "Tillbaka" and len(card.labels) >= 2
    after = len(fake.events)
    await press_as(chat, card, card.labels[0], STAFF)
    question = await fake.next_event(PERSON, after)
    assert question.text.startswith("Staff propose another time for your intake meeting (SFI A-B, days")
    assert question.labels == ["Yes", "No"]
    assert "Föreslagen tid:" in card.text and card.text.endswith("Väntar på svar.")
    after = len(fake.events)
    booked = await chat.press(question, "Yes")
    assert booked.text.startswith("Booked:")
    assert "What do you want to do now?" in booked.text, "back where they were"
    request = await request_row(factory)
    assert request.status == "confirmed" and request.slot_id != before.slot_id
    async with factory() as session:
        assert (await session.get(IntakeSlot, before.slot_id)).booked == 0
        assert (await session.get(IntakeSlot, request.slot_id)).booked == 1
        assert (await session.scalar(select(IntakeProposal))).status == "accepted"
    news = await fake.wait(lambda: fake.messages(STAFF_CHAT)[1:])
    assert news[0].text.startswith("Personen sa ja till den föreslagna tiden.")


async def test_a_no_to_the_proposed_time_goes_back_to_staff(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat, with_time=False)
    await press_as(chat, card, "Föreslå en annan tid", STAFF)
    after = len(fake.events)
    await press_as(chat, card, card.labels[0], STAFF)
    question = await fake.next_event(PERSON, after)
    reply = await chat.press(question, "No")
    assert reply.text.startswith("OK. Staff will contact you here about another time.")
    news = await fake.wait(lambda: fake.messages(STAFF_CHAT)[1:])
    assert news[0].text.startswith("Personen sa nej till den föreslagna tiden.")
    assert news[0].labels == ["Bekräfta", "Avböj", "Föreslå en annan tid"]
    request = await request_row(factory)
    assert request.status == "requested" and request.slot_id is None


async def test_an_answer_after_staff_decided_otherwise_is_no_longer_open(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    await press_as(chat, card, "Föreslå en annan tid", STAFF)
    after = len(fake.events)
    await press_as(chat, card, card.labels[0], STAFF)
    question = await fake.next_event(PERSON, after)
    after = len(fake.events)
    await press_as(chat, card, "Bekräfta", STAFF)  # the first time after all
    confirmed = await fake.next_event(PERSON, after)
    assert confirmed.text.startswith("Your intake meeting is confirmed")
    reply = await chat.press(question, "Yes")
    assert reply.text.startswith("This question is no longer open.")
    async with factory() as session:
        assert (await session.scalar(select(IntakeProposal))).status == "withdrawn"


async def test_a_replayed_staff_press_is_acted_on_once(running, fake, factory) -> None:
    chat = Chat(running, PERSON)
    card = await book(chat)
    await press_as(chat, card, "Föreslå en annan tid", STAFF)
    press = fake.press(card, card.labels[0], user_id=STAFF)
    await fake.wait(lambda: fake.answered(press))
    fake.requeue(press)
    await fake.wait(lambda: fake._confirmed > press["update_id"])
    async with factory() as session:
        proposals = (await session.scalars(select(IntakeProposal))).all()
        questions = (
            await session.scalars(select(OutboundMessage).where(OutboundMessage.address == str(PERSON)))
        ).all()
    assert len(proposals) == 1
    assert sum("Staff propose" in row.payload["text"] for row in questions) == 1


async def test_staff_setup_checks_codes_and_roles(factory, clock) -> None:
    async with transaction(factory) as session:
        with pytest.raises(StaffError, match="unknown municipality code: 9999"):
            await add_staff(session, 1, ["9999"], "staff", clock())
        with pytest.raises(StaffError, match="role"):
            await add_staff(session, 1, ["0127"], "boss", clock())
        await add_staff(session, 1, ["0127"], "staff", clock())
        member = await add_staff(session, 1, ["0126", "0127"], "admin", clock())
        assert sorted(s.municipality_code for s in member.scopes) == ["0126", "0127"]
        assert member.role == "admin"
        await set_staff_chat(session, "0127", -100, clock())
        assert await staff_chats(session) == [("0127", "Botkyrka", -100)]
        assert await remove_staff(session, 1, ["0126"])
    async with transaction(factory) as session:
        member = await session.scalar(select(Staff))
        assert [s.municipality_code for s in member.scopes] == ["0127"]
        assert await remove_staff(session, 1)
        assert not await remove_staff(session, 1)


def test_the_staff_commands(tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "LOG_LEVEL": "WARNING"}
    env.pop("TEST_DATABASE_URL", None)

    def vagvisare(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )

    assert vagvisare("db", "upgrade").returncode == 0
    done = vagvisare(
        "staff", "add", "--telegram-id", "123", "--municipality", "0127", "--municipality", "0126"
    )
    assert done.returncode == 0, done.stderr
    assert vagvisare("staff", "chat", "--municipality", "0127", "--chat-id", "-100123").returncode == 0
    listing = vagvisare("staff", "list")
    assert "123" in listing.stdout and "0126" in listing.stdout and "-100123" in listing.stdout
    bad = vagvisare("staff", "add", "--telegram-id", "5", "--municipality", "127")
    assert bad.returncode == 2 and "unknown municipality code" in bad.stderr
    assert vagvisare("staff", "remove", "--telegram-id", "123").returncode == 0
    assert "123" not in vagvisare("staff", "list").stdout.split("chat")[0]
    assert vagvisare("staff", "remove", "--telegram-id", "123").returncode == 1
