"""Cleaning what feeds publish (catalog_sync/normalise.py) and the record's content hash."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_sync import normalise
from catalog_sync.records import OfferingRecord, RecordError, SlotRecord

# Stockholm Central Station, as published with both coordinates (SWEREF 99 TM to the metre).
CENTRAL_WGS84 = (59.330231, 18.059196)
CENTRAL_SWEREF = (6580822.0, 674032.0)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    north = (a[0] - b[0]) * 111_320
    east = (a[1] - b[1]) * 111_320 * math.cos(lat)
    return math.hypot(north, east)


def test_sweref99tm_known_point_within_a_metre() -> None:
    assert _metres(normalise.sweref99tm_to_wgs84(*CENTRAL_SWEREF), CENTRAL_WGS84) < 1.0


def test_sweref99tm_forward_matches_the_known_point_within_a_metre() -> None:
    n, e = normalise.wgs84_to_sweref99tm(*CENTRAL_WGS84)
    assert math.hypot(n - CENTRAL_SWEREF[0], e - CENTRAL_SWEREF[1]) < 1.0


@given(st.floats(55.3, 69.0), st.floats(11.0, 24.1))
def test_sweref99tm_round_trip_is_exact_to_a_millimetre(lat: float, lon: float) -> None:
    back = normalise.sweref99tm_to_wgs84(*normalise.wgs84_to_sweref99tm(lat, lon))
    assert _metres(back, (lat, lon)) < 0.001


def test_sweref_strings_with_decimal_commas() -> None:
    lat, lon = normalise.sweref_point("6565716,131", "661822,313")
    assert _metres((lat, lon), (59.1996, 17.8336)) < 0.01


def test_sweref_point_outside_sweden_is_rejected() -> None:
    with pytest.raises(RecordError, match="outside Sweden"):
        normalise.sweref_point("59,1996", "17,8336")  # WGS 84 written where SWEREF belongs


def test_location_prefers_wgs84_and_falls_back_to_sweref() -> None:
    assert normalise.location("59,1996", "17,8336", sweref_n="1", sweref_e="2") == (59.1996, 17.8336)
    lat, lon = normalise.location(None, "null", sweref_n="6565716,131", sweref_e="661822,313")
    assert (round(lat, 4), round(lon, 4)) == (59.1996, 17.8336)
    assert normalise.location("null", None) == (None, None)


def test_lon_lat_order_and_swapped_pairs() -> None:
    assert normalise.lon_lat_pair([18.06, 59.33]) == (59.33, 18.06)
    assert normalise.lon_lat_pair([59.33, 18.06]) == (59.33, 18.06)  # written the other way round
    assert normalise.lon_lat_pair([]) == (None, None)
    with pytest.raises(RecordError):
        normalise.lon_lat_pair([18.06])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<![CDATA[Bagare och konditor]]>", "Bagare och konditor"),
        ("  Sfi   kurs\tB ", "Sfi kurs B"),
        ("null", None),
        ("NULL", None),
        ("", None),
        ("Kock &amp; kallskänka", "Kock & kallskänka"),
        ("<b>Sfi</b> kurs B", "Sfi kurs B"),
        (123, "123"),
    ],
)
def test_text(raw, expected) -> None:
    assert normalise.text(raw) == expected


def test_html_description_becomes_plain_text_with_paragraphs() -> None:
    html = (
        "<p>Sfi för dig som <em>just kommit</em>.</p><ul><li>Dagtid</li><li>Kvällstid</li></ul>"
        "<script>alert(1)</script><p>Välkommen!</p>"
    )
    assert normalise.long_text(html) == "Sfi för dig som just kommit.\n\n• Dagtid\n• Kvällstid\n\nVälkommen!"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2027-01-11", date(2027, 1, 11)),
        ("2024-11-28T23:59:59", date(2024, 11, 28)),
        ("2099-12-31", None),
        ("2099-12-31T23:59:59", None),
        ("null", None),
        (None, None),
    ],
)
def test_day(raw, expected) -> None:
    assert normalise.day(raw, "d") == expected


def test_bad_date_is_a_reason() -> None:
    with pytest.raises(RecordError, match="not a date"):
        normalise.day("den elfte januari", "start_date")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("100.0", 100), ("50,0", 50), (" 75 ", 75), ("null", None), (None, None), (100, 100)],
)
def test_integer_from_strings(raw, expected) -> None:
    assert normalise.integer(raw, "pace", 1, 100) == expected


def test_integer_out_of_range_and_garbage() -> None:
    with pytest.raises(RecordError, match="from 1 to 100"):
        normalise.integer("150", "pace", 1, 100)
    with pytest.raises(RecordError, match="must be a number"):
        normalise.integer("hundra", "pace", 1, 100)


@pytest.mark.parametrize(
    ("raw", "expected"), [(127, "0127"), ("127", "0127"), ("0180", "0180"), ("null", None)]
)
def test_municipality_code(raw, expected) -> None:
    assert normalise.municipality_code(raw) == expected


def test_unknown_municipality_code() -> None:
    with pytest.raises(RecordError, match="unknown"):
        normalise.municipality_code("9999", {"0127"})


def test_moment_needs_an_offset_unless_the_source_writes_local_time() -> None:
    with pytest.raises(RecordError, match="offset"):
        normalise.moment("2026-12-03T10:00:00", "starts_at")
    local = normalise.moment("2026-12-03T10:00:00", "starts_at", naive_zone=normalise.STOCKHOLM)
    assert local.astimezone(UTC) == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_languages() -> None:
    assert [normalise.language(x) for x in ("swe", "Svenska", "ara", "ar", "Klingon språk")] == [
        "sv",
        "sv",
        "ar",
        "ar",
        None,
    ]


def _record(**extra) -> OfferingRecord:
    return OfferingRecord(
        source_id="x",
        kind="course",
        category="sfi",
        title={"sv": "Sfi", "en": "SFI"},
        publisher_code="0127",
        municipality_code="0127",
        open_to="agreement",
        **extra,
    )


def test_content_hash_is_the_same_as_the_asdict_definition() -> None:
    records = [
        _record(),
        _record(
            start_date=date(2027, 1, 11),
            schedule=("day", "evening"),
            languages=("sv", "ar"),
            lat=59.2,
            lon=17.8,
            slots=(
                SlotRecord(datetime(2026, 12, 3, 10, tzinfo=timezone(timedelta(hours=1))), 6),
                SlotRecord(datetime(2026, 12, 4, 9, tzinfo=UTC), 2),
            ),
        ),
    ]
    for record in records:
        assert record.content_hash() == record.slow_content_hash()
    assert records[0].content_hash() != records[1].content_hash()
