"""The project's own open feed, `vagvisare-feed/1` (JSON). Schema: catalog_sync/schema/.

A feed file is read as a stream (catalog_sync/jsonstream.py): a 100,000-offering feed never sits in memory
as one document. Each offering comes out as a `Lazy` item carrying a digest of its own source text: when
that text is what the last good run stored, the record is not even cleaned again."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from catalog_sync import jsonstream, normalise
from catalog_sync.adapters import Adapter
from catalog_sync.records import (
    CATEGORY_KIND,
    OPEN_TO,
    SCHEDULES,
    SWEDISH_LEVELS,
    FeedError,
    Item,
    Lazy,
    OfferingRecord,
    RecordError,
    Rejection,
    SlotRecord,
)

FORMAT = "vagvisare-feed/1"
# Part of every source digest: raise it when cleaning changes what a given source text becomes, so that the
# next run cleans every record again instead of trusting digests made by the old rules.
CLEANING_VERSION = "1"


@dataclass
class ParsedFeed:
    publisher_code: str
    records: list[OfferingRecord] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Header:
    format: Any = None
    publisher: Any = None
    offerings_type: str | None = None  # the JSON type found at "offerings": array, object, …


def parse(data: Any, known_codes: set[str]) -> ParsedFeed:
    """Turns a decoded feed into records; an invalid record is rejected with its reason, the rest go in."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FeedError(f"not a {FORMAT} feed")
    publisher_code = _publisher_code(data.get("publisher"), known_codes)
    offerings = data.get("offerings")
    if not isinstance(offerings, list):
        raise FeedError("offerings must be a list")
    feed = ParsedFeed(publisher_code)
    for item in records_from(offerings, publisher_code, known_codes):
        if isinstance(item, OfferingRecord):
            feed.records.append(item)
        else:
            feed.rejected.append((item.source_id, item.reason))
    return feed


def iter_file(
    path: Path, known_codes: set[str] | frozenset[str], *, allowed: tuple[str, ...] = ()
) -> Iterator[Item]:
    """Streams a feed file: the header is checked first (FeedError if unusable), then each offering is
    yielded as a `Lazy` record or a rejection. Malformed JSON part-way through raises FeedError. With
    `allowed` (the feed's configured municipalities), a feed from another publisher is refused whole."""
    with path.open("rb") as handle:
        yield from iter_stream(handle, known_codes, allowed=allowed)


def iter_bytes(content: bytes, known_codes: set[str] | frozenset[str]) -> Iterator[Item]:
    yield from iter_stream(io.BytesIO(content), known_codes)


def iter_stream(
    handle: BinaryIO, known_codes: set[str] | frozenset[str], *, allowed: tuple[str, ...] = ()
) -> Iterator[Item]:
    header = read_header(handle)
    if header.format != FORMAT:
        raise FeedError(f"not a {FORMAT} feed")
    publisher_code = _publisher_code(header.publisher, known_codes)
    if allowed and publisher_code not in allowed:
        raise FeedError(f"publisher {publisher_code} is not among this feed's municipalities {list(allowed)}")
    if header.offerings_type != "array":
        raise FeedError("offerings must be a list")
    handle.seek(0)
    prefix = f"{CLEANING_VERSION}|{publisher_code}|"
    seen: set[str] = set()
    try:
        for event in jsonstream.stream(handle, "offerings"):
            if not isinstance(event, jsonstream.Element):
                continue
            item, item_id = event.value, _item_id(event.value, event.index)
            if not isinstance(item, dict):
                yield Rejection(item_id, f"an offering must be an object, got {_json_type(item)}")
            elif item_id in seen:
                yield Rejection(item_id, "duplicate id")
            else:
                seen.add(item_id)
                digest = hashlib.sha256((prefix + event.text).encode("utf-8")).hexdigest()
                yield Lazy(item_id, digest, partial(_build, item, item_id, publisher_code, known_codes))
    except jsonstream.JsonStreamError as exc:
        raise FeedError(f"not valid JSON: {exc}") from None


def _build(
    item: dict, item_id: str, publisher_code: str, known_codes: set[str] | frozenset[str]
) -> OfferingRecord | Rejection:
    try:
        return offering_record(item, publisher_code, known_codes)
    except RecordError as exc:
        return Rejection(item_id, str(exc))


def read_header(handle: BinaryIO) -> Header:
    """The top-level `format` and `publisher`, and what `offerings` is. Reading stops where the offerings
    begin when both are known by then (as in every feed that puts them first); otherwise it goes on to
    the end of the document, looking at the offerings only to pass them."""
    header = Header()
    try:
        for event in jsonstream.stream(handle, "offerings"):
            if isinstance(event, jsonstream.Member) and event.key in ("format", "publisher"):
                setattr(header, event.key, event.value)
            elif isinstance(event, jsonstream.StreamStart):
                header.offerings_type = event.kind
                if header.format is not None and header.publisher is not None:
                    break
    except jsonstream.JsonStreamError as exc:
        if str(exc).startswith("expected '{' at character 0"):
            raise FeedError(f"not a {FORMAT} feed (the document is not a JSON object)") from None
        raise FeedError(f"not valid JSON: {exc}") from None
    return header


def _publisher_code(publisher: Any, known_codes: set[str] | frozenset[str]) -> str:
    code = publisher.get("municipality_code", "") if isinstance(publisher, dict) else ""
    try:
        cleaned = normalise.municipality_code(code) if isinstance(code, str) and code.strip() else None
    except RecordError:
        cleaned = None
    if cleaned is None or cleaned not in known_codes:
        raise FeedError(f"unknown publisher municipality code {code!r}")
    return cleaned


def records_from(
    offerings, publisher_code: str, known_codes: set[str] | frozenset[str]
) -> Iterator[OfferingRecord | Rejection]:
    seen: set[str] = set()
    for index, item in enumerate(offerings):
        item_id = _item_id(item, index)
        try:
            if not isinstance(item, dict):
                raise RecordError(f"an offering must be an object, got {_json_type(item)}")
            if item_id in seen:
                raise RecordError("duplicate id")
            record = offering_record(item, publisher_code, known_codes)
        except RecordError as exc:
            yield Rejection(item_id, str(exc))
            continue
        seen.add(item_id)
        yield record


def _item_id(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str | int) and str(item["id"]).strip():
        return str(item["id"]).strip()
    return f"#{index}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean", list: "a list"}.get(
        type(value), type(value).__name__
    )


def offering_record(
    item: dict, publisher_code: str, known_codes: set[str] | frozenset[str]
) -> OfferingRecord:
    """One offering of the open format (JSON, or a CSV row already shaped like JSON) as a record."""
    category = _required(item, "category")
    if category not in CATEGORY_KIND:
        raise RecordError(f"unknown category {category!r}")
    kind = item.get("kind") or CATEGORY_KIND[category]
    if kind != CATEGORY_KIND[category]:
        raise RecordError(f"kind {kind!r} does not fit category {category!r}")
    title = normalise.texts(item.get("title"), "title")
    if not title.get("sv"):
        raise RecordError("title.sv is missing")
    raw_code = item.get("municipality_code")
    municipality_code = publisher_code if normalise.is_null(raw_code) else _code(raw_code, known_codes)
    open_to = item.get("open_to") or "agreement"
    if open_to not in OPEN_TO:
        raise RecordError(f"open_to must be one of {sorted(OPEN_TO)}")
    schedule = tuple(_list(item.get("schedule"), "schedule"))
    if not set(schedule) <= SCHEDULES:
        raise RecordError(f"schedule items must be among {sorted(SCHEDULES)}")
    level = item.get("swedish_level_min")
    if level is not None and level not in SWEDISH_LEVELS:
        raise RecordError(f"swedish_level_min must be one of {list(SWEDISH_LEVELS)}")
    provider = _object(item.get("provider"), "provider")
    address = _object(item.get("address"), "address")
    lat, lon = _location(item.get("location"))
    slots = item.get("intake_slots")
    if slots is not None and not isinstance(slots, list):
        raise RecordError("intake_slots must be a list")
    return OfferingRecord(
        source_id=_required(item, "id"),
        kind=kind,
        category=category,
        title=title,
        description=normalise.texts(item.get("description"), "description", long=True),
        publisher_code=publisher_code,
        municipality_code=municipality_code,
        open_to=open_to,
        provider_name=normalise.text(provider.get("name"), max_length=200),
        provider_email=normalise.text(provider.get("email"), max_length=200),
        provider_phone=normalise.text(provider.get("phone"), max_length=40),
        street=normalise.text(address.get("street"), max_length=200),
        postal_code=normalise.text(address.get("postal_code"), max_length=10),
        city=normalise.text(address.get("city"), max_length=100),
        lat=lat,
        lon=lon,
        start_date=_date(item.get("start_date"), "start_date"),
        end_date=_date(item.get("end_date"), "end_date"),
        application_deadline=_date(item.get("application_deadline"), "application_deadline"),
        schedule=schedule,
        pace_percent=_int(item.get("pace_percent"), "pace_percent", 1, 100),
        languages=tuple(_list(item.get("languages"), "languages")),
        age_min=_int(item.get("age_min"), "age_min", 0, 120),
        age_max=_int(item.get("age_max"), "age_max", 0, 120),
        swedish_level_min=level,
        asylum_seekers=normalise.boolean(item.get("asylum_seekers"), "asylum_seekers"),
        seats=_int(item.get("seats"), "seats", 0, 100000),
        url=normalise.text(item.get("url"), max_length=500),
        slots=tuple(_slot(slot) for slot in slots or ()),
    )


def _required(item: dict, key: str) -> str:
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{key} is missing")
    return value.strip()


def _code(value: Any, known_codes: set[str] | frozenset[str]) -> str:
    try:
        code = normalise.municipality_code(value)
    except RecordError:
        code = None
    if code is None or code not in known_codes:
        raise RecordError(f"unknown municipality_code {value!r}")
    return code


def _object(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{name} must be an object, got {_json_type(value)}")
    return value


def _list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise RecordError(f"{name} must be a list of texts")
    return [entry.strip() for entry in value if entry.strip()]


def _date(value: Any, name: str):
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name} is not a date (YYYY-MM-DD)")
    return normalise.day(value, name)


def _int(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RecordError(f"{name} must be a number from {low} to {high}")
    return int(value)


def _location(value: Any) -> tuple[float | None, float | None]:
    if not value:
        return None, None
    if not isinstance(value, dict) or "lat" not in value or "lon" not in value:
        raise RecordError("location needs numeric lat and lon")
    lat, lon = normalise.lat_lon(value["lat"], value["lon"])
    if lat is None:
        raise RecordError("location needs numeric lat and lon")
    return lat, lon


def _slot(value: Any) -> SlotRecord:
    if not isinstance(value, dict):
        raise RecordError("an intake slot needs starts_at (ISO 8601) and capacity")
    try:
        starts_at = normalise.moment(value.get("starts_at"), "starts_at")
    except RecordError as exc:
        if "offset" in str(exc):
            raise RecordError("an intake slot's starts_at needs a UTC offset") from None
        raise RecordError("an intake slot needs starts_at (ISO 8601) and capacity") from None
    if starts_at is None:
        raise RecordError("an intake slot needs starts_at (ISO 8601) and capacity")
    capacity = value.get("capacity")
    if capacity is None:
        capacity = 1
    if isinstance(capacity, bool) or not isinstance(capacity, int | float) or capacity != int(capacity):
        raise RecordError("an intake slot needs starts_at (ISO 8601) and capacity")
    if capacity < 1:
        raise RecordError("an intake slot's capacity must be at least 1")
    return SlotRecord(starts_at, int(capacity))


class OpenJsonAdapter(Adapter):
    """A `vagvisare-feed/1` JSON file at a URL or path; always a full feed."""

    name = "open-json"

    async def fetch(self) -> None:
        response = await self.context.get(self.feed.url, conditional=True, to_file=True)
        if response.not_modified:
            self.not_modified()
        self.spool.add_response("feed", response)

    def items(self) -> Iterator[Item]:
        for path, _ in self.spool.documents("feed"):
            yield from iter_file(path, self.context.known_codes, allowed=self.feed.municipalities)
