"""The Alembic migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.db import downgrade, make_engine, upgrade
from bot.models import Base


def _differences(url: str) -> list:
    async def compare() -> list:
        engine = make_engine(url)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        await engine.dispose()
        return diff

    return asyncio.run(compare())


def test_migrations_match_the_models_and_downgrade_cleanly(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _differences(url) == []
    downgrade(url, "base")
    upgrade(url)
    assert _differences(url) == []
