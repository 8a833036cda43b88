"""Who may attend what: small named rules, each one a pure function.

Ages follow the Swedish Education Act (skollagen 2010:800) as commonly summarised; where the law speaks of
"the second half of the calendar year the person turns N", a birth year is all that is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Attendee:
    birth_year: int | None
    municipality_code: str


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


def age_in_year(birth_year: int, on: date) -> int:
    """The age the person reaches during the calendar year of `on`."""
    return on.year - birth_year


def first_day(terms: Terms, today: date) -> date:
    """The day the person would begin: the start date, or today for continuous intake."""
    return max(terms.start_date, today) if terms.start_date else today


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


def still_open(terms: Terms, today: date) -> bool:
    """Not over, and the application deadline (if any) not passed."""
    if terms.end_date and terms.end_date < today:
        return False
    return not (terms.application_deadline and terms.application_deadline < today)


def access_ok(terms: Terms, person: Attendee, partners: set[str]) -> bool:
    """Residence rule: `partners` are the municipalities whose residents the person's agreements (for this
    kind of offering) put on an equal footing; the person's own municipality is always one of them."""
    if terms.open_to == "everyone":
        return True
    if terms.open_to == "municipality":
        return terms.publisher_code == person.municipality_code
    return terms.publisher_code == person.municipality_code or terms.publisher_code in partners


AGE_RULES = (adult_age_ok, upper_secondary_age_ok, school_age_ok, offering_age_ok)


def eligible(terms: Terms, person: Attendee, partners: set[str], today: date) -> bool:
    if not still_open(terms, today) or not access_ok(terms, person, partners):
        return False
    if person.birth_year is None:
        return False
    return all(rule(terms, person.birth_year, today) for rule in AGE_RULES)
