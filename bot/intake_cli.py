"""`vagvisare intake …`: municipal staff list, confirm, decline and propose times for intake requests.

Acts as one registered staff member (--staff-telegram-id or --staff-phone) and only on requests of their
municipalities; the actions are bot/staff.py's, the same as the Telegram buttons, and each is audited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot import intake
from bot.app import App, open_app
from bot.db import transaction
from bot.staff import LOCALES, STAFF_LANGUAGE
from dialogs.i18n import Translator

T = TypeVar("T")
intake_app = typer.Typer(help="Intake requests, as a municipality's staff member.", no_args_is_help=True)
console = Console()
STATUSES = ("requested", "confirmed", "declined", "cancelled", "changed")
TELEGRAM_ID = typer.Option(None, "--staff-telegram-id", help="Act as the staff member with this Telegram id.")
PHONE = typer.Option(None, "--staff-phone", help="Act as the staff member with this phone number.")


def _run(
    telegram_id: int | None,
    phone: str | None,
    work: Callable[[App, AsyncSession, object], Awaitable[T]],
) -> T:
    from bot.cli import settings  # the CLI's settings, with its one-line configuration errors

    config = settings()

    async def go() -> T:
        async with open_app(config) as application:
            async with transaction(application.factory) as session:
                member = await intake.staff_by(session, telegram_id=telegram_id, phone=phone)
                return await work(application, session, member)

    try:
        return asyncio.run(go())
    except intake.IntakeError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


def _t(application: App) -> Translator:
    return Translator(LOCALES, STAFF_LANGUAGE, application.runner.tz)


@intake_app.command("list")
def intake_list(
    municipality: str = typer.Option(None, help="Only this municipality (an SCB code in your scope)."),
    status: str = typer.Option(None, help=f"Only this status: {', '.join(STATUSES)} (changed: by the sync)."),
    staff_telegram_id: int = TELEGRAM_ID,
    staff_phone: str = PHONE,
) -> None:
    """Your municipalities' intake requests, oldest first."""
    if status is not None and status not in STATUSES:
        typer.echo(f"Error: --status must be one of {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)

    async def work(application: App, session: AsyncSession, member) -> list[dict[str, str]]:
        found = await intake.list_requests(session, member, municipality=municipality, status=status)
        return [intake.describe(request, _t(application)) for request in found]

    rows = _run(staff_telegram_id, staff_phone, work)
    table = Table("reference", "municipality", "offering", "time", "status", "language", "catalogue")
    for row in rows:
        table.add_row(
            row["reference"],
            row["municipality"],
            row["offering"],
            row["time"],
            row["status"],
            row["language"],
            row["catalogue"],
        )
    console.print(table)
    console.print(f"{len(rows)} requests.")


@intake_app.command("show")
def intake_show(reference: str, staff_telegram_id: int = TELEGRAM_ID, staff_phone: str = PHONE) -> None:
    """One request, as staff see it."""

    async def work(application: App, session: AsyncSession, member) -> dict[str, str]:
        return intake.describe(await intake.find_request(session, member, reference), _t(application))

    for key, value in _run(staff_telegram_id, staff_phone, work).items():
        if value:
            console.print(f"{key}: {value}", highlight=False)


@intake_app.command("confirm")
def intake_confirm(reference: str, staff_telegram_id: int = TELEGRAM_ID, staff_phone: str = PHONE) -> None:
    """Confirm a request: the person is told, in their language."""

    async def work(application: App, session: AsyncSession, member):
        now = application.runner.clock()
        return await intake.staff_confirm(session, member, reference, now=now, tz=application.runner.tz)

    _run(staff_telegram_id, staff_phone, work)
    console.print(f"{reference}: confirmed; the person is told.")


@intake_app.command("decline")
def intake_decline(
    reference: str,
    reason: str = typer.Option(..., help="Why, in a few words: the person is told it."),
    staff_telegram_id: int = TELEGRAM_ID,
    staff_phone: str = PHONE,
) -> None:
    """Decline a request with a reason; its seat goes to the waiting list."""

    async def work(application: App, session: AsyncSession, member):
        runner = application.runner
        return await intake.staff_decline(
            session, member, reference, reason, now=runner.clock(), tz=runner.tz, ask=runner.interject
        )

    _run(staff_telegram_id, staff_phone, work)
    console.print(f"{reference}: declined; the person is told.")


@intake_app.command("propose")
def intake_propose(
    reference: str,
    at: str = typer.Option(..., help='The time, local (Europe/Stockholm): "2026-12-03 10:00".'),
    staff_telegram_id: int = TELEGRAM_ID,
    staff_phone: str = PHONE,
) -> None:
    """Propose another time; the person answers yes or no in their chat."""

    async def work(application: App, session: AsyncSession, member):
        runner = application.runner
        try:
            when = datetime.strptime(at.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=runner.tz)
        except ValueError:
            raise intake.IntakeError('--at must look like "2026-12-03 10:00"') from None
        return await intake.staff_propose(
            session, member, reference, when.astimezone(UTC), now=runner.clock(), runner=runner
        )

    _run(staff_telegram_id, staff_phone, work)
    console.print(f"{reference}: proposed {at}; the person is asked.")
