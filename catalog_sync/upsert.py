"""Writing records into the catalogue: by (source, source id), skipping what has not changed.

The write path is bulk: the existing (source id, hash, status) of a source are read in one query, records
stream in and are written in batches with Core statements (multi-row INSERT … RETURNING, executemany
UPDATE), so that an unchanged re-sync of a 100,000-offering feed reads once and writes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.models import IntakeSlot, Offering, Provider
from catalog_sync.records import OfferingRecord

COLUMNS = (
    "kind category title description publisher_code municipality_code street postal_code city lat lon "
    "start_date end_date application_deadline pace_percent age_min age_max swedish_level_min open_to "
    "asylum_seekers seats url"
).split()
# Statuses of offerings that are in the catalogue (a "duplicate" is in it, shown through its twin).
LIVE = ("active", "duplicate")
BATCH_SIZE = 1000
IN_CHUNK = 500

OFFERINGS = Offering.__table__
SLOTS = IntakeSlot.__table__
PROVIDERS = Provider.__table__


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


class Existing(NamedTuple):
    id: int
    content_hash: str
    status: str
    source_digest: str | None = None


class _ProviderRow(NamedTuple):
    id: int
    email: str | None
    phone: str | None
    municipality_code: str | None


async def active_count(session: AsyncSession, source: str) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(OFFERINGS)
            .where(OFFERINGS.c.source == source, OFFERINGS.c.status.in_(LIVE))
        )
    ) or 0


class Writer:
    """Applies one feed's records to the catalogue inside the caller's transaction."""

    def __init__(self, session: AsyncSession, source: str, now: datetime, *, batch_size: int = BATCH_SIZE):
        self.session = session
        self.source = source
        self.now = now
        self.batch_size = batch_size
        self.counts = Counts()
        self.rows_written = 0
        self.seen: set[str] = set()
        self.existing: dict[str, Existing] = {}
        self._providers: dict[str, _ProviderRow] = {}
        self._inserts: list[tuple[OfferingRecord, str, str | None]] = []
        self._updates: list[tuple[OfferingRecord, str, str | None, Existing]] = []
        self._touch: list[dict] = []  # unchanged content, new source text: only the digest is written
        self._withdraw: list[int] = []
        self._conn: AsyncConnection | None = None

    async def prepare(self) -> None:
        self._conn = await self.session.connection()
        rows = await self._conn.execute(
            select(
                OFFERINGS.c.source_id,
                OFFERINGS.c.id,
                OFFERINGS.c.content_hash,
                OFFERINGS.c.status,
                OFFERINGS.c.source_digest,
            ).where(OFFERINGS.c.source == self.source)
        )
        self.existing = {row[0]: Existing(row[1], row[2], row[3], row[4]) for row in rows}
        providers = await self._conn.execute(
            select(
                PROVIDERS.c.name,
                PROVIDERS.c.id,
                PROVIDERS.c.email,
                PROVIDERS.c.phone,
                PROVIDERS.c.municipality_code,
            ).where(PROVIDERS.c.source == self.source)
        )
        self._providers = {name: _ProviderRow(*rest) for name, *rest in providers}

    @property
    def live_before(self) -> int:
        return sum(1 for row in self.existing.values() if row.status in LIVE)

    # --- what a feed says --------------------------------------------------------------------------------

    async def add(self, record: OfferingRecord, source_digest: str | None = None) -> bool:
        """Queues a record; False when the feed already gave this id in this run (the first one counts)."""
        verdict = self.stage(record, source_digest)
        if verdict:
            await self.flush()
        return verdict is not None

    def stage(self, record: OfferingRecord, source_digest: str | None = None) -> bool | None:
        """`add` without the await for the common case: None for an id already given in this run, True
        when a batch is full and `flush()` is due, else False. An unchanged record costs a hash."""
        source_id = record.source_id
        if source_id in self.seen:
            return None
        self.seen.add(source_id)
        digest = record.content_hash()
        row = self.existing.get(source_id)
        if row is None:
            self._inserts.append((record, digest, source_digest))
        elif row[1] == digest and row[2] in LIVE:
            self.counts.unchanged += 1
            if source_digest is not None and row[3] != source_digest:
                self._touch.append({"b_id": row[0], "source_digest": source_digest})
                self.existing[source_id] = row._replace(source_digest=source_digest)
                return len(self._touch) >= self.batch_size
            return False
        else:
            self._updates.append((record, digest, source_digest, row))
        return len(self._inserts) + len(self._updates) >= self.batch_size

    def unchanged_source(self, source_id: str, source_digest: str) -> bool:
        """True (and counted) when the source's text of the record is what the last good run stored."""
        row = self.existing.get(source_id)
        if row is None or row[3] != source_digest or row[2] not in LIVE or source_id in self.seen:
            return False
        self.seen.add(source_id)
        self.counts.unchanged += 1
        return True

    async def remove(self, source_id: str) -> None:
        """A delta feed says the record is gone."""
        if any(entry[0].source_id == source_id for entry in (*self._inserts, *self._updates)):
            await self.flush()
        self.seen.discard(source_id)
        row = self.existing.get(source_id)
        if row is not None and row.status in LIVE and row.id not in self._withdraw:
            self._withdraw.append(row.id)

    def missing(self) -> list[int]:
        """Live offerings of this source that a full feed no longer lists."""
        return [row.id for key, row in self.existing.items() if row.status in LIVE and key not in self.seen]

    async def withdraw_missing(self) -> None:
        self._withdraw.extend(self.missing())

    async def finish(self) -> Counts:
        await self.flush()
        ids = sorted(set(self._withdraw))
        for chunk in _chunks(ids, IN_CHUNK):
            result = await self._conn.execute(
                update(OFFERINGS)
                .where(OFFERINGS.c.id.in_(chunk))
                .values(status="withdrawn", withdrawn_at=self.now, duplicate_of=None)
            )
            self.rows_written += result.rowcount
        self.counts.withdrawn += len(ids)
        self._withdraw.clear()
        return self.counts

    # --- writing -----------------------------------------------------------------------------------------

    async def flush(self) -> None:
        if self._touch:
            touch, self._touch = self._touch, []
            await self._conn.execute(
                update(OFFERINGS)
                .where(OFFERINGS.c.id == bindparam("b_id"))
                .values(source_digest=bindparam("source_digest")),
                touch,
            )
            self.rows_written += len(touch)
        if not self._inserts and not self._updates:
            return
        inserts, updates = self._inserts, self._updates
        self._inserts, self._updates = [], []
        await self._resolve_providers([entry[0] for entry in (*inserts, *updates)])
        if inserts:
            await self._insert(inserts)
        if updates:
            await self._update(updates)

    async def _resolve_providers(self, records: list[OfferingRecord]) -> None:
        wanted: dict[str, OfferingRecord] = {}
        for record in records:
            if record.provider_name:
                wanted[record.provider_name] = record  # the last record of a batch wins, as row by row did
        for name, record in wanted.items():
            values = (record.provider_email, record.provider_phone, record.publisher_code)
            known = self._providers.get(name)
            if known is None:
                new_id = await self._conn.scalar(
                    insert(PROVIDERS)
                    .values(
                        source=self.source,
                        name=name,
                        email=values[0],
                        phone=values[1],
                        municipality_code=values[2],
                    )
                    .returning(PROVIDERS.c.id)
                )
                self.rows_written += 1
                self._providers[name] = _ProviderRow(new_id, *values)
            elif (known.email, known.phone, known.municipality_code) != values:
                await self._conn.execute(
                    update(PROVIDERS)
                    .where(PROVIDERS.c.id == known.id)
                    .values(email=values[0], phone=values[1], municipality_code=values[2])
                )
                self.rows_written += 1
                self._providers[name] = _ProviderRow(known.id, *values)

    def _values(self, record: OfferingRecord, digest: str, source_digest: str | None) -> dict:
        values = {column: getattr(record, column) for column in COLUMNS}
        values["source_digest"] = source_digest
        values["title"] = dict(record.title)
        values["description"] = dict(record.description)
        values["schedule"] = list(record.schedule)
        values["languages"] = list(record.languages)
        provider = self._providers.get(record.provider_name) if record.provider_name else None
        values["provider_id"] = provider.id if provider else None
        values["content_hash"] = digest
        values["withdrawn_at"] = None
        values["updated_at"] = self.now
        return values

    async def _insert(self, batch: list[tuple[OfferingRecord, str, str | None]]) -> None:
        rows = []
        for record, digest, source_digest in batch:
            values = self._values(record, digest, source_digest)
            values.update(source=self.source, source_id=record.source_id, status="active", duplicate_of=None)
            rows.append(values)
        result = await self._conn.execute(
            insert(OFFERINGS).returning(OFFERINGS.c.id, OFFERINGS.c.source_id), rows
        )
        ids = {source_id: id_ for id_, source_id in result}
        self.rows_written += len(rows)
        self.counts.added += len(rows)
        slots = []
        for record, digest, source_digest in batch:
            offering_id = ids[record.source_id]
            self.existing[record.source_id] = Existing(offering_id, digest, "active", source_digest)
            slots.extend(
                {"offering_id": offering_id, "starts_at": s.starts_at, "capacity": s.capacity, "booked": 0}
                for s in _unique_slots(record)
            )
        if slots:
            await self._conn.execute(insert(SLOTS), slots)
            self.rows_written += len(slots)

    async def _update(self, batch: list[tuple[OfferingRecord, str, str | None, Existing]]) -> None:
        rows = []
        for record, digest, source_digest, row in batch:
            values = self._values(record, digest, source_digest)
            # A row marked as another source's duplicate stays so until de-duplication looks again.
            values["status"] = "duplicate" if row.status == "duplicate" else "active"
            values["b_id"] = row.id
            rows.append(values)
            self.existing[record.source_id] = Existing(row.id, digest, values["status"], source_digest)
        columns = {key: bindparam(key) for key in rows[0] if key != "b_id"}
        await self._conn.execute(
            update(OFFERINGS).where(OFFERINGS.c.id == bindparam("b_id")).values(columns), rows
        )
        self.rows_written += len(rows)
        self.counts.updated += len(rows)
        await self._sync_slots(batch)

    async def _sync_slots(self, batch: list[tuple[OfferingRecord, str, str | None, Existing]]) -> None:
        """New times are added and capacities updated; a time that vanished from the feed is closed
        (capacity down to what is booked), so that bookings already made keep their slot."""
        by_offering = {row.id: record for record, _, _, row in batch}
        current: dict[int, dict[datetime, tuple[int, int, int]]] = {key: {} for key in by_offering}
        for chunk in _chunks(list(by_offering), IN_CHUNK):
            rows = await self._conn.execute(
                select(
                    SLOTS.c.id, SLOTS.c.offering_id, SLOTS.c.starts_at, SLOTS.c.capacity, SLOTS.c.booked
                ).where(SLOTS.c.offering_id.in_(chunk))
            )
            for slot_id, offering_id, starts_at, capacity, booked in rows:
                current[offering_id][starts_at] = (slot_id, capacity, booked)
        inserts, changes = [], []
        for offering_id, record in by_offering.items():
            slots = current[offering_id]
            wanted = {slot.starts_at: slot.capacity for slot in _unique_slots(record)}
            for starts_at, capacity in wanted.items():
                found = _find(slots, starts_at)
                if found is None:
                    inserts.append(
                        {
                            "offering_id": offering_id,
                            "starts_at": starts_at,
                            "capacity": capacity,
                            "booked": 0,
                        }
                    )
                elif max(capacity, found[2]) != found[1]:
                    changes.append({"b_id": found[0], "capacity": max(capacity, found[2])})
            for starts_at, (slot_id, capacity, booked) in slots.items():
                if _find(wanted, starts_at) is None and capacity != booked:
                    changes.append({"b_id": slot_id, "capacity": booked})
        if inserts:
            await self._conn.execute(insert(SLOTS), inserts)
            self.rows_written += len(inserts)
        if changes:
            await self._conn.execute(
                update(SLOTS).where(SLOTS.c.id == bindparam("b_id")).values(capacity=bindparam("capacity")),
                changes,
            )
            self.rows_written += len(changes)


def _unique_slots(record: OfferingRecord):
    """A feed listing the same time twice (perhaps with two offsets) has one slot, the last capacity."""
    unique = {}
    for slot in record.slots:
        unique[slot.starts_at.timestamp()] = slot
    return unique.values()


def _find(mapping: dict, starts_at: datetime):
    """Equal instants are the same slot whatever their offsets (aware datetimes compare by instant)."""
    if starts_at in mapping:
        return mapping[starts_at]
    for key, value in mapping.items():
        if key == starts_at:
            return value
    return None


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def apply(session: AsyncSession, source: str, records: list[OfferingRecord], now: datetime) -> Counts:
    """Upserts a full feed: what is missing from it is withdrawn, never deleted (bookings point at it)."""
    writer = Writer(session, source, now)
    await writer.prepare()
    for record in records:
        await writer.add(record)
    await writer.withdraw_missing()
    return await writer.finish()
