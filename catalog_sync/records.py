"""The normalised offering every feed adapter produces, whatever its source format."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

KINDS = {"course", "internship", "job", "school"}
CATEGORY_KIND = {
    "sfi": "course",
    "komvux-basic": "course",
    "komvux-upper": "course",
    "vocational": "course",
    "civic-orientation": "course",
    "internship": "internship",
    "job": "job",
    "preschool-class": "school",
    "compulsory-school": "school",
    "language-introduction": "school",
    "upper-secondary": "school",
}
SCHEDULES = {"day", "evening", "weekend", "distance"}
OPEN_TO = {"municipality", "agreement", "everyone"}
SWEDISH_LEVELS = ("none", "sfi-a", "sfi-b", "sfi-c", "sfi-d", "sfi-finished", "basic", "upper")


@dataclass(frozen=True)
class SlotRecord:
    starts_at: datetime
    capacity: int


@dataclass(frozen=True)
class OfferingRecord:
    source_id: str
    kind: str
    category: str
    title: dict[str, str]
    publisher_code: str
    municipality_code: str
    open_to: str
    description: dict[str, str] = field(default_factory=dict)
    provider_name: str | None = None
    provider_email: str | None = None
    provider_phone: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    start_date: date | None = None
    end_date: date | None = None
    application_deadline: date | None = None
    schedule: tuple[str, ...] = ()
    pace_percent: int | None = None
    languages: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    swedish_level_min: str | None = None
    asylum_seekers: bool = False
    seats: int | None = None
    url: str | None = None
    slots: tuple[SlotRecord, ...] = ()

    def content_hash(self) -> str:
        """Equal for equal content, so an unchanged record is never written again."""
        encoded = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


class FeedError(Exception):
    """The feed as a whole cannot be used (unreadable, wrong format, no publisher)."""


class RecordError(ValueError):
    """One record is invalid; the message is the reason shown in the run report."""
