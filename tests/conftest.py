"""Shared fixtures. Database tests run on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import random
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot import outbox, reference
from bot.db import make_engine, session_factory, transaction, upgrade
from bot.municipalities import MunicipalityDirectory
from bot.turns import TurnRunner
from catalog_sync.loader import load_file, sample_files

STOCKHOLM = ZoneInfo("Europe/Stockholm")
REFERENCE_TABLES = {"municipalities", "agreements", "agreement_members", "alembic_version"}
LOCALES = Path(__file__).resolve().parent.parent / "locales"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _channel_registries_restored():
    """A channel registers its splitter, reconciler and reports in module-level registries when it is made;
    each test starts and ends with them as they were, so no test depends on which ran before it."""
    registries = (outbox.SPLITTERS, outbox.RECONCILERS, outbox.REPORTED)
    saved = [registry.copy() for registry in registries]
    yield
    for registry, before in zip(registries, saved, strict=True):
        registry.clear()
        registry.update(before)


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


async def _seed(url: str) -> None:
    engine = make_engine(url)
    async with transaction(session_factory(engine)) as session:
        await reference.seed(session)
    await engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """The schema and reference data, made once: a template SQLite file, or the PostgreSQL database itself."""
    import asyncio

    url = _postgres_url()
    if url:
        engine_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        asyncio.run(_reset_postgres(engine_url))
        upgrade(engine_url)
        asyncio.run(_seed(engine_url))
        return engine_url
    path = tmp_path_factory.mktemp("template") / "template.db"
    sqlite_url = f"sqlite+aiosqlite:///{path}"
    upgrade(sqlite_url)
    asyncio.run(_seed(sqlite_url))
    return str(path)


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
async def database_url(migrated_template, tmp_path) -> str:
    if _postgres_url():
        engine = make_engine(migrated_template)
        async with engine.begin() as connection:
            tables = (
                await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            ).scalars()
            names = ", ".join(f'"{name}"' for name in tables if name not in REFERENCE_TABLES)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()
        return migrated_template
    path = tmp_path / "test.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def factory(engine):
    return session_factory(engine)


@pytest.fixture
async def directory(factory) -> MunicipalityDirectory:
    async with factory() as session:
        return await MunicipalityDirectory.load(session)


@pytest.fixture
async def catalogue(factory) -> None:
    for path in sample_files():
        report = await load_file(factory, path)
        assert report.status == "ok", report.message


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 10, 0, tzinfo=STOCKHOLM))


@pytest.fixture
def runner(factory, directory, clock) -> TurnRunner:
    # The test clock stands still, so a long transcript would hit the per-minute limit: tests of the limit
    # set their own.
    return TurnRunner(
        factory,
        directory,
        tz=STOCKHOLM,
        localedir=LOCALES,
        clock=clock,
        rng=random.Random(7),
        rate_limit=1000,
    )
