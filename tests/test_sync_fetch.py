"""Fetching (catalog_sync/fetch.py) against a local HTTP server: retries, waits, conditional requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from catalog_sync.fetch import Fetcher, FetchError, Validators, retry_after
from tests.sync_support import Conditional, Reply, Sleeps, fetcher, start_source


@pytest.fixture
async def source():
    fake, runner = await start_source()
    yield fake
    await runner.cleanup()


async def test_429_is_waited_out_as_retry_after_says(source) -> None:
    source.route("/search", Reply(429, "slow down", {"Retry-After": "7"}), Reply(200, {"hits": []}))
    sleeps = Sleeps()
    async with fetcher(sleeps) as client:
        assert await client.get_json(source.url("/search")) == {"hits": []}
    assert sleeps.waits == [7.0]
    assert len(source.seen("/search")) == 2


async def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 28, 3, 15, tzinfo=UTC)
    assert retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry_after("garbage", now) is None


async def test_503_updating_is_retried_with_a_long_wait(source) -> None:
    busy = Reply(503, "The system is currently updating education resources")
    source.route("/educationEvents", busy, busy, Reply(200, {"educationEvents": []}))
    sleeps = Sleeps()
    async with fetcher(sleeps, max_backoff=30) as client:
        assert await client.get_json(source.url("/educationEvents")) == {"educationEvents": []}
    assert len(sleeps.waits) == 2 and all(wait >= 30 for wait in sleeps.waits)


async def test_server_errors_back_off_exponentially_then_give_up(source) -> None:
    source.route("/feed.json", Reply(500, "boom"))
    sleeps = Sleeps()
    client = Fetcher(sleep=sleeps, backoff=1.0, retries=4, rng=__import__("random").Random(1))
    with pytest.raises(FetchError, match="HTTP 500.*gave up after 4 tries"):
        await client.get(source.url("/feed.json"))
    await client.close()
    assert len(sleeps.waits) == 3
    assert sleeps.waits[0] < sleeps.waits[1] < sleeps.waits[2]  # 1, 2, 4 s with ±50 % jitter
    assert len(source.seen("/feed.json")) == 4


async def test_waiting_is_bounded_by_max_wait(source) -> None:
    source.route("/feed.json", Reply(503, "", {"Retry-After": "600"}))
    sleeps = Sleeps()
    async with fetcher(sleeps, retries=10, max_wait=1000) as client:
        with pytest.raises(FetchError, match="503"):
            await client.get(source.url("/feed.json"))
    assert sleeps.waits == [600.0]


async def test_client_errors_are_not_retried(source) -> None:
    async with fetcher() as client:
        with pytest.raises(FetchError, match="HTTP 404"):
            await client.get(source.url("/nothing-here"))
        missing = await client.get(source.url("/nothing-here"), allow_statuses=(404,))
    assert missing.status == 404
    assert len(source.seen("/nothing-here")) == 2


async def test_unreachable_server_is_retried_then_fails() -> None:
    sleeps = Sleeps()
    async with fetcher(sleeps, retries=3, connect_timeout=1) as client:
        with pytest.raises(FetchError, match="gave up after 3 tries"):
            await client.get("http://127.0.0.1:9/feed.json")
    assert len(sleeps.waits) == 2


async def test_slow_server_times_out(source) -> None:
    import asyncio

    from aiohttp import web

    async def slow(_request):
        await asyncio.sleep(2)
        return web.Response(text="{}")

    source.route("/slow", slow)
    sleeps = Sleeps()
    async with Fetcher(sleep=sleeps, timeout=0.2, retries=2, backoff=0.01) as client:
        with pytest.raises(FetchError, match="Timeout"):
            await client.get(source.url("/slow"))


async def test_conditional_request_gets_304(source) -> None:
    stamp = "Fri, 27 Nov 2026 02:00:00 GMT"
    source.route("/feed.json", Conditional({"a": 1}, etag='"abc"', last_modified=stamp))
    async with fetcher() as client:
        first = await client.get(source.url("/feed.json"))
        assert first.status == 200 and first.validators == Validators('"abc"', stamp)
        second = await client.get(source.url("/feed.json"), validators=first.validators)
    assert second.not_modified and second.body is None
    assert source.seen("/feed.json")[1].headers["If-None-Match"] == '"abc"'
    assert source.seen("/feed.json")[1].headers["If-Modified-Since"] == stamp


async def test_large_body_goes_to_a_file(source) -> None:
    body = b"[" + b",".join(b'{"id": "%d"}' % n for n in range(50_000)) + b"]"
    source.route("/snapshot", Reply(200, body))
    async with fetcher() as client:
        response = await client.get(source.url("/snapshot"), to_file=True)
    try:
        assert response.path is not None and response.path.read_bytes() == body
    finally:
        response.discard()
    assert not response.path.exists()


async def test_local_paths_work_as_urls(tmp_path) -> None:
    path = tmp_path / "feed.json"
    path.write_text('{"x": 1}')
    async with fetcher() as client:
        assert (await client.get_json(str(path))) == {"x": 1}
        assert (await client.get_json(path.as_uri())) == {"x": 1}
        with pytest.raises(FetchError, match="no such file"):
            await client.get(str(tmp_path / "absent.json"))
