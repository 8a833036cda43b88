"""Every staff action is audited, and so is every refused attempt (without a Telegram id in the clear)."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot import staff
from bot.db import transaction
from bot.logs import pseudonym
from bot.models import IntakeRequest, StaffAudit
from dialogs.model import Inbound

STRANGER, OFFICER, OTHER_OFFICER = 555000111, 777000222, 999000333


async def _request(runner) -> IntakeRequest:
    for text in ("Hi", "2", "1", "Botkyrka", "1", "1990", "1", "1", "1"):
        await runner.handle("terminal", "terminal:a", Inbound(text=text))
    async with runner.factory() as session:
        return await session.scalar(select(IntakeRequest))


async def _press(runner, telegram_id: int, action: str, request: IntakeRequest, clock) -> staff.Outcome:
    async with transaction(runner.factory) as session:
        return await staff.act(
            session, runner, telegram_id=telegram_id, action=action, request_id=request.id, now=clock()
        )


async def _audit(factory) -> list[StaffAudit]:
    async with factory() as session:
        return list((await session.scalars(select(StaffAudit).order_by(StaffAudit.id))).all())


async def test_refused_attempts_and_actions_are_audited(runner, factory, clock, catalogue) -> None:
    request = await _request(runner)
    elsewhere = "0180" if request.municipality_code != "0180" else "0127"
    async with transaction(factory) as session:
        await staff.add_staff(session, OFFICER, [request.municipality_code], "staff", clock())
        await staff.add_staff(session, OTHER_OFFICER, [elsewhere], "staff", clock())

    outcome = await _press(runner, STRANGER, "confirm", request, clock)
    assert outcome.alert and outcome.alert.startswith("Bara registrerad personal")
    outcome = await _press(runner, OTHER_OFFICER, "decline", request, clock)
    assert outcome.alert and outcome.alert.startswith("Bara registrerad personal")
    async with factory() as session:
        assert (await session.get(IntakeRequest, request.id)).status == "requested", "nothing changed"

    await _press(runner, OFFICER, "confirm", request, clock)
    async with factory() as session:
        assert (await session.get(IntakeRequest, request.id)).status == "confirmed"

    rows = await _audit(factory)
    assert [(row.action, row.target) for row in rows] == [
        ("intake.confirm.refused", request.reference),
        ("intake.decline.refused", request.reference),
        ("intake.confirm", request.reference),
    ]
    assert rows[0].staff_id is None and rows[0].details["who"] == pseudonym(str(STRANGER))
    assert rows[1].staff_id is not None
    assert str(STRANGER) not in json.dumps([row.details for row in rows])
