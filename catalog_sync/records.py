"""The normalised offering every feed adapter produces, whatever its source format."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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
        """Equal for equal content, so an unchanged record is never written again.

        The same digest as hashing `dataclasses.asdict(self)` (which stored hashes were made with), built
        without asdict's deep copy: the nightly re-sync hashes every record of every feed."""
        data = self.__dict__.copy()  # the fields, shallow: json.dumps reads tuples and dicts as they are
        for name in ("start_date", "end_date", "application_deadline"):
            if data[name] is not None:
                data[name] = str(data[name])  # what default=str would write, without a call back per date
        if self.slots:
            data["slots"] = [{"starts_at": str(s.starts_at), "capacity": s.capacity} for s in self.slots]
        return hashlib.sha256(_ENCODER.encode(data).encode("utf-8")).hexdigest()

    def slow_content_hash(self) -> str:
        """The reference definition of `content_hash`, kept for the test that they agree."""
        encoded = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


_ENCODER = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False, check_circular=False)


@dataclass(frozen=True)
class Removal:
    """A delta feed says this record is gone: it is withdrawn (never deleted)."""

    source_id: str


@dataclass(frozen=True)
class Lazy:
    """A record not cleaned yet. `source_digest` fingerprints the source's own text of it: when the last good
    run stored the same digest, the record is unchanged and `build` is never called."""

    source_id: str
    source_digest: str
    build: Callable[[], OfferingRecord | Rejection]


@dataclass(frozen=True)
class Rejection:
    """An invalid record, with the reason shown in the run report; the feed's valid records still go in."""

    source_id: str
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A record outside what this feed is for (a private employer's job ad, another municipality)."""

    source_id: str
    reason: str


# What an adapter yields.
Item = OfferingRecord | Lazy | Removal | Rejection | Skipped


class FeedError(Exception):
    """The feed as a whole cannot be used (unreadable, wrong format, no publisher)."""


class RecordError(ValueError):
    """One record is invalid; the message is the reason shown in the run report."""


class NotModified(Exception):  # noqa: N818 - a state, not an error
    """The source answered that nothing changed since the last good run (HTTP 304)."""
