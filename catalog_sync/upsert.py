"""Writing records into the catalogue: by (source, source id), skipping what has not changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import IntakeSlot, Offering, Provider
from catalog_sync.records import OfferingRecord

COLUMNS = (
    "kind category title description publisher_code municipality_code street postal_code city lat lon "
    "start_date end_date application_deadline pace_percent age_min age_max swedish_level_min open_to "
    "asylum_seekers seats url"
).split()


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0


async def active_count(session: AsyncSession, source: str) -> int:
    rows = await session.scalars(
        select(Offering.id).where(Offering.source == source, Offering.status == "active")
    )
    return len(rows.all())


async def apply(session: AsyncSession, source: str, records: list[OfferingRecord], now: datetime) -> Counts:
    """Upserts a full feed: what is missing from it is withdrawn, never deleted (bookings point at it)."""
    counts = Counts()
    existing = {
        row.source_id: row
        for row in (
            await session.execute(
                select(Offering.id, Offering.source_id, Offering.content_hash, Offering.status).where(
                    Offering.source == source
                )
            )
        ).all()
    }
    providers = await _providers(session, source)
    for record in records:
        digest = record.content_hash()
        row = existing.get(record.source_id)
        if row is not None and row.content_hash == digest and row.status == "active":
            counts.unchanged += 1
            continue
        provider_id = await _provider_id(session, source, record, providers)
        if row is None:
            offering = Offering(source=source, source_id=record.source_id)
            session.add(offering)
            counts.added += 1
        else:
            offering = await session.get(Offering, row.id, options=())
            counts.updated += 1
        _fill(offering, record, digest, provider_id, now)
        await session.flush()
        await _sync_slots(session, offering.id, record)
    missing = [row.id for key, row in existing.items() if row.status == "active" and key not in _ids(records)]
    if missing:
        await session.execute(
            update(Offering).where(Offering.id.in_(missing)).values(status="withdrawn", withdrawn_at=now)
        )
        counts.withdrawn = len(missing)
    return counts


def _ids(records: list[OfferingRecord]) -> set[str]:
    return {record.source_id for record in records}


def _fill(
    offering: Offering, record: OfferingRecord, digest: str, provider_id: int | None, now: datetime
) -> None:
    for column in COLUMNS:
        setattr(offering, column, getattr(record, column))
    offering.schedule = list(record.schedule)
    offering.languages = list(record.languages)
    offering.provider_id = provider_id
    offering.content_hash = digest
    offering.status = "active"
    offering.withdrawn_at = None
    offering.updated_at = now


async def _providers(session: AsyncSession, source: str) -> dict[str, Provider]:
    return {
        p.name: p for p in (await session.scalars(select(Provider).where(Provider.source == source))).all()
    }


async def _provider_id(
    session: AsyncSession, source: str, record: OfferingRecord, providers: dict[str, Provider]
) -> int | None:
    if not record.provider_name:
        return None
    provider = providers.get(record.provider_name)
    if provider is None:
        provider = Provider(source=source, name=record.provider_name)
        session.add(provider)
        providers[record.provider_name] = provider
    provider.email = record.provider_email
    provider.phone = record.provider_phone
    provider.municipality_code = record.publisher_code
    await session.flush()
    return provider.id


async def _sync_slots(session: AsyncSession, offering_id: int, record: OfferingRecord) -> None:
    """New times are added and capacities updated; a time that vanished from the feed is closed (capacity
    down to what is booked), so that bookings already made keep their slot."""
    slots = {
        slot.starts_at: slot
        for slot in (
            await session.scalars(select(IntakeSlot).where(IntakeSlot.offering_id == offering_id))
        ).all()
    }
    wanted = {slot.starts_at: slot.capacity for slot in record.slots}
    for starts_at, capacity in wanted.items():
        slot = slots.get(starts_at)
        if slot is None:
            session.add(IntakeSlot(offering_id=offering_id, starts_at=starts_at, capacity=capacity, booked=0))
        else:
            slot.capacity = max(capacity, slot.booked)
    for starts_at, slot in slots.items():
        if starts_at not in wanted:
            slot.capacity = slot.booked
