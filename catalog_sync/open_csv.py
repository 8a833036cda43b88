"""The open feed as CSV, for a municipality that keeps its offerings in a spreadsheet.

One row per offering; nested fields as dotted column names (`title.sv`, `address.city`, `location.lat`);
lists `;`-separated (`day;evening`); intake slots in a second CSV keyed by offering id (`offering_id`,
`starts_at`, `capacity`). Comma, semicolon or tab separated, UTF-8 (with or without BOM) or Windows-1252,
decimal commas allowed: what Excel saves. The publisher comes from the feed configuration or from a
`publisher.municipality_code` column. Each row is shaped into the JSON form and validated like it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from catalog_sync import normalise, open_feed
from catalog_sync.adapters import Adapter
from catalog_sync.records import FeedError, Item, RecordError, Rejection

INTEGER_FIELDS = {"pace_percent", "age_min", "age_max", "seats"}
NUMBER_FIELDS = {"location.lat", "location.lon"}
LIST_FIELDS = {"schedule", "languages"}
BOOLEAN_FIELDS = {"asylum_seekers"}
SLOT_ID_COLUMNS = ("offering_id", "offering", "id")


@dataclass
class CsvFeed:
    """The CSV shaped as a `vagvisare-feed/1` document, with what could not be shaped."""

    document: dict
    problems: list[tuple[str, str]] = field(default_factory=list)  # (offering id or "row N", reason)
    row_ids: list[str] = field(default_factory=list)


def decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def read_rows(content: bytes) -> list[dict[str, str]]:
    text = decode(content)
    if not text.strip():
        return []
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None:
        return []
    reader.fieldnames = [(name or "").strip().lstrip("\ufeff").lower() for name in reader.fieldnames]
    rows = []
    for row in reader:
        if None in row:
            extra = row.pop(None)
            if any(str(value).strip() for value in extra):
                row["__extra__"] = ";".join(extra)
        if any((value or "").strip() for value in row.values()):
            rows.append({key: (value or "").strip() for key, value in row.items()})
    return rows


def _set(target: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        existing = target.get(part)
        if not isinstance(existing, dict):
            existing = target[part] = {}
        target = existing
    target[parts[-1]] = value


def _convert(column: str, value: str) -> Any:
    if column in INTEGER_FIELDS:
        number = normalise.number(value, column)
        return int(number) if number is not None and number == int(number) else number
    if column in NUMBER_FIELDS:
        return normalise.number(value, column)
    if column in LIST_FIELDS:
        return normalise.split_list(value)
    if column in BOOLEAN_FIELDS:
        return normalise.boolean(value, column)
    return value


def shape(
    offerings: bytes, slots: bytes | None = None, *, publisher: str | None = None, strict: bool = False
) -> CsvFeed:
    """Rows to a feed document. Cells that cannot be converted are problems (and left as text when
    `strict`, so the schema names them too)."""
    rows = read_rows(offerings)
    if not rows:
        raise FeedError("the CSV has no rows")
    if "id" not in rows[0] and "category" not in rows[0]:
        raise FeedError("the CSV has no id and category columns (is the first row the header?)")
    feed = CsvFeed(document={})
    publishers = {row.get("publisher.municipality_code") for row in rows} - {None, ""}
    if publisher is None:
        if len(publishers) > 1:
            raise FeedError(f"the CSV names several publishers: {sorted(publishers)}")
        publisher = next(iter(publishers), None)
    if publisher is None:
        raise FeedError(
            "the CSV feed needs a publisher: set publisher in feeds.toml (or --publisher), "
            "or add a publisher.municipality_code column"
        )
    items: list[dict] = []
    for number, row in enumerate(rows, start=2):
        item_id = row.get("id") or f"row {number}"
        feed.row_ids.append(item_id)
        item: dict = {}
        if "__extra__" in row:
            feed.problems.append((item_id, f"row {number} has more cells than the header"))
        for column, value in row.items():
            if column in ("__extra__", "publisher.municipality_code") or value == "":
                continue
            try:
                converted = _convert(column, value)
            except RecordError as exc:
                feed.problems.append((item_id, f"{column}: {exc}"))
                converted = value if strict else None
            if converted is not None:
                _set(item, column, converted)
        items.append(item)
    by_id = {item.get("id"): item for item in items if item.get("id")}
    if slots is not None:
        for number, row in enumerate(read_rows(slots), start=2):
            offering_id = next((row[key] for key in SLOT_ID_COLUMNS if row.get(key)), None)
            if offering_id not in by_id:
                feed.problems.append((f"slots row {number}", f"no offering with id {offering_id!r}"))
                continue
            slot: dict = {"starts_at": row.get("starts_at") or None}
            if row.get("capacity"):
                try:
                    slot["capacity"] = _convert("seats", row["capacity"])
                except RecordError as exc:
                    feed.problems.append((offering_id, f"intake slot capacity: {exc}"))
                    slot["capacity"] = row["capacity"] if strict else None
            by_id[offering_id].setdefault("intake_slots", []).append(slot)
    feed.document = {
        "format": open_feed.FORMAT,
        "publisher": {"municipality_code": publisher},
        "offerings": items,
    }
    return feed


def iter_csv(
    offerings: bytes,
    slots: bytes | None,
    known_codes: frozenset[str] | set[str],
    *,
    publisher: str | None = None,
    allowed: tuple[str, ...] = (),
) -> Iterator[Item]:
    feed = shape(offerings, slots, publisher=publisher)
    document = feed.document
    publisher_code = document["publisher"]["municipality_code"]
    if publisher_code not in known_codes:
        raise FeedError(f"unknown publisher municipality code {publisher_code!r}")
    if allowed and publisher_code not in allowed:
        raise FeedError(f"publisher {publisher_code} is not among this feed's municipalities {list(allowed)}")
    broken = {}
    for item_id, reason in feed.problems:
        broken.setdefault(item_id, reason)
    for item in open_feed.records_from(document["offerings"], publisher_code, known_codes):
        if item.source_id in broken:
            yield Rejection(item.source_id, broken.pop(item.source_id))
        else:
            yield item
    for item_id, reason in broken.items():
        if item_id.startswith("slots row"):
            continue  # a slot for an unknown offering: nothing to reject
        if item_id not in feed.row_ids:
            yield Rejection(item_id, reason)


class OpenCsvAdapter(Adapter):
    """`url` is the offerings CSV; `slots_url` (optional) the intake slots CSV. Always a full feed."""

    name = "open-csv"

    async def fetch(self) -> None:
        main = await self.context.get(self.feed.url, conditional=True)
        slots = None
        if self.feed.slots_url:
            slots = await self.context.get(self.feed.slots_url, conditional=True)
        if main.not_modified and (slots is None or slots.not_modified):
            self.not_modified()
        if main.not_modified:  # only the slots changed: both are needed
            main = await self.context.get(self.feed.url)
        if slots is not None and slots.not_modified:
            slots = await self.context.get(self.feed.slots_url)
        self.spool.add_response("offerings", main)
        if slots is not None:
            self.spool.add_response("slots", slots)

    def items(self) -> Iterator[Item]:
        offerings = next(self.spool.documents("offerings"))[0].read_bytes()
        slot_docs = list(self.spool.documents("slots"))
        slots = slot_docs[0][0].read_bytes() if slot_docs else None
        yield from iter_csv(
            offerings,
            slots,
            self.context.known_codes,
            publisher=self.feed.publisher,
            allowed=self.feed.municipalities,
        )
