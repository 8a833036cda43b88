"""The one aiohttp application every webhook is served by, with /healthz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)
FACTORY = web.AppKey("factory", async_sessionmaker[AsyncSession])
# Webhook bodies are small (Telegram updates, Twilio forms); anything far larger is refused with 413.
MAX_BODY_BYTES = 256 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def database_unavailable_is_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    """When the database is briefly away, 503 makes Telegram and Twilio deliver the message again later;
    the turn's transaction was rolled back, so nothing is half-written."""
    try:
        return await handler(request)
    except (OperationalError, DBAPIError, ConnectionError, OSError) as exc:
        log.warning("database unavailable, answering 503", extra={"error": type(exc).__name__})
        return web.json_response(
            {"error": "temporarily unavailable"}, status=503, headers={"Retry-After": "5"}
        )


async def healthz(request: web.Request) -> web.Response:
    try:
        async with request.app[FACTORY]() as session:
            await session.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, ConnectionError, OSError):
        return web.json_response({"status": "unhealthy", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


def build_web_app(factory: async_sessionmaker[AsyncSession]) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[database_unavailable_is_503])
    web_app[FACTORY] = factory
    web_app.router.add_get("/healthz", healthz)
    return web_app
