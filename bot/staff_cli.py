"""`vagvisare staff …`: register municipal staff and the Telegram chat where a municipality gets requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot import staff
from bot.db import make_engine, session_factory, transaction

T = TypeVar("T")
staff_app = typer.Typer(help="Municipal staff and their Telegram chats.", no_args_is_help=True)
console = Console()


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from bot.cli import settings  # the CLI's settings, with its one-line configuration errors

    config = settings()

    async def go() -> T:
        engine = make_engine(config.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except staff.StaffError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


@staff_app.command("add")
def staff_add(
    telegram_id: int = typer.Option(..., help="The staff member's Telegram user id (a number)."),
    municipality: list[str] = typer.Option(..., help="An SCB code (0127); give it once per municipality."),
    role: str = typer.Option("staff", help="staff or admin."),
) -> None:
    """Register a staff member (or add municipalities to one): their buttons work for these municipalities."""
    member = _run(
        lambda session: staff.add_staff(session, telegram_id, municipality, role, datetime.now(UTC))
    )
    codes = ", ".join(sorted(scope.municipality_code for scope in member.scopes))
    console.print(f"Staff {telegram_id} ({member.role}) for {codes}.")


@staff_app.command("remove")
def staff_remove(
    telegram_id: int = typer.Option(..., help="The staff member's Telegram user id."),
    municipality: list[str] = typer.Option(None, help="Only for these municipalities; default: entirely."),
) -> None:
    """Remove a staff member, or only some of their municipalities."""
    if not _run(lambda session: staff.remove_staff(session, telegram_id, municipality or None)):
        typer.echo(f"No staff member with Telegram id {telegram_id}.", err=True)
        raise typer.Exit(1)
    console.print("Removed.")


@staff_app.command("list")
def staff_list() -> None:
    """Staff members and their municipalities, then each municipality's staff chat."""

    async def listing(session: AsyncSession) -> tuple[list[tuple[int | None, str, str]], list]:
        members = [
            (m.telegram_id, m.role, ", ".join(sorted(s.municipality_code for s in m.scopes)))
            for m in await staff.list_staff(session)
        ]
        return members, await staff.staff_chats(session)

    members, chats = _run(listing)
    table = Table("telegram id", "role", "municipalities")
    for telegram_id, role, codes in members:
        table.add_row(str(telegram_id), role, codes)
    console.print(table)
    chat_table = Table("municipality", "name", "staff chat")
    for code, name, chat_id in chats:
        chat_table.add_row(code, name, str(chat_id))
    console.print(chat_table)


@staff_app.command("chat")
def staff_chat(
    municipality: str = typer.Option(..., help="The municipality's SCB code (0127)."),
    chat_id: int = typer.Option(
        None, help="The Telegram chat for new intake requests (a group: -100…); leave out to stop posting."
    ),
) -> None:
    """Set where a municipality's staff get new intake requests. Add the bot to that group first."""
    _run(lambda session: staff.set_staff_chat(session, municipality, chat_id, datetime.now(UTC)))
    console.print(f"{municipality}: " + (f"requests go to chat {chat_id}." if chat_id else "no staff chat."))
