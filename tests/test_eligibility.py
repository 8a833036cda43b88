"""Who may attend what (bot/eligibility.py): each rule with a person just inside and just outside it.

Ages follow the Swedish Education Act (skollagen 2010:800) as DESIGN.md summarises it. Every age test goes
through both the named rule and `eligible`, so a rule that exists but is not applied also fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from bot.eligibility import (
    Attendee,
    Terms,
    access_ok,
    adult_age_ok,
    eligible,
    offering_age_ok,
    school_age_ok,
    still_open,
    upper_secondary_age_ok,
)

HOME = "0127"  # Botkyrka
PARTNER = "0126"  # Huddinge: in the same county agreement
OUTSIDER = "1280"  # Malmö: in no agreement with Botkyrka
PARTNERS = {HOME, PARTNER}
TODAY = date(2026, 11, 27)

Rule = Callable[[Terms, int, date], bool]


def _terms(**changes) -> Terms:
    """An offering with no age rule of its own, open to everyone, always open; `changes` narrow it."""
    base = Terms(
        category="civic-orientation",
        kind="course",
        open_to="everyone",
        publisher_code=HOME,
        age_min=None,
        age_max=None,
        start_date=None,
        end_date=None,
        application_deadline=None,
    )
    return replace(base, **changes)


def _check(rule: Rule, terms: Terms, birth_year: int, today: date, expected: bool) -> None:
    assert rule(terms, birth_year, today) is expected
    assert eligible(terms, Attendee(birth_year, HOME), PARTNERS, today) is expected


# --- SFI: from 1 July of the year the person turns 16 (SL 20 kap. 31 §) ---------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [(date(2027, 6, 30), False), (date(2027, 7, 1), True)],
    ids=["starts-30-june-of-year-turning-16", "starts-1-july-of-year-turning-16"],
)
def test_sfi_from_second_half_of_year_turning_16(start: date, expected: bool) -> None:
    """SL 20 kap. 31 §: SFI from the second half of the year the person turns 16 (born 2011 -> 2027)."""
    _check(adult_age_ok, _terms(category="sfi", start_date=start), 2011, TODAY, expected)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2027, 6, 30), False), (date(2027, 7, 1), True)],
    ids=["asked-30-june", "asked-1-july"],
)
def test_sfi_continuous_intake_counts_from_today(today: date, expected: bool) -> None:
    """SL 20 kap. 31 §, continuous intake (no start date): the person would begin today."""
    _check(adult_age_ok, _terms(category="sfi"), 2011, today, expected)


def test_sfi_already_running_course_counts_from_today() -> None:
    """SL 20 kap. 31 §: a course that started before the person's right began may be joined once it has."""
    running = _terms(category="sfi", start_date=date(2027, 1, 11))
    _check(adult_age_ok, running, 2011, date(2027, 6, 30), False)
    _check(adult_age_ok, running, 2011, date(2027, 7, 1), True)


# --- Municipal adult education: from 1 July of the year the person turns 20 (SL 20 kap. 11 §, 20 §) --------


@pytest.mark.parametrize("category", ["komvux-basic", "komvux-upper", "vocational"])
@pytest.mark.parametrize(
    ("start", "expected"),
    [(date(2027, 6, 30), False), (date(2027, 7, 1), True)],
    ids=["starts-30-june-of-year-turning-20", "starts-1-july-of-year-turning-20"],
)
def test_adult_education_from_second_half_of_year_turning_20(
    category: str, start: date, expected: bool
) -> None:
    """SL 20 kap. 11 § and 20 §: komvux (basic and upper-secondary level, vocational) from the second half of
    the year the person turns 20 (born 2007 -> 2027)."""
    _check(adult_age_ok, _terms(category=category, start_date=start), 2007, TODAY, expected)


@pytest.mark.parametrize("category", ["komvux-basic", "komvux-upper", "vocational"])
def test_adult_education_is_not_open_at_the_sfi_age(category: str) -> None:
    """SL 20 kap. 11 §: turning 16 opens SFI, not komvux (born 2011, start 1 July 2027)."""
    _check(adult_age_ok, _terms(category=category, start_date=date(2027, 7, 1)), 2011, TODAY, False)


# --- Upper-secondary school: must start before 1 July of the year the person turns 20 --------------------


@pytest.mark.parametrize("category", ["upper-secondary", "language-introduction"])
@pytest.mark.parametrize(
    ("start", "expected"),
    [(date(2029, 6, 30), True), (date(2029, 7, 1), False)],
    ids=["starts-30-june-of-year-turning-20", "starts-1-july-of-year-turning-20"],
)
def test_upper_secondary_must_start_in_first_half_of_year_turning_20(
    category: str, start: date, expected: bool
) -> None:
    """SL 15 kap. 5 § and 17 kap. 3 §: upper-secondary school, including the language-introduction programme,
    must start before the end of the first half of the year the person turns 20 (born 2009 -> 2029)."""
    _check(upper_secondary_age_ok, _terms(category=category, start_date=start), 2009, TODAY, expected)


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2029, 6, 30), True), (date(2029, 7, 1), False)],
    ids=["asked-30-june", "asked-1-july"],
)
def test_language_introduction_continuous_intake_counts_from_today(today: date, expected: bool) -> None:
    """SL 17 kap. 3 §, continuous intake: today must be before 1 July of the year the person turns 20."""
    _check(upper_secondary_age_ok, _terms(category="language-introduction"), 2009, today, expected)


# --- Preschool class and compulsory school (SL 7 kap. 10-12 §§) ------------------------------------------

SCHOOL_START = date(2027, 8, 16)


@pytest.mark.parametrize(
    ("birth_year", "expected"),
    [(2022, False), (2021, True), (2020, False)],
    ids=["turns-5", "turns-6", "turns-7"],
)
def test_preschool_class_in_the_year_the_child_turns_6(birth_year: int, expected: bool) -> None:
    """SL 7 kap. 11 §: preschool class from the autumn of the year the child turns 6 (start 2027)."""
    terms = _terms(category="preschool-class", kind="school", start_date=SCHOOL_START)
    _check(school_age_ok, terms, birth_year, TODAY, expected)


@pytest.mark.parametrize(
    ("birth_year", "expected"),
    [(2021, False), (2020, True), (2011, True), (2010, False)],
    ids=["turns-6", "turns-7", "turns-16", "turns-17"],
)
def test_compulsory_school_from_7_to_16(birth_year: int, expected: bool) -> None:
    """SL 7 kap. 10 § and 12 §: compulsory school from the year the child turns 7 to the year it turns 16."""
    terms = _terms(category="compulsory-school", kind="school", start_date=SCHOOL_START)
    _check(school_age_ok, terms, birth_year, TODAY, expected)


# --- The offering's own age bounds, in the age reached during the year it starts -------------------------


@pytest.mark.parametrize(
    ("birth_year", "expected"), [(2009, True), (2010, False)], ids=["turns-18", "turns-17"]
)
def test_offering_age_min(birth_year: int, expected: bool) -> None:
    """An offering's own minimum age (e.g. a vocational course from 18) holds in the year it starts (2027)."""
    terms = _terms(age_min=18, start_date=date(2027, 1, 10))
    _check(offering_age_ok, terms, birth_year, TODAY, expected)


@pytest.mark.parametrize(
    ("birth_year", "expected"), [(2002, True), (2001, False)], ids=["turns-25", "turns-26"]
)
def test_offering_age_max(birth_year: int, expected: bool) -> None:
    """An offering's own maximum age holds in the year it starts (2027)."""
    terms = _terms(age_max=25, start_date=date(2027, 1, 10))
    _check(offering_age_ok, terms, birth_year, TODAY, expected)


# --- Still open: not over, application deadline not passed ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "day", "expected"),
    [
        ("end_date", date(2026, 11, 26), False),
        ("end_date", date(2026, 11, 27), True),
        ("application_deadline", date(2026, 11, 26), False),
        ("application_deadline", date(2026, 11, 27), True),
    ],
    ids=["ended-yesterday", "ends-today", "deadline-yesterday", "deadline-today"],
)
def test_still_open_until_the_end_of_the_last_day(field: str, day: date, expected: bool) -> None:
    """An offering that ends, or whose application deadline falls, today may still be chosen today."""
    terms = _terms(**{field: day})
    assert still_open(terms, TODAY) is expected
    assert eligible(terms, Attendee(1990, HOME), PARTNERS, TODAY) is expected


# --- Residence rule: own municipality, agreement partners, everyone ---------------------------------------


@pytest.mark.parametrize(
    ("open_to", "publisher", "expected"),
    [
        ("municipality", HOME, True),
        ("municipality", PARTNER, False),
        ("municipality", OUTSIDER, False),
        ("agreement", HOME, True),
        ("agreement", PARTNER, True),
        ("agreement", OUTSIDER, False),
        ("everyone", HOME, True),
        ("everyone", PARTNER, True),
        ("everyone", OUTSIDER, True),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_access_by_residence(open_to: str, publisher: str, expected: bool) -> None:
    """Residence: "municipality" (own residents only) admits the publisher's residents; "agreement" also
    residents of municipalities in an agreement with it; "everyone" anyone."""
    terms = _terms(open_to=open_to, publisher_code=publisher)
    person = Attendee(1990, HOME)
    assert access_ok(terms, person, PARTNERS) is expected
    assert eligible(terms, person, PARTNERS, TODAY) is expected


def test_agreement_offering_admits_own_residents_without_any_agreement() -> None:
    """The person's own municipality always counts, even when no agreement lists partners for this kind."""
    terms = _terms(open_to="agreement", publisher_code=HOME)
    assert access_ok(terms, Attendee(1990, HOME), set()) is True
    assert access_ok(terms, Attendee(1990, PARTNER), set()) is False


# --- Unknown age -------------------------------------------------------------------------------------------


def test_not_eligible_without_a_birth_year() -> None:
    """Every age rule needs the birth year: without it nothing is offered, not even an offering without age
    rules."""
    terms = _terms()
    assert eligible(terms, Attendee(1990, HOME), PARTNERS, TODAY) is True
    assert eligible(terms, Attendee(None, HOME), PARTNERS, TODAY) is False
