"""Loading feed files into the catalogue, each feed in one transaction with a run record.

A thin door into catalog_sync.sync for a file given by hand (`vagvisare catalog load FILE`): the same
fetch, normalise, upsert, hold and record path as the nightly sync."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog_sync.feeds import FeedConfig
from catalog_sync.sync import SHRINK_LIMIT, RunReport, sync_feed

__all__ = ["SAMPLE_DIR", "SHRINK_LIMIT", "RunReport", "file_feed", "load_file", "sample_files"]

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def sample_files() -> list[Path]:
    return sorted(SAMPLE_DIR.glob("*.json"))


def file_feed(path: Path, name: str | None = None, *, publisher: str | None = None) -> FeedConfig:
    """A feed for one open-format file: CSV by its extension, JSON otherwise."""
    csv = path.suffix.lower() in (".csv", ".tsv", ".txt")
    return FeedConfig(
        name=name or f"file:{path.stem}"[:64],
        adapter="open-csv" if csv else "open-json",
        url=str(path),
        publisher=publisher,
        schedule="manual",
    )


async def load_file(
    factory: async_sessionmaker[AsyncSession],
    path: Path,
    *,
    feed: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    dry_run: bool = False,
) -> RunReport:
    """Applies one open-format feed file. A feed that cannot be read, or that shrank by more than half, is
    held: the catalogue keeps what it had."""
    return await sync_feed(factory, file_feed(path, feed), clock=clock, dry_run=dry_run)
