"""`vagvisare run` with channels: the shared web application, each channel's receiver and sender."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.app import App
from bot.channels.base import Channel
from bot.outbox import run_sender
from bot.web import build_web_app

log = logging.getLogger(__name__)


def configured_channels(application: App) -> list[Channel]:
    """The channels whose credentials are set. Each channel module adds itself here."""
    channels: list[Channel] = []
    if application.settings.telegram_bot_token:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel.from_app(application))
    if application.settings.sms_configured:
        from bot.channels.sms import SmsChannel

        channels.append(SmsChannel(application.settings, application.runner))
    return channels


async def serve(application: App, channels: list[Channel], stop: asyncio.Event | None = None) -> None:
    """Runs until SIGINT/SIGTERM (or `stop` is set): web server, receivers, and one sender per channel."""
    stop = stop or _stop_on_signals()
    settings = application.settings
    web_app = build_web_app(application.factory)
    for channel in channels:
        channel.install(web_app)
    web_runner = web.AppRunner(web_app, access_log=None)
    await web_runner.setup()
    await web.TCPSite(web_runner, settings.http_host, settings.http_port).start()
    log.info("listening", extra={"host": settings.http_host, "port": settings.http_port})
    senders = []
    for channel in channels:
        wake = application.runner.wake.setdefault(channel.name, asyncio.Event())
        senders.append(
            asyncio.create_task(
                run_sender(
                    application.factory, channel.name, channel.send, pacer=channel.pacer, wake=wake, stop=stop
                )
            )
        )
    try:
        for channel in channels:
            await channel.start()
        await stop.wait()
    finally:
        for channel in channels:
            await channel.stop()
        stop.set()
        await asyncio.gather(*senders, return_exceptions=True)
        await web_runner.cleanup()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
