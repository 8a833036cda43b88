"""Matching a profile to the offerings it may attend, nearest and soonest first, with the reason for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.eligibility import Attendee, Terms, eligible
from bot.models import Agreement, AgreementMember, Offering
from bot.municipalities import MunicipalityDirectory, haversine_km
from dialogs.ports import Reason

GOAL_CATEGORIES = {
    "sfi": ("sfi",),
    "study": ("komvux-basic", "komvux-upper", "vocational", "civic-orientation"),
    "work": ("internship", "job"),
    "school": ("preschool-class", "compulsory-school", "language-introduction", "upper-secondary"),
}
# A distance course is ranked as if it were this far away: near enough to show, after the close ones.
DISTANCE_COURSE_RANK_KM = 15.0


@dataclass(frozen=True)
class Match:
    offering: Offering
    reason: Reason
    distance_km: float | None


@dataclass(frozen=True)
class AgreementAccess:
    """Per kind of offering: the municipalities whose offerings the person may use, and by which agreement."""

    by_kind: dict[str, dict[str, dict]]

    def partners(self, kind: str) -> set[str]:
        return set(self.by_kind.get(kind, {}))

    def agreement_name(self, kind: str, publisher_code: str) -> dict:
        return self.by_kind.get(kind, {}).get(publisher_code, {})


async def agreement_access(session: AsyncSession, municipality_code: str, today: date) -> AgreementAccess:
    agreements = (
        (
            await session.scalars(
                select(Agreement)
                .join(AgreementMember)
                .where(AgreementMember.municipality_code == municipality_code)
            )
        )
        .unique()
        .all()
    )
    by_kind: dict[str, dict[str, dict]] = {}
    for agreement in agreements:
        if (agreement.valid_from and agreement.valid_from > today) or (
            agreement.valid_to and agreement.valid_to < today
        ):
            continue
        members = (
            await session.scalars(
                select(AgreementMember.municipality_code).where(AgreementMember.agreement_id == agreement.id)
            )
        ).all()
        for kind in agreement.kinds:
            for code in members:
                by_kind.setdefault(kind, {}).setdefault(code, agreement.short_name)
    return AgreementAccess(by_kind)


def terms_of(offering: Offering) -> Terms:
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
    )


class Matcher:
    def __init__(self, directory: MunicipalityDirectory):
        self.directory = directory

    async def match(self, session: AsyncSession, person: Attendee, goal: str, today: date) -> list[Match]:
        """Every offering for `goal` that the person may attend, best first."""
        access = await agreement_access(session, person.municipality_code, today)
        publishers = {person.municipality_code} | set().union(*(access.partners(k) for k in access.by_kind))
        query = select(Offering).where(
            Offering.category.in_(GOAL_CATEGORIES.get(goal, ())),
            Offering.status == "active",
            or_(Offering.end_date.is_(None), Offering.end_date >= today),
            or_(Offering.open_to == "everyone", Offering.publisher_code.in_(publishers)),
        )
        matches = [
            self.explain(offering, person, access)
            for offering in (await session.scalars(query)).unique().all()
            if self.allows(offering, person, access, today)
        ]
        return sorted(matches, key=_rank)

    def allows(self, offering: Offering, person: Attendee, access: AgreementAccess, today: date) -> bool:
        return eligible(terms_of(offering), person, access.partners(offering.kind), today)

    def explain(self, offering: Offering, person: Attendee, access: AgreementAccess) -> Match:
        home = self.directory.places.get(person.municipality_code)
        return Match(offering, self._reason(offering, person, access), self.distance_km(offering, home))

    def _reason(self, offering: Offering, person: Attendee, access: AgreementAccess) -> Reason:
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

    def distance_km(self, offering: Offering, home) -> float | None:
        """From the seat of the person's municipality to the offering (or its municipality's seat)."""
        if offering.lat is not None and offering.lon is not None:
            target = (offering.lat, offering.lon)
        elif "distance" in offering.schedule:
            return None
        else:
            place = self.directory.places.get(offering.municipality_code)
            target = (place.lat, place.lon) if place else None
        if home is None or target is None:
            return None
        return haversine_km(home.lat, home.lon, *target)


def _rank(match: Match) -> tuple:
    distance = DISTANCE_COURSE_RANK_KM if match.distance_km is None else match.distance_km
    return (round(distance), match.offering.start_date or date.min, match.offering.id)
