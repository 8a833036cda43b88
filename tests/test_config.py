"""Settings from the environment (bot/config.py): defaults, driver rewriting, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import VAR_DIR, ConfigError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path) -> None:
    """No setting from the developer's shell or `.env` leaks into a test."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    settings = load_settings()
    url = make_url(settings.database_url)
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database).parent == VAR_DIR
    assert VAR_DIR.name == "var"
    assert settings.timezone == "Europe/Stockholm"
    assert settings.tz.key == "Europe/Stockholm"


def test_dot_env_in_the_working_directory_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("TIMEZONE=Europe/Helsinki\n", encoding="utf-8")
    assert load_settings().timezone == "Europe/Helsinki"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
    ],
)
def test_database_url_gets_an_async_driver(monkeypatch, given: str, expected: str) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().database_url == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("TIMEZONE", "Mars/Olympus"),
        ("SMS_SEGMENT_BUDGET", "abc"),
        ("SMS_SEGMENT_BUDGET", "0"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_bad_value_is_a_one_line_error_naming_the_variable(monkeypatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_bad_setting_stops_the_cli_with_one_line(tmp_path) -> None:
    env = {key: value for key, value in os.environ.items() if key.upper() not in {"DATABASE_URL", "TIMEZONE"}}
    env["TIMEZONE"] = "Mars/Olympus"
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'never.db'}"

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), done.stderr
    assert "TIMEZONE" in lines[0]
    assert not (tmp_path / "never.db").exists()
