"""What every feed adapter is: `fetch()` does the network (pages, details, retries) and keeps the documents
in a spool on disk; `items()` turns them into records, removals and rejections without any network.

The split keeps a write transaction short: the catalogue is locked only while the spool is parsed and
written, never while a slow source is paged through or waited out."""

from __future__ import annotations

import json
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from catalog_sync.feeds import FeedConfig
from catalog_sync.fetch import Fetcher, Response, Validators, with_params
from catalog_sync.records import FeedError, Item, NotModified

Progress = Callable[[str, int, int | None], None]


def _no_progress(_stage: str, _done: int, _total: int | None) -> None:
    return None


@dataclass
class FeedMemory:
    """What the last good run left (bot.models.FeedState)."""

    validators: dict[str, dict] = field(default_factory=dict)
    cursor: str | None = None


class Spool:
    """Fetched documents, kept in a temporary folder until the run has written them."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="vagvisare-sync-"))
        self._documents: list[tuple[str, Path, dict]] = []

    def add(self, kind: str, body: bytes, **meta: Any) -> None:
        path = self.folder / f"{len(self._documents):06d}.doc"
        path.write_bytes(body)
        self._documents.append((kind, path, meta))

    def add_response(self, kind: str, response: Response, **meta: Any) -> None:
        if response.body is not None:
            self.add(kind, response.body, **meta)
        elif response.path is not None:
            if response.temporary:
                target = self.folder / f"{len(self._documents):06d}.doc"
                shutil.move(response.path, target)
                self._documents.append((kind, target, meta))
            else:
                self._documents.append((kind, response.path, meta))  # a local file: read in place

    def documents(self, kind: str) -> Iterator[tuple[Path, dict]]:
        for doc_kind, path, meta in self._documents:
            if doc_kind == kind:
                yield path, meta

    def json_documents(self, kind: str) -> Iterator[tuple[Any, dict]]:
        for path, meta in self.documents(kind):
            try:
                yield json.loads(path.read_bytes()), meta
            except (ValueError, UnicodeDecodeError) as exc:
                raise FeedError(f"a {kind} document is not valid JSON ({str(exc)[:80]})") from None

    def count(self, kind: str) -> int:
        return sum(1 for doc_kind, _, _ in self._documents if doc_kind == kind)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Context:
    feed: FeedConfig
    fetcher: Fetcher
    known_codes: frozenset[str]
    memory: FeedMemory = field(default_factory=FeedMemory)
    full: bool = False  # --full: ignore the delta cursor, pull everything
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Progress = _no_progress
    # What the run learns, saved only when it succeeds:
    new_validators: dict[str, dict] = field(default_factory=dict)
    new_cursor: str | None = None

    async def get(
        self,
        url: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        conditional: bool = False,
        **kwargs,
    ) -> Response:
        """A GET that remembers the server's validators; with `conditional`, asks "changed since?"."""
        key = with_params(url, params)
        previous = Validators.from_dict(self.memory.validators.get(key)) if conditional else None
        response = await self.fetcher.get(url, params=params, headers=headers, validators=previous, **kwargs)
        if response.not_modified and previous:
            self.new_validators[key] = previous.to_dict()
        elif response.validators:
            self.new_validators[key] = response.validators.to_dict()
        return response


class Adapter(ABC):
    """One source format. `complete` says whether this run's items are the whole feed (then what is
    missing is withdrawn) or a delta (only explicit removals withdraw)."""

    name: ClassVar[str]

    def __init__(self, context: Context) -> None:
        self.context = context
        self.feed = context.feed
        self.spool = Spool()
        self.complete = True
        self.total: int | None = None

    @abstractmethod
    async def fetch(self) -> None:
        """Brings the source's records into the spool."""

    @abstractmethod
    def items(self) -> Iterator[Item]:
        """The fetched records, one at a time."""

    def close(self) -> None:
        self.spool.close()

    def not_modified(self) -> None:
        raise NotModified(self.feed.name)

    def municipality_allowed(self, code: str | None) -> bool:
        return not self.feed.municipalities or code in self.feed.municipalities


def adapter_class(name: str) -> type[Adapter]:
    from catalog_sync import jobtech, open_csv, open_feed, skolverket_planned, skolverket_units, susa

    classes = {
        "open-json": open_feed.OpenJsonAdapter,
        "open-csv": open_csv.OpenCsvAdapter,
        "skolverket-units": skolverket_units.SchoolUnitsAdapter,
        "skolverket-planned": skolverket_planned.PlannedEducationsAdapter,
        "susa-navet": susa.SusaAdapter,
        "jobtech-search": jobtech.JobSearchAdapter,
        "jobtech-stream": jobtech.JobStreamAdapter,
    }
    try:
        return classes[name]
    except KeyError:
        raise FeedError(f"unknown adapter {name!r}") from None
