"""Loading feed files into the catalogue, each feed in one transaction with a run record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.models import Municipality, SyncRun
from catalog_sync import open_feed, upsert
from catalog_sync.records import FeedError

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
# A feed that suddenly lists fewer than this share of what it listed before is held, not applied.
SHRINK_LIMIT = 0.5


@dataclass
class RunReport:
    feed: str
    status: str
    fetched: int = 0
    counts: upsert.Counts = field(default_factory=upsert.Counts)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    message: str | None = None


def sample_files() -> list[Path]:
    return sorted(SAMPLE_DIR.glob("*.json"))


async def load_file(
    factory: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    feed: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunReport:
    """Applies one open-format feed file. A feed that cannot be read, or that shrank by more than half, is
    held: the catalogue keeps what it had."""
    feed = feed or f"file:{path.stem}"[:64]
    started = clock()
    report = RunReport(feed=feed, status="ok")
    try:
        async with transaction(factory) as session:
            known = set((await session.scalars(select(Municipality.code))).all())
            parsed = open_feed.parse(json.loads(await asyncio.to_thread(path.read_bytes)), known)
            report.fetched = len(parsed.records) + len(parsed.rejected)
            report.rejected = parsed.rejected
            before = await upsert.active_count(session, feed)
            if before and len(parsed.records) < before * SHRINK_LIMIT:
                report.status = "held"
                report.message = f"feed shrank from {before} to {len(parsed.records)} offerings"
            else:
                report.counts = await upsert.apply(session, feed, parsed.records, clock())
    except (OSError, ValueError, FeedError) as exc:
        report.status = "failed"
        report.message = str(exc)[:300]
    await _record_run(factory, report, started, clock())
    return report


async def _record_run(
    factory: async_sessionmaker[AsyncSession], report: RunReport, started: datetime, finished: datetime
) -> None:
    async with transaction(factory) as session:
        session.add(
            SyncRun(
                feed=report.feed,
                started_at=started,
                finished_at=finished,
                status=report.status,
                fetched=report.fetched,
                added=report.counts.added,
                updated=report.counts.updated,
                unchanged=report.counts.unchanged,
                withdrawn=report.counts.withdrawn,
                rejected=len(report.rejected),
                message=report.message,
            )
        )
