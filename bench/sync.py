"""Catalogue sync benchmark: a generated 100,000-offering feed in the open JSON format.

Measures, in one run and as ratios to the first (these machines are noisy):
  parse    reading the feed into cleaned, validated records, as a first sync does (streamed): the baseline
  ingest   the sync of that feed into an empty SQLite database (parse, hash, write, withdraw, record)
  resync   the same feed again, unchanged: it must write zero catalogue rows
and the process's peak resident memory.

Ratios are of CPU time (time.process_time: this process, all its threads, SQLite's included), which other
work on a shared machine does not inflate; wall-clock times are printed beside them. The parse is timed
before and after the syncs and the faster of the two is the baseline (the stricter choice).

Targets: ingest ≤ 3 × parse; resync ≤ 1.5 × parse with 0 rows written; peak memory ≤ 300 MB.
Usage: .venv/bin/python bench/sync.py [--offerings N]   (BENCH_SYNC_OFFERINGS also sets N)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bot import reference  # noqa: E402
from bot.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.models import IntakeSlot, Offering, Provider  # noqa: E402
from catalog_sync import open_feed  # noqa: E402
from catalog_sync.feeds import FeedConfig  # noqa: E402
from catalog_sync.records import Lazy, OfferingRecord  # noqa: E402
from catalog_sync.sync import sync_feed  # noqa: E402

TARGET_INGEST = 3.0
TARGET_RESYNC = 1.5
TARGET_RSS_MB = 300
CODES = (
    "0114 0115 0117 0120 0123 0125 0126 0127 0128 0136 0138 0139 0140 0160 0162 0163 0180 0181 0182 0183 "
    "0184 0186 0187 0188 0191 0192"
).split()
CATEGORIES = [
    ("sfi", "course", "Sfi kurs {level}", "SFI course {level}", 16),
    ("komvux-basic", "course", "Grundläggande {subject}", "Basic {subject}", 20),
    ("komvux-upper", "course", "{subject} 1", "{subject} 1", 20),
    ("vocational", "course", "Yrkesutbildning: {trade}", "Vocational training: {trade}", 18),
    ("civic-orientation", "course", "Samhällsorientering", "Civic orientation", 18),
    ("internship", "internship", "Praktik: {trade}", "Internship: {trade}", 18),
    ("job", "job", "{trade}", "{trade}", 18),
]
SUBJECTS = ["matematik", "svenska", "engelska", "samhällskunskap", "naturkunskap", "historia"]
TRADES = ["barnskötare", "undersköterska", "kock", "lagerarbetare", "elektriker", "busschaufför", "städare"]


def offering(n: int, rng: random.Random) -> dict:
    category, kind, title_sv, title_en, age = CATEGORIES[n % len(CATEGORIES)]
    words = {"level": "ABCD"[n % 4], "subject": SUBJECTS[n % len(SUBJECTS)], "trade": TRADES[n % len(TRADES)]}
    code = CODES[n % len(CODES)]
    start = date(2027, 1, 11) + timedelta(days=7 * (n % 20))
    item = {
        "id": f"bench-{n:06d}",
        "kind": kind,
        "category": category,
        "title": {
            "sv": f"{title_sv.format(**words)}, grupp {n}",
            "en": f"{title_en.format(**words)}, group {n}",
        },
        "description": {
            "sv": "Undervisning i grupp med erfarna lärare. Du får studievägledning och stöd på ditt "
            f"modersmål. Kursen passar dig som vill komma vidare till arbete eller studier. ({n})"
        },
        "provider": {
            "name": f"Utbildningsanordnare {n % 400}",
            "email": f"intag{n % 400}@example.org",
            "phone": f"+46 8 {n % 400:03d} 00 00",
        },
        "municipality_code": code,
        "address": {"street": f"Storgatan {n % 90 + 1}", "postal_code": "147 30", "city": "Tumba"},
        "location": {
            "lat": round(59.2 + rng.uniform(-0.3, 0.3), 5),
            "lon": round(17.9 + rng.uniform(-0.4, 0.4), 5),
        },
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=140)).isoformat(),
        "application_deadline": (start - timedelta(days=25)).isoformat(),
        "schedule": [["day"], ["evening"], ["day", "distance"], ["weekend"]][n % 4],
        "pace_percent": [100, 50, 75, 25][n % 4],
        "languages": [["sv"], ["sv", "ar"], ["sv", "so"], ["sv", "fa", "prs"]][n % 4],
        "age_min": age,
        "age_max": None,
        "open_to": ["agreement", "everyone", "municipality"][n % 3],
        "asylum_seekers": n % 5 == 0,
        "seats": 10 + n % 30,
        "url": f"https://example.org/offerings/{n}",
    }
    if n % 4 == 0:
        item["intake_slots"] = [
            {"starts_at": f"2026-12-{1 + n % 20:02d}T10:00:00+01:00", "capacity": 5},
            {"starts_at": f"2026-12-{2 + n % 20:02d}T13:30:00+01:00", "capacity": 3},
        ]
    return item


def generate(path: Path, count: int) -> None:
    """Written piece by piece: the generator must not be what uses the memory."""
    rng = random.Random(20261128)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(
            '{"format": "vagvisare-feed/1", "publisher": {"municipality_code": "0180", "name": "Bench"},'
        )
        handle.write(' "generated_at": "2026-11-28T02:00:00+01:00", "offerings": [\n')
        for n in range(count):
            if n:
                handle.write(",\n")
            handle.write(json.dumps(offering(n, rng), ensure_ascii=False))
        handle.write("\n]}\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


async def seed(url: str) -> frozenset[str]:
    engine = make_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            await reference.seed(session)
        return frozenset(code for code in (row["code"] for row in reference.read_municipalities()))
    finally:
        await engine.dispose()


class Timer:
    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def parse(path: Path, known: frozenset[str]) -> tuple[Timer, int, int]:
    records = rejected = 0
    with Timer() as timer:
        for item in open_feed.iter_file(path, known):
            if isinstance(item, Lazy):
                item = item.build()  # parsing means cleaning every record, as a first ingest does
            if isinstance(item, OfferingRecord):
                records += 1
            else:
                rejected += 1
    return timer, records, rejected


async def catalogue_state(factory, since: datetime) -> dict[str, int]:
    async with factory() as session:
        return {
            "offerings": await session.scalar(select(func.count()).select_from(Offering)),
            "changed_since": await session.scalar(
                select(func.count()).select_from(Offering).where(Offering.updated_at >= since)
            ),
            "slots": await session.scalar(select(func.count()).select_from(IntakeSlot)),
            "providers": await session.scalar(select(func.count()).select_from(Provider)),
        }


async def sync_twice(url: str, path: Path, known: frozenset[str]) -> dict:
    engine = make_engine(url)
    factory = session_factory(engine)
    feed = FeedConfig(name="bench", adapter="open-json", url=str(path), schedule="manual")
    try:
        first_clock = datetime(2026, 11, 28, 3, 15, tzinfo=UTC)
        with Timer() as ingest_time:
            ingest = await sync_feed(factory, feed, clock=lambda: first_clock, known_codes=known)
        after_ingest = await catalogue_state(factory, first_clock)

        second_clock = first_clock + timedelta(days=1)
        with Timer() as resync_time:
            resync = await sync_feed(factory, feed, clock=lambda: second_clock, known_codes=known)
        after_resync = await catalogue_state(factory, second_clock)
    finally:
        await engine.dispose()
    return {
        "ingest": ingest,
        "ingest_time": ingest_time,
        "resync": resync,
        "resync_time": resync_time,
        "after_ingest": after_ingest,
        "after_resync": after_resync,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offerings", type=int, default=int(os.environ.get("BENCH_SYNC_OFFERINGS", 100_000)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vagvisare-bench-") as folder:
        folder_path = Path(folder)
        feed_path = folder_path / "feed.json"
        generate(feed_path, args.offerings)
        size_mb = feed_path.stat().st_size / 2**20
        url = f"sqlite+aiosqlite:///{folder_path / 'bench.db'}"
        upgrade(url)
        known = asyncio.run(seed(url))

        first_parse, records, rejected = parse(feed_path, known)
        result = asyncio.run(sync_twice(url, feed_path, known))
        second_parse, _, _ = parse(feed_path, known)

    baseline = min(first_parse, second_parse, key=lambda timer: timer.cpu)
    ingest, resync = result["ingest"], result["resync"]
    ingest_ratio = result["ingest_time"].cpu / baseline.cpu
    resync_ratio = result["resync_time"].cpu / baseline.cpu
    # Rows the re-sync wrote to the catalogue, by the writer's own count and as seen in the database.
    written = max(resync.rows_written, result["after_resync"]["changed_since"])
    rss = peak_rss_mb()
    checks = [
        ("ingest status", ingest.status == "ok" and ingest.counts.added == records, ingest.status),
        ("resync status", resync.status == "ok" and resync.counts.unchanged == records, resync.status),
        ("same catalogue", result["after_ingest"]["offerings"] == result["after_resync"]["offerings"], ""),
    ]

    print(f"feed: {args.offerings} offerings, {size_mb:.1f} MB; {records} records, {rejected} rejected")
    print(f"{'step':<32}{'CPU s':>8}{'wall s':>8}{'× parse':>9}{'target':>8}  rows written")
    for name, timer in (("parse, first", first_parse), ("parse, again", second_parse)):
        marker = "  (baseline)" if timer is baseline else ""
        print(
            f"{name:<32}{timer.cpu:>8.2f}{timer.wall:>8.2f}{timer.cpu / baseline.cpu:>9.2f}{'':>8}  -{marker}"
        )
    ingest_time, resync_time = result["ingest_time"], result["resync_time"]
    print(
        f"{'first ingest (empty SQLite)':<32}{ingest_time.cpu:>8.2f}{ingest_time.wall:>8.2f}"
        f"{ingest_ratio:>9.2f}{'≤ 3.0':>8}  {ingest.rows_written}"
    )
    print(
        f"{'unchanged re-sync':<32}{resync_time.cpu:>8.2f}{resync_time.wall:>8.2f}"
        f"{resync_ratio:>9.2f}{'≤ 1.5':>8}  {resync.rows_written} (in the database: "
        f"{result['after_resync']['changed_since']})"
    )
    print(f"{'peak RSS (MB)':<32}{rss:>8.0f}{'':>8}{'':>9}{'≤ 300':>8}")
    state = result["after_ingest"]
    print(
        f"catalogue: {state['offerings']} offerings, {state['slots']} intake slots, "
        f"{state['providers']} providers"
    )
    met = (
        ingest_ratio <= TARGET_INGEST
        and resync_ratio <= TARGET_RESYNC
        and written == 0
        and rss <= TARGET_RSS_MB
    )
    for name, ok, detail in checks:
        if not ok:
            print(f"CHECK FAILED: {name} {detail}")
    print("targets met" if met and all(ok for _, ok, _ in checks) else "targets NOT met")
    print(
        f"RESULT ingest_ratio={ingest_ratio:.2f} resync_ratio={resync_ratio:.2f} "
        f"resync_rows_written={written} peak_rss_mb={rss:.0f}"
    )
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
