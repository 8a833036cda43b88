"""The `vagvisare sync` and `vagvisare feed` commands (mounted by bot/cli.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from bot.app import configure_logging
from bot.config import ConfigError, Settings, load_settings
from bot.db import make_engine, session_factory
from bot.models import FeedState, Offering, SyncRun
from catalog_sync.check import check_file
from catalog_sync.feeds import FeedConfigError, FeedFile, load_feeds, sync_settings
from catalog_sync.fetch import Fetcher, is_local
from catalog_sync.sync import RunReport, SyncResult, run_feeds

# Piped or in cron, rich would wrap the tables at 80 columns.
console = Console(width=int(os.environ.get("COLUMNS", 0) or 0) or (None if sys.stdout.isatty() else 150))
sync_app = typer.Typer(help="Sync the catalogue from the configured feeds (feeds.toml).")
feed_app = typer.Typer(help="Feeds in the open format.", no_args_is_help=True)
SHOWN_REJECTIONS = 10


def _settings() -> Settings:
    try:
        loaded = load_settings()
    except ConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging("WARNING" if loaded.log_level == "INFO" else loaded.log_level)
    return loaded


def _feeds(path: Path | None) -> FeedFile:
    try:
        return load_feeds(path)
    except FeedConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None


@sync_app.callback(invoke_without_command=True)
def sync(
    ctx: typer.Context,
    feed: list[str] = typer.Option(None, "--feed", help="Only this feed (repeatable); default: all enabled."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Fetch and compare, write nothing."),
    full: bool = typer.Option(False, "--full", help="Delta feeds (Susa-navet, JobStream): pull everything."),
    feeds_file: Path = typer.Option(None, "--feeds-file", help="Default: FEEDS_FILE, or feeds.toml."),
) -> None:
    """Run feeds now, with a progress bar and a summary table. Exit code 1 when a feed was held or failed."""
    if ctx.invoked_subcommand is not None:
        return
    config = _settings()
    feed_file = _feeds(feeds_file)
    if feed:
        try:
            for name in feed:
                feed_file.get(name)
        except FeedConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    result = asyncio.run(_sync(config, feed_file, feed or None, dry_run, full))
    _print_result(result, dry_run)
    if not result.reports:
        console.print("No enabled feeds.", style="yellow")
    if any(report.held for report in result.reports):
        raise typer.Exit(1)


async def _sync(
    config: Settings, feed_file: FeedFile, names: list[str] | None, dry_run: bool, full: bool
) -> SyncResult:
    engine = make_engine(config.database_url)
    try:
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stage]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        ) as progress:
            tasks: dict[str, int] = {}

            def progress_for(feed):
                task = tasks.setdefault(feed.name, progress.add_task(feed.name, total=None, stage="fetch"))

                def update(stage: str, done: int, total: int | None) -> None:
                    progress.update(task, completed=done, total=total, stage=stage)

                return update

            return await run_feeds(
                session_factory(engine),
                feed_file,
                names=names,
                dry_run=dry_run,
                full=full,
                progress_for=progress_for,
            )
    finally:
        await engine.dispose()


def _render(title: str | None, headers: list[str], rows: list[list[str]]) -> None:
    """A table when it fits the terminal; else one line per row ("name  header value, …"), which stays
    readable in 80 columns where a squeezed table would cut every header."""
    widths = [
        max([len(header)] + [Text.from_markup(row[i]).cell_len for row in rows])
        for i, header in enumerate(headers)
    ]
    if sum(widths) + 2 * len(headers) + 2 <= console.width:
        table = Table(*headers, title=title, box=box.SIMPLE_HEAD)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    if title:
        console.print(f"[bold]{title}[/bold]")
    for row in rows:
        pairs = ", ".join(
            f"{header} {value}" for header, value in zip(headers[1:], row[1:], strict=True) if value
        )
        console.print(f"[bold]{row[0]}[/bold]  {pairs}", highlight=False)


REPORT_HEADERS = ["feed", "status", "fetched", "added", "updated", "unchanged", "withdrawn", "rejected"]


def _print_result(result: SyncResult, dry_run: bool) -> None:
    _render(
        "Dry run: nothing was written" if dry_run else None,
        [*REPORT_HEADERS, "skipped", "time"],
        [_report_row(report) for report in result.reports],
    )
    for report in result.reports:
        _print_details(report)
    if result.duplicates is not None:
        d = result.duplicates
        console.print(
            f"Duplicates across sources: {len(d.pairs)} shown once ({d.marked} newly marked, "
            f"{d.released} released)."
        )


def _style(status: str) -> str:
    return {"ok": "green", "not-modified": "green", "held": "yellow", "failed": "red"}.get(status, "")


def _report_row(report: RunReport) -> list[str]:
    c = report.counts
    return [
        report.feed,
        f"[{_style(report.status)}]{report.status}[/]",
        *map(str, (report.fetched, c.added, c.updated, c.unchanged, c.withdrawn, len(report.rejected))),
        str(report.skipped),
        f"{report.seconds:.1f} s",
    ]


def _print_details(report: RunReport) -> None:
    for item_id, reason in report.rejected[:SHOWN_REJECTIONS]:
        console.print(f"[yellow]{report.feed}: {item_id} rejected: {reason}[/yellow]", highlight=False)
    if len(report.rejected) > SHOWN_REJECTIONS:
        console.print(f"[yellow]{report.feed}: … and {len(report.rejected) - SHOWN_REJECTIONS} more[/yellow]")
    if report.message:
        style = "red" if report.status == "failed" else "yellow"
        console.print(f"[{style}]{report.feed}: {report.message}[/{style}]", highlight=False)
    if report.held and not report.dry_run:
        console.print(
            f"[{_style(report.status)}]{report.feed}: held, the catalogue keeps its previous offerings; "
            f"{report.staff_notified} admin(s) told.[/]"
        )
    if not report.complete and report.status == "ok":
        console.print(f"{report.feed}: a delta (only explicit removals were withdrawn).", style="dim")


@sync_app.command("status")
def status(
    feed: str = typer.Option(None, "--feed", help="Only this feed."),
    limit: int = typer.Option(20, help="How many recent runs to show."),
    rejected: bool = typer.Option(
        False, "--rejected", help="List the rejection reasons of each feed's last run."
    ),
    feeds_file: Path = typer.Option(None, "--feeds-file"),
) -> None:
    """Recent runs, feeds that are held now, and each configured feed's last good run."""
    config = _settings()
    try:
        feed_file = load_feeds(feeds_file)
    except FeedConfigError as exc:
        console.print(f"[yellow]{exc}[/yellow]")
        feed_file = FeedFile(())
    asyncio.run(_status(config, feed_file, feed, limit, rejected))


async def _status(
    config: Settings, feed_file: FeedFile, feed: str | None, limit: int, rejected: bool
) -> None:
    zone = ZoneInfo(config.timezone)
    engine = make_engine(config.database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)
            if feed:
                query = query.where(SyncRun.feed == feed)
            runs = (await session.scalars(query)).all()
            latest_ids = select(func.max(SyncRun.id)).group_by(SyncRun.feed)
            if feed:
                latest_ids = latest_ids.where(SyncRun.feed == feed)
            latest = (await session.scalars(select(SyncRun).where(SyncRun.id.in_(latest_ids)))).all()
            states = {s.feed: s for s in (await session.scalars(select(FeedState))).all()}
            counts = dict(
                (
                    await session.execute(
                        select(Offering.source, func.count())
                        .where(Offering.status.in_(("active", "duplicate")))
                        .group_by(Offering.source)
                    )
                ).all()
            )
    finally:
        await engine.dispose()

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    rows = []
    for run in runs:
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0
        rows.append(
            [
                local(run.started_at),
                run.feed,
                f"[{_style(run.status)}]{run.status}[/]",
                *map(str, (run.fetched, run.added, run.updated, run.unchanged, run.withdrawn, run.rejected)),
                "yes" if run.held else "",
                f"{seconds:.1f} s",
            ]
        )
    if rows:
        _render("Recent runs", ["started", *REPORT_HEADERS, "held", "time"], rows)
    else:
        console.print("No runs yet.")
    held = [run for run in sorted(latest, key=lambda r: r.feed) if run.held]
    if held:
        console.print("[bold]Held now[/bold] (the catalogue keeps these feeds' previous offerings):")
        for run in held:
            console.print(
                f"  [{_style(run.status)}]{run.feed}[/]: {run.status} at {local(run.started_at)}: "
                f"{run.message or ''} ({run.staff_notified} admin(s) told)",
                highlight=False,
            )
    feeds = [f for f in feed_file.feeds if not feed or f.name == feed]
    if feeds:
        overview = []
        for f in feeds:
            state = states.get(f.name)
            overview.append(
                [
                    f.name,
                    f.adapter,
                    f.schedule,
                    "yes" if f.enabled else "no",
                    str(f.priority),
                    str(counts.get(f.name, 0)),
                    local(state.last_success_at if state else None),
                ]
            )
        headers = ["feed", "adapter", "schedule", "enabled", "priority", "in catalogue", "last good run"]
        _render("Configured feeds", headers, overview)
    if rejected:
        for run in sorted(latest, key=lambda r: r.feed):
            for item_id, reason in run.rejections or []:
                console.print(f"{run.feed}: {item_id}: {reason}", highlight=False)
            if run.rejected > len(run.rejections or []):
                console.print(f"{run.feed}: … {run.rejected - len(run.rejections or [])} more not kept")


@sync_app.command("schedule")
def schedule(feeds_file: Path = typer.Option(None, "--feeds-file")) -> None:
    """Run the scheduler in the foreground: the nightly sync at SYNC_TIME (Europe/Stockholm). Ctrl-C stops."""
    config = _settings()
    _feeds(feeds_file)
    try:
        at = sync_settings().time
    except FeedConfigError as exc:
        typer.echo(f"Configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    asyncio.run(_schedule(config, feeds_file, at))


async def _schedule(config: Settings, feeds_file: Path | None, at) -> None:
    from bot.scheduler import add_catalogue_sync, create_scheduler

    engine = make_engine(config.database_url)
    scheduler = create_scheduler(config.timezone)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        jobs = add_catalogue_sync(scheduler, session_factory(engine), at=at, feeds_file=feeds_file)
        scheduler.start()
        for job in jobs:
            console.print(f"{job.name}: next run {job.next_run_time:%Y-%m-%d %H:%M %Z}")
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await engine.dispose()


@feed_app.command("check")
def feed_check(
    file: str = typer.Argument(..., help="A feed file (JSON or CSV), or its http(s) URL."),
    slots: Path = typer.Option(
        None, "--slots", help="CSV only: the intake slots CSV (default: FILE.slots.csv)."
    ),
    publisher: str = typer.Option(None, "--publisher", help="CSV only: the publisher's SCB code, e.g. 0127."),
) -> None:
    """Check a feed before publishing it: every problem with its offering id; exit code 1 if any."""
    try:
        path, temporary = asyncio.run(_fetch_for_check(file))
    except Exception as exc:  # noqa: BLE001 - any reason the file cannot be read is the answer
        typer.echo(f"{file}: cannot be read: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        result = check_file(path, slots=slots, publisher=publisher)
    except OSError as exc:
        typer.echo(f"{file}: cannot be read: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        if temporary:
            path.unlink(missing_ok=True)
    for problem in result.problems:
        console.print(f"[red]✗[/red] {problem}", highlight=False)
    if result.ok:
        console.print(f"[green]✓[/green] {file}: {result.offerings} offerings, no problems.")
        return
    console.print(
        f"{file}: {len(result.problems)} problem(s) in {result.offerings_with_problems} of "
        f"{result.offerings} offerings."
    )
    raise typer.Exit(1)


async def _fetch_for_check(location: str) -> tuple[Path, bool]:
    if is_local(location):
        return Path(location), False
    async with Fetcher(retries=2, max_wait=30) as fetcher:
        response = await fetcher.get(location, to_file=True)
    return response.path, True
