"""The log configuration: what a running instance writes about its timed jobs."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import logs


@pytest.fixture
def logging_restored():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quieted = ("aiosqlite", "sqlalchemy.engine", "alembic", "aiohttp.access", "apscheduler.executors")
    levels = {name: logging.getLogger(name).level for name in quieted}
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_job_that_runs_well_is_not_logged_and_one_that_fails_is(capsys, logging_restored) -> None:
    logs.configure("INFO")  # here, not in a fixture: its handler writes to the standard error capsys reads
    done = asyncio.Event()

    async def fine() -> None:
        pass

    async def broken() -> None:
        done.set()
        raise RuntimeError("the database is away")

    scheduler = AsyncIOScheduler()
    scheduler.add_job(fine, id="fine", name="fine")
    scheduler.start()
    await asyncio.sleep(0.2)
    scheduler.add_job(broken, id="broken", name="broken")
    await asyncio.wait_for(done.wait(), timeout=5)
    await asyncio.sleep(0.1)
    scheduler.shutdown(wait=False)
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    executor = [entry for entry in entries if entry["logger"].startswith("apscheduler.executors")]
    events = [entry["event"] for entry in executor]
    assert not any("fine" in event for event in events), events
    assert any("broken" in event and "raised an exception" in event for event in events), events
    assert {entry["level"] for entry in executor} == {"ERROR"}
