"""What every channel provides to the service that runs them (`bot.server`)."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.outbox import Pacer
from dialogs.model import Output


class Channel(Protocol):
    """A channel adapter: turns provider requests into turns, and outbox rows into provider calls.

    `send` raises `bot.outbox.RetryAfter`, `Unreachable` or `PermanentFailure` for those outcomes; any other
    exception is treated as passing (network, 5xx) and retried with backoff by the outbox.
    """

    name: str
    pacer: Pacer

    def install(self, web_app: web.Application) -> None:
        """Adds the channel's webhook routes to the shared aiohttp application."""

    async def start(self) -> None:
        """Starts receiving (long polling, or registering a webhook)."""

    async def stop(self) -> None: ...

    async def send(self, address: str, output: Output) -> str | None:
        """Delivers one message; returns the provider's message id."""
