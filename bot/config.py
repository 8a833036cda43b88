"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{VAR_DIR / 'vagvisare.db'}")
    timezone: str = "Europe/Stockholm"
    log_level: str = "INFO"
    max_message_chars: int = Field(default=1000, ge=50, le=10000)
    sms_segment_budget: int = Field(default=3, ge=1, le=10)
    rate_limit_per_minute: int = Field(default=20, ge=1, le=1000)
    retention_months: int = Field(default=12, ge=1, le=120)
    retention_warning_days: int = Field(default=7, ge=1, le=60)
    message_history_days: int = Field(default=90, ge=7, le=3650)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    public_base_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("sqlite:", "sqlite+aiosqlite:")):
            return value.replace("sqlite:", "sqlite+aiosqlite:", 1) if value.startswith("sqlite:") else value
        if value.startswith(("postgresql:", "postgres:", "postgresql+asyncpg:")):
            return "postgresql+asyncpg:" + value.split(":", 1)[1]
        raise ValueError("use sqlite:///PATH or postgresql://USER@HOST/DB")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("not a known time zone, e.g. Europe/Stockholm") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("use DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("public_base_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (the address the providers call)")
        return value.rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_settings(**overrides) -> Settings:
    """Read the settings, turning a validation error into a one-line `ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        reason = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {reason}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
