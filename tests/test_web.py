"""The shared web application: health, 503 while the database is away, oversized bodies refused."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.db import make_engine, session_factory
from bot.web import FACTORY, build_web_app


async def _client(web_app: web.Application) -> TestClient:
    client = TestClient(TestServer(web_app, host="127.0.0.1"))
    await client.start_server()
    return client


async def test_healthz_reports_a_reachable_database(factory) -> None:
    client = await _client(build_web_app(factory))
    try:
        response = await client.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok"}
    finally:
        await client.close()


async def test_healthz_and_webhooks_answer_503_while_the_database_is_away() -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    web_app = build_web_app(session_factory(engine))

    async def webhook(request: web.Request) -> web.Response:
        async with request.app[FACTORY]() as session:
            await session.execute(text("SELECT 1"))
        return web.Response(text="ok")

    web_app.router.add_post("/hook", webhook)
    client = await _client(web_app)
    try:
        assert (await client.get("/healthz")).status == 503
        response = await client.post("/hook", data=b"x")
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
    finally:
        await client.close()
        await engine.dispose()


async def test_an_oversized_body_is_refused_with_413(factory) -> None:
    web_app = build_web_app(factory)

    async def webhook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    web_app.router.add_post("/hook", webhook)
    client = await _client(web_app)
    try:
        assert (await client.post("/hook", data=b"x" * 1000)).status == 200
        assert (await client.post("/hook", data=b"x" * (300 * 1024))).status == 413
    finally:
        await client.close()
