"""Whole conversations as golden files: tests/transcripts/*.txt, readable without knowing any code.

A transcript starts with comment lines ("# ..."); "# rendering: sms" (plain, sms, telegram) and
"# language: en" set up the chat. "> " lines are what the newcomer writes; "<empty>" is an empty message,
"<long N>" a message of N letters, and \\uXXXX an escaped character. Everything else is what the terminal chat
printed. Run with UPDATE_TRANSCRIPTS=1 to rewrite the files after a deliberate change, then read the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.channels import terminal

FOLDER = Path(__file__).parent / "transcripts"
TRANSCRIPTS = sorted(FOLDER.glob("*.txt"))


def decode(line: str) -> str:
    if line == "<empty>":
        return ""
    if match := re.fullmatch(r"<long (\d+)>", line):
        return "a" * int(match.group(1))
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), line)


def parse(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    options = dict(re.findall(r"^# (rendering|language): (\S+)$", "\n".join(header), re.M))
    inputs = [decode(line[2:]) if line != ">" else "" for line in lines if line.startswith(">")]
    return header, options, inputs


async def play(runner, options: dict[str, str], inputs: list[str], raw_inputs: list[str]) -> list[str]:
    transcript: list[str] = []
    pending = list(zip(inputs, raw_inputs, strict=True))

    def read(_prompt: str) -> str:
        if not pending:
            raise EOFError
        text, raw = pending.pop(0)
        transcript.append(f"> {raw}")
        return text

    await terminal.chat(
        runner,
        rendering=options.get("rendering", "plain"),
        language=options.get("language"),
        read=read,
        write=lambda text: transcript.append(text) if text else None,
    )
    return transcript


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(path: Path, runner, catalogue) -> None:
    header, options, inputs = parse(path)
    raw_inputs = [line[2:] for line in path.read_text(encoding="utf-8").splitlines() if line.startswith(">")]
    played = await play(runner, options, inputs, raw_inputs)
    rendered = "\n".join([*header, *played]) + "\n"
    if os.environ.get("UPDATE_TRANSCRIPTS"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_there_are_transcripts() -> None:
    assert len(TRANSCRIPTS) >= 4
