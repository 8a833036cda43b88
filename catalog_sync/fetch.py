"""Fetching feeds: timeouts, retries with exponential backoff, 429 and 503 waited out, conditional requests,
and local paths that work as URLs.

A 304 is "unchanged", never "empty": `Response.not_modified` tells the caller to keep what it has."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import aiohttp

log = logging.getLogger(__name__)

USER_AGENT = "Vagvisare-catalogue-sync/1 (+https://vagvisare.example/feeds)"
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
# Bodies above this size go to a temporary file instead of memory.
SPOOL_BYTES = 8 * 1024 * 1024
MAX_BYTES = 1024 * 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]


class FetchError(Exception):
    """The source could not be read, after retries where retrying made sense."""


@dataclass
class Validators:
    """What a server said about a document, to ask "changed since?" next time."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}

    @classmethod
    def from_dict(cls, data: dict | None) -> Validators:
        data = data or {}
        return cls(etag=data.get("etag"), last_modified=data.get("last_modified"))

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass
class Response:
    url: str
    status: int
    body: bytes | None = None
    path: Path | None = None  # set instead of `body` for large downloads and local files
    validators: Validators = field(default_factory=Validators)
    temporary: bool = False

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def read(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.path is not None:
            return self.path.read_bytes()
        return b""

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchError(f"{self.url}: not valid JSON ({str(exc)[:80]})") from None

    def discard(self) -> None:
        if self.temporary and self.path is not None:
            self.path.unlink(missing_ok=True)


def is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/"))


def local_path(url: str, base: Path | None = None) -> Path:
    parts = urlsplit(url)
    path = Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def with_params(url: str, params: dict[str, Any] | None) -> str:
    if not params:
        return url
    clean = {k: v for k, v in params.items() if v is not None}
    return url + ("&" if "?" in url else "?") + urlencode(clean, doseq=True)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """One per sync run. Retries what is worth retrying (connection errors, timeouts, 408/425/429/5xx) with
    exponential backoff and jitter, honours Retry-After, and gives up after `retries` tries or when the waits
    would pass `max_wait` seconds in total."""

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 15.0,
        retries: int = 5,
        backoff: float = 2.0,
        max_backoff: float = 120.0,
        max_wait: float = 1800.0,
        sleep: Sleep = asyncio.sleep,
        base_dir: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self._own_session = session is None
        self.timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_read=timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.base_dir = base_dir
        self.clock = clock
        self.rng = rng or random.Random()
        self.requests = 0
        self.waited = 0.0

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        return self._session

    async def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        validators: Validators | None = None,
        to_file: bool = False,
        allow_statuses: tuple[int, ...] = (),
    ) -> Response:
        """GET a URL (or read a local path). `to_file` streams the body to a temporary file; statuses in
        `allow_statuses` (e.g. 404 for a detail) are returned instead of raised."""
        if is_local(url):
            return await self._local(url)
        full_url = with_params(url, params)
        request_headers = dict(headers or {})
        if validators:
            request_headers.update(validators.headers())
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(full_url, request_headers, to_file, allow_statuses)
            except _Retry as retry:
                reason, wait = retry.reason, retry.wait
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
                reason, wait = f"{type(exc).__name__}: {str(exc)[:100]}", None
            if wait is None:
                wait = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * (0.5 + self.rng.random())
            if attempt >= self.retries or self.waited + wait > self.max_wait:
                raise FetchError(f"{_short(full_url)}: {reason} (gave up after {attempt} tries)")
            log.info("retrying %s in %.0f s: %s", _short(full_url), wait, reason)
            self.waited += wait
            await self.sleep(wait)

    async def get_json(self, url: str, **kwargs) -> Any:
        response = await self.get(url, **kwargs)
        try:
            return response.json()
        finally:
            response.discard()

    async def _once(
        self, url: str, headers: dict[str, str], to_file: bool, allow_statuses: tuple[int, ...]
    ) -> Response:
        self.requests += 1
        async with self._client().get(url, headers=headers, timeout=self.timeout) as resp:
            found = Validators(resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
            if resp.status == 304:
                return Response(url, 304, validators=found)
            if resp.status in RETRY_STATUSES:
                body = (await resp.content.read(300)).decode("utf-8", "replace")
                wait = retry_after(resp.headers.get("Retry-After"), self.clock())
                if resp.status == 503 and wait is None and "updating" in body.lower():
                    # Susa-navet rebuilding its index: wait longer than a plain backoff.
                    wait = min(self.max_backoff * 2, 60.0)
                raise _Retry(f"HTTP {resp.status} {' '.join(body.split())[:80]}".strip(), wait)
            if resp.status in allow_statuses:
                return Response(url, resp.status, body=b"", validators=found)
            if resp.status >= 400:
                body = (await resp.content.read(200)).decode("utf-8", "replace")
                raise FetchError(f"{_short(url)}: HTTP {resp.status} {' '.join(body.split())[:80]}".strip())
            if not to_file and (resp.content_length or 0) <= SPOOL_BYTES:
                body = await resp.read()
                if len(body) <= SPOOL_BYTES:
                    return Response(url, resp.status, body=body, validators=found)
                return Response(url, resp.status, path=_write_temp(body), validators=found, temporary=True)
            return await self._download(url, resp, found)

    async def _download(self, url: str, resp: aiohttp.ClientResponse, found: Validators) -> Response:
        handle = tempfile.NamedTemporaryFile(prefix="vagvisare-feed-", suffix=".download", delete=False)
        path = Path(handle.name)
        size = 0
        try:
            with handle:
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    size += len(chunk)
                    if size > MAX_BYTES:
                        raise FetchError(f"{_short(url)}: larger than {MAX_BYTES // 2**20} MB")
                    await asyncio.to_thread(handle.write, chunk)
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        return Response(url, resp.status, path=path, validators=found, temporary=True)

    async def _local(self, url: str) -> Response:
        path = local_path(url, self.base_dir)
        if not await asyncio.to_thread(path.is_file):
            raise FetchError(f"{path}: no such file")
        return Response(str(path), 200, path=path)


class _Retry(Exception):  # noqa: N818 - control flow inside Fetcher.get
    def __init__(self, reason: str, wait: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def _write_temp(body: bytes) -> Path:
    with tempfile.NamedTemporaryFile(prefix="vagvisare-feed-", suffix=".download", delete=False) as handle:
        handle.write(body)
    return Path(handle.name)


def _short(url: str) -> str:
    return url if len(url) <= 160 else url[:157] + "…"
