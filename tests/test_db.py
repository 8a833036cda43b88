"""The SQLite engine runs statements on the event loop's thread, but never waits there for another process."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.db import BUSY_TIMEOUT_MS, make_engine, session_factory, transaction


async def test_waiting_for_another_process_write_lock_leaves_the_event_loop_free(tmp_path) -> None:
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    factory = session_factory(engine)
    try:
        async with transaction(factory) as session:
            await session.execute(text("CREATE TABLE note (n INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing (the CLI, a catalogue sync)

        async def write() -> None:
            async with transaction(factory) as session:
                await session.execute(text("INSERT INTO note VALUES (1)"))

        writing = asyncio.create_task(write())
        started = time.monotonic()
        await asyncio.sleep(0.2)
        # Waiting in SQLite on the loop's thread would hold this sleep for the whole busy timeout.
        assert time.monotonic() - started < BUSY_TIMEOUT_MS / 1000 / 2
        assert not writing.done(), "the write waits for the lock"
        other.execute("INSERT INTO note VALUES (2)")
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(writing, timeout=BUSY_TIMEOUT_MS / 1000)

        async with transaction(factory) as session:
            assert (await session.scalars(text("SELECT n FROM note ORDER BY rowid"))).all() == [2, 1]
            timeout = (await session.execute(text("PRAGMA busy_timeout"))).scalar()
        assert timeout == BUSY_TIMEOUT_MS, "the lock is waited for with the usual timeout again"
    finally:
        await engine.dispose()


async def test_a_lock_held_too_long_fails_the_transaction_instead_of_hanging(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("bot.db.BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    factory = session_factory(engine)
    other = None
    try:
        async with transaction(factory) as session:
            await session.execute(text("CREATE TABLE note (n INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with transaction(factory) as session:
                await session.execute(text("INSERT INTO note VALUES (1)"))
        other.execute("COMMIT")
        async with transaction(factory) as session:
            await session.execute(text("INSERT INTO note VALUES (1)"))
            assert (await session.scalars(text("SELECT n FROM note"))).all() == [1], (
                "the failed one left nothing"
            )
    finally:
        if other:
            other.close()
        await engine.dispose()
