"""Every feed format synced end to end, from a local file and from a local HTTP server."""

from __future__ import annotations

import math
from datetime import date

import pytest

from catalog_sync.sync import sync_feed
from tests.sync_support import Conditional, Reply, Sleeps, feed, fetcher, fixture, offerings, start_source


@pytest.fixture
async def source():
    fake, runner = await start_source()
    yield fake
    await runner.cleanup()


def _statuses(stored) -> dict[str, str]:
    return {key: row.status for key, row in stored.items()}


# --- the open feed: JSON ------------------------------------------------------------------------------


async def test_open_json_from_http_with_etag_then_304(factory, source, clock) -> None:
    source.route("/botkyrka.json", Conditional(fixture("../../../catalog_sync/sample/botkyrka.json")))
    config = feed("botkyrka", "open-json", source.url("/botkyrka.json"), municipalities=["0127"])

    first = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    second = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert (first.status, first.counts.added) == ("ok", 6)
    assert second.status == "not-modified"
    assert (second.counts.unchanged, second.counts.added, second.rows_written) == (6, 0, 0)
    assert source.seen("/botkyrka.json")[1].headers["If-None-Match"] == '"v1"'
    assert set(_statuses(await offerings(factory, "botkyrka")).values()) == {"active"}


async def test_open_json_304_after_a_held_run_is_not_trusted(factory, source, clock, tmp_path) -> None:
    """Validators are saved only with a good run: a feed that was held is fetched in full next time."""
    source.route("/feed.json", Conditional(b"{ broken", etag='"bad"'))
    config = feed("broken", "open-json", source.url("/feed.json"))
    assert (await sync_feed(factory, config, fetcher=fetcher(), clock=clock)).status == "failed"
    again = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert again.status == "failed"
    assert "If-None-Match" not in source.seen("/feed.json")[1].headers


async def test_open_json_from_a_publisher_outside_the_filter_fails(factory, clock) -> None:
    config = feed("wrong", "open-json", str(fixture("open/half-invalid.json")), municipalities=["0127"])
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert report.status == "failed" and "0126" in report.message


# --- the open feed: CSV --------------------------------------------------------------------------------


async def _check_csv(factory, report, name) -> None:
    assert report.status == "ok", report.message
    assert (report.fetched, report.counts.added) == (5, 3)
    reasons = dict(report.rejected)
    assert set(reasons) == {"bk-csv-trasig", "bk-csv-okand"}
    assert "den elfte januari" in reasons["bk-csv-trasig"]
    stored = await offerings(factory, name)
    sfi = stored["bk-csv-sfi-kvall"]
    assert (sfi.lat, sfi.lon, sfi.languages, sfi.pace_percent) == (59.1996, 17.8336, ["sv", "ar"], 50)
    komvux = stored["bk-csv-komvux"]
    assert komvux.application_deadline is None  # 2099-12-31 means "no deadline"
    assert komvux.schedule == ["day", "distance"]
    assert komvux.description["sv"] == "Matematik på grundläggande nivå.\n\nStudera i egen takt."
    assert stored["bk-csv-praktik"].asylum_seekers is True


async def test_open_csv_from_local_files(factory, clock) -> None:
    config = feed(
        "bk-csv",
        "open-csv",
        str(fixture("open/botkyrka.csv")),
        slots_url=str(fixture("open/botkyrka.slots.csv")),
        publisher="0127",
    )
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    await _check_csv(factory, report, "bk-csv")


async def test_open_csv_from_http_with_slots(factory, source, clock) -> None:
    source.route("/offerings.csv", Conditional(fixture("open/botkyrka.csv"), etag='"o1"'))
    source.route("/slots.csv", Conditional(fixture("open/botkyrka.slots.csv"), etag='"s1"'))
    config = feed(
        "bk-csv",
        "open-csv",
        source.url("/offerings.csv"),
        slots_url=source.url("/slots.csv"),
        publisher="0127",
    )
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    await _check_csv(factory, report, "bk-csv")
    from sqlalchemy import func, select

    from bot.models import IntakeSlot

    async with factory() as session:
        assert await session.scalar(select(func.count()).select_from(IntakeSlot)) == 3
    again = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert again.status == "not-modified"


async def test_a_csv_that_is_no_feed_fails(factory, clock) -> None:
    config = feed("broken", "open-csv", str(fixture("open/broken.csv")), publisher="0127")
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert report.status == "failed" and "header" in report.message


# --- Skolverket school units --------------------------------------------------------------------------

UNIT_OFFERINGS = {
    "21436587:preschool-class",
    "21436587:compulsory-school",
    "38475610:upper-secondary",
    "38475610:language-introduction",
    "55667788:sfi",
    "55667788:komvux-basic",
    "55667788:komvux-upper",
}


async def _check_units(factory, report, name, skipped: int) -> None:
    assert report.status == "ok", report.message
    assert report.skipped == skipped
    stored = await offerings(factory, name)
    assert set(stored) == UNIT_OFFERINGS
    school = stored["21436587:compulsory-school"]
    assert (school.kind, school.publisher_code, school.municipality_code, school.open_to) == (
        "school",
        "0127",
        "0127",
        "agreement",
    )
    assert (school.lat, school.lon, school.street) == (59.1996, 17.8336, "Skolvägen 3")
    gymnasium = stored["38475610:language-introduction"]
    # Only SWEREF 99 TM was given (latitude null): converted, within a metre of the point it was made from.
    assert math.hypot((gymnasium.lat - 59.191) * 111_320, (gymnasium.lon - 17.829) * 57_000) < 1
    assert gymnasium.age_max == 20 and gymnasium.title["sv"].startswith("Språkintroduktion")
    sfi = stored["55667788:sfi"]
    assert (sfi.kind, sfi.category, sfi.municipality_code, sfi.age_min) == ("course", "sfi", "0127", 16)


async def test_school_units_over_http(factory, source, clock) -> None:
    source.route(
        "/v2/school-units", fixture("skolverket-units/list-0127.json"), match={"municipality_code": "0127"}
    )
    for path in fixture("skolverket-units/units").glob("*.json"):
        source.route(f"/v2/school-units/{path.stem}", path)
    config = feed("skolverket-units:0127", "skolverket-units", source.url(), municipalities=["0127"])
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    # Skipped: the adapted compulsory school (GRAN); the resting unit is not even fetched.
    await _check_units(factory, report, "skolverket-units:0127", skipped=1)
    assert len(source.seen("/v2/school-units")) == 1
    assert not source.seen("/v2/school-units/99887766")


async def test_school_units_from_a_saved_file(factory, clock) -> None:
    config = feed(
        "skolverket-units:0127",
        "skolverket-units",
        str(fixture("skolverket-units/saved-0127.json")),
        municipalities=["0127"],
    )
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    await _check_units(factory, report, "skolverket-units:0127", skipped=2)  # resting, and GRAN


# --- Skolverket planned educations ----------------------------------------------------------------------


async def _check_planned(factory, report, name) -> None:
    assert report.status == "ok", report.message
    assert [item for item, _ in report.rejected] == ["e.BK.SFI.TRASIG"]
    stored = await offerings(factory, name)
    assert set(stored) == {"e.BK.SFI.B.DAG.27V", "e.BK.SFI.C.KVALL.27V", "e.BK.SFI.DIST", "e.BK.GR.MA"}
    b = stored["e.BK.SFI.B.DAG.27V"]
    assert (b.title["sv"], b.start_date, b.application_deadline) == (
        "Sfi kurs B, dagtid",
        date(2027, 1, 11),
        date(2026, 12, 15),
    )
    c = stored["e.BK.SFI.C.KVALL.27V"]
    assert (c.application_deadline, c.pace_percent) == (None, 50)
    distance = stored["e.BK.SFI.DIST"]
    assert (distance.open_to, distance.schedule, distance.pace_percent) == ("everyone", ["distance"], None)
    assert stored["e.BK.GR.MA"].category == "komvux-basic"


async def test_planned_educations_over_http_with_paging_and_details(factory, source, clock) -> None:
    path = "/v4/adult-education-events"
    source.route(path, fixture("planned/sfi-0.json"), match={"typeOfSchool": "sfi", "page": "0"})
    source.route(path, fixture("planned/sfi-1.json"), match={"typeOfSchool": "sfi", "page": "1"})
    source.route(path, fixture("planned/vuxgr-0.json"), match={"typeOfSchool": "vuxgr"})
    source.route(path, Reply(200, {"body": {"_embedded": {"listedAdultEducationEvents": []}}}))
    source.route(f"{path}/e.BK.SFI.B.DAG.27V", fixture("planned/details/e.BK.SFI.B.DAG.27V.json"))
    config = feed("planned:0127", "skolverket-planned", source.url(), municipalities=["0127"])

    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    await _check_planned(factory, report, "planned:0127")
    pages = [(r.query["typeOfSchool"], r.query["page"]) for r in source.seen(path)]
    assert pages == [("sfi", "0"), ("sfi", "1"), ("vuxgr", "0"), ("vuxgy", "0")]
    assert all("hal+json" in r.headers["Accept"] for r in source.seen(path))
    b = (await offerings(factory, "planned:0127"))["e.BK.SFI.B.DAG.27V"]
    assert b.languages == ["sv", "ar"] and b.schedule == ["day"]
    assert b.description["sv"] == "Sfi kurs B för dig som läst kurs A.\n\nUndervisning måndag–torsdag."
    assert (b.street, b.url) == ("Storgatan 1", "https://botkyrka.example/sfi-b")
    assert report.skipped == 1  # the Huddinge event, outside this feed's municipalities


async def test_planned_educations_from_a_saved_file(factory, clock) -> None:
    config = feed(
        "planned:0127", "skolverket-planned", str(fixture("planned/saved.json")), municipalities=["0127"]
    )
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    await _check_planned(factory, report, "planned:0127")


# --- Susa-navet ------------------------------------------------------------------------------------------


def _susa_routes(source) -> None:
    source.route(
        "/educationEvents",
        Reply(503, "The system is currently updating education resources"),
        fixture("susa/events-0.json"),
        match={"page": "0", "schoolType": "VUXSFI"},
    )
    source.route("/educationEvents", fixture("susa/events-1.json"), match={"page": "1"})
    source.route("/educationProviders/p.bk.vux", fixture("susa/providers/p.bk.vux.json"))


async def test_susa_full_pull_then_delta_with_removals(factory, source, clock) -> None:
    _susa_routes(source)
    config = feed(
        "susa:0127", "susa-navet", source.url(), municipalities=["0127"], options={"school_types": ["VUXSFI"]}
    )
    sleeps = Sleeps()

    first = await sync_feed(factory, config, fetcher=fetcher(sleeps), clock=clock)

    assert first.status == "ok", first.message
    assert first.complete and len(sleeps.waits) == 1  # the 503 "updating" was waited out
    assert [item for item, _ in first.rejected] == ["e.susa.6"]
    stored = await offerings(factory, "susa:0127")
    assert set(stored) == {"e.susa.1", "e.susa.2", "e.susa.3", "e.susa.5"}
    assert stored["e.susa.1"].provider.name == "Botkyrka vuxenutbildning"
    assert (stored["e.susa.2"].pace_percent, stored["e.susa.1"].title["en"]) == (50, "SFI kurs B, dagtid")
    distance = stored["e.susa.5"]
    assert (distance.open_to, distance.municipality_code, distance.application_deadline) == (
        "everyone",
        "0127",
        None,
    )
    assert "updatedSince" not in source.seen("/educationEvents")[0].query

    clock.advance(days=1)
    source.routes["/educationEvents"] = []
    source.route("/educationEvents", fixture("susa/events-delta.json"))
    second = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert second.status == "ok" and not second.complete
    assert source.seen("/educationEvents")[-1].query["updatedSince"] == "2026-11-27T07:00:00"
    c = second.counts
    assert (c.added, c.updated, c.withdrawn) == (1, 1, 2)
    stored = await offerings(factory, "susa:0127")
    assert _statuses(stored) == {
        "e.susa.1": "withdrawn",  # cancelled
        "e.susa.2": "active",
        "e.susa.3": "withdrawn",  # removed
        "e.susa.5": "active",  # not in the delta: untouched
        "e.susa.7": "active",
    }
    assert stored["e.susa.2"].title["sv"] == "Sfi kurs C, kvällstid"


async def test_susa_full_flag_ignores_the_cursor(factory, source, clock) -> None:
    _susa_routes(source)
    config = feed(
        "susa:0127", "susa-navet", source.url(), municipalities=["0127"], options={"school_types": ["VUXSFI"]}
    )
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock, full=True)
    assert report.complete and "updatedSince" not in source.seen("/educationEvents")[-1].query


async def test_susa_from_a_saved_file(factory, clock) -> None:
    config = feed(
        "susa:0127",
        "susa-navet",
        str(fixture("susa/saved.json")),
        municipalities=["0127"],
        options={"category": "VUXSFI"},
    )
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert report.status == "ok", report.message
    assert set(await offerings(factory, "susa:0127")) == {"e.susa.1", "e.susa.2", "e.susa.3", "e.susa.5"}


# --- JobTech ---------------------------------------------------------------------------------------------


async def _check_jobs(factory, report, name) -> None:
    assert report.status == "ok", report.message
    stored = await offerings(factory, name)
    assert set(stored) == {"24429701", "24429702", "24429703", "24429706"}
    assert [item for item, _ in report.rejected] == ["24429707"]
    teacher = stored["24429701"]
    assert (teacher.kind, teacher.open_to, teacher.lat, teacher.lon) == ("job", "everyone", 59.1996, 17.8336)
    assert stored["24429706"].lat == 59.1996  # written [lat, lon] by mistake: put right
    assert (stored["24429703"].kind, stored["24429703"].seats) == ("internship", 3)
    assert stored["24429702"].pace_percent == 75


async def test_jobsearch_keeps_municipal_employers_and_pages(factory, source, clock) -> None:
    source.route(
        "/search",
        Reply(429, "", {"Retry-After": "2"}),
        fixture("jobtech/search-0127-0.json"),
        match={"offset": "0"},
    )
    source.route("/search", fixture("jobtech/search-0127-1.json"), match={"offset": "4"})
    config = feed("jobs:0127", "jobtech-search", source.url(), municipalities=["0127"])
    sleeps = Sleeps()

    report = await sync_feed(factory, config, fetcher=fetcher(sleeps), clock=clock)

    await _check_jobs(factory, report, "jobs:0127")
    assert sleeps.waits == [2.0]
    searches = source.seen("/search")
    assert [r.query["offset"] for r in searches] == ["0", "0", "4"]
    assert all(r.query["employer"] == "212000" and r.query["municipality"] == "0127" for r in searches)
    assert report.skipped == 2  # a private employer, and Huddinge's ad


async def test_jobstream_snapshot_then_stream_with_removals(factory, source, clock) -> None:
    source.route("/snapshot", fixture("jobtech/snapshot.json"))
    source.route("/stream", fixture("jobtech/stream-delta.json"))
    config = feed("jobstream:0127", "jobtech-stream", source.url(), municipalities=["0127"])

    first = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    await _check_jobs(factory, first, "jobstream:0127")
    clock.advance(hours=24)
    second = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert not second.complete and source.seen("/stream")[0].query["date"] == "2026-11-27T07:00:00"
    c = second.counts
    assert (c.added, c.updated, c.withdrawn, second.skipped) == (1, 1, 1, 1)
    stored = await offerings(factory, "jobstream:0127")
    assert stored["24429702"].status == "withdrawn"
    assert stored["24429703"].status == "active"  # a delta withdraws only what it says is removed
    assert stored["24429701"].pace_percent == 80


async def test_jobtech_from_local_files(factory, clock) -> None:
    search = feed(
        "jobs:0127", "jobtech-search", str(fixture("jobtech/search-0127-0.json")), municipalities=["0127"]
    )
    stream = feed(
        "stream:0127", "jobtech-stream", str(fixture("jobtech/snapshot.json")), municipalities=["0127"]
    )
    first = await sync_feed(factory, search, fetcher=fetcher(), clock=clock)
    assert (first.status, first.counts.added, first.skipped) == ("ok", 3, 1)
    second = await sync_feed(factory, stream, fetcher=fetcher(), clock=clock)
    await _check_jobs(factory, second, "stream:0127")
