"""`vagvisare broadcast …` end to end on a database: create with a preview, schedule, list, cancel, send,
report, stop, and the audit log."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app
from tests.test_broadcast import town  # noqa: F401 - the fixture

STAFF = ["--staff-telegram-id", "555"]


def test_a_script_composes_previews_schedules_cancels_sends_and_reads_the_report(database_url, town):  # noqa: F811
    cli = CliRunner()
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "COLUMNS": "200"}

    def run(*args: str) -> str:
        result = cli.invoke(app, ["broadcast", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    created = run(
        "create",
        *STAFF,
        "--municipality",
        "0127",
        "--text",
        "sv=Öppet hus på fredag.",
        "--text",
        "en=Open day on Friday.",
        "--text",
        "ar=يوم مفتوح يوم الجمعة.",
        "--goal",
        "sfi",
        "--at",
        "2099-12-01 09:00",
    )
    # The goal leaves out the person who asked for work; Persian (no text) gets Swedish and English.
    assert "4 people; SMS: 3 messages, 3 segments" in created
    assert "Message from Botkyrka:" in created and "Meddelande från Botkyrka:" in created
    assert "Öppet hus på fredag.\n\nOpen day on Friday." in created
    assert "يوم مفتوح يوم الجمعة.\n[" in created  # a Telegram button under the Arabic text
    assert "scheduled for 2099-12-01 09:00" in created
    assert "scheduled" in run("list")
    run("cancel", "1", *STAFF)
    refused = cli.invoke(app, ["broadcast", "stop", "1", *STAFF], env=env)
    assert refused.exit_code == 2 and "cancelled" in refused.output
    outside = cli.invoke(
        app, ["broadcast", "create", *STAFF, "--municipality", "0180", "--text", "sv=Hej"], env=env
    )
    assert outside.exit_code == 2 and "outside your municipalities: 0180" in outside.output
    clock_change = cli.invoke(
        app, ["broadcast", "create", *STAFF, "--text", "sv=Hej", "--at", "2099-03-29 02:30"], env=env
    )
    assert clock_change.exit_code == 2 and "between 02:00 and 03:00" in clock_change.output

    run("create", *STAFF, "--text", "sv=Stängt idag.", "--urgent", "--channel", "sms")
    assert "goes out now" in run("send", "2", *STAFF)
    assert "Announcement 2: scheduled" in run("report", "2")
    audit = run("audit")
    for action in ("broadcast.create", "broadcast.schedule", "broadcast.cancel", "broadcast.send"):
        assert action in audit
