"""The project's own open feed, `vagvisare-feed/1` (JSON). Schema: catalog_sync/schema/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from catalog_sync.records import (
    CATEGORY_KIND,
    OPEN_TO,
    SCHEDULES,
    SWEDISH_LEVELS,
    FeedError,
    OfferingRecord,
    RecordError,
    SlotRecord,
)

FORMAT = "vagvisare-feed/1"


@dataclass
class ParsedFeed:
    publisher_code: str
    records: list[OfferingRecord] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def parse(data: Any, known_codes: set[str]) -> ParsedFeed:
    """Turns a decoded feed into records; an invalid record is rejected with its reason, the rest go in."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FeedError(f"not a {FORMAT} feed")
    publisher = data.get("publisher") or {}
    publisher_code = str(publisher.get("municipality_code", ""))
    if publisher_code not in known_codes:
        raise FeedError(f"unknown publisher municipality code {publisher_code!r}")
    offerings = data.get("offerings")
    if not isinstance(offerings, list):
        raise FeedError("offerings must be a list")
    feed = ParsedFeed(publisher_code)
    seen: set[str] = set()
    for index, item in enumerate(offerings):
        item_id = str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"#{index}"
        try:
            if item_id in seen:
                raise RecordError("duplicate id")
            record = _record(item, publisher_code, known_codes)
        except RecordError as exc:
            feed.rejected.append((item_id, str(exc)))
            continue
        seen.add(item_id)
        feed.records.append(record)
    return feed


def _record(item: Any, publisher_code: str, known_codes: set[str]) -> OfferingRecord:
    if not isinstance(item, dict):
        raise RecordError("an offering must be a JSON object")
    category = _required(item, "category")
    if category not in CATEGORY_KIND:
        raise RecordError(f"unknown category {category!r}")
    kind = item.get("kind") or CATEGORY_KIND[category]
    if kind != CATEGORY_KIND[category]:
        raise RecordError(f"kind {kind!r} does not fit category {category!r}")
    title = _texts(item.get("title"), "title")
    if not title.get("sv"):
        raise RecordError("title.sv is missing")
    municipality_code = str(item.get("municipality_code") or publisher_code)
    if municipality_code not in known_codes:
        raise RecordError(f"unknown municipality_code {municipality_code!r}")
    open_to = item.get("open_to", "agreement")
    if open_to not in OPEN_TO:
        raise RecordError(f"open_to must be one of {sorted(OPEN_TO)}")
    schedule = tuple(_list(item, "schedule"))
    if not set(schedule) <= SCHEDULES:
        raise RecordError(f"schedule items must be among {sorted(SCHEDULES)}")
    level = item.get("swedish_level_min")
    if level is not None and level not in SWEDISH_LEVELS:
        raise RecordError(f"swedish_level_min must be one of {list(SWEDISH_LEVELS)}")
    provider = _object(item, "provider")
    address = _object(item, "address")
    lat, lon = _location(item.get("location"))
    return OfferingRecord(
        source_id=_required(item, "id"),
        kind=kind,
        category=category,
        title=title,
        description=_texts(item.get("description"), "description"),
        publisher_code=publisher_code,
        municipality_code=municipality_code,
        open_to=open_to,
        provider_name=_text_or_none(provider.get("name")),
        provider_email=_text_or_none(provider.get("email")),
        provider_phone=_text_or_none(provider.get("phone")),
        street=_text_or_none(address.get("street")),
        postal_code=_text_or_none(address.get("postal_code")),
        city=_text_or_none(address.get("city")),
        lat=lat,
        lon=lon,
        start_date=_date(item.get("start_date"), "start_date"),
        end_date=_date(item.get("end_date"), "end_date"),
        application_deadline=_date(item.get("application_deadline"), "application_deadline"),
        schedule=schedule,
        pace_percent=_int(item.get("pace_percent"), "pace_percent", 1, 100),
        languages=tuple(str(code) for code in _list(item, "languages")),
        age_min=_int(item.get("age_min"), "age_min", 0, 120),
        age_max=_int(item.get("age_max"), "age_max", 0, 120),
        swedish_level_min=level,
        asylum_seekers=bool(item.get("asylum_seekers", False)),
        seats=_int(item.get("seats"), "seats", 0, 100000),
        url=_text_or_none(item.get("url")),
        slots=tuple(_slot(slot) for slot in _list(item, "intake_slots")),
    )


def _object(item: dict, key: str) -> dict:
    value = item.get(key) or {}
    if not isinstance(value, dict):
        raise RecordError(f"{key} must be an object")
    return value


def _list(item: dict, key: str) -> list:
    value = item.get(key) or []
    if not isinstance(value, list):
        raise RecordError(f"{key} must be a list")
    return value


def _required(item: dict, key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{key} is missing")
    return value.strip()


def _texts(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RecordError(f"{name} must map language codes to texts")
    return {lang: text.strip() for lang, text in value.items() if text.strip()}


def _text_or_none(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RecordError(f"{name} is not a date (YYYY-MM-DD)") from None


def _int(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RecordError(f"{name} must be a number from {low} to {high}")
    return int(value)


def _location(value: Any) -> tuple[float | None, float | None]:
    if not value:
        return None, None
    try:
        lat, lon = float(value["lat"]), float(value["lon"])
    except (KeyError, TypeError, ValueError):
        raise RecordError("location needs numeric lat and lon") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RecordError("location is out of range")
    return lat, lon


def _slot(value: Any) -> SlotRecord:
    try:
        starts_at = datetime.fromisoformat(value["starts_at"])
        capacity = int(value.get("capacity", 1))
    except (KeyError, TypeError, ValueError):
        raise RecordError("an intake slot needs starts_at (ISO 8601) and capacity") from None
    if starts_at.tzinfo is None:
        raise RecordError("an intake slot's starts_at needs a UTC offset")
    if capacity < 1:
        raise RecordError("an intake slot's capacity must be at least 1")
    return SlotRecord(starts_at, capacity)
