"""`vagvisare feed check FILE`: what a municipality runs before it publishes a feed.

The file (JSON, or CSV with an optional slots CSV) is checked against the published JSON Schema
(catalog_sync/schema/vagvisare-feed-1.schema.json), then read as the nightly sync would read it, so that
what the schema cannot know (an unknown municipality code, a duplicate id) is found too. Every problem is
reported with the offering's id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker

from bot.reference import read_municipalities
from catalog_sync import open_csv, open_feed
from catalog_sync.records import FeedError, Rejection

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "vagvisare-feed-1.schema.json"


@dataclass(frozen=True)
class Problem:
    offering: str  # an offering id, "#3" (the fourth, without id), "feed" or "slots row 7"
    where: str  # the field, as a dotted path
    message: str

    def __str__(self) -> str:
        where = f" {self.where}:" if self.where else ""
        return f"{self.offering}:{where} {self.message}"


@dataclass
class CheckResult:
    path: str
    offerings: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def offerings_with_problems(self) -> int:
        return len({p.offering for p in self.problems if p.offering != "feed" and " row " not in p.offering})


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=("email",))

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme and parts.netloc) and " " not in value

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(date.fromisoformat(value)) and len(value) == 10

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("needs a UTC offset")
        return True

    return checker


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema(), format_checker=_format_checker())


def known_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in read_municipalities())


def check_document(document: Any, result: CheckResult, codes: frozenset[str] | None = None) -> None:
    codes = codes or known_codes()
    offerings = document.get("offerings") if isinstance(document, dict) else None
    if isinstance(offerings, list):
        result.offerings = len(offerings)
    for error in sorted(validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "offerings" and isinstance(path[1], int):
            offering = _offering_id(offerings, path[1])
            where = ".".join(str(p) for p in path[2:])
        else:
            offering, where = "feed", ".".join(str(p) for p in path)
        result.problems.append(Problem(offering, where, _message(error)))
    seen = {(p.offering) for p in result.problems}
    try:
        items = list(
            open_feed.records_from(offerings, _publisher(document, codes), codes)
            if isinstance(offerings, list)
            else []
        )
    except FeedError as exc:
        result.problems.append(Problem("feed", "publisher", str(exc)))
        return
    for item in items:
        if isinstance(item, Rejection) and item.source_id not in seen:
            result.problems.append(Problem(item.source_id, "", item.reason))


def _publisher(document: Any, codes: frozenset[str]) -> str:
    return open_feed._publisher_code(document.get("publisher"), codes)


def _offering_id(offerings: list | None, index: int) -> str:
    if offerings and index < len(offerings):
        item = offerings[index]
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].strip():
            return item["id"]
    return f"#{index}"


def _message(error) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = [key for key in error.instance if key not in known and not str(key).startswith("x-")]
        return f"unknown field {', '.join(map(repr, extra))} (extensions must start with x-)"
    if error.validator == "const" and list(error.absolute_path)[-1:] == ["kind"]:
        return f"kind {error.instance!r} does not fit the category"
    if error.validator in ("enum", "const") and len(error.message) > 160:
        return f"{error.instance!r} is not one of the allowed values"
    return error.message


def check_json(content: bytes, path: str) -> CheckResult:
    result = CheckResult(path)
    try:
        document = json.loads(content)
    except UnicodeDecodeError:
        result.problems.append(Problem("feed", "", "the file is not UTF-8"))
        return result
    except ValueError as exc:
        result.problems.append(Problem("feed", "", f"not valid JSON: {exc}"))
        return result
    check_document(document, result)
    return result


def check_csv(
    content: bytes, path: str, *, slots: bytes | None = None, publisher: str | None = None
) -> CheckResult:
    result = CheckResult(path)
    try:
        feed = open_csv.shape(content, slots, publisher=publisher, strict=True)
    except FeedError as exc:
        result.problems.append(Problem("feed", "", str(exc)))
        return result
    result.problems.extend(Problem(item_id, "", reason) for item_id, reason in feed.problems)
    check_document(feed.document, result)
    return result


def check_file(path: Path, *, slots: Path | None = None, publisher: str | None = None) -> CheckResult:
    content = path.read_bytes()
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or content.lstrip()[:1] not in (b"{", b"["):
        if slots is None:
            for candidate in (
                path.with_name(f"{path.stem}.slots.csv"),
                path.with_name(f"{path.stem}-slots.csv"),
            ):
                if candidate.is_file():
                    slots = candidate
                    break
        return check_csv(content, str(path), slots=slots.read_bytes() if slots else None, publisher=publisher)
    return check_json(content, str(path))
