"""`vagvisare broadcast …`: compose, preview, schedule, send, cancel, stop and report staff announcements from
scripts. Every command acts as a registered staff member (`--staff-telegram-id` or `--staff-phone`) and is
written to the audit log; the staff guide is docs/staff.md."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import broadcasts
from bot.broadcasts import Audience, BroadcastError
from bot.config import Settings
from bot.db import make_engine, session_factory, transaction
from bot.models import Announcement, Staff, StaffAudit
from bot.phones import to_e164
from bot.reminders import in_quiet_hours

T = TypeVar("T")
broadcast_app = typer.Typer(help="Staff announcements to newcomers (docs/staff.md).", no_args_is_help=True)
console = Console()

STAFF_TELEGRAM = typer.Option(None, "--staff-telegram-id", help="Who acts: a staff member's Telegram id.")
STAFF_PHONE = typer.Option(None, "--staff-phone", help="Who acts: a staff member's phone number.")


def _settings() -> Settings:
    from bot.cli import settings  # the CLI's settings, with its one-line configuration errors

    return settings()


def _run(config: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = make_engine(config.database_url)
        try:
            async with transaction(session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except BroadcastError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None


async def _member(session: AsyncSession, telegram_id: int | None, phone: str | None) -> Staff:
    return await broadcasts.find_staff(
        session, telegram_id=telegram_id, phone=to_e164(phone) if phone else None
    )


def _when(value: str | None, config: Settings) -> datetime | None:
    if not value:
        return None
    try:
        local = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        typer.echo('Error: --at takes a local time as "YYYY-MM-DD HH:MM"', err=True)
        raise typer.Exit(2) from None
    if broadcasts.in_clock_change_hour(local):
        typer.echo("Error: nothing is scheduled between 02:00 and 03:00 (the clocks may change)", err=True)
        raise typer.Exit(2)
    at = local.replace(tzinfo=config.tz)
    if at < datetime.now(UTC):
        typer.echo("Error: that time has passed", err=True)
        raise typer.Exit(2)
    return at


def _texts(values: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for value in values:
        code, sep, text = value.partition("=")
        if not sep:
            typer.echo(f'Error: --text takes LANG="text", not {value!r}', err=True)
            raise typer.Exit(2)
        texts[code.strip()] = text
    return texts


def _print_preview(result: broadcasts.Preview) -> None:
    table = Table("channel", "language", "people")
    for (channel, language), count in sorted(result.counts.items()):
        table.add_row(channel, language, str(count))
    console.print(table)
    for language, count in sorted(result.skipped.items()):
        console.print(f"{count} reader(s) of {language} get nothing (no text in their language, 'skip').")
    console.print(
        f"{result.total} people; SMS: {result.sms_messages} messages, {result.sms_segments} segments."
    )
    for (channel, language), sample in sorted(result.samples.items()):
        console.print(f"\n[bold]{channel} / {language}[/bold]")
        console.print(sample, markup=False, highlight=False)


@broadcast_app.command("create")
def create(
    text: list[str] = typer.Option(..., help='A text, LANG="…"; sv is required. Once per language.'),
    municipality: list[str] = typer.Option(None, help="SCB code; default: all of yours. Repeat for more."),
    missing: str = typer.Option("sv_en", help="Languages without a text: sv_en (Swedish+English) or skip."),
    language: list[str] = typer.Option(None, help="Only people with this language. Repeatable."),
    goal: list[str] = typer.Option(None, help="Only people with this goal (sfi, study, work, school)."),
    age_group: list[str] = typer.Option(None, help="Only people (or their children) aged 0-5, 6-15, …"),
    channel: list[str] = typer.Option(None, help="telegram and/or sms; default both."),
    urgent: bool = typer.Option(False, help="Send in quiet hours too (21:00-08:00)."),
    at: str = typer.Option(None, help='Schedule for this local time, "YYYY-MM-DD HH:MM".'),
    staff_telegram_id: int = STAFF_TELEGRAM,
    staff_phone: str = STAFF_PHONE,
) -> None:
    """Create an announcement (a draft, or scheduled with --at) and show its preview."""
    config = _settings()
    when = _when(at, config)
    audience = Audience(
        municipalities=list(municipality or []),
        languages=list(language or []),
        goals=list(goal or []),
        age_groups=list(age_group or []),
        channels=list(channel or broadcasts.CHANNELS),
    )

    async def work(session: AsyncSession) -> tuple[int, broadcasts.Preview]:
        member = await _member(session, staff_telegram_id, staff_phone)
        now = datetime.now(UTC)
        announcement = await broadcasts.create(
            session, member, _texts(text), audience, now, missing=missing, urgent=urgent
        )
        if when:
            await broadcasts.schedule(session, member, announcement.id, when, now)
        result = await broadcasts.preview(
            session, announcement, now, config.tz, _localedir(), config.sms_segment_budget
        )
        return announcement.id, result

    announcement_id, result = _run(config, work)
    _print_preview(result)
    if when:
        console.print(f"\nAnnouncement {announcement_id} scheduled for {when:%Y-%m-%d %H:%M}.")
        if in_quiet_hours(when, config.tz) and not urgent:
            console.print("That is in the quiet hours (21:00-08:00): it goes out at 08:00.")
    else:
        console.print(
            f"\nAnnouncement {announcement_id} is a draft: `vagvisare broadcast send {announcement_id}`."
        )


@broadcast_app.command("preview")
def preview(announcement_id: int) -> None:
    """Who would get it (by channel and language), a sample of each rendering and the SMS cost."""
    config = _settings()

    async def work(session: AsyncSession) -> broadcasts.Preview:
        announcement = await session.get(Announcement, announcement_id)
        if announcement is None:
            raise BroadcastError(f"no announcement {announcement_id}")
        return await broadcasts.preview(
            session, announcement, datetime.now(UTC), config.tz, _localedir(), config.sms_segment_budget
        )

    _print_preview(_run(config, work))


@broadcast_app.command("send")
def send(
    announcement_id: int,
    at: str = typer.Option(None, help='Send at this local time instead, "YYYY-MM-DD HH:MM".'),
    staff_telegram_id: int = STAFF_TELEGRAM,
    staff_phone: str = STAFF_PHONE,
) -> None:
    """Send a draft now (with the next minute's sweep of `vagvisare run`), or schedule it with --at."""
    config = _settings()
    when = _when(at, config)

    async def work(session: AsyncSession) -> None:
        member = await _member(session, staff_telegram_id, staff_phone)
        await broadcasts.schedule(session, member, announcement_id, when, datetime.now(UTC))

    _run(config, work)
    console.print(f"Announcement {announcement_id} " + (f"scheduled for {at}." if when else "goes out now."))


@broadcast_app.command("cancel")
def cancel(
    announcement_id: int, staff_telegram_id: int = STAFF_TELEGRAM, staff_phone: str = STAFF_PHONE
) -> None:
    """Cancel a draft or a scheduled announcement: it never goes out."""
    config = _settings()

    async def work(session: AsyncSession) -> None:
        member = await _member(session, staff_telegram_id, staff_phone)
        await broadcasts.cancel(session, member, announcement_id, datetime.now(UTC))

    _run(config, work)
    console.print(f"Announcement {announcement_id} cancelled.")


@broadcast_app.command("stop")
def stop(
    announcement_id: int, staff_telegram_id: int = STAFF_TELEGRAM, staff_phone: str = STAFF_PHONE
) -> None:
    """Stop an announcement that is going out: what is not sent yet is cancelled."""
    config = _settings()

    async def work(session: AsyncSession) -> int:
        member = await _member(session, staff_telegram_id, staff_phone)
        return await broadcasts.stop(session, member, announcement_id, datetime.now(UTC))

    cancelled = _run(config, work)
    console.print(f"Announcement {announcement_id} stopped; {cancelled} message(s) not sent.")


@broadcast_app.command("report")
def report(announcement_id: int) -> None:
    """Messages by channel and language: queued, sent, delivered, failed, cancelled."""
    config = _settings()
    result = _run(config, lambda session: broadcasts.report(session, announcement_id))
    _print_report(result)


def _print_report(result: broadcasts.Report) -> None:
    announcement = result.announcement
    console.print(f"Announcement {announcement.id}: {announcement.status}")
    if announcement.error:
        console.print(f"[red]Error: {announcement.error}[/red]")
    table = Table("channel", "language", *broadcasts.REPORT_COLUMNS)
    for (channel, language), counts in result.rows.items():
        table.add_row(channel, language, *(str(counts[c]) for c in broadcasts.REPORT_COLUMNS))
    totals = result.totals
    table.add_row("all", "", *(str(totals[c]) for c in broadcasts.REPORT_COLUMNS), style="bold")
    console.print(table)


@broadcast_app.command("list")
def list_announcements(limit: int = typer.Option(20, help="How many, newest first.")) -> None:
    """Recent announcements with their status and schedule."""
    config = _settings()

    async def work(session: AsyncSession) -> list[Announcement]:
        query = select(Announcement).order_by(Announcement.id.desc()).limit(limit)
        return list((await session.scalars(query)).all())

    table = Table("id", "status", "scheduled", "municipalities", "languages", "urgent")
    for a in _run(config, work):
        when = a.scheduled_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M") if a.scheduled_at else ""
        table.add_row(
            str(a.id),
            a.status,
            when,
            ", ".join(a.audience.get("municipalities", [])),
            ", ".join(sorted(a.texts)),
            "yes" if a.urgent else "",
        )
    console.print(table)


def _localedir():
    from bot.turns import LOCALES

    return LOCALES


@broadcast_app.command("audit")
def audit_log(limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """The staff audit log: who did what to which announcement, and when."""
    config = _settings()

    async def work(session: AsyncSession) -> list[tuple[StaffAudit, Staff | None]]:
        query = (
            select(StaffAudit, Staff)
            .outerjoin(Staff, Staff.id == StaffAudit.staff_id)
            .order_by(StaffAudit.id.desc())
            .limit(limit)
        )
        return [(entry, member) for entry, member in (await session.execute(query)).all()]

    table = Table("time", "staff", "action", "target", "details")
    for entry, member in _run(config, work):
        who = (str(member.telegram_id or "") or member.phone or str(member.id)) if member else "(removed)"
        details = ", ".join(f"{key}={value}" for key, value in entry.details.items())
        when = entry.created_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
        table.add_row(when, who, entry.action, entry.target or "", details)
    console.print(table)
