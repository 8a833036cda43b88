"""Helpers for tests/test_sync_*.py: a local HTTP server that plays the feed sources, and feed configs."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.models import Offering, OutboundMessage, SyncRun
from catalog_sync.feeds import FeedConfig
from catalog_sync.fetch import Fetcher

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"


def fixture(relative: str) -> Path:
    return FIXTURES / relative


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        body = self.body
        if isinstance(body, Path):
            body = body.read_bytes()
        if isinstance(body, dict | list):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if isinstance(body, str):
            body = body.encode("utf-8")
        return web.Response(status=self.status, body=body or b"", headers=self.headers)


class Conditional:
    """200 with an ETag (and Last-Modified), or 304 when the client already has that version."""

    def __init__(self, body: Any, etag: str = '"v1"', last_modified: str | None = None) -> None:
        self.body, self.etag, self.last_modified = body, etag, last_modified

    def __call__(self, request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == self.etag or (
            self.last_modified and request.headers.get("If-Modified-Since") == self.last_modified
        ):
            return web.Response(status=304)
        headers = {"ETag": self.etag}
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        return Reply(200, self.body, headers).response()


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Route:
    replies: list
    match: dict[str, str] | None
    served: int = 0

    def next(self):
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class FakeSource:
    """Routes by path (and, optionally, query parameters); a route's replies are served in order, the last
    one again and again. Unknown paths answer 404. Every request is kept in `requests`."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Route]] = {}
        self.requests: list[Seen] = []
        self.base = ""

    def route(self, path: str, *replies: Any, match: dict[str, str] | None = None) -> Route:
        route = Route(list(replies), match)
        self.routes.setdefault(path, []).append(route)
        return route

    def url(self, path: str = "") -> str:
        return self.base + path

    def seen(self, path: str) -> list[Seen]:
        return [request for request in self.requests if request.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.path, dict(request.query), dict(request.headers)))
        for route in self.routes.get(request.path, []):
            if route.match is None or all(request.query.get(k) == v for k, v in route.match.items()):
                reply = route.next()
                if callable(reply):
                    result = reply(request)
                    return await result if inspect.isawaitable(result) else result
                if isinstance(reply, Reply):
                    return reply.response()
                return Reply(200, reply).response()
        return web.Response(status=404, text="not found")


async def start_source() -> tuple[FakeSource, web.AppRunner]:
    source = FakeSource()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", source.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    source.base = f"http://127.0.0.1:{port}"
    return source, runner


class Sleeps:
    """A sleep that does not: it records what the fetcher would have waited."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fetcher(sleeps: Sleeps | None = None, **kwargs) -> Fetcher:
    return Fetcher(sleep=sleeps or Sleeps(), backoff=0.01, **kwargs)


def feed(name: str, adapter: str, url: str, **kwargs) -> FeedConfig:
    kwargs.setdefault("schedule", "manual")
    kwargs["municipalities"] = tuple(kwargs.get("municipalities", ()))
    return FeedConfig(name=name, adapter=adapter, url=url, **kwargs)


async def offerings(factory, source: str) -> dict[str, Offering]:
    async with factory() as session:
        rows = await session.scalars(select(Offering).where(Offering.source == source))
        return {row.source_id: row for row in rows.unique().all()}


async def runs(factory, feed_name: str) -> list[SyncRun]:
    async with factory() as session:
        return list(
            (
                await session.scalars(select(SyncRun).where(SyncRun.feed == feed_name).order_by(SyncRun.id))
            ).all()
        )


async def outbox(factory) -> list[OutboundMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboundMessage).order_by(OutboundMessage.id))).all())
