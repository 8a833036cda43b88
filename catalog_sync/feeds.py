"""The feed configuration file (feeds.toml) and the sync settings from the environment.

    [[feed]]
    name = "botkyrka"                # also the offerings' `source`; at most 64 characters
    adapter = "open-json"            # see ADAPTERS
    url = "https://…/feed.json"      # or a path, relative to this file
    municipalities = ["0127"]        # the municipality filter (and whose staff hear of a held feed)
    schedule = "nightly"             # "nightly" (SYNC_TIME), "manual", or a crontab line in Europe/Stockholm
    priority = 10                    # de-duplication: the higher wins
    enabled = true

Documented for municipal staff in docs/feeds.md."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FEEDS_FILE = PROJECT_ROOT / "feeds.toml"

ADAPTERS = (
    "open-json",
    "open-csv",
    "skolverket-units",
    "skolverket-planned",
    "susa-navet",
    "jobtech-search",
    "jobtech-stream",
)
FEED_KEYS = {
    "name",
    "adapter",
    "url",
    "slots_url",
    "publisher",
    "municipalities",
    "schedule",
    "enabled",
    "priority",
    "timeout",
    "retries",
    "max_wait",
    "options",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_CODE = re.compile(r"^[0-9]{4}$")


class FeedConfigError(Exception):
    """The feed file is missing or malformed; the message is one line naming the file and the feed."""


@dataclass(frozen=True)
class FeedConfig:
    name: str
    adapter: str
    url: str
    municipalities: tuple[str, ...] = ()
    slots_url: str | None = None
    publisher: str | None = None
    schedule: str = "nightly"
    enabled: bool = True
    priority: int = 0
    timeout: float = 60.0
    retries: int = 5
    max_wait: float = 1800.0
    options: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    @property
    def municipality(self) -> str | None:
        return self.municipalities[0] if len(self.municipalities) == 1 else None

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass(frozen=True)
class DedupeConfig:
    enabled: bool = True
    title_threshold: float = 88.0
    provider_threshold: float = 80.0
    start_tolerance_days: int = 3


@dataclass(frozen=True)
class FeedFile:
    feeds: tuple[FeedConfig, ...]
    dedupe: DedupeConfig = DedupeConfig()
    path: Path | None = None

    def get(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = ", ".join(feed.name for feed in self.feeds) or "none"
        raise FeedConfigError(f"no feed named {name!r} (configured: {known})")

    def priorities(self) -> dict[str, int]:
        return {feed.name: feed.priority for feed in self.feeds}


def load_feeds(path: Path | str | None = None) -> FeedFile:
    path = Path(path) if path else sync_settings().feeds_file
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedConfigError(f"{path}: no such file (set FEEDS_FILE or create it)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FeedConfigError(f"{path}: {str(exc).splitlines()[0]}") from None
    return parse_feeds(data, base_dir=path.resolve().parent, path=path)


def parse_feeds(data: dict, *, base_dir: Path | None = None, path: Path | None = None) -> FeedFile:
    where = str(path) if path else "feeds"
    unknown_top = set(data) - {"feed", "defaults", "dedupe"}
    if unknown_top:
        raise FeedConfigError(f"{where}: unknown section {sorted(unknown_top)[0]!r}")
    defaults = data.get("defaults", {})
    feeds: list[FeedConfig] = []
    for index, entry in enumerate(data.get("feed", [])):
        merged = {**defaults, **entry}
        label = f"{where}: feed {merged.get('name') or f'#{index + 1}'}"
        feeds.append(_feed(merged, label, base_dir))
    names = [feed.name for feed in feeds]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise FeedConfigError(f"{where}: two feeds are named {duplicate!r}")
    dedupe = data.get("dedupe", {})
    unknown = set(dedupe) - {"enabled", "title_threshold", "provider_threshold", "start_tolerance_days"}
    if unknown:
        raise FeedConfigError(f"{where}: [dedupe] has an unknown key {sorted(unknown)[0]!r}")
    try:
        dedupe_config = DedupeConfig(
            enabled=bool(dedupe.get("enabled", True)),
            title_threshold=float(dedupe.get("title_threshold", 88)),
            provider_threshold=float(dedupe.get("provider_threshold", 80)),
            start_tolerance_days=int(dedupe.get("start_tolerance_days", 3)),
        )
    except (TypeError, ValueError):
        raise FeedConfigError(f"{where}: [dedupe] values must be numbers") from None
    return FeedFile(tuple(feeds), dedupe_config, path)


def _feed(entry: dict, label: str, base_dir: Path | None) -> FeedConfig:
    unknown = set(entry) - FEED_KEYS
    if unknown:
        raise FeedConfigError(f"{label}: unknown key {sorted(unknown)[0]!r}")
    for key in ("name", "adapter", "url"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise FeedConfigError(f"{label}: {key} is missing")
    name = entry["name"].strip()
    if not _NAME.match(name):
        raise FeedConfigError(f"{label}: name may use letters, digits and . _ : - (at most 64)")
    if entry["adapter"] not in ADAPTERS:
        raise FeedConfigError(f"{label}: adapter must be one of {', '.join(ADAPTERS)}")
    municipalities = entry.get("municipalities", entry.get("municipality", []))
    if isinstance(municipalities, str):
        municipalities = [municipalities]
    if not isinstance(municipalities, list) or not all(
        isinstance(code, str) and _CODE.match(code) for code in municipalities
    ):
        raise FeedConfigError(f'{label}: municipalities must be SCB codes as strings, e.g. ["0127"]')
    publisher = entry.get("publisher")
    if publisher is not None and not (isinstance(publisher, str) and _CODE.match(publisher)):
        raise FeedConfigError(f'{label}: publisher must be an SCB code as a string, e.g. "0127"')
    schedule = str(entry.get("schedule", "nightly")).strip()
    if schedule not in ("nightly", "manual"):
        _check_crontab(schedule, label)
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise FeedConfigError(f"{label}: options must be a table")
    try:
        return FeedConfig(
            name=name,
            adapter=entry["adapter"],
            url=entry["url"].strip(),
            municipalities=tuple(municipalities),
            slots_url=entry.get("slots_url"),
            publisher=publisher,
            schedule=schedule,
            enabled=_bool(entry.get("enabled", True), label, "enabled"),
            priority=int(entry.get("priority", 0)),
            timeout=float(entry.get("timeout", 60)),
            retries=max(1, int(entry.get("retries", 5))),
            max_wait=float(entry.get("max_wait", 1800)),
            options=dict(options),
            base_dir=base_dir,
        )
    except (TypeError, ValueError):
        raise FeedConfigError(f"{label}: priority, timeout, retries and max_wait must be numbers") from None


def _bool(value: Any, label: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise FeedConfigError(f"{label}: {key} must be true or false")
    return value


def _check_crontab(schedule: str, label: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(schedule)
    except ValueError as exc:
        raise FeedConfigError(
            f"{label}: schedule must be nightly, manual or a crontab line ({exc})"
        ) from None
    hour = schedule.split()[1]
    if hour == "2" or hour == "02":
        raise FeedConfigError(f"{label}: schedule nothing between 02:00 and 03:00 (a daylight-saving hour)")


# --- settings from the environment --------------------------------------------------------------------


class SyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    sync_time: str = Field(default="03:15")
    feeds_file: Path = Field(default=DEFAULT_FEEDS_FILE)

    @field_validator("sync_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        parsed = parse_clock(value)
        if parsed.hour == 2:
            raise ValueError("schedule nothing between 02:00 and 03:00 (a daylight-saving hour)")
        return parsed.strftime("%H:%M")

    @property
    def time(self) -> time:
        return parse_clock(self.sync_time)


def parse_clock(value: str) -> time:
    match = re.fullmatch(r"\s*([01]?[0-9]|2[0-3]):([0-5][0-9])\s*", value or "")
    if not match:
        raise ValueError("use HH:MM, e.g. 03:15")
    return time(int(match.group(1)), int(match.group(2)))


def sync_settings(**overrides) -> SyncSettings:
    try:
        return SyncSettings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        raise FeedConfigError(f"{variable}: {first['msg'].removeprefix('Value error, ')}") from None
