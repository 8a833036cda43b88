"""Matching latency on generated national catalogues (issue 6).

Generates catalogues of 10,000 and 100,000 offerings over all 290 municipalities (a realistic mix of
categories, access rules, distance courses and schedules; the big cities hold more), and 1,000 generated
profiles across the country. For each catalogue it measures a top-10 match (agreements, SQL pre-filter, rules,
exact ranking; one session per match, as in a turn) on SQLite and, when TEST_DATABASE_URL is set, on
PostgreSQL (in a database of its own, created next to the given one and dropped afterwards).

Targets: p95 <= 10 ms at 100k on either database; growth (p95 at 100k / p95 at 10k) <= 3.

    .venv/bin/python bench/matching.py [--sizes 10000,100000] [--profiles 1000]

The last line: RESULT p95_ms_10k_sqlite=… p95_ms_100k_sqlite=… p95_ms_100k_postgres=… growth=…
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import reference  # noqa: E402
from bot.db import make_engine, session_factory, transaction, upgrade  # noqa: E402
from bot.eligibility import Attendee  # noqa: E402
from bot.matching import GOAL_CATEGORIES, Matcher  # noqa: E402
from bot.models import Offering  # noqa: E402
from bot.municipalities import MunicipalityDirectory  # noqa: E402
from bot.occupations import occupations  # noqa: E402

TODAY = date(2026, 11, 27)
TOP = 10
# Category shares of a national catalogue (SFI and adult education dominate; schools and jobs follow).
CATEGORY_SHARES = {
    "sfi": 15,
    "komvux-basic": 12,
    "komvux-upper": 15,
    "vocational": 12,
    "civic-orientation": 6,
    "internship": 10,
    "job": 12,
    "preschool-class": 3,
    "compulsory-school": 7,
    "language-introduction": 4,
    "upper-secondary": 4,
}
KIND = {"internship": "internship", "job": "job"} | dict.fromkeys(GOAL_CATEGORIES["school"], "school")
# Larger municipalities publish more (and more people live there): weights over an even base of 1.
CITY_WEIGHTS = {
    "0180": 12,  # Stockholm
    "1480": 8,  # Göteborg
    "1280": 5,  # Malmö
    "0380": 3,  # Uppsala
    "0580": 2,  # Linköping
    "1880": 2,  # Örebro
    "1980": 2,  # Västerås
    "0680": 2,  # Jönköping
    "1281": 2,  # Lund
    "2480": 2,  # Umeå
    "0181": 2,  # Södertälje
    "0127": 2,  # Botkyrka
    "0126": 2,  # Huddinge
}
OPEN_TO = (("agreement", 55), ("municipality", 30), ("everyone", 15))
LANGUAGES = ("ar", "fa", "prs", "so", "ti", "uk", "ru", "ckb", "kmr", "ps", "en")
SCHEDULES = (("day",), ("day",), ("day",), ("evening",), ("weekend",), ("day", "distance"), ("evening",))
TITLES = {
    "sfi": ("SFI {level}", "Sfi kurs {level}"),
    "komvux-basic": ("Basic adult education", "Komvux grundläggande nivå"),
    "komvux-upper": ("Swedish as a second language", "Svenska som andraspråk"),
    "vocational": ("{occupation}, vocational training", "{occupation_sv}, yrkesutbildning"),
    "civic-orientation": ("Civic orientation", "Samhällsorientering"),
    "internship": ("Internship: {occupation}", "Praktik: {occupation_sv}"),
    "job": ("{occupation}", "{occupation_sv}"),
    "preschool-class": ("Preschool class", "Förskoleklass"),
    "compulsory-school": ("Compulsory school for newcomers", "Grundskola för nyanlända"),
    "language-introduction": ("Language introduction", "Språkintroduktion"),
    "upper-secondary": ("Upper-secondary programme", "Gymnasieprogram"),
}


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


@dataclass
class Geography:
    codes: list[str]
    weights: list[int]
    seats: dict[str, tuple[float, float]]
    neighbours: dict[str, list[str]]


def geography() -> Geography:
    rows = reference.read_municipalities()
    seats = {row["code"]: (row["lat"], row["lon"]) for row in rows}
    codes = sorted(seats)
    by_county: dict[str, list[str]] = {}
    for row in rows:
        by_county.setdefault(row["county_code"], []).append(row["code"])
    neighbours = {row["code"]: by_county[row["county_code"]] for row in rows}
    return Geography(codes, [CITY_WEIGHTS.get(code, 1) for code in codes], seats, neighbours)


def generate_offerings(
    rng: random.Random, count: int, today: date = TODAY, source: str = "bench"
) -> list[dict]:
    """`count` offering rows for the `offerings` table, spread over all municipalities."""
    geo = geography()
    categories = list(CATEGORY_SHARES)
    shares = list(CATEGORY_SHARES.values())
    jobs = list(occupations().values())
    now = datetime(today.year, today.month, today.day, tzinfo=UTC)
    rows = []
    for number in range(count):
        code = rng.choices(geo.codes, geo.weights)[0]
        category = rng.choices(categories, shares)[0]
        kind = KIND.get(category, "course")
        occupation = rng.choice(jobs)
        remote = kind == "course" and rng.random() < 0.04
        # One in twenty is bought from (published by) another municipality of the same county.
        publisher = rng.choice(geo.neighbours[code]) if rng.random() < 0.05 else code
        lat, lon = geo.seats[code]
        en, sv = TITLES[category]
        values = {
            "level": rng.choice(("A", "B", "C", "D", "A-B", "C-D")),
            "occupation": occupation.labels["en"],
            "occupation_sv": occupation.labels["sv"],
        }
        start = None if rng.random() < 0.2 else today + timedelta(days=rng.randint(-60, 300))
        age_min, age_max = {
            "sfi": (16, None),
            "preschool-class": (5, 7),
            "compulsory-school": (6, 16),
            "language-introduction": (15, 19),
            "upper-secondary": (15, 19),
        }.get(category, (rng.choice((18, 20, None)), None))
        rows.append(
            {
                "source": source,
                "source_id": f"{source}-{number}",
                "kind": kind,
                "category": category,
                "title": {"en": en.format(**values), "sv": sv.format(**values)},
                "description": {},
                "publisher_code": publisher,
                "municipality_code": code,
                "city": None,
                "lat": None if remote else lat + rng.uniform(-0.08, 0.08),
                "lon": None if remote else lon + rng.uniform(-0.15, 0.15),
                "start_date": start,
                "end_date": (start or today) + timedelta(days=rng.randint(60, 400)),
                "application_deadline": None
                if start is None or rng.random() < 0.3
                else start - timedelta(days=rng.randint(0, 45)),
                "schedule": ["distance"] if remote else list(rng.choice(SCHEDULES)),
                "languages": ["sv", *rng.sample(LANGUAGES, rng.randint(0, 3))],
                "age_min": age_min,
                "age_max": age_max,
                "swedish_level_min": rng.choice((None, None, None, "sfi-b", "sfi-d", "sfi-finished", "basic"))
                if category not in ("sfi", "preschool-class", "compulsory-school", "language-introduction")
                else None,
                "open_to": _weighted(rng, OPEN_TO),
                "asylum_seekers": kind == "school" or rng.random() < 0.05,
                "seats": rng.choice((None, 10, 20, 30)),
                "content_hash": "bench",
                "status": "active" if rng.random() < 0.95 else "withdrawn",
                "updated_at": now,
            }
        )
    return rows


@dataclass(frozen=True)
class Query:
    person: Attendee
    goal: str


def generate_profiles(rng: random.Random, count: int, today: date = TODAY) -> list[Query]:
    """People across the country (more where more live), with the answers they might have given."""
    geo = geography()
    codes = list(occupations())
    queries = []
    for _ in range(count):
        goal = _weighted(rng, (("sfi", 35), ("study", 25), ("work", 25), ("school", 15)))
        child = goal == "school"
        born = rng.randint(today.year - 18, today.year - 6) if child else rng.randint(1960, today.year - 17)
        person = Attendee(
            birth_year=born,
            municipality_code=rng.choices(geo.codes, geo.weights)[0],
            permit_status=rng.choice((None, None, "permanent", "temporary", "temporary", "asylum", "other")),
            permit_month=rng.choice((None, today - timedelta(days=rng.randint(30, 2000)))),
            swedish_level=rng.choice((None, "none", "sfi-a", "sfi-b", "sfi-c", "sfi-d", "sfi-finished")),
            schooling_years=rng.choice((None, 6, 9, 12, 15)),
            max_travel_km=rng.choice((None, 5, 15, 30, 60)),
            schedule=tuple(rng.sample(("day", "evening", "weekend", "distance"), rng.randint(0, 2))),
            language=rng.choice(("sv", "en", *LANGUAGES)),
            occupations=tuple(rng.sample(codes, rng.randint(0, 2))) if goal == "work" else (),
            child=child,
        )
        queries.append(Query(person, goal))
    return queries


async def load(url: str, rows: list[dict]) -> None:
    engine = make_engine(url)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        await reference.seed(session)
    table = Offering.__table__
    async with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(table), rows[start : start + 5000])
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
        else:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    await engine.dispose()


async def measure(url: str, queries: list[Query], repeat: int, warmup: int = 50) -> tuple[list[float], float]:
    """Milliseconds per top-10 match (each profile's best of `repeat` runs, since other work on a shared
    machine only ever adds time), and the mean number of results."""
    engine = make_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        directory = await MunicipalityDirectory.load(session)
    matcher = Matcher(directory)
    for query in queries[:warmup]:
        async with factory() as session:
            await matcher.page(session, query.person, query.goal, TODAY)
    best = [math.inf] * len(queries)
    found = [0] * len(queries)
    for _ in range(repeat):
        for index, query in enumerate(queries):
            started = time.perf_counter()
            async with factory() as session:
                page = await matcher.page(session, query.person, query.goal, TODAY)
                top = page.matches[:TOP]
            best[index] = min(best[index], (time.perf_counter() - started) * 1000)
            found[index] = len(top)
    await engine.dispose()
    return best, statistics.mean(found)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _postgres_database(base_url: str, name: str, create: bool) -> str:
    import asyncpg

    url = make_url(base_url)
    connection = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def run_one(label: str, url: str, rows: list[dict], queries: list[Query], repeat: int) -> dict:
    upgrade(url)
    started = time.perf_counter()
    asyncio.run(load(url, rows))
    loaded = time.perf_counter() - started
    timings, mean_found = asyncio.run(measure(url, queries, repeat))
    result = {
        "label": label,
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "max": max(timings),
        "found": mean_found,
        "load_s": loaded,
    }
    print(
        f"{label:<18} p50 {result['p50']:6.2f} ms   p95 {result['p95']:6.2f} ms   max {result['max']:7.2f} ms"
        f"   results/query {mean_found:4.1f}   (loaded in {loaded:5.1f} s)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--profiles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="runs per profile; the best counts")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    queries = generate_profiles(random.Random(args.seed), args.profiles)
    catalogues = {size: generate_offerings(random.Random(args.seed + size), size) for size in sizes}
    postgres = os.environ.get("TEST_DATABASE_URL")
    results: dict[tuple[str, int], dict] = {}
    print(f"{args.profiles} profiles; catalogues of {', '.join(f'{s:,}' for s in sizes)} offerings")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            url = f"sqlite+aiosqlite:///{Path(folder) / f'bench-{size}.db'}"
            results["sqlite", size] = run_one(f"sqlite {size:,}", url, catalogues[size], queries, args.repeat)
    if postgres:
        name = f"{make_url(postgres).database}_bench_matching"
        for size in sizes:
            url = asyncio.run(_postgres_database(postgres, name, create=True))
            try:
                results["postgres", size] = run_one(
                    f"postgres {size:,}", url, catalogues[size], queries, args.repeat
                )
            finally:
                asyncio.run(_postgres_database(postgres, name, create=False))
    small, large = min(sizes), max(sizes)
    growths = [
        results[db, large]["p95"] / results[db, small]["p95"]
        for db in ("sqlite", "postgres")
        if (db, small) in results and (db, large) in results and small != large
    ]
    for db in ("sqlite", "postgres"):
        if (db, small) in results and (db, large) in results and small != large:
            growth = results[db, large]["p95"] / results[db, small]["p95"]
            print(f"growth {db}: {growth:.2f}x for {large // small}x the catalogue")

    def p95(db: str, size: int) -> str:
        return f"{results[db, size]['p95']:.2f}" if (db, size) in results else "n/a"

    print(
        f"RESULT p95_ms_10k_sqlite={p95('sqlite', 10_000)} p95_ms_100k_sqlite={p95('sqlite', 100_000)} "
        f"p95_ms_100k_postgres={p95('postgres', 100_000)} growth={max(growths) if growths else 0:.2f}"
    )


if __name__ == "__main__":
    main()
