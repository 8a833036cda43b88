"""The same course published twice (say by the municipality's own feed and by Susa-navet) is shown once.

Both rows stay; the one from the lower-priority source gets status "duplicate" and `duplicate_of` pointing
at the one shown. Matching shows only "active" offerings, so a person sees one. The decision is made again
after every sync, from scratch: when the winner is withdrawn or changes, its twin comes back.

Two offerings are the same when they are of the same kind, held in the same municipality, start within a
few days of each other (or both have continuous intake), their titles match closely (rapidfuzz
token_set_ratio on normalised text) and so do their providers when both name one. Offerings of one source
are never merged with each other: a feed may list two parallel groups of one course."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import transaction
from bot.models import Offering, Provider
from catalog_sync.feeds import DedupeConfig
from catalog_sync.upsert import LIVE

OFFERINGS = Offering.__table__
PROVIDERS = Provider.__table__
# Arabic-script marks and joiners that rapidfuzz's default processor would split words at.
_MARKS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d\u200e\u200f]")
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(value: str | None) -> str:
    if not value:
        return ""
    value = unicodedata.normalize("NFKC", value).casefold()
    value = _MARKS.sub("", value)
    return " ".join(_NON_WORD.sub(" ", value).split())


@dataclass(frozen=True)
class Candidate:
    id: int
    source: str
    kind: str
    municipality_code: str
    start_date: date | None
    title: str
    provider: str
    priority: int


@dataclass
class DedupeResult:
    pairs: dict[int, int] = field(default_factory=dict)  # duplicate id -> shown id
    marked: int = 0
    released: int = 0


def same_offering(a: Candidate, b: Candidate, config: DedupeConfig) -> bool:
    if a.source == b.source or a.kind != b.kind or a.municipality_code != b.municipality_code:
        return False
    if (a.start_date is None) != (b.start_date is None):
        return False
    if a.start_date and abs((a.start_date - b.start_date).days) > config.start_tolerance_days:
        return False
    if fuzz.token_set_ratio(a.title, b.title, processor=None) < config.title_threshold:
        return False
    if a.provider and b.provider:
        return fuzz.token_set_ratio(a.provider, b.provider, processor=None) >= config.provider_threshold
    return True


def find_duplicates(candidates: list[Candidate], config: DedupeConfig) -> dict[int, int]:
    """duplicate id -> the id shown instead. The highest priority wins, then the oldest row."""
    blocks: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        blocks[(candidate.kind, candidate.municipality_code)].append(candidate)
    pairs: dict[int, int] = {}
    for block in blocks.values():
        if len({candidate.source for candidate in block}) < 2:
            continue
        block.sort(key=lambda c: (-c.priority, c.id))
        shown: list[tuple[Candidate, set[str]]] = []  # winner and the sources it has absorbed
        for candidate in block:
            for winner, absorbed in shown:
                if candidate.source not in absorbed and same_offering(candidate, winner, config):
                    pairs[candidate.id] = winner.id
                    absorbed.add(candidate.source)
                    break
            else:
                shown.append((candidate, {candidate.source}))
    return pairs


async def load_candidates(session: AsyncSession, priorities: dict[str, int]) -> list[Candidate]:
    rows = await session.execute(
        select(
            OFFERINGS.c.id,
            OFFERINGS.c.source,
            OFFERINGS.c.kind,
            OFFERINGS.c.municipality_code,
            OFFERINGS.c.start_date,
            OFFERINGS.c.title,
            PROVIDERS.c.name,
        )
        .select_from(OFFERINGS.outerjoin(PROVIDERS, PROVIDERS.c.id == OFFERINGS.c.provider_id))
        .where(OFFERINGS.c.status.in_(LIVE))
    )
    return [
        Candidate(
            id=id_,
            source=source,
            kind=kind,
            municipality_code=code,
            start_date=start,
            title=normalise((title or {}).get("sv") or next(iter((title or {}).values()), "")),
            provider=normalise(provider),
            priority=priorities.get(source, 0),
        )
        for id_, source, kind, code, start, title, provider in rows
    ]


async def run(
    factory: async_sessionmaker[AsyncSession],
    priorities: dict[str, int],
    config: DedupeConfig,
    now: datetime | None = None,
) -> DedupeResult:
    """Re-decides every duplicate in one transaction; returns what changed."""
    async with transaction(factory) as session:
        return await apply(session, priorities, config)


async def apply(session: AsyncSession, priorities: dict[str, int], config: DedupeConfig) -> DedupeResult:
    pairs = find_duplicates(await load_candidates(session, priorities), config)
    current = {
        id_: (status, duplicate_of)
        for id_, status, duplicate_of in await session.execute(
            select(OFFERINGS.c.id, OFFERINGS.c.status, OFFERINGS.c.duplicate_of).where(
                OFFERINGS.c.status.in_(LIVE)
            )
        )
    }
    mark = [
        {"b_id": loser, "duplicate_of": winner}
        for loser, winner in pairs.items()
        if current.get(loser) != ("duplicate", winner)
    ]
    release = [
        {"b_id": id_} for id_, (status, _) in current.items() if status == "duplicate" and id_ not in pairs
    ]
    if mark:
        await session.execute(
            update(OFFERINGS)
            .where(OFFERINGS.c.id == bindparam("b_id"))
            .values(status="duplicate", duplicate_of=bindparam("duplicate_of")),
            mark,
        )
    if release:
        await session.execute(
            update(OFFERINGS)
            .where(OFFERINGS.c.id == bindparam("b_id"))
            .values(status="active", duplicate_of=None),
            release,
        )
    return DedupeResult(pairs=pairs, marked=len(mark), released=len(release))
