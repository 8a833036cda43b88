"""Engines, sessions and schema migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import aiosqlite
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# How long a SQLite transaction waits for another process's write lock before "database is locked".
BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see `_sqlite_begin`); savepoints need it too.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # Take the write lock at the start: a turn reads, then writes, and two turns that both read first
    # would otherwise fail with "database is locked" instead of waiting for each other.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _LoopSideSqlite(aiosqlite.Connection):
    """aiosqlite hands every statement to a thread of its own and waits for the answer. Under load each such
    round trip (a queue, the event loop woken, the GIL changing hands) costs more than the statement itself,
    and a turn has about ten: here they run on the event loop's thread. The loop must never sleep in
    SQLite's busy timeout, though: a BEGIN (IMMEDIATE: the write lock) is tried here without waiting and,
    when another process holds the lock, waits for it on the connection's thread; the PRAGMAs on connecting
    go there too. In WAL mode nothing else waits for a lock once the write lock is held."""

    def __init__(self, connector):
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy does: a connection never closed must not hold up exit

    async def _execute(self, fn, *args, **kwargs):
        if self._connection is None:
            raise ValueError("Connection closed")
        statement = args[0].lstrip()[:6].upper() if args and isinstance(args[0], str) else ""
        if statement.startswith("BEGIN"):
            try:
                return self._without_waiting(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # SQLITE_BUSY_RECOVERY … too
                    raise
        if statement.startswith(("BEGIN", "PRAGMA")):
            return await super()._execute(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def _without_waiting(self, fn, *args, **kwargs):
        self._connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        finally:
            self._connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


async def _connect_sqlite(engine: AsyncEngine) -> aiosqlite.Connection:
    args, options = engine.dialect.create_connect_args(engine.url)
    # Used from two threads, never at once: SQLAlchemy awaits each statement before the next.
    options = {**options, "timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    return await _LoopSideSqlite(partial(sqlite3.connect, *args, **options))


def make_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer at a time, and every transaction here begins IMMEDIATE, so the
        # turns of one process queue for the connection (first come, first served) instead of polling the
        # file lock, which under load fails with "database is locked" after the busy timeout.
        engine = create_async_engine(
            url, async_creator=lambda: _connect_sqlite(engine), pool_size=1, max_overflow=0
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block ends, rolls everything back on any error."""
    async with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the schema to `revision` ("heads": every branch of the migration history). Synchronous: call
    it outside a running event loop."""
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
