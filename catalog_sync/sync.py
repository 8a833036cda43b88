"""Running feeds: fetch -> normalise -> validate -> upsert, each feed in one transaction, every run recorded.

A feed that fails, or shrinks by more than half against what its last good run left, is held: its
transaction is rolled back, so the catalogue keeps what it had, and admins are told through the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.models import FeedState, Municipality, SyncRun
from catalog_sync import dedupe, upsert
from catalog_sync.adapters import Adapter, Context, FeedMemory, Progress, adapter_class
from catalog_sync.feeds import FeedConfig, FeedFile
from catalog_sync.fetch import Fetcher, FetchError
from catalog_sync.notify import STOCKHOLM, notify_held
from catalog_sync.records import (
    FeedError,
    Lazy,
    NotModified,
    OfferingRecord,
    Rejection,
    Removal,
    Skipped,
)

log = logging.getLogger(__name__)

# A feed that suddenly lists fewer than this share of what it listed before is held, not applied.
SHRINK_LIMIT = 0.5
# How many rejection reasons a run keeps in the database (all are counted).
KEEP_REJECTIONS = 200

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunReport:
    feed: str
    status: str  # ok | not-modified | held | failed
    fetched: int = 0
    counts: upsert.Counts = field(default_factory=upsert.Counts)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    message: str | None = None
    rows_written: int = 0
    complete: bool = True
    dry_run: bool = False
    staff_notified: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_id: int | None = None

    @property
    def held(self) -> bool:
        """The catalogue was kept as it was, because the feed failed or shrank."""
        return self.status in ("held", "failed")

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()


class Held(Exception):  # noqa: N818 - a verdict, raised to roll the feed's transaction back
    pass


class _DryRun(Exception):  # noqa: N818 - raised to roll a dry run back
    pass


async def known_municipalities(factory: async_sessionmaker[AsyncSession]) -> frozenset[str]:
    async with factory() as session:
        return frozenset((await session.scalars(select(Municipality.code))).all())


async def sync_feed(
    factory: async_sessionmaker[AsyncSession],
    feed: FeedConfig,
    *,
    fetcher: Fetcher | None = None,
    clock: Clock = _utcnow,
    dry_run: bool = False,
    full: bool = False,
    progress: Progress | None = None,
    known_codes: frozenset[str] | None = None,
) -> RunReport:
    """Runs one feed now. Never raises for a feed's own trouble: that is the report's status."""
    report = RunReport(feed=feed.name, status="ok", started_at=clock(), dry_run=dry_run)
    own_fetcher = fetcher is None
    if fetcher is None:
        fetcher = Fetcher(
            timeout=feed.timeout, retries=feed.retries, max_wait=feed.max_wait, base_dir=feed.base_dir
        )
    adapter: Adapter | None = None
    try:
        known = known_codes or await known_municipalities(factory)
        context = Context(
            feed=feed,
            fetcher=fetcher,
            known_codes=known,
            memory=await _memory(factory, feed.name),
            full=full,
            clock=clock,
            progress=progress or (lambda *_: None),
        )
        adapter = adapter_class(feed.adapter)(context)
        try:
            await adapter.fetch()
        except NotModified:
            report.status = "not-modified"
            async with factory() as session:
                report.counts.unchanged = await upsert.active_count(session, feed.name)
            if not dry_run:
                async with transaction(factory) as session:
                    await _save_memory(session, feed.name, context, clock(), keep_cursor=True)
        else:
            await _apply(factory, adapter, context, report, clock, dry_run)
    except Held as verdict:
        report.status, report.message = "held", str(verdict)
        report.counts, report.rows_written = upsert.Counts(), 0
    except (FeedError, FetchError, OSError, ValueError, UnicodeError) as exc:
        _failed(report, exc)
    except SQLAlchemyError as exc:
        log.exception("feed %s: database error", feed.name)
        _failed(report, exc)
    except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the others or go unrecorded
        log.exception("feed %s: unexpected error", feed.name)
        _failed(report, exc, prefix=f"{type(exc).__name__}: ")
    finally:
        if adapter is not None:
            adapter.close()
        if own_fetcher:
            await fetcher.close()
    report.finished_at = clock()
    if not dry_run:
        await _record(factory, feed, report)
    log.info(
        "feed %s: %s, fetched %d, added %d, updated %d, unchanged %d, withdrawn %d, rejected %d",
        feed.name,
        report.status,
        report.fetched,
        report.counts.added,
        report.counts.updated,
        report.counts.unchanged,
        report.counts.withdrawn,
        len(report.rejected),
    )
    return report


def _failed(report: RunReport, exc: BaseException, prefix: str = "") -> None:
    report.status = "failed"
    report.message = (prefix + " ".join(str(exc).split()))[:300] or type(exc).__name__
    report.counts, report.rows_written = upsert.Counts(), 0


async def _apply(
    factory: async_sessionmaker[AsyncSession],
    adapter: Adapter,
    context: Context,
    report: RunReport,
    clock: Clock,
    dry_run: bool,
) -> None:
    feed = context.feed
    try:
        async with transaction(factory) as session:
            writer = upsert.Writer(session, feed.name, clock())
            await writer.prepare()
            before = writer.live_before
            for item in adapter.items():
                report.fetched += 1
                if report.fetched % 1000 == 0:
                    context.progress("write", report.fetched, adapter.total)
                source_digest = None
                if isinstance(item, Lazy):
                    if writer.unchanged_source(item.source_id, item.source_digest):
                        continue  # the same source text as last time: not even cleaned again
                    source_digest, item = item.source_digest, item.build()
                if isinstance(item, OfferingRecord):
                    verdict = writer.stage(item, source_digest)
                    if verdict:
                        await writer.flush()
                    elif verdict is None:
                        report.skipped += 1  # the same id twice in one run: the first counts
                elif isinstance(item, Rejection):
                    report.rejected.append((item.source_id, item.reason))
                elif isinstance(item, Removal):
                    await writer.remove(item.source_id)
                elif isinstance(item, Skipped):
                    report.skipped += 1
            report.complete = adapter.complete
            if adapter.complete:
                listed = len(writer.seen)
                if before and listed < before * SHRINK_LIMIT:
                    raise Held(f"feed shrank from {before} to {listed} offerings")
                await writer.withdraw_missing()
            counts = await writer.finish()
            if not adapter.complete:
                after = await upsert.active_count(session, feed.name)
                if before and after < before * SHRINK_LIMIT:
                    raise Held(f"feed would shrink from {before} to {after} offerings")
            report.counts, report.rows_written = counts, writer.rows_written
            context.progress("write", report.fetched, report.fetched)
            if dry_run:
                raise _DryRun
            await _save_memory(session, feed.name, context, clock())
    except _DryRun:
        pass


async def _memory(factory: async_sessionmaker[AsyncSession], feed: str) -> FeedMemory:
    async with factory() as session:
        state = await session.get(FeedState, feed)
    if state is None:
        return FeedMemory()
    return FeedMemory(validators=dict(state.validators or {}), cursor=state.cursor)


async def _save_memory(
    session: AsyncSession, feed: str, context: Context, now: datetime, *, keep_cursor: bool = False
) -> None:
    state = await session.get(FeedState, feed)
    if state is None:
        state = FeedState(feed=feed, validators={})
        session.add(state)
    state.validators = dict(context.new_validators)
    if not keep_cursor:
        state.cursor = context.new_cursor
    state.last_success_at = now
    state.updated_at = now


async def _record(factory: async_sessionmaker[AsyncSession], feed: FeedConfig, report: RunReport) -> None:
    c = report.counts
    async with transaction(factory) as session:
        run = SyncRun(
            feed=report.feed,
            started_at=report.started_at,
            finished_at=report.finished_at,
            status=report.status,
            fetched=report.fetched,
            added=c.added,
            updated=c.updated,
            unchanged=c.unchanged,
            withdrawn=c.withdrawn,
            rejected=len(report.rejected),
            skipped=report.skipped,
            rows_written=report.rows_written,
            held=report.held,
            message=report.message,
            rejections=[list(pair) for pair in report.rejected[:KEEP_REJECTIONS]] or None,
        )
        session.add(run)
        await session.flush()
        report.run_id = run.id
        if report.held:
            run.staff_notified = report.staff_notified = await notify_held(
                session,
                feed=report.feed,
                status=report.status,
                message=report.message,
                municipalities=_municipalities(feed),
                run_id=run.id,
                now=report.finished_at,
            )


def _municipalities(feed: FeedConfig) -> tuple[str, ...]:
    if feed.municipalities:
        return feed.municipalities
    return (feed.publisher,) if feed.publisher else ()


@dataclass
class SyncResult:
    reports: list[RunReport]
    duplicates: dedupe.DedupeResult | None = None
    # Active bookings whose offering the run withdrew or changed: {"withdrawn": n, "changed": n}.
    bookings_told: dict[str, int] = field(default_factory=dict)


async def run_feeds(
    factory: async_sessionmaker[AsyncSession],
    feed_file: FeedFile,
    *,
    names: list[str] | None = None,
    scheduled_only: bool = False,
    dry_run: bool = False,
    full: bool = False,
    clock: Clock = _utcnow,
    fetcher_factory: Callable[[FeedConfig], Fetcher] | None = None,
    progress_for: Callable[[FeedConfig], Progress] | None = None,
) -> SyncResult:
    """Runs the named feeds (default: every enabled one; with `scheduled_only`, those on the nightly
    schedule), one after the other, then looks for duplicates across sources once."""
    if names:
        feeds = [feed_file.get(name) for name in names]
    else:
        feeds = [feed for feed in feed_file.feeds if feed.enabled]
        if scheduled_only:
            feeds = [feed for feed in feeds if feed.schedule == "nightly"]
    known = await known_municipalities(factory)
    reports = []
    for feed in feeds:
        fetcher = fetcher_factory(feed) if fetcher_factory else None
        try:
            reports.append(
                await sync_feed(
                    factory,
                    feed,
                    fetcher=fetcher,
                    clock=clock,
                    dry_run=dry_run,
                    full=full,
                    progress=progress_for(feed) if progress_for else None,
                    known_codes=known,
                )
            )
        finally:
            if fetcher is not None:
                await fetcher.close()
    result = SyncResult(reports)
    if not dry_run and feed_file.dedupe.enabled and reports:
        result.duplicates = await dedupe.run(factory, feed_file.priorities(), feed_file.dedupe, clock())
    if not dry_run and reports:
        from bot.intake import tell_catalogue_changes  # people booked, and staff, hear what changed

        result.bookings_told = await tell_catalogue_changes(factory, now=clock(), tz=STOCKHOLM)
    return result
