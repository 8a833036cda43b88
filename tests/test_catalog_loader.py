"""Loading open-format feeds into the catalogue (catalog_sync/loader.py, open_feed.py, upsert.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from bot.db import transaction
from bot.models import IntakeSlot, Offering, SyncRun
from catalog_sync.loader import load_file, sample_files
from catalog_sync.records import CATEGORY_KIND

FEED = "test-feed"
SLOT_A = "2026-12-03T10:00:00+01:00"
SLOT_B = "2026-12-04T13:00:00+01:00"
SLOT_C = "2026-12-08T09:30:00+01:00"


def _offering(source_id: str, category: str = "sfi", title: str | None = None, **extra) -> dict:
    return {
        "id": source_id,
        "category": category,
        "title": {"sv": title or f"Kurs {source_id}", "en": f"Course {source_id}"},
        "start_date": "2027-01-11",
        "open_to": "agreement",
        **extra,
    }


def _feed(*offerings: dict, publisher: str = "0127") -> dict:
    return {
        "format": "vagvisare-feed/1",
        "publisher": {"municipality_code": publisher, "name": "Botkyrka kommun"},
        "offerings": list(offerings),
    }


FOUR = [_offering(f"o{n}") for n in range(1, 5)]


def _write(tmp_path: Path, content: dict | bytes, name: str = "feed.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode("utf-8"))
    return path


async def _load(factory, tmp_path: Path, content: dict | bytes, clock):
    return await load_file(factory, _write(tmp_path, content), feed=FEED, clock=clock)


async def _offerings(factory, source: str = FEED) -> dict[str, Offering]:
    async with factory() as session:
        rows = await session.scalars(
            select(Offering).where(Offering.source == source).options(selectinload(Offering.slots))
        )
        return {row.source_id: row for row in rows.unique().all()}


async def _snapshot(factory) -> list[tuple]:
    """Everything a run may change in the catalogue, comparable before and after."""
    async with factory() as session:
        offerings = (
            await session.execute(
                select(
                    Offering.source,
                    Offering.source_id,
                    Offering.status,
                    Offering.content_hash,
                    Offering.title,
                    Offering.updated_at,
                    Offering.withdrawn_at,
                ).order_by(Offering.source, Offering.source_id)
            )
        ).all()
        slots = (
            await session.execute(
                select(
                    IntakeSlot.offering_id, IntakeSlot.starts_at, IntakeSlot.capacity, IntakeSlot.booked
                ).order_by(IntakeSlot.offering_id, IntakeSlot.starts_at)
            )
        ).all()
    return [tuple(row) for row in offerings] + [tuple(row) for row in slots]


# --- the sample ----------------------------------------------------------------------------------------


async def test_sample_loads_with_every_category(factory, clock) -> None:
    for path in sample_files():
        report = await load_file(factory, path, clock=clock)
        listed = len(json.loads(path.read_text(encoding="utf-8"))["offerings"])
        assert (report.status, report.rejected) == ("ok", []), (path.name, report.message, report.rejected)
        assert (report.fetched, report.counts.added) == (listed, listed), path.name
    async with factory() as session:
        rows = (await session.execute(select(Offering.category, Offering.kind, Offering.status))).all()
    assert {category for category, _, _ in rows} == set(CATEGORY_KIND)
    assert all(kind == CATEGORY_KIND[category] and status == "active" for category, kind, status in rows)


async def test_loading_the_same_feed_again_writes_nothing(factory, clock) -> None:
    path = next(p for p in sample_files() if p.stem == "botkyrka")
    first = await load_file(factory, path, feed=FEED, clock=clock)
    loaded_at = clock()
    before = await _snapshot(factory)

    clock.advance(days=1)
    second = await load_file(factory, path, feed=FEED, clock=clock)

    assert first.counts.added > 0
    counts = second.counts
    assert (second.status, counts.added, counts.updated, counts.withdrawn) == ("ok", 0, 0, 0)
    assert counts.unchanged == first.counts.added
    assert await _snapshot(factory) == before
    assert {row.updated_at for row in (await _offerings(factory)).values()} == {loaded_at}


async def test_changed_title_is_updated(factory, tmp_path, clock) -> None:
    await _load(factory, tmp_path, _feed(*FOUR), clock)
    clock.advance(days=1)
    changed = [FOUR[0], _offering("o2", title="Sfi kurs B, kväll"), *FOUR[2:]]

    report = await _load(factory, tmp_path, _feed(*changed), clock)

    c = report.counts
    assert (report.status, c.added, c.updated, c.unchanged, c.withdrawn) == ("ok", 0, 1, 3, 0)
    stored = await _offerings(factory)
    assert stored["o2"].title["sv"] == "Sfi kurs B, kväll"
    assert stored["o2"].updated_at == clock()
    assert stored["o1"].updated_at < clock()


async def test_missing_offering_is_withdrawn_not_deleted(factory, tmp_path, clock) -> None:
    await _load(factory, tmp_path, _feed(*FOUR), clock)
    clock.advance(days=1)

    report = await _load(factory, tmp_path, _feed(*FOUR[:3]), clock)

    c = report.counts
    assert (report.status, c.added, c.updated, c.unchanged, c.withdrawn) == ("ok", 0, 0, 3, 1)
    stored = await _offerings(factory)
    assert set(stored) == {"o1", "o2", "o3", "o4"}
    assert (stored["o4"].status, stored["o4"].withdrawn_at) == ("withdrawn", clock())
    assert {stored[key].status for key in ("o1", "o2", "o3")} == {"active"}


async def test_withdrawn_offering_comes_back_when_listed_again(factory, tmp_path, clock) -> None:
    await _load(factory, tmp_path, _feed(*FOUR), clock)
    await _load(factory, tmp_path, _feed(*FOUR[:3]), clock)

    report = await _load(factory, tmp_path, _feed(*FOUR), clock)

    assert (report.counts.added, report.counts.updated, report.counts.unchanged) == (0, 1, 3)
    stored = await _offerings(factory)
    assert (stored["o4"].status, stored["o4"].withdrawn_at) == ("active", None)


async def test_feed_that_shrank_by_more_than_half_is_held(factory, tmp_path, clock) -> None:
    """Fewer than half of the active offerings listed looks like a broken export: nothing is applied, not
    even the changes to what it still lists."""
    await _load(factory, tmp_path, _feed(*FOUR), clock)
    before = await _snapshot(factory)

    report = await _load(factory, tmp_path, _feed(_offering("o1", title="Ändrad titel")), clock)

    assert report.status == "held"
    assert "4" in report.message and "1" in report.message
    c = report.counts
    assert (c.added, c.updated, c.unchanged, c.withdrawn) == (0, 0, 0, 0)
    assert await _snapshot(factory) == before
    assert {row.status for row in (await _offerings(factory)).values()} == {"active"}


async def test_feed_that_shrank_to_exactly_half_is_applied(factory, tmp_path, clock) -> None:
    await _load(factory, tmp_path, _feed(*FOUR), clock)

    report = await _load(factory, tmp_path, _feed(*FOUR[:2]), clock)

    assert (report.status, report.counts.withdrawn) == ("ok", 2)


@pytest.mark.parametrize(
    "content",
    [
        b"this is not JSON",
        b'{"format": "vagvisare-feed/1", "publisher": ',
        b"\xff\xfe\x00garbage",
        json.dumps({**_feed(*FOUR), "format": "vagvisare-feed/2"}).encode(),
        json.dumps(FOUR).encode(),
        json.dumps(_feed(*FOUR, publisher="9999")).encode(),
        json.dumps({**_feed(), "offerings": {"o1": FOUR[0]}}).encode(),
    ],
    ids=[
        "not-json",
        "truncated",
        "not-utf8",
        "wrong-format",
        "no-envelope",
        "unknown-publisher",
        "offerings-not-a-list",
    ],
)
async def test_unusable_feed_fails_and_keeps_the_catalogue(factory, tmp_path, clock, content: bytes) -> None:
    await _load(factory, tmp_path, _feed(*FOUR, _offering("o5", intake_slots=[{"starts_at": SLOT_A}])), clock)
    before = await _snapshot(factory)
    clock.advance(days=1)

    report = await _load(factory, tmp_path, content, clock)

    assert report.status == "failed"
    assert report.message and "\n" not in report.message
    assert (report.counts.added, report.counts.updated, report.counts.withdrawn) == (0, 0, 0)
    assert await _snapshot(factory) == before


async def test_missing_file_fails(factory, tmp_path, clock) -> None:
    report = await load_file(factory, tmp_path / "absent.json", feed=FEED, clock=clock)
    assert report.status == "failed"
    assert await _offerings(factory) == {}


async def test_half_invalid_feed_keeps_the_valid_records(factory, tmp_path, clock) -> None:
    feed = _feed(
        _offering("good-1"),
        _offering("bad-category", category="sfi-plus"),
        _offering("good-2", category="internship", intake_slots=[{"starts_at": SLOT_A, "capacity": 2}]),
        _offering("bad-slot", intake_slots=[{"starts_at": "2026-12-03T10:00:00", "capacity": 2}]),
    )

    report = await _load(factory, tmp_path, feed, clock)

    assert (report.status, report.fetched, report.counts.added) == ("ok", 4, 2)
    reasons = dict(report.rejected)
    assert set(reasons) == {"bad-category", "bad-slot"}
    assert "sfi-plus" in reasons["bad-category"]
    assert "offset" in reasons["bad-slot"]
    assert set(await _offerings(factory)) == {"good-1", "good-2"}


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "bk-sfi",
        _offering("bad-provider", provider="Botkyrka vux"),
        _offering("bad-address", address=["Storgatan 1"]),
    ],
    ids=["null", "string", "provider-not-object", "address-not-object"],
)
async def test_malformed_entry_is_rejected_not_fatal(factory, tmp_path, clock, bad) -> None:
    report = await _load(factory, tmp_path, _feed(_offering("good-1"), bad, _offering("good-2")), clock)

    assert (report.status, report.counts.added, len(report.rejected)) == ("ok", 2, 1)
    assert set(await _offerings(factory)) == {"good-1", "good-2"}


# --- intake slots ----------------------------------------------------------------------------------------


async def test_slot_removed_from_the_feed_is_closed_not_deleted(factory, tmp_path, clock) -> None:
    slots = [{"starts_at": SLOT_A, "capacity": 5}, {"starts_at": SLOT_B, "capacity": 3}]
    await _load(factory, tmp_path, _feed(_offering("o1", intake_slots=slots)), clock)
    offering = (await _offerings(factory))["o1"]
    slot_b = datetime.fromisoformat(SLOT_B)
    async with transaction(factory) as session:
        await session.execute(
            update(IntakeSlot)
            .where(IntakeSlot.offering_id == offering.id, IntakeSlot.starts_at == slot_b)
            .values(booked=2)
        )

    changed = [{"starts_at": SLOT_A, "capacity": 5}, {"starts_at": SLOT_C, "capacity": 4}]
    report = await _load(factory, tmp_path, _feed(_offering("o1", intake_slots=changed)), clock)

    assert (report.status, report.counts.updated) == ("ok", 1)
    stored = {
        slot.starts_at: (slot.capacity, slot.booked) for slot in (await _offerings(factory))["o1"].slots
    }
    assert stored == {
        datetime.fromisoformat(SLOT_A): (5, 0),
        slot_b: (2, 2),  # closed: no more room, the two bookings keep their slot
        datetime.fromisoformat(SLOT_C): (4, 0),
    }
    assert all(starts_at.tzinfo is not None for starts_at in stored)


async def test_slot_removed_without_bookings_is_closed(factory, tmp_path, clock) -> None:
    slots = [{"starts_at": SLOT_A, "capacity": 5}, {"starts_at": SLOT_B, "capacity": 3}]
    await _load(factory, tmp_path, _feed(_offering("o1", intake_slots=slots)), clock)

    await _load(factory, tmp_path, _feed(_offering("o1", intake_slots=slots[:1])), clock)

    stored = {slot.starts_at: slot.capacity for slot in (await _offerings(factory))["o1"].slots}
    assert stored == {datetime.fromisoformat(SLOT_A): 5, datetime.fromisoformat(SLOT_B): 0}


async def test_same_slot_written_with_another_offset_is_the_same_slot(factory, tmp_path, clock) -> None:
    await _load(factory, tmp_path, _feed(_offering("o1", intake_slots=[{"starts_at": SLOT_A}])), clock)
    same_in_utc = datetime.fromisoformat(SLOT_A).astimezone(UTC).isoformat()

    await _load(
        factory,
        tmp_path,
        _feed(_offering("o1", intake_slots=[{"starts_at": same_in_utc, "capacity": 2}])),
        clock,
    )

    stored = [(slot.starts_at, slot.capacity) for slot in (await _offerings(factory))["o1"].slots]
    assert stored == [(datetime.fromisoformat(SLOT_A), 2)]


# --- run records -----------------------------------------------------------------------------------------


async def test_every_run_is_recorded_with_its_counts(factory, tmp_path, clock) -> None:
    reports = []
    for content in (
        _feed(*FOUR, _offering("bad", category="nope")),  # ok: 4 added, 1 rejected
        _feed(*FOUR[:3], _offering("o5")),  # ok: 1 added, 3 unchanged, 1 withdrawn
        _feed(FOUR[0]),  # held
        b"{",  # failed
    ):
        reports.append(await _load(factory, tmp_path, content, clock))
        clock.advance(minutes=5)

    async with factory() as session:
        runs = (await session.scalars(select(SyncRun).where(SyncRun.feed == FEED).order_by(SyncRun.id))).all()
    recorded = [
        (r.status, r.fetched, r.added, r.updated, r.unchanged, r.withdrawn, r.rejected, r.message is None)
        for r in runs
    ]
    assert recorded == [
        ("ok", 5, 4, 0, 0, 0, 1, True),
        ("ok", 4, 1, 0, 3, 1, 0, True),
        ("held", 1, 0, 0, 0, 0, 0, False),
        ("failed", 0, 0, 0, 0, 0, 0, False),
    ]
    assert [r.status for r in reports] == [run.status for run in runs]
    assert [run.message for run in runs[2:]] == [report.message for report in reports[2:]]
    started = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    for index, run in enumerate(runs):
        assert run.started_at == started.replace(minute=5 * index)
        assert run.finished_at is not None and run.finished_at >= run.started_at
