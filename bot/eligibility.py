"""Who may attend what: small named rules, each one a pure function.

Ages follow the Swedish Education Act (skollagen 2010:800, "SL") as commonly summarised; where the law speaks
of "the second half of the calendar year the person turns N", a birth year is all that is needed.

What the person has not told us yet (permit, Swedish level, month of the permit) never excludes an offering:
the offering is shown, and its condition is shown beside it (see `conditions`). What the person has told us
is applied strictly. `verdict` runs every rule in a fixed order and names the first one that fails; that
name is what "Why is a course not shown?" answers with, so the answer and the list can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

ADULT_FROM_AGE = {
    # SFI: from the second half of the year the person turns 16 (SL 20 kap. 31 §).
    "sfi": 16,
    # Municipal adult education, basic level: from the second half of the year they turn 20 (SL 20 kap. 11 §).
    "komvux-basic": 20,
    # Upper-secondary level adult education and vocational courses: likewise 20 (SL 20 kap. 20 §).
    "komvux-upper": 20,
    "vocational": 20,
}
# Upper-secondary school, including the language-introduction programme, must start before the end of the
# first half of the year the person turns 20 (SL 15 kap. 5 § and 17 kap. 3 §).
UPPER_SECONDARY = {"upper-secondary", "language-introduction"}
# Preschool class from the autumn of the year a child turns 6; compulsory school from the year it turns 7
# until the ninth year is done, at the latest the spring of the year it turns 16-17 (SL 7 kap. 10-12 §§).
SCHOOL_AGE_RANGE = {"preschool-class": (6, 6), "compulsory-school": (7, 16)}
SCHOOL = {"preschool-class", "compulsory-school", *UPPER_SECONDARY}
# Adult education that must give priority to those with the least schooling (SL 20 kap. 2 § and 23 §).
ADULT_EDUCATION = {"komvux-basic", "komvux-upper", "vocational"}

# Swedish, from none at all to upper-secondary level; an offering's `swedish_level_min` is one of these.
LEVELS = ("none", "sfi-a", "sfi-b", "sfi-c", "sfi-d", "sfi-finished", "basic", "upper")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
PERMIT_STATUSES = ("permanent", "temporary", "asylum", "other")
SCHEDULES = ("day", "evening", "weekend", "distance")

# How far a person can travel when they have not said (km, straight line from their municipality's seat),
# and how many times that distance is "clearly too far": beyond the limit an offering is ranked down, beyond
# the limit times this factor it is not shown at all (unless it is a distance course or in the person's own
# municipality).
DEFAULT_TRAVEL_KM = 40
TOO_FAR_FACTOR = 2


@dataclass(frozen=True)
class Attendee:
    """The person (or child) to be matched. `None` means "not told yet"."""

    birth_year: int | None
    municipality_code: str
    permit_status: str | None = None
    permit_month: date | None = None
    swedish_level: str | None = None
    schooling_years: int | None = None
    max_travel_km: int | None = None
    schedule: tuple[str, ...] = ()
    language: str | None = None
    occupations: tuple[str, ...] = ()
    child: bool = False


@dataclass(frozen=True)
class Terms:
    """What an offering demands, as far as eligibility goes."""

    category: str
    kind: str
    open_to: str
    publisher_code: str
    age_min: int | None
    age_max: int | None
    start_date: date | None
    end_date: date | None
    application_deadline: date | None
    asylum_seekers: bool = False
    swedish_level_min: str | None = None
    municipality_code: str | None = None
    schedule: tuple[str, ...] = ()
    located: bool = True
    status: str = "active"


# publisher code -> the newcomer period (months) of the most generous agreement that opens that publisher's
# offerings to the person (None: no period). A plain set means "partners, no period".
Partners = Mapping[str, int | None] | set[str] | frozenset[str]


def _periods(partners: Partners) -> Mapping[str, int | None]:
    return partners if isinstance(partners, Mapping) else dict.fromkeys(partners)


# --- dates --------------------------------------------------------------------------------------------------


def age_in_year(birth_year: int, on: date) -> int:
    """The age the person reaches during the calendar year of `on`."""
    return on.year - birth_year


def first_day(terms: Terms, today: date) -> date:
    """The day the person would begin: the start date, or today for continuous intake."""
    return max(terms.start_date, today) if terms.start_date else today


def months_since(month: date, today: date) -> int:
    """Whole calendar months from `month` to today: a permit in March 2024 is 0 months old all of March."""
    return (today.year - month.year) * 12 + today.month - month.month


def not_ended(terms: Terms, today: date) -> bool:
    """An offering that ends today may still be chosen today (the offering's own terms)."""
    return not (terms.end_date and terms.end_date < today)


def deadline_ok(terms: Terms, today: date) -> bool:
    """The application deadline, when there is one, is the last day to apply (the offering's own terms)."""
    return not (terms.application_deadline and terms.application_deadline < today)


def still_open(terms: Terms, today: date) -> bool:
    """Not over, and the application deadline (if any) not passed."""
    return terms.status == "active" and not_ended(terms, today) and deadline_ok(terms, today)


# --- age (SL as summarised in DESIGN.md) --------------------------------------------------------------------


def adult_age_ok(terms: Terms, birth_year: int, today: date) -> bool:
    from_age = ADULT_FROM_AGE.get(terms.category)
    if from_age is None:
        return True
    # The right begins on 1 July of the year the person turns `from_age`.
    return first_day(terms, today) >= date(birth_year + from_age, 7, 1)


def upper_secondary_age_ok(terms: Terms, birth_year: int, today: date) -> bool:
    if terms.category not in UPPER_SECONDARY:
        return True
    return first_day(terms, today) < date(birth_year + 20, 7, 1)


def school_age_ok(terms: Terms, birth_year: int, today: date) -> bool:
    bounds = SCHOOL_AGE_RANGE.get(terms.category)
    if bounds is None:
        return True
    return bounds[0] <= age_in_year(birth_year, first_day(terms, today)) <= bounds[1]


def offering_age_ok(terms: Terms, birth_year: int, today: date) -> bool:
    """The offering's own age bounds, in the age reached during the year it starts."""
    age = age_in_year(birth_year, first_day(terms, today))
    return (terms.age_min is None or age >= terms.age_min) and (terms.age_max is None or age <= terms.age_max)


AGE_RULES = (adult_age_ok, upper_secondary_age_ok, school_age_ok, offering_age_ok)


# --- residence and the cooperation agreements ---------------------------------------------------------------


def access_route(terms: Terms, person: Attendee, partners: Partners) -> str | None:
    """How the person may attend: "own" (published by their municipality), "everyone", "agreement" (their
    municipality and the publisher are in an agreement for this kind of offering), or None."""
    if terms.publisher_code == person.municipality_code:
        return "own"
    if terms.open_to == "everyone":
        return "everyone"
    if terms.open_to == "agreement" and terms.publisher_code in _periods(partners):
        return "agreement"
    return None


def access_ok(terms: Terms, person: Attendee, partners: Partners) -> bool:
    """Residence rule: "municipality" admits only the publisher's own residents (e.g. Stockholm's
    language-introduction classes); "agreement" also residents of the municipalities that share a cooperation
    agreement covering this kind of offering with the publisher; "everyone" anyone. `partners` are those
    municipalities; the person's own municipality always counts. Municipalities open services to each other's
    residents by agreement ("avtalssamverkan", kommunallagen 2017:725, 9 kap. 37 §)."""
    return access_route(terms, person, partners) is not None


def newcomer_period_ok(terms: Terms, person: Attendee, partners: Partners, today: date) -> bool:
    """The agreement's newcomer period: through an agreement, a person counts as a newcomer only so many
    months after the residence permit (or arrival). Municipalities define it differently, so it is data: each
    agreement's `newcomer_period_months` (None: no period). The cooperation agreement (DESIGN.md), not the
    Education Act, sets it; offerings of the person's own municipality and those open to everyone are
    unaffected. A month not told yet does not exclude (the condition is shown instead)."""
    if access_route(terms, person, partners) != "agreement" or person.permit_month is None:
        return True
    period = _periods(partners).get(terms.publisher_code)
    return period is None or months_since(person.permit_month, today) < period


# --- the person's situation ---------------------------------------------------------------------------------


def asylum_ok(terms: Terms, person: Attendee, today: date) -> bool:
    """Asylum seekers attend only where the offering says so. They are not residents (folkbokförda), so they
    have no right to SFI or municipal adult education (SL 20 kap. 11 §, 20 §, 31 §: "bosatt i landet").
    Children who seek asylum count as residents for school (SL 29 kap. 2 §), and for upper-secondary school
    when they start it before they turn 18 (SL 29 kap. 3 §; by birth year: at most 18 in the start year)."""
    if person.permit_status != "asylum" or terms.asylum_seekers:
        return True
    if terms.category in SCHOOL and person.birth_year is not None:
        return age_in_year(person.birth_year, first_day(terms, today)) <= 18
    return False


def swedish_level_ok(terms: Terms, person: Attendee) -> bool:
    """The offering's entry requirement in Swedish (none < SFI A-D < SFI finished < basic < upper); a course
    demands what the learner needs to follow it (SL 20 kap. 12 § and 21 §, "förutsättningar att tillgodogöra
    sig utbildningen", as commonly summarised). A level not told yet does not exclude."""
    need = terms.swedish_level_min
    if need in (None, "none") or person.swedish_level is None:
        return True
    return LEVEL_RANK.get(person.swedish_level, 0) >= LEVEL_RANK.get(need, 0)


def sfi_needed_ok(terms: Terms, person: Attendee) -> bool:
    """SFI is for those who lack basic Swedish (SL 20 kap. 31 §): once SFI is finished, SFI courses are no
    longer for them (Swedish as a second language at komvux is the next step)."""
    if terms.category != "sfi" or person.swedish_level is None:
        return True
    return LEVEL_RANK.get(person.swedish_level, 0) < LEVEL_RANK["sfi-finished"]


# --- reach (a practical rule, not the law) ------------------------------------------------------------------


def travel_limit_km(person: Attendee) -> int:
    return person.max_travel_km or DEFAULT_TRAVEL_KM


def too_far_km(person: Attendee) -> float:
    return TOO_FAR_FACTOR * travel_limit_km(person)


def distance_course(terms: Terms) -> bool:
    """Taken from home: no place to go to (the feed leaves out the location), "distance" on the schedule."""
    return not terms.located and "distance" in terms.schedule


def within_reach(terms: Terms, person: Attendee, seat_km: float | None) -> bool:
    """Not clearly too far: `seat_km` is the distance between the seats of the person's municipality and the
    one where the offering is held. Distance courses and offerings held in the person's own municipality are
    always within reach; an unknown distance never excludes."""
    if distance_course(terms) or terms.municipality_code == person.municipality_code or seat_km is None:
        return True
    return seat_km <= too_far_km(person)


# --- all rules, in the order "why not" names them -----------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """`rule` is None when the person may attend, else the first rule that keeps them out."""

    rule: str | None
    params: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rule is None


ALLOWED = Verdict(None)


def verdict(
    terms: Terms, person: Attendee, partners: Partners, today: date, seat_km: float | None = None
) -> Verdict:
    """Every rule, in order; the first that fails is named, with what its explanation needs."""
    if terms.status != "active":
        return Verdict("withdrawn")
    if not not_ended(terms, today):
        return Verdict("ended", {"date": terms.end_date})
    if not deadline_ok(terms, today):
        return Verdict("deadline", {"date": terms.application_deadline})
    if not access_ok(terms, person, partners):
        return Verdict("residence", {"open_to": terms.open_to, "publisher": terms.publisher_code})
    if not newcomer_period_ok(terms, person, partners, today):
        return Verdict("newcomer_period", {"months": _periods(partners).get(terms.publisher_code)})
    if person.birth_year is None:
        return Verdict("birth_year")
    for rule in AGE_RULES:
        if not rule(terms, person.birth_year, today):
            return Verdict(rule.__name__.removesuffix("_ok"), _age_params(terms))
    if not asylum_ok(terms, person, today):
        return Verdict("asylum")
    if not sfi_needed_ok(terms, person):
        return Verdict("sfi_finished")
    if not swedish_level_ok(terms, person):
        return Verdict("swedish_level", {"level": terms.swedish_level_min})
    if not within_reach(terms, person, seat_km):
        return Verdict("too_far", {"km": seat_km})
    return ALLOWED


def _age_params(terms: Terms) -> dict:
    return {
        "from_age": ADULT_FROM_AGE.get(terms.category),
        "school_ages": SCHOOL_AGE_RANGE.get(terms.category),
        "age_min": terms.age_min,
        "age_max": terms.age_max,
    }


def eligible(
    terms: Terms, person: Attendee, partners: Partners, today: date, seat_km: float | None = None
) -> bool:
    return verdict(terms, person, partners, today, seat_km).ok


def conditions(terms: Terms, person: Attendee, partners: Partners) -> tuple[str, ...]:
    """What an offering asks that the person has not told us yet, so it is shown with the condition beside it:
    "permit" (not open to asylum seekers), "level" (a Swedish level), "newcomer" (an agreement's period)."""
    found = []
    if (
        person.permit_status is None
        and not terms.asylum_seekers
        and not (person.child and terms.category in SCHOOL)
    ):
        found.append("permit")
    if person.swedish_level is None and terms.swedish_level_min not in (None, "none"):
        found.append("level")
    if (
        person.permit_month is None
        and access_route(terms, person, partners) == "agreement"
        and _periods(partners).get(terms.publisher_code) is not None
    ):
        found.append("newcomer")
    return tuple(found)
