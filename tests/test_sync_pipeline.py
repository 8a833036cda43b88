"""The sync as a whole: held feeds and who is told, half-invalid feeds, dry runs, duplicates across
sources, run records, the feed file and the scheduler."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.models import FeedState, IntakeSlot, Offering, Staff, StaffScope, SyncRun
from catalog_sync import dedupe
from catalog_sync.feeds import DedupeConfig, FeedConfigError, FeedFile, load_feeds, parse_feeds, sync_settings
from catalog_sync.sync import run_feeds, sync_feed
from tests.sync_support import (
    Conditional,
    Reply,
    feed,
    fetcher,
    fixture,
    offerings,
    outbox,
    runs,
    start_source,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "catalog_sync" / "sample"


@pytest.fixture
async def source():
    fake, runner = await start_source()
    yield fake
    await runner.cleanup()


async def _staff(factory) -> dict[str, Staff]:
    """Admins of Botkyrka, of Stockholm and of both; a plain staff member; an admin without Telegram."""
    async with transaction(factory) as session:
        people = {
            "botkyrka": Staff(telegram_id=1001, role="admin", scopes=[StaffScope(municipality_code="0127")]),
            "stockholm": Staff(telegram_id=1002, role="admin", scopes=[StaffScope(municipality_code="0180")]),
            "both": Staff(
                telegram_id=1003,
                role="admin",
                scopes=[StaffScope(municipality_code="0127"), StaffScope(municipality_code="0180")],
            ),
            "staff": Staff(telegram_id=1004, role="staff", scopes=[StaffScope(municipality_code="0127")]),
            "no-telegram": Staff(
                phone="+46701234567", role="admin", scopes=[StaffScope(municipality_code="0127")]
            ),
        }
        session.add_all(people.values())
    return people


async def _snapshot(factory) -> list[tuple]:
    async with factory() as session:
        rows = (
            await session.execute(
                select(
                    Offering.source,
                    Offering.source_id,
                    Offering.status,
                    Offering.content_hash,
                    Offering.updated_at,
                    Offering.withdrawn_at,
                    Offering.duplicate_of,
                ).order_by(Offering.source, Offering.source_id)
            )
        ).all()
        slots = (
            await session.execute(
                select(IntakeSlot.offering_id, IntakeSlot.starts_at, IntakeSlot.capacity).order_by(
                    IntakeSlot.id
                )
            )
        ).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in slots]


def _open_feed(count: int, publisher: str = "0127", prefix: str = "o") -> dict:
    return {
        "format": "vagvisare-feed/1",
        "publisher": {"municipality_code": publisher},
        "offerings": [
            {
                "id": f"{prefix}{n}",
                "kind": "course",
                "category": "sfi",
                "title": {"sv": f"Kurs {n}"},
                "municipality_code": publisher,
                "open_to": "agreement",
            }
            for n in range(count)
        ],
    }


# --- held feeds -------------------------------------------------------------------------------------------


async def test_broken_feed_is_held_and_the_feeds_admins_are_told(factory, source, clock) -> None:
    people = await _staff(factory)
    source.route("/feed.json", Reply(200, _open_feed(4)), Reply(500, "Internal Server Error"))
    config = feed("botkyrka", "open-json", source.url("/feed.json"), municipalities=["0127"], retries=3)
    assert (await sync_feed(factory, config, fetcher=fetcher(), clock=clock)).status == "ok"
    before = await _snapshot(factory)
    clock.advance(days=1)

    report = await sync_feed(factory, config, fetcher=fetcher(retries=3), clock=clock)

    assert (report.status, report.held) == ("failed", True)
    assert "HTTP 500" in report.message and "gave up after 3 tries" in report.message
    assert await _snapshot(factory) == before
    messages = await outbox(factory)
    assert sorted(m.address for m in messages) == sorted(
        str(people[name].telegram_id) for name in ("botkyrka", "both")
    )
    assert all(m.channel == "telegram" and "botkyrka" in m.payload["text"] for m in messages)
    assert "HTTP 500" in messages[0].payload["text"]
    last = (await runs(factory, "botkyrka"))[-1]
    assert (last.status, last.held, last.staff_notified) == ("failed", True, 2)


async def test_shrunken_feed_is_held(factory, tmp_path, clock) -> None:
    await _staff(factory)
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(_open_feed(10)))
    config = feed("botkyrka", "open-json", str(path), municipalities=["0127"])
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    before = await _snapshot(factory)
    changed = _open_feed(4)
    changed["offerings"][0]["title"]["sv"] = "Ändrad"
    path.write_text(json.dumps(changed))

    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert (report.status, report.message) == ("held", "feed shrank from 10 to 4 offerings")
    assert await _snapshot(factory) == before
    assert len(await outbox(factory)) == 2
    assert (await runs(factory, "botkyrka"))[-1].held is True


async def test_a_feed_without_municipality_tells_every_admin(factory, tmp_path, clock) -> None:
    await _staff(factory)
    config = feed("national", "open-json", str(tmp_path / "absent.json"))
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert (report.status, report.staff_notified) == ("failed", 3)


async def test_a_delta_that_would_empty_the_catalogue_is_held(factory, source, clock, tmp_path) -> None:
    """A delta that removes most of a feed's offerings is held like a shrunken full feed."""
    source.route("/educationProviders/p.bk.vux", fixture("susa/providers/p.bk.vux.json"))
    source.route("/educationEvents", fixture("susa/events-0.json"), match={"page": "0"})
    source.route("/educationEvents", fixture("susa/events-1.json"), match={"page": "1"})
    config = feed(
        "susa", "susa-navet", source.url(), municipalities=["0127"], options={"school_types": ["VUXSFI"]}
    )
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    source.routes["/educationEvents"] = []
    removals = [{"id": f"e.susa.{n}", "status": "removed", "content": None} for n in (1, 2, 3)]
    source.route("/educationEvents", Reply(200, {"educationEvents": removals, "page": {"totalPages": 1}}))
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert (report.status, report.message) == ("held", "feed would shrink from 4 to 1 offerings")
    assert {row.status for row in (await offerings(factory, "susa")).values()} == {"active"}


# --- half-invalid feeds -----------------------------------------------------------------------------------


async def test_half_invalid_feed_keeps_the_valid_records_with_a_reason_for_each_other(factory, clock) -> None:
    config = feed("huddinge", "open-json", str(fixture("open/half-invalid.json")), municipalities=["0126"])

    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert (report.status, report.fetched, report.counts.added) == ("ok", 8, 3)
    reasons = dict(report.rejected)
    assert set(reasons) == {"hu-2", "hu-4", "#5", "hu-7", "hu-8"}
    assert "sfi-plus" in reasons["hu-2"]
    assert "11/1 2027" in reasons["hu-4"]
    assert "object" in reasons["#5"] and "object" in reasons["hu-7"]
    assert "offset" in reasons["hu-8"]
    stored = await offerings(factory, "huddinge")
    assert set(stored) == {"hu-1", "hu-3", "hu-5"}
    assert stored["hu-1"].description["sv"] == "Sfi för dig som just kommit.\n\n• Dagtid\n• Kvällstid"
    assert stored["hu-3"].title["sv"] == "Sfi kurs C, dagtid"
    assert (stored["hu-3"].lat, stored["hu-3"].lon) == (59.2376, 17.9812)
    assert stored["hu-5"].application_deadline is None
    run = (await runs(factory, "huddinge"))[-1]
    assert (run.rejected, run.held) == (5, False)
    assert dict(map(tuple, run.rejections)) == reasons


# --- dry runs ---------------------------------------------------------------------------------------------


async def test_dry_run_writes_nothing(factory, tmp_path, clock) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(_open_feed(4)))
    config = feed("botkyrka", "open-json", str(path))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    before = await _snapshot(factory)
    changed = _open_feed(5)
    changed["offerings"][0]["title"]["sv"] = "Ändrad"
    del changed["offerings"][1]
    path.write_text(json.dumps(changed))

    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock, dry_run=True)

    c = report.counts
    assert (report.status, c.added, c.updated, c.unchanged, c.withdrawn) == ("ok", 1, 1, 2, 1)
    assert await _snapshot(factory) == before
    assert len(await runs(factory, "botkyrka")) == 1  # only the real run


async def test_dry_run_of_a_new_feed_leaves_no_state(factory, source, clock) -> None:
    source.route("/feed.json", Conditional(_open_feed(3)))
    config = feed("new", "open-json", source.url("/feed.json"))
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock, dry_run=True)
    assert report.counts.added == 3
    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(Offering)) == 0
        assert await session.get(FeedState, "new") is None
        assert await session.scalar(select(func.count()).select_from(SyncRun)) == 0


# --- duplicates across sources ----------------------------------------------------------------------------


def _susa_twin(tmp_path: Path) -> Path:
    """Susa-navet's copy of Botkyrka's "Sfi kurs A-B, dagtid", written its own way, and one of its own."""

    def event(event_id: str, title: str, start: str) -> dict:
        return {
            "id": event_id,
            "status": "active",
            "content": {
                "providers": ["p.bk"],
                "title": {"strings": [{"lang": "swe", "value": title}]},
                "locations": [{"town": "Tumba", "areaCode": "0127"}],
                "execution": {"start": start, "end": "2027-06-04"},
            },
        }

    path = tmp_path / "susa.json"
    path.write_text(
        json.dumps(
            {
                "educationEvents": [
                    event("e.1", "SFI kurs A–B (dagtid)", "2027-01-12"),
                    event("e.2", "Sfi kurs D, kvällstid", "2027-01-11"),
                ],
                "educationProviders": [
                    {"id": "p.bk", "content": {"educationProvider": {"name": "BOTKYRKA VUXENUTBILDNING"}}}
                ],
            }
        )
    )
    return path


def _feeds(tmp_path: Path, municipal_priority: int = 10, susa_priority: int = 5) -> FeedFile:
    return FeedFile(
        (
            feed("botkyrka", "open-json", str(SAMPLE / "botkyrka.json"), priority=municipal_priority),
            feed(
                "susa",
                "susa-navet",
                str(_susa_twin(tmp_path)),
                priority=susa_priority,
                options={"category": "VUXSFI"},
            ),
        ),
        DedupeConfig(),
    )


async def _shown(factory) -> dict[tuple[str, str], tuple[str, int | None]]:
    async with factory() as session:
        rows = (
            await session.execute(select(Offering.source, Offering.source_id, Offering.status, Offering.id))
        ).all()
        by_id = {id_: (source, source_id) for source, source_id, _, id_ in rows}
        twins = dict((await session.execute(select(Offering.id, Offering.duplicate_of))).all())
    return {
        (source, source_id): (status, by_id.get(twins[id_], (None, None))[1])
        for source, source_id, status, id_ in rows
    }


async def test_the_same_course_from_two_sources_is_shown_once(factory, tmp_path, clock) -> None:
    result = await run_feeds(factory, _feeds(tmp_path), clock=clock)

    assert [r.status for r in result.reports] == ["ok", "ok"]
    assert result.duplicates.marked == 1
    shown = await _shown(factory)
    assert shown[("susa", "e.1")] == ("duplicate", "bk-sfi-ab-dag-2027v")
    assert shown[("botkyrka", "bk-sfi-ab-dag-2027v")] == ("active", None)
    assert shown[("susa", "e.2")] == ("active", None)


async def test_which_source_wins_is_a_setting(factory, tmp_path, clock) -> None:
    await run_feeds(factory, _feeds(tmp_path, municipal_priority=1, susa_priority=20), clock=clock)
    shown = await _shown(factory)
    assert shown[("botkyrka", "bk-sfi-ab-dag-2027v")] == ("duplicate", "e.1")
    assert shown[("susa", "e.1")] == ("active", None)


async def test_duplicates_are_decided_again_after_each_sync(factory, tmp_path, clock) -> None:
    feeds = _feeds(tmp_path)
    await run_feeds(factory, feeds, clock=clock)
    unchanged = await run_feeds(factory, feeds, clock=clock)
    assert (unchanged.duplicates.marked, unchanged.duplicates.released) == (0, 0)
    assert [r.rows_written for r in unchanged.reports] == [0, 0]  # a duplicate stays "unchanged"

    # The municipality withdraws its course: Susa-navet's copy is shown again.
    municipal = json.loads((SAMPLE / "botkyrka.json").read_text(encoding="utf-8"))
    municipal["offerings"] = [o for o in municipal["offerings"] if o["id"] != "bk-sfi-ab-dag-2027v"]
    path = tmp_path / "botkyrka.json"
    path.write_text(json.dumps(municipal), encoding="utf-8")
    changed = FeedFile((feed("botkyrka", "open-json", str(path), priority=10), feeds.feeds[1]), feeds.dedupe)
    result = await run_feeds(factory, changed, clock=clock)

    assert result.duplicates.released == 1
    shown = await _shown(factory)
    assert shown[("botkyrka", "bk-sfi-ab-dag-2027v")][0] == "withdrawn"
    assert shown[("susa", "e.1")] == ("active", None)


def test_matching_rules() -> None:
    config = DedupeConfig()

    def candidate(
        id_, source, title, start=date(2027, 1, 11), provider="botkyrka vuxenutbildning", code="0127"
    ):
        return dedupe.Candidate(id_, source, "course", code, start, dedupe.normalise(title), provider, 0)

    base = candidate(1, "a", "Sfi kurs B, dagtid")
    assert dedupe.same_offering(base, candidate(2, "b", "SFI kurs B dagtid"), config)
    assert not dedupe.same_offering(base, candidate(3, "a", "Sfi kurs B, dagtid"), config)  # one source
    assert not dedupe.same_offering(base, candidate(4, "b", "Sfi kurs B, dagtid", code="0126"), config)
    assert not dedupe.same_offering(
        base, candidate(5, "b", "Sfi kurs B, dagtid", start=date(2027, 2, 1)), config
    )
    assert not dedupe.same_offering(base, candidate(6, "b", "Svenska som andraspråk 1"), config)
    assert not dedupe.same_offering(base, candidate(7, "b", "Sfi kurs B, dagtid", provider="lernia"), config)
    assert dedupe.same_offering(base, candidate(8, "b", "Sfi kurs B, dagtid", provider=""), config)
    assert dedupe.normalise("دورة\u200cاللغة\u064e") == "دورةاللغة"


def test_one_winner_absorbs_at_most_one_offering_per_source() -> None:
    """Two parallel groups of a course in one feed are not both hidden behind one row of another feed."""

    def candidate(id_, source, priority):
        return dedupe.Candidate(id_, source, "course", "0127", None, "sfi kurs b", "", priority)

    pairs = dedupe.find_duplicates(
        [candidate(1, "muni", 10), candidate(2, "susa", 5), candidate(3, "susa", 5)], DedupeConfig()
    )
    assert pairs == {2: 1}


# --- run records, the feed file and the scheduler ---------------------------------------------------------


async def test_every_run_is_recorded(factory, tmp_path, clock) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(_open_feed(4)))
    config = feed("botkyrka", "open-json", str(path))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    clock.advance(minutes=1)
    path.write_text(json.dumps({**_open_feed(4), "offerings": _open_feed(4)["offerings"] + [{"id": "bad"}]}))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    recorded = [
        (
            r.status,
            r.fetched,
            r.added,
            r.updated,
            r.unchanged,
            r.withdrawn,
            r.rejected,
            r.held,
            r.rows_written,
        )
        for r in await runs(factory, "botkyrka")
    ]
    assert recorded == [("ok", 4, 4, 0, 0, 0, 0, False, 4), ("ok", 5, 0, 0, 4, 0, 1, False, 0)]
    state = await _state(factory, "botkyrka")
    assert state.last_success_at == clock()


async def _state(factory, name: str) -> FeedState:
    async with factory() as session:
        return await session.get(FeedState, name)


async def test_run_feeds_runs_only_what_is_enabled_and_nightly(factory, tmp_path, clock) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(_open_feed(2)))
    feeds = FeedFile(
        (
            feed("nightly", "open-json", str(path), schedule="nightly"),
            feed("manual", "open-json", str(path), schedule="manual"),
            feed("off", "open-json", str(path), schedule="nightly", enabled=False),
        )
    )
    result = await run_feeds(factory, feeds, scheduled_only=True, clock=clock)
    assert [r.feed for r in result.reports] == ["nightly"]
    result = await run_feeds(factory, feeds, names=["off"], clock=clock)
    assert [r.feed for r in result.reports] == ["off"]


def test_the_projects_feed_file_loads() -> None:
    feeds = load_feeds(ROOT / "feeds.toml")
    enabled = [f for f in feeds.feeds if f.enabled]
    assert {f.name for f in enabled} == {f"sample:{p.stem}" for p in SAMPLE.glob("*.json")}
    assert all(Path(f.base_dir, f.url).is_file() for f in enabled)
    assert {f.adapter for f in feeds.feeds} == {
        "open-json",
        "skolverket-units",
        "skolverket-planned",
        "susa-navet",
        "jobtech-search",
        "jobtech-stream",
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"adapter": "open-json", "url": "x"}, "name is missing"),
        ({"name": "a", "adapter": "rss", "url": "x"}, "adapter must be one of"),
        ({"name": "a", "adapter": "open-json", "url": "x", "municipalities": [127]}, "SCB codes"),
        ({"name": "a", "adapter": "open-json", "url": "x", "schedule": "30 2 * * *"}, "02:00 and 03:00"),
        ({"name": "a", "adapter": "open-json", "url": "x", "schedule": "every night"}, "crontab"),
        ({"name": "a", "adapter": "open-json", "url": "x", "colour": "red"}, "unknown key 'colour'"),
        ({"name": "a b", "adapter": "open-json", "url": "x"}, "letters, digits"),
    ],
)
def test_feed_file_errors_name_the_feed_and_the_key(entry, message) -> None:
    with pytest.raises(FeedConfigError, match=message):
        parse_feeds({"feed": [entry]})


def test_sync_time_setting(monkeypatch) -> None:
    assert sync_settings().time == time(3, 15)
    monkeypatch.setenv("SYNC_TIME", "4:05")
    assert sync_settings().time == time(4, 5)
    monkeypatch.setenv("SYNC_TIME", "02:30")
    with pytest.raises(FeedConfigError, match="SYNC_TIME.*02:00"):
        sync_settings()


async def test_scheduler_has_the_nightly_sync_at_0315_stockholm_time(factory, tmp_path) -> None:
    from bot.scheduler import NIGHTLY_SYNC_JOB, add_catalogue_sync, create_scheduler

    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(
        '[[feed]]\nname = "a"\nadapter = "open-json"\nurl = "a.json"\n\n'
        '[[feed]]\nname = "weekly"\nadapter = "open-json"\nurl = "b.json"\nschedule = "0 5 * * sun"\n'
    )
    scheduler = create_scheduler()
    jobs = add_catalogue_sync(scheduler, factory, feeds_file=feeds_file)
    assert [job.id for job in jobs] == [NIGHTLY_SYNC_JOB, "catalogue-sync:weekly"]
    after = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # the night the clocks go forward
    nightly = jobs[0].trigger.get_next_fire_time(None, after)
    assert (nightly.hour, nightly.minute, str(nightly.tzinfo)) == (3, 15, "Europe/Stockholm")
    assert nightly.astimezone(UTC) == datetime(2027, 3, 28, 1, 15, tzinfo=UTC)
    assert jobs[1].trigger.get_next_fire_time(None, after).weekday() == 6
    with pytest.raises(ValueError, match="02:00"):
        add_catalogue_sync(scheduler, factory, at=time(2, 30), feeds_file=feeds_file)


async def test_the_nightly_job_syncs_the_nightly_feeds(factory, tmp_path) -> None:
    from bot.scheduler import nightly_sync

    (tmp_path / "a.json").write_text(json.dumps(_open_feed(2)))
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text('[[feed]]\nname = "a"\nadapter = "open-json"\nurl = "a.json"\n')
    result = await nightly_sync(factory, feeds_file)
    assert [(r.feed, r.status, r.counts.added) for r in result.reports] == [("a", "ok", 2)]
