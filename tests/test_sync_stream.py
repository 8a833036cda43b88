"""Streaming a large feed (catalog_sync/jsonstream.py), source digests that skip unchanged records, and the
content hash's exact agreement with its reference definition."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_sync import open_feed
from catalog_sync.jsonstream import Element, JsonStreamError, Member, StreamStart, stream
from catalog_sync.records import OfferingRecord, SlotRecord
from catalog_sync.sync import sync_feed
from tests.sync_support import feed, fetcher, offerings

DOCUMENT = {
    "format": "vagvisare-feed/1",
    "publisher": {"municipality_code": "0127", "name": "Botkyrka kommun"},
    "offerings": [
        {"id": f"o{n}", "title": {"sv": "Sfi kurs B åäö " * (n % 7)}, "pace": 12.5 * n, "big": 10**20 + n}
        for n in range(300)
    ],
    "x-note": ["anything", {"nested": True}],
}


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096, 1 << 20])
def test_every_chunk_size_gives_the_same_elements_and_their_exact_text(chunk) -> None:
    raw = json.dumps(DOCUMENT, ensure_ascii=False, indent=2).encode("utf-8")
    events = list(stream(io.BytesIO(raw), "offerings", chunk=chunk))
    elements = [event for event in events if isinstance(event, Element)]
    assert [e.value for e in elements] == DOCUMENT["offerings"]
    assert all(json.loads(e.text) == e.value for e in elements)
    assert [e.key for e in events if isinstance(e, Member)] == ["format", "publisher", "x-note"]
    assert StreamStart("offerings", "array") in events


def test_a_top_level_array_and_a_byte_order_mark() -> None:
    events = list(stream(io.BytesIO(b'\xef\xbb\xbf [ {"id": 1} , {"id": 2} ] '), None))
    assert [e.value for e in events if isinstance(e, Element)] == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"offerings": [{"id": "a"}, {"id": ', "character"),
        (b'{"offerings": [{"id": "a"} {"id": "b"}]}', "expected ',' or ']'"),
        (b'{"a": 1} trailing', "extra data"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"", "expected '{'"),
    ],
)
def test_broken_documents_fail_with_one_line(content, message) -> None:
    with pytest.raises(JsonStreamError, match=message) as caught:
        list(stream(io.BytesIO(content), "offerings", chunk=8))
    assert "\n" not in str(caught.value)


def test_a_feed_with_its_publisher_after_the_offerings_is_read_in_two_passes() -> None:
    reordered = {
        "offerings": [{"id": "a", "category": "sfi", "title": {"sv": "Sfi"}}],
        "format": "vagvisare-feed/1",
        "publisher": {"municipality_code": "0127"},
    }
    items = list(open_feed.iter_bytes(json.dumps(reordered).encode(), {"0127"}))
    assert [item.build().source_id for item in items] == ["a"]


# --- source digests ------------------------------------------------------------------------------------


def _feed(*titles: str, spaces: str = " ") -> bytes:
    offerings = [
        {"id": f"o{n}", "category": "sfi", "title": {"sv": title}, "municipality_code": "0127"}
        for n, title in enumerate(titles)
    ]
    return json.dumps(
        {"format": "vagvisare-feed/1", "publisher": {"municipality_code": "0127"}, "offerings": offerings},
        separators=(",", ":" + spaces),
    ).encode()


async def test_unchanged_source_text_is_not_cleaned_again(factory, tmp_path, clock, monkeypatch) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(_feed("Sfi A", "Sfi B", "Sfi C"))
    config = feed("botkyrka", "open-json", str(path))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    built = []
    real = open_feed.offering_record
    monkeypatch.setattr(
        open_feed, "offering_record", lambda item, *a: built.append(item["id"]) or real(item, *a)
    )

    path.write_bytes(_feed("Sfi A", "Sfi B, ändrad", "Sfi C"))
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert built == ["o1"]
    assert (report.counts.unchanged, report.counts.updated, report.rows_written) == (2, 1, 1)


async def test_new_source_text_with_the_same_content_only_stores_the_new_digest(
    factory, tmp_path, clock
) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(_feed("Sfi A", "Sfi B"))
    config = feed("botkyrka", "open-json", str(path))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    before = {key: row.updated_at for key, row in (await offerings(factory, "botkyrka")).items()}
    clock.advance(days=1)

    path.write_bytes(_feed("Sfi A", "Sfi  B ", spaces="   "))  # other spacing; cleaned, the same record
    touched = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    again = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)

    assert (touched.counts.unchanged, touched.counts.updated, touched.rows_written) == (2, 0, 2)
    assert (again.counts.unchanged, again.rows_written) == (2, 0)
    assert {key: row.updated_at for key, row in (await offerings(factory, "botkyrka")).items()} == before


async def test_new_cleaning_rules_clean_every_record_again(factory, tmp_path, clock, monkeypatch) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes(_feed("Sfi A", "Sfi B"))
    config = feed("botkyrka", "open-json", str(path))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    monkeypatch.setattr(open_feed, "CLEANING_VERSION", "2")
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert (report.counts.unchanged, report.rows_written) == (2, 2)  # rebuilt, same content, digests renewed


async def test_a_withdrawn_record_listed_again_with_the_same_text_comes_back(
    factory, tmp_path, clock
) -> None:
    path = tmp_path / "feed.json"
    config = feed("botkyrka", "open-json", str(path))
    path.write_bytes(_feed("Sfi A", "Sfi B"))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    path.write_bytes(_feed("Sfi A"))
    await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    path.write_bytes(_feed("Sfi A", "Sfi B"))
    report = await sync_feed(factory, config, fetcher=fetcher(), clock=clock)
    assert (report.counts.unchanged, report.counts.updated) == (1, 1)
    assert {row.status for row in (await offerings(factory, "botkyrka")).values()} == {"active"}


# --- the content hash ------------------------------------------------------------------------------------

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
maybe_date = st.none() | st.dates(date(2000, 1, 1), date(2100, 1, 1))
slots = st.builds(
    SlotRecord,
    st.datetimes(
        datetime(2026, 1, 1),
        datetime(2028, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=2))]),
    ),
    st.integers(1, 50),
)


@settings(max_examples=200, deadline=None)
@given(
    title=st.dictionaries(st.sampled_from(["sv", "en", "ar", "fa_AF"]), texts, min_size=1),
    description=st.dictionaries(st.sampled_from(["sv", "en", "so"]), texts),
    lat=st.none() | st.floats(-90, 90),
    lon=st.none() | st.floats(-180, 180),
    start=maybe_date,
    end=maybe_date,
    schedule=st.lists(st.sampled_from(["day", "evening", "weekend", "distance"]), unique=True).map(tuple),
    seats=st.none() | st.integers(0, 100000),
    street=st.none() | texts,
    slot_list=st.lists(slots, max_size=3).map(tuple),
    asylum=st.booleans(),
)
def test_content_hash_agrees_with_its_definition(
    title, description, lat, lon, start, end, schedule, seats, street, slot_list, asylum
) -> None:
    record = OfferingRecord(
        source_id="x",
        kind="course",
        category="sfi",
        title=title,
        description=description,
        publisher_code="0127",
        municipality_code="0127",
        open_to="agreement",
        lat=lat,
        lon=lon,
        start_date=start,
        end_date=end,
        schedule=schedule,
        seats=seats,
        street=street,
        slots=slot_list,
        asylum_seekers=asylum,
    )
    assert record.content_hash() == record.slow_content_hash()
