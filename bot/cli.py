"""The `vagvisare` command."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bot import privacy, reference, server
from bot.app import configure_logging, open_app, start_jobs
from bot.broadcast_cli import broadcast_app
from bot.channels import terminal
from bot.config import ConfigError, Settings, load_settings
from bot.db import make_engine, session_factory, transaction, upgrade
from bot.intake_cli import intake_app
from bot.staff_cli import staff_app
from catalog_sync.cli import feed_app, sync_app
from catalog_sync.loader import SAMPLE_DIR, RunReport, load_file, sample_files

app = typer.Typer(help="Vägvisare: a chat and SMS assistant for newcomers.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
catalog_app = typer.Typer(help="The catalogue of offerings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(broadcast_app, name="broadcast")
app.add_typer(intake_app, name="intake")
app.add_typer(staff_app, name="staff")
app.add_typer(sync_app, name="sync")
app.add_typer(feed_app, name="feed")
console = Console()


def settings() -> Settings:
    try:
        loaded = load_settings()
    except ConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(loaded.log_level)
    return loaded


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema, then load the reference data (municipalities, agreements)."""
    config = settings()
    upgrade(config.database_url)
    asyncio.run(_seed(config.database_url))
    console.print("Database is up to date.")


async def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            await reference.seed(session)
    finally:
        await engine.dispose()


@catalog_app.command("load")
def catalog_load(
    files: list[Path] = typer.Argument(
        None, help="Feed files in the open format (JSON or CSV); default: the bundled sample."
    ),
) -> None:
    """Load feed files (vagvisare-feed/1, JSON or CSV) into the catalogue, each in one transaction."""
    config = settings()
    paths = files or sample_files()
    reports = asyncio.run(_load(config.database_url, paths))
    table = Table("feed", "status", "fetched", "added", "updated", "unchanged", "withdrawn", "rejected")
    for report in reports:
        c = report.counts
        table.add_row(
            report.feed,
            report.status,
            *map(str, (report.fetched, c.added, c.updated, c.unchanged, c.withdrawn)),
            str(len(report.rejected)),
        )
    console.print(table)
    for report in reports:
        for item_id, reason in report.rejected:
            console.print(f"[yellow]{report.feed}: {item_id} rejected: {reason}[/yellow]")
        if report.message:
            console.print(f"[red]{report.feed}: {report.message}[/red]")
    if any(report.status == "failed" for report in reports):
        raise typer.Exit(1)


async def _load(url: str, paths: list[Path]) -> list[RunReport]:
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        # The bundled sample keeps the names feeds.toml gives it, so `sync` finds it unchanged.
        return [
            await load_file(factory, path, feed=f"sample:{path.stem}" if path.parent == SAMPLE_DIR else None)
            for path in paths
        ]
    finally:
        await engine.dispose()


person_app = typer.Typer(help="A person's data: the right of access and erasure.", no_args_is_help=True)
app.add_typer(person_app, name="person")


@person_app.command("export")
def person_export(
    address: str = typer.Argument(..., help="A phone number in E.164 (+4670…), a Telegram chat id, …"),
    channel: str | None = typer.Option(None, help="Only this channel: sms, telegram, terminal."),
) -> None:
    """Print everything stored about a person, as JSON (the right of access)."""
    config = settings()
    data = asyncio.run(_person(config, address, channel, erase=False))
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@person_app.command("delete")
def person_delete(
    address: str = typer.Argument(..., help="A phone number in E.164, a Telegram chat id, …"),
    channel: str | None = typer.Option(None, help="Only this channel."),
) -> None:
    """Erase a person, as "delete my data" does; their bookings stay as anonymous rows."""
    config = settings()
    asyncio.run(_person(config, address, channel, erase=True))
    console.print("Erased.")


async def _person(config: Settings, address: str, channel: str | None, *, erase: bool) -> dict:
    engine = make_engine(config.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            person = await privacy.find_person(session, address, channel)
            if person is None:
                typer.echo("No one is stored with that address.", err=True)
                raise typer.Exit(1)
            if erase:
                await privacy.erase(session, person, datetime.now(UTC))
                return {}
            return await privacy.export(session, person)
    finally:
        await engine.dispose()


@app.command()
def chat(
    channel: str = typer.Option("plain", help="Show replies as this channel would: plain, sms or telegram."),
    lang: str | None = typer.Option(None, help="Skip the language question: sv or en."),
    user: str = typer.Option("local", help="Who you are in the chat; another name starts a new person."),
) -> None:
    """Chat with the assistant in this terminal."""
    config = settings()
    if channel not in terminal.RENDERINGS:
        typer.echo(f"--channel must be one of: {', '.join(terminal.RENDERINGS)}", err=True)
        raise typer.Exit(2)
    from dialogs.languages import LANGUAGES

    if lang is not None and lang not in LANGUAGES:
        typer.echo(f"--lang must be one of: {', '.join(LANGUAGES)}", err=True)
        raise typer.Exit(2)
    asyncio.run(_chat(config, channel, lang, user))


async def _chat(config: Settings, channel: str, lang: str | None, user: str) -> None:
    async with open_app(config) as application:
        console.print("Vägvisare terminal chat. Write as a newcomer would; Ctrl-D ends.", style="dim")
        await terminal.chat(
            application.runner,
            rendering=channel,
            user=user,
            language=lang,
            sms_budget=config.sms_segment_budget,
        )


@app.command()
def run() -> None:
    """Run the assistant on every configured channel; with none configured, open the terminal chat."""
    config = settings()
    asyncio.run(_run(config))


async def _run(config: Settings) -> None:
    async with open_app(config) as application:
        jobs = start_jobs(application)
        try:
            channels = server.configured_channels(application)
            if channels:
                names = ", ".join(c.name for c in channels)
                console.print(f"Serving {names} on {config.http_host}:{config.http_port}.")
                await server.serve(application, channels)
                return
            console.print(
                "No Telegram or SMS channel is configured: opening the terminal chat.", style="bold"
            )
            if not sys.stdin.isatty():
                console.print("(standard input is not a terminal: reading lines from it)", style="dim")
            await terminal.chat(application.runner, sms_budget=config.sms_segment_budget)
        finally:
            jobs.shutdown(wait=False)


if __name__ == "__main__":
    app()
