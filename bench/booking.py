"""Booking under load (issue 7): 1,000 concurrent booking attempts spread over 100 slots on PostgreSQL.

Each attempt is one transaction, as in a turn: `intake.book_or_wait` takes a seat with one conditional
UPDATE, or puts the person on the waiting list when the slot is full. The slots hold 800 seats in all, so
about a fifth of the attempts find their slot full. Measured: bookings per second over the whole run, the
p99 latency of an attempt, and overbookings (slots holding more than their capacity, or more requests than
seats; must be 0). As a baseline in the same run, the same attempts one after another (no contention):
`concurrency_ratio` is the concurrent throughput over the sequential one.

Runs in a database of its own, created next to the given one and dropped afterwards:

    .venv/bin/python bench/booking.py [postgresql://postgres@127.0.0.1:5432/postgres] [--attempts 1000]

(the URL defaults to TEST_DATABASE_URL). The last line: RESULT bookings_per_s=… p99_ms=… overbooked=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import intake, reference  # noqa: E402
from bot.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.models import IntakeRequest, IntakeSlot, Offering, Person, Profile  # noqa: E402
from catalog_sync.loader import load_file, sample_files  # noqa: E402

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
SLOTS = 100
CAPACITY = 8


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _database(base_url: str, name: str, create: bool) -> str:
    import asyncpg

    url = make_url(base_url)
    connection = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def prepare(url: str, attempts: int, start: datetime) -> tuple[list[int], list[int], list[int]]:
    """100 slots over ten offerings, and `attempts` people: (offering ids, slot ids, person ids)."""
    engine = make_engine(url)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        await reference.seed(session)
    for path in sample_files():
        await load_file(factory, path)
    async with transaction(factory) as session:
        offerings = list((await session.scalars(select(Offering).order_by(Offering.id).limit(10))).all())
        slots = [
            IntakeSlot(
                offering_id=offerings[n % len(offerings)].id,
                starts_at=start + timedelta(days=10 + n // len(offerings), hours=n % 7),
                capacity=CAPACITY,
                booked=0,
            )
            for n in range(SLOTS)
        ]
        session.add_all(slots)
        people = [
            Person(language="sv", profiles=[Profile(kind="self", birth_year=1990, municipality_code="0127")])
            for _ in range(attempts)
        ]
        session.add_all(people)
        await session.flush()
        result = [s.offering_id for s in slots], [s.id for s in slots], [p.id for p in people]
    await engine.dispose()
    return result


async def attempt(
    factory, offering_id: int, slot_id: int, person_id: int, seed: int, now
) -> tuple[str, float]:
    started = time.perf_counter()
    async with transaction(factory) as session:
        offering = await session.get(Offering, offering_id)
        status, _ = await intake.book_or_wait(
            session,
            offering=offering,
            person_id=person_id,
            profile_id=None,
            slot_id=slot_id,
            now=now,
            rng=random.Random(seed),
            language="sv",
            channel="sms",
        )
    return status, (time.perf_counter() - started) * 1000


async def run(url: str, plan: list[tuple[int, int, int]], concurrent: bool) -> dict:
    engine = make_engine(url)  # 10 connections and 20 more under load, as the service runs
    factory = session_factory(engine)
    started = time.perf_counter()
    if concurrent:
        results = await asyncio.gather(
            *(attempt(factory, o, s, p, n, NOW) for n, (o, s, p) in enumerate(plan))
        )
    else:
        results = [await attempt(factory, o, s, p, n, NOW) for n, (o, s, p) in enumerate(plan)]
    elapsed = time.perf_counter() - started
    async with factory() as session:
        over_capacity = await session.scalar(
            select(func.count()).select_from(IntakeSlot).where(IntakeSlot.booked > IntakeSlot.capacity)
        )
        per_slot = (
            await session.execute(
                select(IntakeSlot.capacity, func.count(IntakeRequest.id))
                .join(IntakeRequest, IntakeRequest.slot_id == IntakeSlot.id)
                .group_by(IntakeSlot.id, IntakeSlot.capacity)
            )
        ).all()
    await engine.dispose()
    booked = sum(1 for status, _ in results if status == "booked")
    return {
        "booked": booked,
        "waiting": sum(1 for status, _ in results if status == "waiting"),
        "elapsed": elapsed,
        "per_s": booked / elapsed,
        "p50": percentile([ms for _, ms in results], 50),
        "p99": percentile([ms for _, ms in results], 99),
        "overbooked": (over_capacity or 0) + sum(max(0, n - cap) for cap, n in per_slot),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--attempts", type=int, default=1000)
    args = parser.parse_args()
    if not args.url or make_url(args.url).get_backend_name() != "postgresql":
        parser.error("give a PostgreSQL URL (or set TEST_DATABASE_URL)")
    rng = random.Random(7)
    outcomes = {}
    for label, concurrent in (("sequential", False), ("concurrent", True)):
        url = asyncio.run(_database(args.url, f"bench_booking_{os.getpid()}", create=True))
        try:
            upgrade(url)
            offerings, slots, people = asyncio.run(prepare(url, args.attempts, NOW))
            picks = [rng.randrange(SLOTS) for _ in people]
            plan = [(offerings[i], slots[i], person) for i, person in zip(picks, people, strict=True)]
            outcomes[label] = asyncio.run(run(url, plan, concurrent))
        finally:
            asyncio.run(_database(args.url, f"bench_booking_{os.getpid()}", create=False))
    header = ("booked", "waiting", "seconds", "booked/s", "p50 ms", "p99 ms")
    print(f"{'run':<11} " + " ".join(f"{h:>8}" for h in header) + " overbooked")
    for label, o in outcomes.items():
        print(
            f"{label:<11} {o['booked']:>8} {o['waiting']:>8} {o['elapsed']:>8.2f} {o['per_s']:>8.1f} "
            f"{o['p50']:>8.1f} {o['p99']:>8.1f} {o['overbooked']:>10}"
        )
    result = outcomes["concurrent"]
    ratio = result["per_s"] / outcomes["sequential"]["per_s"]
    overbooked = result["overbooked"] + outcomes["sequential"]["overbooked"]
    print(
        f"RESULT bookings_per_s={result['per_s']:.1f} p99_ms={result['p99']:.1f} overbooked={overbooked} "
        f"concurrency_ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()
