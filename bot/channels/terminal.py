"""The terminal chat: type as a newcomer would, see what each channel would show."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from bot.channels import telegram_render
from bot.channels.sms_render import count_segments, render_sms
from bot.outbox import deliver
from bot.turns import TurnRunner
from dialogs.model import Inbound, Output

CHANNEL = "terminal"
RENDERINGS = ("plain", "sms", "telegram")


def render_plain(output: Output) -> str:
    lines = [output.text]
    lines += [f"  {number} {choice.label}" for number, choice in enumerate(output.choices, start=1)]
    return "\n".join(lines)


def render_sms_preview(output: Output, budget: int) -> str:
    parts = []
    for message in render_sms(output, budget_segments=budget):
        segments = count_segments(message)
        unit = "segment" if segments.count == 1 else "segments"
        parts.append(f"{message}\n  [{segments.count} {unit}, {segments.encoding}]")
    return "\n".join(parts)


def render_telegram_preview(output: Output) -> str:
    """Buttons as the Telegram channel lays them out (bot/channels/telegram_render.py): short labels three
    to a row, longer ones one per row, labels too long for a button as numbered lines with number buttons."""
    return telegram_render.preview(output)


def renderer(name: str, sms_budget: int) -> Callable[[Output], str]:
    if name == "sms":
        return lambda output: render_sms_preview(output, sms_budget)
    if name == "telegram":
        return render_telegram_preview
    return render_plain


async def chat(
    runner: TurnRunner,
    *,
    rendering: str = "plain",
    user: str = "local",
    language: str | None = None,
    sms_budget: int = 3,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
) -> None:
    """Reads lines until end of input (Ctrl-D) or Ctrl-C; each line is one turn."""
    render = renderer(rendering, sms_budget)
    address = f"terminal:{user}"
    if language:
        await runner.preset_language(CHANNEL, address, language)

    async def show(_address: str, output: Output) -> str | None:
        write("< " + render(output).replace("\n", "\n  "))
        return None

    while True:
        try:
            line = await asyncio.to_thread(read, "> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        await runner.handle(CHANNEL, address, Inbound(text=line))
        await deliver(runner.factory, CHANNEL, show, runner.clock)
        sys.stdout.flush()
