"""The dialogs' matching ports: the person's answers, their list of offerings and why something is not in it.

A part of `bot.services.TurnServices` (which it is mixed into): it uses the turn's session, person and
clock. What the person tells us is kept on their profile; what they type as work experience is matched to
occupation codes here and never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import occupations
from bot.eligibility import LEVEL_RANK, PERMIT_STATUSES, SCHEDULES, SCHOOL, Attendee
from bot.matching import (
    ASYLUM_ALTERNATIVES,
    BEFORE,
    GOAL_CATEGORIES,
    Match,
    Matcher,
    changes_result,
    matcher_for,
    open_questions,
    seat_names,
    terms_of,
)
from bot.models import IntakeRequest, Offering, Person, Profile
from bot.municipalities import MunicipalityDirectory
from dialogs import ports

# Codes kept in `Profile.occupations` that are answers, not occupations.
NO_EXPERIENCE, OTHER_WORK = "none", "other"
ANSWER_KEYS = {
    "permit_status",
    "permit_month",
    "schooling_years",
    "swedish_level",
    "schedule",
    "max_travel_km",
    "occupations",
}
# "Why is a course not shown?": how close a typed name must be to a title.
NAME_SCORE = 70
NAME_MARGIN = 5
GOAL_OF = {category: goal for goal, categories in GOAL_CATEGORIES.items() for category in categories}


class MatchingPorts:
    """Mixed into TurnServices, which provides these attributes."""

    session: AsyncSession
    person_row: Person
    directory: MunicipalityDirectory

    # Provided by TurnServices: the local date, and the person's own profile (made when `create`).
    today: date
    _self_profile: Callable[..., Profile | None]

    @property
    def matcher(self) -> Matcher:
        return matcher_for(self.directory)

    # --- the person's answers ------------------------------------------------------------------------------

    def _children(self) -> list[Profile]:
        return [p for p in self.person_row.profiles if p.kind == "child"]

    async def answers(self) -> ports.Answers:
        own = self._self_profile()
        children = tuple(ports.Child(child.id, child.birth_year) for child in self._children())
        if own is None:
            return ports.Answers(None, None, children=children)
        return ports.Answers(
            municipality_code=own.municipality_code,
            birth_year=own.birth_year,
            permit_status=own.permit_status,
            permit_month=own.permit_month,
            schooling_years=own.schooling_years,
            swedish_level=own.swedish_level,
            occupations=tuple(ports.Occupation(code, _labels(code)) for code in own.occupations or ()),
            schedule=tuple(own.schedule or ()),
            max_travel_km=own.max_travel_km,
            children=children,
        )

    async def set_answer(self, key: str, value: object) -> None:
        if key not in ANSWER_KEYS:
            raise ValueError(f"not an answer: {key}")
        if key == "permit_status" and value not in PERMIT_STATUSES:
            raise ValueError(f"not a permit status: {value}")
        if key == "swedish_level" and value not in LEVEL_RANK:
            raise ValueError(f"not a Swedish level: {value}")
        if key == "schedule":
            value = [s for s in SCHEDULES if s in (value or ())]
        if key == "occupations":
            value = list(value or ())[:3]
        setattr(self._self_profile(create=True), key, value)

    async def remove_child(self, child_id: int) -> None:
        child = next((p for p in self._children() if p.id == child_id), None)
        if child is not None:
            self.person_row.profiles.remove(child)
            await self.session.flush()

    async def find_occupations(self, text: str) -> list[ports.Occupation]:
        return [ports.Occupation(m.code, occupations.labels(m.code)) for m in occupations.find(text)]

    # --- matching ------------------------------------------------------------------------------------------

    def _attendee(self, child_id: int | None) -> Attendee | None:
        own = self._self_profile()
        if own is None or own.municipality_code is None:
            return None
        child = next((p for p in self._children() if p.id == child_id), None) if child_id else None
        if child is not None:
            # A child goes to school in the daytime; the family's permit and month are the child's too.
            return Attendee(
                birth_year=child.birth_year,
                municipality_code=own.municipality_code,
                permit_status=own.permit_status,
                permit_month=own.permit_month,
                max_travel_km=own.max_travel_km,
                language=self.person_row.language,
                child=True,
            )
        return Attendee(
            birth_year=own.birth_year,
            municipality_code=own.municipality_code,
            permit_status=own.permit_status,
            permit_month=own.permit_month,
            swedish_level=own.swedish_level,
            schooling_years=own.schooling_years,
            max_travel_km=own.max_travel_km,
            schedule=tuple(own.schedule or ()),
            language=self.person_row.language,
            occupations=tuple(c for c in own.occupations or () if c not in (NO_EXPERIENCE, OTHER_WORK)),
        )

    def _categories(self, goal: str, person: Attendee) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        """What to look for: the goal's categories, except where a rule closes the goal as a whole."""
        if goal == "sfi" and person.permit_status == "asylum":
            return ASYLUM_ALTERNATIVES, ("asylum",)
        finished = LEVEL_RANK.get(person.swedish_level or "none", 0) >= LEVEL_RANK["sfi-finished"]
        if goal == "sfi" and finished:
            return GOAL_CATEGORIES["study"], ("sfi_finished",)
        return None, ()

    async def _page(self, goal: str, person: Attendee):
        categories, notes = self._categories(goal, person)
        page = await self.matcher.page(self.session, person, goal, self.today, categories=categories)
        return page, notes

    async def match(self, goal: str, child_id: int | None, offset: int, limit: int) -> ports.MatchPage:
        person = self._attendee(child_id)
        if person is None:
            return ports.MatchPage([], 0)
        page, notes = await self._page(goal, person)
        shown = page.matches[offset : offset + limit]
        if shown and all(any(r.code == "needs_permit" for r in m.reasons) for m in shown):
            notes = (*notes, "permit")
        return ports.MatchPage(
            [self._summary(m) for m in shown],
            page.total,
            capped=page.capped,
            questions=open_questions(goal, person, page.matches) if not child_id else (),
            notes=notes,
        )

    async def questions(self, goal: str, child_id: int | None) -> tuple[str, ...]:
        own = self._self_profile()
        person = self._attendee(child_id)
        if person is None or own is None or child_id:
            return ()
        wanted = [q for q in BEFORE.get(goal, ()) if q != "occupations" or not own.occupations]
        if not wanted:
            return ()
        page, _ = await self._page(goal, person)
        return tuple(q for q in wanted if q == "occupations" or changes_result(q, person, page.matches))

    def _summary(self, match: Match) -> ports.OfferingSummary:
        offering = match.offering
        return ports.OfferingSummary(
            id=offering.id,
            title=offering.title,
            category=offering.category,
            place=offering.city or self.directory.name(offering.municipality_code),
            distance_km=None if match.distance_km is None else max(1, round(match.distance_km)),
            start_date=offering.start_date,
            schedule=tuple(offering.schedule or ()),
            reason=match.reason,
            reasons=match.reasons,
            waiting_list=match.waiting_list,
        )

    async def _match_one(self, offering: Offering, child_id: int | None = None) -> Match | None:
        """The offering as a match for the person (or child), or None when a rule keeps them out."""
        person = self._attendee(child_id)
        if offering.status != "active" or person is None:
            return None
        access = await self.matcher.access(self.session, person.municipality_code, self.today)
        if not self.matcher.allows(offering, person, access, self.today):
            return None
        full = False
        if offering.seats is not None:
            taken = await self.session.scalar(
                select(func.count()).where(
                    IntakeRequest.offering_id == offering.id,
                    IntakeRequest.status.in_(("requested", "confirmed")),
                )
            )
            full = (taken or 0) >= offering.seats
        return self.matcher.explain(
            offering, person, access, self.today, goal=GOAL_OF.get(offering.category), full=full
        )

    # --- "Why is a course not shown?" ----------------------------------------------------------------------

    async def find_offerings(self, text: str, limit: int = 3) -> list[ports.OfferingRef]:
        """Offerings in any municipality whose name (with its place) is close to `text`, best first."""
        query = occupations.normalise(text)
        if len(query) < 2:
            return []
        rows = (
            await self.session.execute(
                select(Offering.id, Offering.title, Offering.city, Offering.municipality_code).where(
                    Offering.status == "active"
                )
            )
        ).all()
        keys: list[str] = []
        owners: list[Any] = []
        for row in rows:
            place = row.city or self.directory.name(row.municipality_code)
            for title in {text for text in (row.title or {}).values() if text}:
                keys.append(occupations.normalise(f"{title} {place}"))
                owners.append(row)
        best: dict[int, float] = {}
        for _, score, index in process.extract(query, keys, scorer=fuzz.token_set_ratio, limit=limit * 6):
            if score >= NAME_SCORE:
                best[owners[index].id] = max(score, best.get(owners[index].id, 0.0))
        ranked = sorted(best.items(), key=lambda item: -item[1])
        # Only those about as close as the best: a clear winner comes alone.
        close = [offering_id for offering_id, score in ranked if score >= ranked[0][1] - NAME_MARGIN][:limit]
        rows_by_id = {row.id: row for row in owners}
        return [
            ports.OfferingRef(
                offering_id,
                rows_by_id[offering_id].title,
                rows_by_id[offering_id].city
                or self.directory.name(rows_by_id[offering_id].municipality_code),
            )
            for offering_id in close
        ]

    async def why_not(self, offering_id: int) -> ports.Explanation:
        offering = await self.session.get(Offering, offering_id)
        if offering is None:
            return ports.Explanation({}, "withdrawn")
        own = self._attendee(None)
        if own is None:
            return ports.Explanation(offering.title, "municipality")
        people: list[tuple[int | None, Attendee]] = [(None, own)]
        if offering.category in SCHOOL and self._children():
            people = [(child.id, self._attendee(child.id)) for child in self._children()]
        access = await self.matcher.access(self.session, own.municipality_code, self.today)
        first = None
        for child_id, person in people:
            found = self.matcher.verdict(offering, person, access, self.today)
            if found.ok:
                goal = GOAL_OF.get(offering.category, "study")
                page, _ = await self._page(goal, person)
                ids = [m.offering.id for m in page.matches]
                return ports.Explanation(
                    offering.title,
                    None,
                    goal=goal,
                    position=ids.index(offering.id) + 1 if offering.id in ids else None,
                    child_birth_year=person.birth_year if child_id else None,
                )
            first = first or found
        return ports.Explanation(offering.title, first.rule, self._why_params(offering, first, own, access))

    def _why_params(self, offering: Offering, found, person: Attendee, access) -> dict:
        """What the explanation of rule `found.rule` says: names, not codes."""
        params = {
            k: v for k, v in found.params.items() if isinstance(v, int | str) and not isinstance(v, bool)
        }
        params["municipality"] = self.directory.name(offering.publisher_code)
        params["home"] = self.directory.name(person.municipality_code)
        params["place"] = seat_names().get(person.municipality_code, params["home"])
        if found.rule == "newcomer_period":
            params["agreement"] = access.agreement_name(offering.kind, offering.publisher_code)
        if found.rule in ("adult_age", "upper_secondary_age", "school_age", "offering_age"):
            ages = found.params.get("school_ages") or (None, None)
            params.update(
                from_age=found.params.get("from_age") or 0,
                age_min=found.params.get("age_min") if found.params.get("age_min") is not None else ages[0],
                age_max=found.params.get("age_max") if found.params.get("age_max") is not None else ages[1],
            )
        if found.rule == "too_far":
            params["km"] = round(found.params.get("km") or 0)
        if found.rule in ("ended", "deadline") and found.params.get("date"):
            params["date"] = found.params["date"]
        if found.rule == "swedish_level":
            params["level"] = offering.swedish_level_min
        params["open_to"] = offering.open_to
        params["category"] = terms_of(offering).category
        return params


def _labels(code: str) -> dict[str, str]:
    return {} if code in (NO_EXPERIENCE, OTHER_WORK) else occupations.labels(code)
