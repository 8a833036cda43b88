"""The whole intake: a person books in the chat, staff act through the CLI's functions (only for their own
municipality, audited), the person is told in their language, and both reminders arrive at the right local
times. Also: the person's "My bookings", cancelling and another time; REMINDER_OFFSETS."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import intake, reminders, staff
from bot.config import ConfigError, load_settings
from bot.db import transaction
from bot.models import (
    IntakeProposal,
    IntakeRequest,
    IntakeSlot,
    Offering,
    OutboundMessage,
    Reminder,
    StaffAudit,
)
from dialogs.model import Inbound
from tests.conftest import LOCALES, STOCKHOLM

ROOT = Path(__file__).resolve().parent.parent
SWEDISH = ("Hi", "1", "1", "Botkyrka", "1", "1990", "1", "1", "1")
ENGLISH = ("Hi", "2", "1", "Botkyrka", "1", "1990", "1", "1", "1")


async def _book(runner, address: str, journey=SWEDISH) -> IntakeRequest:
    for text in journey:
        reply = await runner.handle("terminal", address, Inbound(text=text))
    assert reply.outputs[0].text.startswith(("Bokat", "Booked")), reply.outputs[0].text
    async with runner.factory() as session:
        return await session.scalar(select(IntakeRequest).order_by(IntakeRequest.id.desc()).limit(1))


async def _staff(factory, clock, telegram_id: int, codes: list[str]):
    async with transaction(factory) as session:
        await staff.add_staff(session, telegram_id, codes, "staff", clock())


async def _texts(factory, address: str) -> list[str]:
    async with factory() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(OutboundMessage.address == address).order_by(OutboundMessage.id)
        )
        return [row.payload["text"] for row in rows]


async def test_booked_in_the_chat_confirmed_by_staff_reminded_at_the_right_local_times(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner, "terminal:sara")
    await _staff(factory, clock, 501, ["0127"])
    async with transaction(factory) as session:
        member = await intake.staff_by(session, telegram_id=501, phone=None)
        await intake.staff_confirm(session, member, request.reference.lower(), now=clock(), tz=STOCKHOLM)
    async with factory() as session:
        assert (await session.get(IntakeRequest, request.id)).status == "confirmed"
        audit = await session.scalar(select(StaffAudit))
        assert audit.action == "intake.confirm" and audit.target == request.reference
    assert (await _texts(factory, "terminal:sara"))[-1].startswith("Ditt inskrivningsmöte är bekräftat")

    appointment = request.slot.starts_at.astimezone(STOCKHOLM)  # Thu 3 Dec 2026 10:00
    assert appointment.hour == 10
    sent_at = []
    clock.now = appointment - timedelta(days=3)
    while clock.now < appointment:
        outcome = await reminders.sweep(factory, now=clock(), tz=STOCKHOLM, localedir=LOCALES, instance="a")
        if outcome["sent"]:
            sent_at.append(clock.now.astimezone(STOCKHOLM))
        clock.now += timedelta(minutes=15)
    assert sent_at == [appointment - timedelta(days=1), appointment - timedelta(hours=2)]
    texts = [t for t in await _texts(factory, "terminal:sara") if t.startswith("Påminnelse")]
    assert len(texts) == 2
    for text in texts:
        assert request.reference in text and "Skriv AVBOKA" in text and "id-handling" in text
        assert "Tumba" in text or "Botkyrka" in text
        assert "CANCEL" not in text


async def test_staff_act_only_on_their_own_municipalitys_requests(runner, factory, clock, catalogue) -> None:
    request = await _book(runner, "terminal:omar", ENGLISH)
    await _staff(factory, clock, 601, ["0180"])  # Stockholm: not Botkyrka
    async with transaction(factory) as session:
        member = await intake.staff_by(session, telegram_id=601, phone=None)
        with pytest.raises(intake.IntakeError, match="no request"):
            await intake.staff_confirm(session, member, request.reference, now=clock(), tz=STOCKHOLM)
        with pytest.raises(intake.IntakeError, match="not staff of 0127"):
            await intake.list_requests(session, member, municipality="0127")
        assert await intake.list_requests(session, member) == []
        with pytest.raises(intake.IntakeError, match="no such staff"):
            await intake.staff_by(session, telegram_id=999, phone=None)
    async with factory() as session:
        assert (await session.get(IntakeRequest, request.id)).status == "requested"


async def test_decline_with_a_reason_tells_the_person_and_frees_the_seat(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner, "terminal:lina", ENGLISH)
    async with factory() as session:
        booked = (await session.get(IntakeSlot, request.slot_id)).booked
    await _staff(factory, clock, 701, ["0127"])
    async with transaction(factory) as session:
        member = await intake.staff_by(session, telegram_id=701, phone=None)
        with pytest.raises(intake.IntakeError, match="reason"):
            await intake.staff_decline(
                session, member, request.reference, "  ", now=clock(), tz=STOCKHOLM, ask=None
            )
        await intake.staff_decline(
            session, member, request.reference, "the course is full", now=clock(), tz=STOCKHOLM, ask=None
        )
    async with factory() as session:
        row = await session.get(IntakeRequest, request.id)
        assert row.status == "declined" and row.decline_reason == "the course is full"
        assert (await session.get(IntakeSlot, request.slot_id)).booked == booked - 1
        pending = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == "pending")
        )
        assert pending == 0
    assert "declined: the course is full" in (await _texts(factory, "terminal:lina"))[-1]


async def test_staff_propose_a_time_and_the_person_accepts_it(runner, factory, clock, catalogue) -> None:
    request = await _book(runner, "terminal:ali", ENGLISH)
    await _staff(factory, clock, 801, ["0127"])
    at = datetime(2026, 12, 10, 14, 0, tzinfo=STOCKHOLM)
    async with transaction(factory) as session:
        member = await intake.staff_by(session, telegram_id=801, phone=None)
        with pytest.raises(intake.IntakeError, match="passed"):
            await intake.staff_propose(
                session, member, request.reference, clock() - timedelta(days=1), now=clock(), runner=runner
            )
        await intake.staff_propose(session, member, request.reference, at, now=clock(), runner=runner)
    async with factory() as session:
        proposal = await session.scalar(select(IntakeProposal))
        assert proposal.status == "open" and proposal.slot.starts_at == at
    assert "Staff propose another time" in (await _texts(factory, "terminal:ali"))[-1]
    reply = await runner.handle("terminal", "terminal:ali", Inbound(text="1"))
    assert reply.outputs[0].text.startswith("Booked:")
    async with factory() as session:
        row = await session.get(IntakeRequest, request.id)
        assert row.status == "confirmed" and row.slot.starts_at == at


async def test_my_bookings_lists_them_and_changes_the_time(runner, factory, clock, catalogue) -> None:
    request = await _book(runner, "terminal:mina", ENGLISH)
    reply = await runner.handle("terminal", "terminal:mina", Inbound(text="My bookings"))
    text = reply.outputs[0].text
    assert text.startswith("Your bookings:") and request.reference in reply.outputs[0].choices[0].label
    assert "waiting for staff" in reply.outputs[0].choices[0].label
    reply = await runner.handle("terminal", "terminal:mina", Inbound(text="1"))
    assert [c.label for c in reply.outputs[0].choices] == ["Change time", "Cancel the booking", "Back"]
    reply = await runner.handle("terminal", "terminal:mina", Inbound(text="1"))
    assert reply.outputs[0].text.startswith("Free times:")
    old = request.slot_id
    async with factory() as session:
        old_booked = (await session.get(IntakeSlot, old)).booked
    reply = await runner.handle("terminal", "terminal:mina", Inbound(text="1"))
    assert reply.outputs[0].text.startswith("New time:")
    async with factory() as session:
        row = await session.get(IntakeRequest, request.id)
        assert row.slot_id != old
        assert (await session.get(IntakeSlot, old)).booked == old_booked - 1
        due = (
            await session.scalars(
                select(Reminder.due_at).where(
                    Reminder.intake_request_id == row.id, Reminder.status == "pending"
                )
            )
        ).all()
        assert due and all(d < row.slot.starts_at for d in due)


async def test_the_cancel_word_in_swedish_cancels_at_any_step(runner, factory, clock, catalogue) -> None:
    request = await _book(runner, "terminal:eva")
    await runner.handle("terminal", "terminal:eva", Inbound(text="1"))  # somewhere in the main menu
    reply = await runner.handle("terminal", "terminal:eva", Inbound(text="avboka"))
    assert reply.outputs[0].text.startswith("Avboka den här bokningen?")
    reply = await runner.handle("terminal", "terminal:eva", Inbound(text="ja"))
    assert "avbokad" in reply.outputs[0].text
    async with factory() as session:
        assert (await session.get(IntakeRequest, request.id)).status == "cancelled"


def test_reminder_offsets_are_configurable() -> None:
    assert reminders.parse_offsets("24h,2h") == (timedelta(hours=24), timedelta(hours=2))
    assert reminders.parse_offsets("90m, 2d") == (timedelta(days=2), timedelta(minutes=90))
    assert load_settings(reminder_offsets="48h,1h").reminder_offsets == "48h,1h"
    for bad in ("24", "h", "0h", "24x", ""):
        with pytest.raises(ValueError):
            reminders.parse_offsets(bad)
    with pytest.raises(ConfigError, match="REMINDER_OFFSETS"):
        load_settings(reminder_offsets="soon")


def test_the_intake_commands(tmp_path) -> None:
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
    assert vagvisare("staff", "add", "--telegram-id", "5", "--municipality", "0127").returncode == 0
    listing = vagvisare("intake", "list", "--staff-telegram-id", "5")
    assert listing.returncode == 0, listing.stderr
    assert "0 requests" in listing.stdout
    nobody = vagvisare("intake", "confirm", "ACD-EFH", "--staff-telegram-id", "6")
    assert nobody.returncode == 2 and "no such staff member" in nobody.stderr
    missing = vagvisare("intake", "confirm", "ACD-EFH", "--staff-telegram-id", "5")
    assert missing.returncode == 2 and "no request ACD-EFH" in missing.stderr
    bad = vagvisare("intake", "propose", "ACD-EFH", "--at", "tomorrow", "--staff-telegram-id", "5")
    assert bad.returncode == 2


async def test_a_withdrawn_or_changed_offering_is_told_to_the_person_and_to_staff(
    runner, factory, clock, catalogue
) -> None:
    request = await _book(runner, "terminal:nour", ENGLISH)
    await _staff(factory, clock, 901, ["0127"])
    async with transaction(factory) as session:
        await staff.set_staff_chat(session, "0127", -100900, clock())
        (await session.get(Offering, request.offering_id)).updated_at = clock() - timedelta(days=1)
    assert await intake.tell_catalogue_changes(factory, now=clock(), tz=STOCKHOLM) == {
        "withdrawn": 0,
        "changed": 0,
    }
    clock.advance(hours=1)
    async with transaction(factory) as session:
        offering = await session.get(Offering, request.offering_id)
        offering.street, offering.updated_at = "Nygatan 5", clock()
    told = await intake.tell_catalogue_changes(factory, now=clock(), tz=STOCKHOLM)
    assert told == {"withdrawn": 0, "changed": 1}
    assert (await intake.tell_catalogue_changes(factory, now=clock(), tz=STOCKHOLM))["changed"] == 0, "once"
    assert "has changed" in (await _texts(factory, "terminal:nour"))[-1]
    assert "Nygatan 5" in (await _texts(factory, "terminal:nour"))[-1]
    clock.advance(hours=1)
    async with transaction(factory) as session:
        offering = await session.get(Offering, request.offering_id)
        offering.status, offering.withdrawn_at = "withdrawn", clock()
    assert (await intake.tell_catalogue_changes(factory, now=clock(), tz=STOCKHOLM))["withdrawn"] == 1
    assert "no longer offered" in (await _texts(factory, "terminal:nour"))[-1]
    staff_chat = await _texts(factory, "-100900")
    assert any("togs bort ur katalogen" in t for t in staff_chat)
    async with transaction(factory) as session:
        member = await intake.staff_by(session, telegram_id=901, phone=None)
        [listed] = await intake.list_requests(session, member, status="changed")
        assert listed.catalogue_change == "withdrawn"


def test_the_cancel_words_are_never_twilios_cancel_nor_a_stop_or_delete_word() -> None:
    from dialogs import keywords

    assert keywords.action("cancel") is None
    assert keywords.conflicts() == []
    for lang, word in (("ar", "إلغاء الموعد"), ("ru", "отмена"), ("so", "baaji"), ("kmr", "betal")):
        assert keywords.action(word) == "cancel", lang
    assert keywords.action("إلغاء") == "stop", "the Arabic stop word stays a stop word"
