"""The terminal chat as a person starts it: the installed `vagvisare` command, lines on standard input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def vagvisare(*args: str, env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    database = tmp_path_factory.mktemp("cli") / "cli.db"
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LOG_LEVEL": "WARNING"}
    environment.pop("TEST_DATABASE_URL", None)
    assert vagvisare("db", "upgrade", env=environment).returncode == 0
    loaded = vagvisare("catalog", "load", env=environment)
    assert loaded.returncode == 0, loaded.stderr
    return environment


@pytest.mark.parametrize(
    ("user", "turns", "booked"),
    [
        ("en", ["Hi", "2", "1", "botkirka", "1", "1", "1990", "2", "1", "1"], "Booked:"),
        ("sv", ["Hej", "1", "1", "Södertälje", "1", "1988", "1", "1", "1"], "Bokat:"),
    ],
)
def test_a_newcomer_reaches_an_intake_reference_within_ten_turns(env, user, turns, booked) -> None:
    assert len(turns) <= 10
    result = vagvisare("chat", "--user", user, env=env, stdin="\n".join(turns) + "\n")
    assert result.returncode == 0, result.stderr
    assert booked in result.stdout
    assert re.search(r"Ref\w* [ACDEFHJKMNPQRTUVWXY3479]{3}-[ACDEFHJKMNPQRTUVWXY3479]{3}\.", result.stdout)


def test_run_without_channel_credentials_says_so_and_opens_the_terminal_chat(env) -> None:
    result = vagvisare("run", env=env, stdin="Hi\n")
    assert result.returncode == 0, result.stderr
    assert "No Telegram or SMS channel is configured" in result.stdout
    assert "Choose your language" in result.stdout


def test_sms_rendering_shows_segment_counts(env) -> None:
    result = vagvisare("chat", "--channel", "sms", "--user", "sms", env=env, stdin="Hi\n")
    assert "[1 segment, GSM-7]" in result.stdout


def test_a_bad_setting_is_one_line_naming_the_variable(env) -> None:
    result = vagvisare("chat", env={**env, "DATABASE_URL": "mysql://nowhere"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "DATABASE_URL" in result.stderr
