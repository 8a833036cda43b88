"""Wiring: settings -> engine, session factory, municipality directory, turn runner."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import logs, outbox, retention, scheduler
from bot.config import Settings
from bot.db import make_engine, session_factory
from bot.municipalities import MunicipalityDirectory
from bot.reminders import parse_offsets
from bot.turns import TurnRunner


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    factory: async_sessionmaker[AsyncSession]
    runner: TurnRunner


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[App]:
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    try:
        async with factory() as session:
            directory = await MunicipalityDirectory.load(session)
        runner = TurnRunner(
            factory,
            directory,
            tz=settings.tz,
            max_chars=settings.max_message_chars,
            rate_limit=settings.rate_limit_per_minute,
            reminder_offsets=parse_offsets(settings.reminder_offsets),
            offer_hours=settings.waitlist_offer_hours,
        )
        yield App(settings, engine, factory, runner)
    finally:
        await engine.dispose()


def configure_logging(level: str) -> None:
    logs.configure(level)


def start_jobs(application: App) -> AsyncIOScheduler:
    """The timed jobs every instance runs: the reminder sweep, the retention job and the broadcast
    dispatch (all claim rows, so several instances never do the same work twice). Call inside the running
    event loop."""
    settings = application.settings
    jobs = scheduler.create_scheduler(settings.timezone)
    instance = f"{socket.gethostname()}:{os.getpid()}"
    scheduler.add_reminder_sweep(
        jobs, application.factory, localedir=application.runner.localedir, instance=instance
    )
    scheduler.add_waitlist_sweep(
        jobs,
        application.factory,
        ask=application.runner.interject,
        offer_hours=settings.waitlist_offer_hours,
        clock=application.runner.clock,
    )
    policy = retention.Policy.of(
        settings.retention_months, settings.retention_warning_days, settings.message_history_days
    )
    scheduler.add_retention(jobs, application.factory, policy, localedir=application.runner.localedir)
    outbox.QUIET_TZ = settings.tz
    scheduler.add_broadcast_dispatch(
        jobs,
        application.factory,
        localedir=application.runner.localedir,
        sms_budget=settings.sms_segment_budget,
    )
    jobs.start()
    return jobs
