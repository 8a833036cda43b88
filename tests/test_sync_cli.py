"""`vagvisare feed check`, `vagvisare sync` and `vagvisare sync status`, as staff run them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sync_support import fixture

ROOT = Path(__file__).resolve().parent.parent


def vagvisare(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("sync-cli")
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'cli.db'}",
        "LOG_LEVEL": "WARNING",
        "COLUMNS": "200",
    }
    environment.pop("TEST_DATABASE_URL", None)
    assert vagvisare("db", "upgrade", env=environment).returncode == 0
    return environment


def test_feed_check_passes_a_good_file(env) -> None:
    result = vagvisare("feed", "check", "catalog_sync/sample/botkyrka.json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 offerings, no problems" in result.stdout


def test_feed_check_lists_every_problem_with_its_offering_id(env, tmp_path) -> None:
    feed = json.loads((ROOT / "catalog_sync" / "sample" / "botkyrka.json").read_text(encoding="utf-8"))
    feed["offerings"][0]["kind"] = "job"
    del feed["offerings"][1]["title"]["sv"]
    feed["offerings"][2]["municipality_code"] = "9999"
    feed["offerings"][3]["colour"] = "blue"
    feed["offerings"][4]["intake_slots"] = [{"starts_at": "2026-12-03T10:00:00"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(feed), encoding="utf-8")

    result = vagvisare("feed", "check", str(path), env=env)

    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("✗")]
    assert len(lines) == 5, result.stdout
    for offering, words in [
        ("bk-sfi-ab-dag-2027v", "kind 'job' does not fit"),
        ("bk-komvux-grund-2027v", "'sv' is a required property"),
        ("bk-barnskotare-2027h", "unknown municipality_code '9999'"),
        ("bk-praktik-kommun-2027", "unknown field 'colour'"),
        ("bk-grundskola-tumba-2027", "is not a 'date-time'"),
    ]:
        assert any(offering in line and words in line for line in lines), (offering, result.stdout)
    assert "5 problem(s) in 5 of 6 offerings" in result.stdout


def test_feed_check_reads_csv_with_its_slots_file(env) -> None:
    result = vagvisare("feed", "check", str(fixture("open/botkyrka.csv")), "--publisher", "0127", env=env)
    assert result.returncode == 1
    assert "bk-csv-trasig: start_date: 'den elfte januari' is not a 'date'" in result.stdout
    assert "slots row 5: no offering with id 'bk-csv-finns-inte'" in result.stdout  # found beside the file
    assert "bk-csv-sfi-kvall" not in result.stdout


def test_feed_check_of_something_that_is_not_a_feed(env, tmp_path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{ not json")
    result = vagvisare("feed", "check", str(path), env=env)
    assert result.returncode == 1 and "not valid JSON" in result.stdout
    assert vagvisare("feed", "check", str(tmp_path / "absent.json"), env=env).returncode == 2


def test_sync_dry_run_then_sync_then_status(env, tmp_path) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        f'[[feed]]\nname = "botkyrka"\nadapter = "open-json"\n'
        f'url = "{ROOT}/catalog_sync/sample/botkyrka.json"\nmunicipalities = ["0127"]\n\n'
        f'[[feed]]\nname = "gone"\nadapter = "open-json"\nurl = "{tmp_path}/absent.json"\n'
    )
    environment = {**env, "FEEDS_FILE": str(feeds)}

    dry = vagvisare("sync", "--dry-run", "--feed", "botkyrka", env=environment)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Dry run: nothing was written" in dry.stdout
    status = vagvisare("sync", "status", env=environment)
    assert "No runs yet." in status.stdout

    real = vagvisare("sync", env=environment)
    assert real.returncode == 1  # one feed failed
    assert "botkyrka" in real.stdout and "gone" in real.stdout
    assert "held, the catalogue keeps its previous offerings" in real.stdout

    status = vagvisare("sync", "status", env=environment)
    assert status.returncode == 0, status.stderr
    assert "Recent runs" in status.stdout and "Held now" in status.stdout
    assert "gone: failed" in status.stdout and "no such file" in status.stdout
    assert re.search(r"\sbotkyrka\s+ok\s+6\s+6\s", status.stdout), status.stdout

    narrow = vagvisare("sync", "--feed", "botkyrka", env={**environment, "COLUMNS": "80"})
    assert "botkyrka  status ok, fetched 6, added 0, updated 0, unchanged 6" in narrow.stdout

    unknown = vagvisare("sync", "--feed", "nope", env=environment)
    assert unknown.returncode == 2 and "no feed named 'nope'" in unknown.stderr


def test_catalog_load_still_loads_the_sample_under_the_feed_files_names(env) -> None:
    loaded = vagvisare("catalog", "load", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "sample:botkyrka" in loaded.stdout
    again = vagvisare(
        "sync", "--feed", "sample:botkyrka", env={**env, "FEEDS_FILE": str(ROOT / "feeds.toml")}
    )
    assert again.returncode == 0, again.stdout
    # fetched 6, added 0, updated 0, unchanged 6
    assert re.search(r"sample:botkyrka\s+ok\s+6\s+0\s+0\s+6\s", again.stdout), again.stdout
