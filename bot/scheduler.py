"""Timed jobs (APScheduler 3.11, AsyncIOScheduler, Europe/Stockholm by default).

`create_scheduler()` makes the scheduler; each kind of job has its own `add_…` function that puts its
jobs on it, so that more can be added beside the nightly sync (reminder sweeps, scheduled broadcasts, the
retention purge) without touching this one:

    scheduler = create_scheduler(settings.timezone)
    add_catalogue_sync(scheduler, factory)
    add_reminder_sweep(scheduler, factory)      # another module's job
    scheduler.start()                            # inside a running event loop

Jobs live in memory and only trigger work; what must survive a restart lives in the database as rows the
application claims (DESIGN.md: one job store must never be shared by two schedulers). Every job coalesces
missed runs into one, never overlaps itself, and still runs if the process was busy for up to an hour.

Nothing is scheduled between 02:00 and 03:00 local time: that hour is skipped or doubled when daylight
saving time starts or ends. `vagvisare sync schedule` runs the catalogue sync in the foreground (run one
such process per database); `vagvisare run` starts the reminder sweep and the retention job, which are safe
to run in every instance (their rows are claimed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import broadcasts, reminders, retention
from catalog_sync.feeds import load_feeds, sync_settings
from catalog_sync.sync import SyncResult, run_feeds

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
NIGHTLY_SYNC_JOB = "catalogue-sync-nightly"


def create_scheduler(timezone: str = "Europe/Stockholm") -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone=ZoneInfo(timezone), job_defaults=dict(JOB_DEFAULTS))


def add_catalogue_sync(
    scheduler: AsyncIOScheduler,
    factory: async_sessionmaker[AsyncSession],
    *,
    at: time | None = None,
    feeds_file: Path | None = None,
) -> list[Job]:
    """The nightly sync of every enabled feed scheduled "nightly" (at SYNC_TIME, default 03:15), and one
    job per feed that has a crontab line of its own. The feed file is read again at each run, so edits to
    feeds apply the next night; a new crontab line needs a restart."""
    at = at or sync_settings().time
    if at.hour == 2:
        raise ValueError("schedule nothing between 02:00 and 03:00 (a daylight-saving hour)")
    zone = scheduler.timezone
    jobs = [
        scheduler.add_job(
            nightly_sync,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=zone),
            id=NIGHTLY_SYNC_JOB,
            name=f"catalogue sync, nightly at {at:%H:%M}",
            kwargs={"factory": factory, "feeds_file": feeds_file},
            replace_existing=True,
        )
    ]
    for feed in load_feeds(feeds_file).feeds:
        if feed.enabled and feed.schedule not in ("nightly", "manual"):
            jobs.append(
                scheduler.add_job(
                    sync_named,
                    CronTrigger.from_crontab(feed.schedule, timezone=zone),
                    id=f"catalogue-sync:{feed.name}",
                    name=f"catalogue sync of {feed.name} ({feed.schedule})",
                    kwargs={"factory": factory, "name": feed.name, "feeds_file": feeds_file},
                    replace_existing=True,
                )
            )
    return jobs


async def nightly_sync(
    factory: async_sessionmaker[AsyncSession], feeds_file: Path | None = None
) -> SyncResult:
    result = await run_feeds(factory, load_feeds(feeds_file), scheduled_only=True)
    _log(result)
    return result


async def sync_named(
    factory: async_sessionmaker[AsyncSession], name: str, feeds_file: Path | None = None
) -> SyncResult:
    result = await run_feeds(factory, load_feeds(feeds_file), names=[name])
    _log(result)
    return result


def _log(result: SyncResult) -> None:
    for report in result.reports:
        level = logging.WARNING if report.held else logging.INFO
        log.log(level, "sync %s: %s %s", report.feed, report.status, report.message or "")


REMINDER_SWEEP_JOB = "reminder-sweep"
RETENTION_JOB = "retention-nightly"
RETENTION_AT = time(4, 30)


def add_reminder_sweep(
    scheduler: AsyncIOScheduler,
    factory: async_sessionmaker[AsyncSession],
    *,
    localedir: Path,
    instance: str,
    every_seconds: int = 60,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Job:
    """Sends the reminders that are due. Safe with several instances: each reminder row is claimed once."""
    return scheduler.add_job(
        reminder_sweep,
        IntervalTrigger(seconds=every_seconds, timezone=scheduler.timezone),
        id=REMINDER_SWEEP_JOB,
        name=f"reminder sweep, every {every_seconds} s",
        kwargs={
            "factory": factory,
            "tz": scheduler.timezone,
            "localedir": localedir,
            "instance": instance,
            "clock": clock,
        },
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )


async def reminder_sweep(
    factory: async_sessionmaker[AsyncSession],
    tz: ZoneInfo,
    localedir: Path,
    instance: str,
    clock: Callable[[], datetime],
) -> dict[str, int]:
    outcome = await reminders.sweep(factory, now=clock(), tz=tz, localedir=localedir, instance=instance)
    if any(outcome.values()):
        log.info("reminders", extra=outcome)
    return outcome


WAITLIST_SWEEP_JOB = "waitlist-sweep"


def add_waitlist_sweep(
    scheduler: AsyncIOScheduler,
    factory: async_sessionmaker[AsyncSession],
    *,
    ask,
    offer_hours: int = 24,
    every_seconds: int = 60,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Job:
    """Waiting-list offers nobody answered by their deadline go to the next person (bot/intake.py). Safe with
    several instances: offers are claimed with SKIP LOCKED."""
    return scheduler.add_job(
        waitlist_sweep,
        IntervalTrigger(seconds=every_seconds, timezone=scheduler.timezone),
        id=WAITLIST_SWEEP_JOB,
        name=f"waiting-list offers, every {every_seconds} s",
        kwargs={"factory": factory, "ask": ask, "offer_hours": offer_hours, "clock": clock},
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )


async def waitlist_sweep(
    factory: async_sessionmaker[AsyncSession], ask, offer_hours: int, clock: Callable[[], datetime]
) -> dict[str, int]:
    from bot import intake

    outcome = await intake.sweep_offers(factory, now=clock(), ask=ask, offer_hours=offer_hours)
    if any(outcome.values()):
        log.info("waiting-list offers", extra=outcome)
    return outcome


def add_retention(
    scheduler: AsyncIOScheduler,
    factory: async_sessionmaker[AsyncSession],
    policy: retention.Policy,
    *,
    localedir: Path,
) -> Job:
    """Warns and erases inactive people and prunes old message history, every night at 04:30."""
    return scheduler.add_job(
        retention_run,
        CronTrigger(hour=RETENTION_AT.hour, minute=RETENTION_AT.minute, timezone=scheduler.timezone),
        id=RETENTION_JOB,
        name="retention: warn, erase, prune",
        kwargs={"factory": factory, "policy": policy, "tz": scheduler.timezone, "localedir": localedir},
        replace_existing=True,
    )


async def retention_run(
    factory: async_sessionmaker[AsyncSession], policy: retention.Policy, tz: ZoneInfo, localedir: Path
) -> dict[str, int]:
    outcome = await retention.run(factory, policy, now=datetime.now(UTC), tz=tz, localedir=localedir)
    log.info("retention", extra=outcome)
    return outcome


BROADCAST_DISPATCH_JOB = "broadcast-dispatch"


def add_broadcast_dispatch(
    scheduler: AsyncIOScheduler,
    factory: async_sessionmaker[AsyncSession],
    *,
    localedir: Path,
    sms_budget: int = 3,
    every_seconds: int = 60,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Job:
    """Starts the staff announcements that are due and finishes a fan-out a crash interrupted
    (bot/broadcasts.py). Safe with several instances: announcements are claimed, outbox rows deduplicated."""
    return scheduler.add_job(
        broadcast_dispatch,
        IntervalTrigger(seconds=every_seconds, timezone=scheduler.timezone),
        id=BROADCAST_DISPATCH_JOB,
        name=f"broadcast dispatch, every {every_seconds} s",
        kwargs={
            "factory": factory,
            "tz": scheduler.timezone,
            "localedir": localedir,
            "sms_budget": sms_budget,
            "clock": clock,
        },
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )


async def broadcast_dispatch(
    factory: async_sessionmaker[AsyncSession],
    tz: ZoneInfo,
    localedir: Path,
    sms_budget: int,
    clock: Callable[[], datetime],
) -> dict[str, int]:
    outcome = await broadcasts.dispatch_due(
        factory, now=clock(), tz=tz, localedir=localedir, sms_budget=sms_budget
    )
    if any(outcome.values()):
        log.log(logging.WARNING if outcome["failed"] else logging.INFO, "broadcasts", extra=outcome)
    return outcome
