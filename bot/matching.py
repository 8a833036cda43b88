"""Matching a profile to the offerings it may attend, best first, with the reasons for each.

Two stages. SQL is a pre-filter: category, status, dates, residence and agreements, the offering's age bounds
and a radius around the person's municipality, ordered by a cheap proxy (distance band, then start) and cut at
a bounded number of candidates. Python then applies the eligibility rules (bot/eligibility.py, the single
source of truth: the pre-filter may let through too much, never too little) and ranks exactly.

The score is in "kilometre equivalents", lower is better: the distance, plus a penalty for distance beyond
what the person can travel, for waiting to start, for a schedule that does not fit and for a waiting list,
minus bonuses for study support in the person's language, for a job or internship in their line of work and,
in adult education, for having little schooling (the law asks adult education to give priority to those with
the least schooling, SL 20 kap. 2 § and 23 §).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, bindparam, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot import occupations
from bot.eligibility import (
    ADULT_EDUCATION,
    LEVEL_RANK,
    LEVELS,
    SCHOOL,
    Attendee,
    Terms,
    Verdict,
    conditions,
    first_day,
    too_far_km,
    travel_limit_km,
    verdict,
)
from bot.models import Agreement, AgreementMember, IntakeRequest, Offering
from bot.municipalities import MunicipalityDirectory, haversine_km
from bot.reference import read_municipalities
from dialogs.ports import Reason

GOAL_CATEGORIES = {
    "sfi": ("sfi",),
    "study": ("komvux-basic", "komvux-upper", "vocational", "civic-orientation"),
    "work": ("internship", "job"),
    "school": ("preschool-class", "compulsory-school", "language-introduction", "upper-secondary"),
}
# What an asylum seeker who wants to learn Swedish may do instead of SFI: whatever adult offering is open to
# asylum seekers (civic orientation, courses open to everyone).
ASYLUM_ALTERNATIVES = ("civic-orientation", "komvux-basic", "vocational", "sfi")
# Goal fit (km equivalents, negative is better): a newly arrived teenager's first school is usually the
# language-introduction programme.
GOAL_FIT = {("school", "language-introduction"): -5.0}
# A distance course is ranked as if it were this far away: near enough to show, after the close ones.
DISTANCE_COURSE_RANK_KM = 15.0
# Beyond the distance the person can travel, each km counts this many times more.
BEYOND_TRAVEL_WEIGHT = 2.0
# Waiting to start: this many km for each 30 days, counted up to a year.
WAIT_KM_PER_MONTH = 2.0
SCHEDULE_MISFIT_KM = 25.0
LANGUAGE_SUPPORT_KM = 4.0
OCCUPATION_KM = 30.0
WAITING_LIST_KM = 10.0
# Priority for the least schooled in adult education (SL 20 kap. 2 §, 23 §): years of schooling -> bonus.
SCHOOLING_PRIORITY_KM = ((6, 8.0), (9, 5.0), (12, 2.0))
# "Priority: little schooling" is said for at most this many years.
LITTLE_SCHOOLING_YEARS = 9
# The pre-filter's bound: how many candidates SQL hands over for exact ranking.
CANDIDATES = 40
# The proxy the pre-filter orders by: the distance band plus waiting, as the score counts them.
PROXY = f"band + (CASE WHEN wait > 365 THEN 365 ELSE wait END) * {WAIT_KM_PER_MONTH / 30!r}"
# Lists bound into the statements are padded to a multiple of this, so that there are few statement shapes
# (each shape is prepared once per connection, on PostgreSQL as on SQLite).
PAD = 32

OFFERINGS = Offering.__table__
COLUMNS = [
    OFFERINGS.c[name]
    for name in (
        "id kind category title open_to publisher_code municipality_code city lat lon start_date end_date"
        " application_deadline schedule languages age_min age_max swedish_level_min asylum_seekers seats"
        " status"
    ).split()
]
# Active requests per offering: an offering whose seats they fill is shown with "Waiting list".
TAKEN = (
    select(func.count())
    .where(IntakeRequest.offering_id == OFFERINGS.c.id, IntakeRequest.status.in_(("requested", "confirmed")))
    .scalar_subquery()
    .label("taken")
)
_BY_ID = select(*COLUMNS, TAKEN).where(OFFERINGS.c.id.in_(bindparam("ids", expanding=True)))
# Agreements are read again after this many seconds.
ACCESS_TTL_S = 300


@dataclass(frozen=True)
class Match:
    offering: Any  # an Offering, or a row with the same attributes
    reason: Reason  # how the person may attend: own_municipality, agreement or everyone
    distance_km: float | None
    reasons: tuple[Reason, ...] = ()
    score: float = 0.0
    waiting_list: bool = False


@dataclass(frozen=True)
class Link:
    """One agreement that opens a municipality's offerings of one kind to the person."""

    short_name: dict
    newcomer_period_months: int | None


@dataclass(frozen=True)
class AgreementAccess:
    """Per kind of offering: the municipalities whose offerings the person may use, and by which agreement."""

    by_kind: dict[str, dict[str, Link]] = field(default_factory=dict)
    _periods: dict[str, dict[str, int | None]] = field(default_factory=dict, compare=False, repr=False)

    def partners(self, kind: str) -> set[str]:
        return set(self.by_kind.get(kind, {}))

    def periods(self, kind: str) -> dict[str, int | None]:
        """Publisher -> the newcomer period that applies (the most generous agreement's)."""
        found = self._periods.get(kind)
        if found is None:
            found = {code: link.newcomer_period_months for code, link in self.by_kind.get(kind, {}).items()}
            self._periods[kind] = found
        return found

    def agreement_name(self, kind: str, publisher_code: str) -> dict:
        link = self.by_kind.get(kind, {}).get(publisher_code)
        return link.short_name if link else {}

    def all_partners(self, kinds: Iterable[str]) -> set[str]:
        return set().union(*(self.partners(kind) for kind in kinds))


def _best(found: dict[int, float], limit: int) -> list[int]:
    return [offering_id for offering_id, _ in sorted(found.items(), key=lambda item: (item[1], item[0]))][
        :limit
    ]


def _full(row: Any) -> bool:
    return row.seats is not None and (row.taken or 0) >= row.seats


def _padded(values: list[str], size: int | None = None) -> list[str]:
    """`values` padded with "" (no municipality has that code) to `size`, or to a multiple of PAD."""
    return [*values, *[""] * ((size or _bucket(len(values))) - len(values))]


def _bucket(count: int) -> int:
    return max(PAD, -(-count // PAD) * PAD)


@lru_cache(maxsize=512)
def _statement(sql: str, levels: bool) -> Any:
    expanding = ["partners", "publishers", "categories", "places", *(["levels"] if levels else [])]
    names = [name for name in expanding if f":{name}" in sql]
    return text(sql).bindparams(
        bindparam("today", type_=Date), *(bindparam(n, expanding=True) for n in names)
    )


def _more_generous(new: Link, old: Link | None) -> bool:
    if old is None or old.newcomer_period_months is None:
        return old is None
    return new.newcomer_period_months is None or new.newcomer_period_months > old.newcomer_period_months


async def agreement_access(session: AsyncSession, municipality_code: str, today: date) -> AgreementAccess:
    """The agreements the municipality is in today, with every member, in one query."""
    mine = select(AgreementMember.agreement_id).where(AgreementMember.municipality_code == municipality_code)
    connection = await session.connection()
    rows = (
        await connection.execute(
            select(
                Agreement.short_name,
                Agreement.kinds,
                Agreement.newcomer_period_months,
                AgreementMember.municipality_code,
            )
            .join(AgreementMember, AgreementMember.agreement_id == Agreement.id)
            .where(
                Agreement.id.in_(mine),
                or_(Agreement.valid_from.is_(None), Agreement.valid_from <= today),
                or_(Agreement.valid_to.is_(None), Agreement.valid_to >= today),
            )
            .order_by(Agreement.id)
        )
    ).all()
    by_kind: dict[str, dict[str, Link]] = {}
    for short_name, kinds, period, code in rows:
        link = Link(short_name, period)
        for kind in kinds:
            links = by_kind.setdefault(kind, {})
            if _more_generous(link, links.get(code)):
                links[code] = link
    return AgreementAccess(by_kind)


def terms_of(offering: Any) -> Terms:
    return Terms(
        category=offering.category,
        kind=offering.kind,
        open_to=offering.open_to,
        publisher_code=offering.publisher_code,
        age_min=offering.age_min,
        age_max=offering.age_max,
        start_date=offering.start_date,
        end_date=offering.end_date,
        application_deadline=offering.application_deadline,
        asylum_seekers=bool(offering.asylum_seekers),
        swedish_level_min=offering.swedish_level_min,
        municipality_code=offering.municipality_code,
        schedule=tuple(offering.schedule or ()),
        located=offering.lat is not None and offering.lon is not None,
        status=offering.status,
    )


@lru_cache(maxsize=1)
def seat_names() -> dict[str, str]:
    """Municipality code -> the name of its seat ("0127" -> "Tumba"), for "About 12 km from Tumba"."""
    return {row["code"]: row["seat"] for row in read_municipalities()}


@dataclass(frozen=True)
class Page:
    matches: list[Match]
    total: int
    capped: bool  # more candidates existed than were ranked: `total` is a lower bound


class Matcher:
    def __init__(self, directory: MunicipalityDirectory):
        self.directory = directory
        self._seat_km: dict[str, list[tuple[float, str]]] = {}
        self._seat_map: dict[str, dict[str, float]] = {}
        self._access: dict[tuple[str, date], tuple[float, AgreementAccess]] = {}

    # --- geography -----------------------------------------------------------------------------------------

    def seat_distances(self, home_code: str) -> list[tuple[float, str]]:
        """Every municipality by the distance between its seat and the home seat, nearest first (cached)."""
        cached = self._seat_km.get(home_code)
        if cached is None:
            home = self.directory.places.get(home_code)
            if home is None:
                return []
            cached = sorted(
                (haversine_km(home.lat, home.lon, place.lat, place.lon), code)
                for code, place in self.directory.places.items()
            )
            self._seat_km[home_code] = cached
        return cached

    def seat_km(self, home_code: str, code: str) -> float | None:
        home, there = self.directory.places.get(home_code), self.directory.places.get(code)
        if home is None or there is None:
            return None
        return haversine_km(home.lat, home.lon, there.lat, there.lon)

    def distance_km(self, offering: Any, home) -> float | None:
        """From the seat of the person's municipality to the offering (or its municipality's seat); None for a
        distance course."""
        if offering.lat is not None and offering.lon is not None:
            target = (offering.lat, offering.lon)
        elif "distance" in (offering.schedule or ()):
            return None
        else:
            place = self.directory.places.get(offering.municipality_code)
            target = (place.lat, place.lon) if place else None
        if home is None or target is None:
            return None
        return haversine_km(home.lat, home.lon, *target)

    # --- the pre-filter ------------------------------------------------------------------------------------
    #
    # Two statements at most. The first reads the person's own municipality and the distance courses, one
    # category at a time, straight from the matching index in start order ("arms", each cut at :k rows). If
    # the best :k by the proxy are then nearer than any other municipality, that is all; otherwise the second
    # reads the other municipalities within reach and keeps their best :k. Both only narrow what the rules
    # would allow (tests/test_matching.py checks that the pre-filter never excludes an eligible offering).

    @staticmethod
    def band(person: Attendee, km: float) -> float:
        """The proxy's distance part for a municipality whose seat is `km` away (as the score counts it)."""
        return km + BEYOND_TRAVEL_WEIGHT * max(0.0, km - travel_limit_km(person))

    def remote_band(self, person: Attendee) -> float:
        return 0.0 if "distance" in person.schedule else DISTANCE_COURSE_RANK_KM

    def _shared(self, dialect: str, person: Attendee) -> list[str]:
        """Conditions every part of the pre-filter has: status, dates, residence, age, Swedish level."""
        shared = [
            "status = 'active'",
            "(end_date IS NULL OR end_date >= :today)",
            "(application_deadline IS NULL OR application_deadline >= :today)",
            "(publisher_code = :home OR open_to = 'everyone'"
            " OR (open_to = 'agreement' AND publisher_code IN :partners))",
        ]
        if person.birth_year is not None:
            year = (
                "EXTRACT(YEAR FROM start_date)" if dialect == "postgresql" else "strftime('%Y', start_date)"
            )
            shared += [
                "(age_min IS NULL OR age_min <= :age_now OR (start_date IS NOT NULL AND "
                f"age_min <= CAST({year} AS INTEGER) - :birth_year))",
                "(age_max IS NULL OR age_max >= :age_now)",
            ]
        if person.swedish_level is not None:
            shared.append("(swedish_level_min IS NULL OR swedish_level_min IN :levels)")
        return shared

    @staticmethod
    def _days(dialect: str) -> str:
        if dialect == "postgresql":
            return "(start_date - CAST(:today AS DATE))"
        return "CAST(julianday(start_date) - julianday(:today) AS INTEGER)"

    @staticmethod
    def _asylum(person: Attendee, categories: Sequence[str]) -> str | None:
        """An asylum seeker: only offerings open to asylum seekers (and school, for a child)."""
        if person.permit_status != "asylum":
            return None
        if person.child and any(c in SCHOOL for c in categories):
            return None
        return "asylum_seekers"

    def home_sql(self, dialect: str, person: Attendee, categories: Sequence[str]) -> str:
        """The person's own municipality, per category in start order (three index ranges: continuous intake,
        already running, later), and distance courses (few: those open to everyone, and those published by
        the person's municipality or its partners)."""
        shared = self._shared(dialect, person)
        asylum = [self._asylum(person, categories)] if self._asylum(person, categories) else []
        wait = self._wait(dialect)
        band = "CAST(:home_band AS DOUBLE PRECISION) AS band"
        remote = "CAST(:remote_band AS DOUBLE PRECISION) AS band"
        parts = []
        for i in range(len(categories)):
            home = " AND ".join([*shared, f"category = :c{i}", "municipality_code = :home", *asylum])
            for name, when in (("c", "start_date IS NULL"), ("s", "start_date <= :today")):
                parts.append(
                    f"SELECT * FROM (SELECT id, {band}, 0 AS wait FROM offerings WHERE {home} AND {when}"
                    f" LIMIT :k) AS {name}{i}"
                )
            parts.append(
                f"SELECT * FROM (SELECT id, {band}, {self._days(dialect)} AS wait FROM offerings WHERE {home}"
                f" AND start_date > :today ORDER BY start_date LIMIT :k) AS l{i}"
            )
            for name, access in (
                ("o", "open_to = 'everyone'"),
                ("p", "open_to <> 'everyone' AND publisher_code IN :publishers"),
            ):
                where = " AND ".join([*shared, f"category = :c{i}", "lat IS NULL", access, *asylum])
                parts.append(
                    f"SELECT * FROM (SELECT id, {remote}, {wait} AS wait FROM offerings WHERE {where}"
                    f" ORDER BY wait LIMIT :k) AS {name}{i}"
                )
        return (
            f"SELECT id, {PROXY} AS proxy FROM ({' UNION ALL '.join(parts)}) AS u ORDER BY proxy, id LIMIT :k"
        )

    def _wait(self, dialect: str) -> str:
        return f"CASE WHEN start_date IS NULL OR start_date <= :today THEN 0 ELSE {self._days(dialect)} END"

    def rest_sql(self, dialect: str, person: Attendee, categories: Sequence[str], places: int) -> str:
        conditions = [
            *self._shared(dialect, person),
            "category IN :categories",
            "municipality_code IN :places",
        ]
        asylum = self._asylum(person, categories)
        if asylum:
            conditions.append(asylum)
        bands = " ".join(f"WHEN :p{i} THEN CAST(:b{i} AS DOUBLE PRECISION)" for i in range(places))
        wait = self._wait(dialect)
        inner = (
            f"SELECT id, CASE municipality_code {bands} ELSE 9999 END AS band, {wait} AS wait FROM offerings"
            f" WHERE {' AND '.join(conditions)}"
        )
        return f"SELECT id, {PROXY} AS proxy FROM ({inner}) AS u ORDER BY proxy, id LIMIT :k"

    def _params(self, person: Attendee, access: AgreementAccess, today: date, limit: int) -> dict:
        partners = sorted(access.all_partners(access.by_kind) - {person.municipality_code})
        params: dict[str, Any] = {
            "today": today,
            "home": person.municipality_code,
            "k": limit + 1,
            "partners": _padded(partners),
            "publishers": _padded([person.municipality_code, *partners]),
            "home_band": 0.0,
            "remote_band": self.remote_band(person),
        }
        if person.birth_year is not None:
            params.update(age_now=today.year - person.birth_year, birth_year=person.birth_year)
        if person.swedish_level is not None:
            rank = LEVEL_RANK.get(person.swedish_level, 0)
            params["levels"] = _padded([level for level in LEVELS if LEVEL_RANK[level] <= rank], len(LEVELS))
        return params

    def categories_for(self, person: Attendee, categories: Sequence[str]) -> list[str]:
        """Categories no rule closes for this person as a whole (SFI once it is finished)."""
        finished = LEVEL_RANK.get(person.swedish_level or "none", 0) >= LEVEL_RANK["sfi-finished"]
        return [c for c in categories if not (c == "sfi" and finished)]

    async def candidate_ids(
        self,
        session: AsyncSession,
        person: Attendee,
        categories: Sequence[str],
        access: AgreementAccess,
        today: date,
        limit: int = CANDIDATES,
    ) -> tuple[list[int], bool]:
        """The best `limit` offering ids by the proxy (exactly), and whether more may exist."""
        categories = self.categories_for(person, categories)
        if not categories:
            return [], False
        connection = await session.connection()
        dialect = connection.dialect.name
        params = self._params(person, access, today, limit)
        home = _statement(self.home_sql(dialect, person, categories), person.swedish_level is not None)
        values = {**params, **{f"c{i}": category for i, category in enumerate(categories)}}
        found = {row[0]: float(row[1]) for row in (await connection.execute(home, values)).all()}
        reach = too_far_km(person)
        others = [
            (km, code)
            for km, code in self.seat_distances(person.municipality_code)
            if km <= reach and code != person.municipality_code
        ]
        if not others:
            return _best(found, limit), len(found) > limit
        nearest = self.band(person, others[0][0])
        if len(found) >= limit and sorted(found.values())[limit - 1] <= nearest:
            return _best(found, limit), True
        places = _bucket(len(others))
        rest = _statement(
            self.rest_sql(dialect, person, categories, places), person.swedish_level is not None
        )
        values = {**params, "categories": list(categories), "places": _padded([c for _, c in others], places)}
        for i in range(places):
            km, code = others[i] if i < len(others) else (0.0, "")
            values[f"p{i}"], values[f"b{i}"] = code, self.band(person, km)
        for offering_id, proxy in (await connection.execute(rest, values)).all():
            found[offering_id] = min(float(proxy), found.get(offering_id, math.inf))
        return _best(found, limit), len(found) > limit

    async def candidates(
        self,
        session: AsyncSession,
        person: Attendee,
        categories: Sequence[str],
        access: AgreementAccess,
        today: date,
        limit: int = CANDIDATES,
    ) -> tuple[list[Any], bool]:
        """The candidates' rows (by primary key), and whether more may exist."""
        ids, capped = await self.candidate_ids(session, person, categories, access, today, limit)
        if not ids:
            return [], capped
        connection = await session.connection()
        rows = (
            await connection.execute(_BY_ID, {"ids": [*ids, *[0] * (_bucket(len(ids) + 1) - len(ids))]})
        ).all()
        return rows, capped

    # --- matching ------------------------------------------------------------------------------------------

    async def access(self, session: AsyncSession, municipality_code: str, today: date) -> AgreementAccess:
        """The person's agreements, kept for a few minutes (agreements change with a release, not a turn)."""
        key = (municipality_code, today)
        cached = self._access.get(key)
        if cached is not None and time.monotonic() - cached[0] < ACCESS_TTL_S:
            return cached[1]
        access = await agreement_access(session, municipality_code, today)
        if len(self._access) > 1000:
            self._access.clear()
        self._access[key] = (time.monotonic(), access)
        return access

    async def match(
        self,
        session: AsyncSession,
        person: Attendee,
        goal: str,
        today: date,
        *,
        categories: Sequence[str] | None = None,
        access: AgreementAccess | None = None,
    ) -> list[Match]:
        """The offerings for `goal` that the person may attend, best first."""
        return (await self.page(session, person, goal, today, categories=categories, access=access)).matches

    async def page(
        self,
        session: AsyncSession,
        person: Attendee,
        goal: str,
        today: date,
        *,
        categories: Sequence[str] | None = None,
        access: AgreementAccess | None = None,
        limit: int = CANDIDATES,
    ) -> Page:
        """The candidates the pre-filter gives, those the rules allow, ranked exactly."""
        access = access or await self.access(session, person.municipality_code, today)
        categories = categories or GOAL_CATEGORIES.get(goal, ())
        rows, capped = await self.candidates(session, person, categories, access, today, limit)
        seats = self.seat_map(person.municipality_code)
        allowed = []
        for row in rows:
            terms = terms_of(row)
            periods = access.periods(row.kind)
            if verdict(terms, person, periods, today, seats.get(row.municipality_code)).ok:
                allowed.append((row, terms))
        ranked = [
            self._explain(row, terms, person, access, today, goal, _full(row)) for row, terms in allowed
        ]
        ranked.sort(key=lambda item: item[0])
        return Page([match for _, match in ranked], len(ranked), capped)

    def seat_map(self, home_code: str) -> dict[str, float]:
        cached = self._seat_map.get(home_code)
        if cached is None:
            cached = {code: km for km, code in self.seat_distances(home_code)}
            self._seat_map[home_code] = cached
        return cached

    def verdict(self, offering: Any, person: Attendee, access: AgreementAccess, today: date) -> Verdict:
        return verdict(
            terms_of(offering),
            person,
            access.periods(offering.kind),
            today,
            self.seat_map(person.municipality_code).get(offering.municipality_code),
        )

    def allows(self, offering: Any, person: Attendee, access: AgreementAccess, today: date) -> bool:
        return self.verdict(offering, person, access, today).ok

    # --- ranking and reasons -------------------------------------------------------------------------------

    def explain(
        self,
        offering: Any,
        person: Attendee,
        access: AgreementAccess,
        today: date | None = None,
        *,
        goal: str | None = None,
        full: bool = False,
    ) -> Match:
        """The score and reasons of one offering the person may attend."""
        return self._explain(offering, terms_of(offering), person, access, today or date.today(), goal, full)[
            1
        ]

    def _explain(
        self,
        offering: Any,
        terms: Terms,
        person: Attendee,
        access: AgreementAccess,
        today: date,
        goal: str | None,
        full: bool,
    ) -> tuple[tuple, Match]:
        home = self.directory.places.get(person.municipality_code)
        distance = self.distance_km(offering, home)
        access_reason = self._access_reason(offering, person, access)
        score = 0.0
        reasons: list[Reason] = []
        if full:
            score += WAITING_LIST_KM
            reasons.append(Reason("waiting_list"))
        if access_reason.code == "agreement":
            reasons.append(access_reason)
        limit = travel_limit_km(person)
        if distance is None:
            score += self.remote_band(person)
        else:
            score += self.band(person, distance)
        begins = first_day(terms, today)
        score += WAIT_KM_PER_MONTH * min((begins - today).days, 365) / 30
        if offering.category in ADULT_EDUCATION and person.schooling_years is not None:
            bonus = next((km for years, km in SCHOOLING_PRIORITY_KM if person.schooling_years <= years), 0.0)
            score -= bonus
            if person.schooling_years <= LITTLE_SCHOOLING_YEARS:
                reasons.append(Reason("priority"))
        if person.occupations and (
            offering.kind in ("internship", "job") or offering.category == "vocational"
        ):
            found = occupations.of_title(offering.title or {})
            similarity = occupations.similarity(person.occupations, found)
            if similarity:
                score -= OCCUPATION_KM * similarity
                best = next((code for code in found if code in person.occupations), found[0])
                reasons.append(Reason("occupation", {"occupation": occupations.labels(best)}))
        if person.language and person.language != "sv" and person.language in (offering.languages or ()):
            score -= LANGUAGE_SUPPORT_KM
            reasons.append(Reason("language", {"language": person.language}))
        if person.schedule:
            fitting = [s for s in (offering.schedule or ()) if s in person.schedule]
            if fitting:
                reasons.append(Reason("schedule", {"schedule": fitting[0]}))
            else:
                score += SCHEDULE_MISFIT_KM
        if (
            distance is not None
            and distance > limit
            and offering.municipality_code != person.municipality_code
        ):
            reasons.append(Reason("beyond_travel", {"km": round(distance)}))
        score += GOAL_FIT.get((goal or "", offering.category), 0.0)
        if access_reason.code != "agreement":
            reasons.append(access_reason)
        if distance is not None:
            place = seat_names().get(person.municipality_code, self.directory.name(person.municipality_code))
            reasons.append(Reason("distance", {"km": max(1, round(distance)), "place": place}))
        for condition in conditions(terms, person, access.periods(offering.kind)):
            reasons.append(self._condition(condition, offering, access))
        score = round(score, 3)
        match = Match(offering, access_reason, distance, tuple(reasons), score, full)
        return (score, begins, offering.id), match

    def _access_reason(self, offering: Any, person: Attendee, access: AgreementAccess) -> Reason:
        if offering.publisher_code == person.municipality_code:
            return Reason("own_municipality")
        if offering.open_to == "everyone":
            return Reason("everyone")
        return Reason(
            "agreement",
            {
                "municipality": self.directory.name(person.municipality_code),
                "agreement": access.agreement_name(offering.kind, offering.publisher_code),
            },
        )

    def _condition(self, condition: str, offering: Any, access: AgreementAccess) -> Reason:
        if condition == "level":
            return Reason("needs_level", {"level": offering.swedish_level_min})
        if condition == "newcomer":
            link = access.by_kind.get(offering.kind, {}).get(offering.publisher_code)
            return Reason(
                "newcomer",
                {
                    "months": link.newcomer_period_months if link else 0,
                    "agreement": link.short_name if link else {},
                },
            )
        return Reason("needs_permit")


# --- which questions change the result --------------------------------------------------------------------
#
# Learn Swedish must stay short (at most 10 messages from "Hi" to a booking): its first results need only
# the birth year, and everything else is asked after them, as a way to narrow the list down. Study asks the
# Swedish level first when the courses found ask for one (it decides what the person may attend); Work asks
# what work the person has done (it decides the order). A question is offered only while its answer is
# unknown and would change the list.

BEFORE = {"sfi": (), "study": ("swedish_level",), "work": ("occupations",), "school": ()}
AFTER = {
    "sfi": ("permit_status", "schedule", "max_travel_km", "permit_month", "swedish_level"),
    "study": ("schooling_years", "permit_status", "schedule", "max_travel_km", "permit_month"),
    "work": ("permit_status", "swedish_level", "schedule", "max_travel_km", "permit_month"),
    "school": ("max_travel_km", "permit_month"),
}
# Nearer than this, asking how far the person can travel changes nothing.
TRAVEL_QUESTION_KM = 5.0


def changes_result(question: str, person: Attendee, matches: Sequence[Match]) -> bool:
    """Whether answering `question` (unknown for `person`) could change `matches`."""
    codes = {reason.code for match in matches for reason in match.reasons}
    if question == "permit_status":
        return person.permit_status is None and "needs_permit" in codes
    if question == "permit_month":
        return person.permit_month is None and "newcomer" in codes
    if question == "swedish_level":
        return person.swedish_level is None and "needs_level" in codes
    if question == "schedule":
        return not person.schedule and len({tuple(m.offering.schedule or ()) for m in matches}) > 1
    if question == "max_travel_km":
        return person.max_travel_km is None and any(
            (m.distance_km or 0) > TRAVEL_QUESTION_KM for m in matches
        )
    if question == "schooling_years":
        return person.schooling_years is None and any(m.offering.category in ADULT_EDUCATION for m in matches)
    return False


def open_questions(goal: str, person: Attendee, matches: Sequence[Match]) -> tuple[str, ...]:
    """The questions offered after the results ("Fit the list to me")."""
    return tuple(q for q in AFTER.get(goal, ()) if changes_result(q, person, matches))


_MATCHERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def matcher_for(directory: MunicipalityDirectory) -> Matcher:
    """One matcher per directory (per running application), so that its caches outlive a turn."""
    matcher = _MATCHERS.get(directory)
    if matcher is None:
        matcher = _MATCHERS[directory] = Matcher(directory)
    return matcher
