"""Settings from the environment and an optional `.env` file."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
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
    # The Telegram channel (bot/channels/telegram.py): long polling with a token, a webhook with the URL too.
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    telegram_api_base: str | None = None
    # The SMS channel (bot/channels/sms.py); it runs when the account, token and sender are all set.
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_api_base: str | None = None
    sms_per_second: float = Field(default=1.0, gt=0, le=100)
    sms_help_contact: str | None = Field(default=None, max_length=60)
    # Reminders before an intake meeting ("24h,2h"; also "1d", "90m") and how long a waiting-list offer holds.
    reminder_offsets: str = "24h,2h"
    waitlist_offer_hours: int = Field(default=24, ge=1, le=168)

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets(cls, value: str) -> str:
        from bot.reminders import parse_offsets

        parse_offsets(value)
        return value

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

    @field_validator("telegram_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9]+:[A-Za-z0-9_-]+", value.get_secret_value()):
            raise ValueError("a bot token from @BotFather looks like 123456789:AAE...")
        return value

    @field_validator("telegram_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (Telegram calls webhooks over HTTPS only)")
        if info.data.get("telegram_bot_token") is None:
            raise ValueError("set TELEGRAM_BOT_TOKEN too")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("telegram_webhook_url"):
                raise ValueError("required with TELEGRAM_WEBHOOK_URL (1-256 of A-Z a-z 0-9 _ -)")
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("use 1-256 characters A-Z a-z 0-9 _ - (what Telegram accepts)")
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _telegram_api_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value.rstrip("/") if value else value

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
            raise ValueError("an account SID is AC followed by 32 hexadecimal digits")
        return value

    @field_validator("twilio_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32}", value):
            raise ValueError("a number in E.164 form (+46...) or a Messaging Service SID (MG...)")
        return value

    @field_validator("twilio_api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _sms_complete(self) -> Settings:
        needed = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_FROM": self.twilio_from,
        }
        missing = [name for name, value in needed.items() if not value]
        if len(missing) < len(needed):
            if not self.public_base_url:
                missing.append("PUBLIC_BASE_URL")
            if missing:
                together = ", ".join([*needed, "PUBLIC_BASE_URL"])
                raise ValueError(f"{missing[0]}: missing; the SMS channel needs all of {together}")
        return self

    @property
    def sms_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from)

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
