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
    asylum_ok,
    conditions,
    eligible,
    months_since,
    newcomer_period_ok,
    offering_age_ok,
    school_age_ok,
    sfi_needed_ok,
    still_open,
    swedish_level_ok,
    upper_secondary_age_ok,
    verdict,
    within_reach,
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


# --- SFI: from 1 July of the year the person turns 16 (SL 20 kap. 31 §) -------------------------------------


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


# --- Municipal adult education: from 1 July of the year the person turns 20 (SL 20 kap. 11 §, 20 §) ---------


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


# --- Upper-secondary school: must start before 1 July of the year the person turns 20 -----------------------


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


# --- Preschool class and compulsory school (SL 7 kap. 10-12 §§) ---------------------------------------------

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


# --- The offering's own age bounds, in the age reached during the year it starts ----------------------------


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


# --- Still open: not over, application deadline not passed --------------------------------------------------


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


# --- Residence rule: own municipality, agreement partners, everyone -----------------------------------------


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


# --- Unknown age --------------------------------------------------------------------------------------------


def test_not_eligible_without_a_birth_year() -> None:
    """Every age rule needs the birth year: without it nothing is offered, not even an offering without age
    rules."""
    terms = _terms()
    assert eligible(terms, Attendee(1990, HOME), PARTNERS, TODAY) is True
    assert eligible(terms, Attendee(None, HOME), PARTNERS, TODAY) is False


# --- The agreement's newcomer period (per agreement, months since the permit) -------------------------------

PERIOD = {HOME: None, PARTNER: 36}


def test_months_since_counts_calendar_months() -> None:
    assert months_since(date(2026, 11, 1), TODAY) == 0
    assert months_since(date(2023, 12, 1), TODAY) == 35
    assert months_since(date(2023, 11, 1), TODAY) == 36


@pytest.mark.parametrize(
    ("permit", "expected"),
    [(date(2023, 12, 1), True), (date(2023, 11, 1), False)],
    ids=["35-months-after-permit", "36-months-after-permit"],
)
def test_newcomer_period_of_the_agreement(permit: date, expected: bool) -> None:
    """The agreement opens a partner's offerings for `newcomer_period_months` (36) after the permit."""
    terms = _terms(open_to="agreement", publisher_code=PARTNER)
    person = Attendee(1990, HOME, permit_month=permit)
    assert newcomer_period_ok(terms, person, PERIOD, TODAY) is expected
    assert eligible(terms, person, PERIOD, TODAY) is expected


@pytest.mark.parametrize(
    ("open_to", "publisher"),
    [("agreement", HOME), ("municipality", HOME), ("everyone", PARTNER)],
    ids=["own-agreement-offering", "own-residents-offering", "partner-offering-open-to-everyone"],
)
def test_newcomer_period_leaves_own_and_open_offerings_alone(open_to: str, publisher: str) -> None:
    """Beyond the period only the agreement route closes: own-municipality and open offerings stay."""
    terms = _terms(open_to=open_to, publisher_code=publisher)
    long_ago = Attendee(1990, HOME, permit_month=date(2015, 1, 1))
    assert newcomer_period_ok(terms, long_ago, PERIOD, TODAY) is True
    assert eligible(terms, long_ago, PERIOD, TODAY) is True


def test_newcomer_period_unknown_month_or_no_period_does_not_exclude() -> None:
    terms = _terms(open_to="agreement", publisher_code=PARTNER)
    assert eligible(terms, Attendee(1990, HOME), PERIOD, TODAY) is True
    assert "newcomer" in conditions(terms, Attendee(1990, HOME), PERIOD)
    unlimited = {HOME: None, PARTNER: None}
    assert eligible(terms, Attendee(1990, HOME, permit_month=date(2000, 1, 1)), unlimited, TODAY) is True


def test_the_most_generous_agreement_is_the_one_given() -> None:
    """Partners are given with the period of their most generous agreement; a plain set means no period."""
    terms = _terms(open_to="agreement", publisher_code=PARTNER)
    person = Attendee(1990, HOME, permit_month=date(2015, 1, 1))
    assert eligible(terms, person, {PARTNER}, TODAY) is True


# --- Asylum seekers only where the offering allows; children seeking asylum go to school --------------------


@pytest.mark.parametrize(
    ("status", "allowed", "expected"),
    [
        ("asylum", False, False),
        ("asylum", True, True),
        ("temporary", False, True),
        ("permanent", False, True),
        ("other", False, True),
        (None, False, True),
    ],
    ids=["asylum-not-allowed", "asylum-allowed", "temporary", "permanent", "other", "not-told"],
)
def test_asylum_seekers_only_where_the_offering_allows(status, allowed: bool, expected: bool) -> None:
    """SL 20 kap. 31 §: SFI needs residence; asylum seekers are not residents (only where the state pays)."""
    terms = _terms(category="sfi", asylum_seekers=allowed)
    person = Attendee(1990, HOME, permit_status=status)
    assert asylum_ok(terms, person, TODAY) is expected
    assert eligible(terms, person, PARTNERS, TODAY) is expected


@pytest.mark.parametrize(
    ("category", "birth_year", "expected"),
    [
        ("compulsory-school", 2016, True),
        ("language-introduction", 2009, True),
        ("language-introduction", 2008, False),
    ],
    ids=["school-child", "turns-18-in-start-year", "turns-19-in-start-year"],
)
def test_children_seeking_asylum_have_the_right_to_school(category: str, birth_year: int, expected) -> None:
    """SL 29 kap. 2-3 §§: asylum-seeking children count as residents for school; upper-secondary school if
    they start it before they turn 18 (by birth year: at most 18 in the start year, 2027)."""
    terms = _terms(category=category, kind="school", asylum_seekers=False, start_date=date(2027, 8, 16))
    child = Attendee(birth_year, HOME, permit_status="asylum", child=True)
    assert asylum_ok(terms, child, TODAY) is expected


# --- Swedish level: the offering's entry requirement, and SFI only until it is finished ---------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [("sfi-c", True), ("sfi-b", False), ("upper", True), ("none", False), (None, True)],
    ids=["exactly-sfi-c", "one-below", "far-above", "none", "not-told"],
)
def test_swedish_level_prerequisite(level, expected: bool) -> None:
    """Order: none < sfi-a < sfi-b < sfi-c < sfi-d < sfi-finished < basic < upper."""
    terms = _terms(category="vocational", swedish_level_min="sfi-c")
    person = Attendee(1990, HOME, swedish_level=level)
    assert swedish_level_ok(terms, person) is expected
    assert eligible(terms, person, PARTNERS, TODAY) is expected


@pytest.mark.parametrize(
    ("level", "expected"), [("sfi-d", True), ("sfi-finished", False)], ids=["sfi-d", "sfi-finished"]
)
def test_sfi_is_for_those_who_have_not_finished_it(level: str, expected: bool) -> None:
    """SL 20 kap. 31 §: SFI is for those lacking basic Swedish."""
    terms = _terms(category="sfi")
    person = Attendee(1990, HOME, swedish_level=level)
    assert sfi_needed_ok(terms, person) is expected
    assert eligible(terms, person, PARTNERS, TODAY) is expected


# --- Reach: clearly too far is not shown (twice the distance the person can travel) -------------------------


@pytest.mark.parametrize(
    ("seat_km", "expected"), [(30.0, True), (30.1, False)], ids=["twice-the-limit", "just-beyond"]
)
def test_clearly_too_far_is_not_shown(seat_km: float, expected: bool) -> None:
    terms = _terms(municipality_code=PARTNER, publisher_code=PARTNER)
    person = Attendee(1990, HOME, max_travel_km=15)
    assert within_reach(terms, person, seat_km) is expected
    assert eligible(terms, person, PARTNERS, TODAY, seat_km) is expected


def test_distance_courses_and_the_own_municipality_are_always_within_reach() -> None:
    person = Attendee(1990, HOME, max_travel_km=5)
    remote = _terms(municipality_code=OUTSIDER, schedule=("distance",), located=False)
    at_home = _terms(municipality_code=HOME)
    assert within_reach(remote, person, 500.0) and within_reach(at_home, person, 80.0)
    mixed = _terms(municipality_code=OUTSIDER, schedule=("day", "distance"), located=True)
    assert not within_reach(mixed, person, 500.0), "a course with a place to go to is measured"


# --- The verdict names the first rule that keeps a person out -----------------------------------------------


@pytest.mark.parametrize(
    ("terms", "person", "rule"),
    [
        (_terms(status="withdrawn"), Attendee(1990, HOME), "withdrawn"),
        (_terms(end_date=date(2026, 1, 1)), Attendee(1990, HOME), "ended"),
        (_terms(application_deadline=date(2026, 11, 1)), Attendee(1990, HOME), "deadline"),
        (_terms(open_to="municipality", publisher_code=PARTNER), Attendee(1990, HOME), "residence"),
        (
            _terms(open_to="agreement", publisher_code=PARTNER),
            Attendee(1990, HOME, permit_month=date(2020, 1, 1)),
            "newcomer_period",
        ),
        (_terms(), Attendee(None, HOME), "birth_year"),
        (_terms(category="sfi"), Attendee(2015, HOME), "adult_age"),
        (_terms(category="language-introduction"), Attendee(1990, HOME), "upper_secondary_age"),
        (_terms(category="compulsory-school"), Attendee(1990, HOME), "school_age"),
        (_terms(age_max=30), Attendee(1990, HOME), "offering_age"),
        (_terms(category="sfi"), Attendee(1990, HOME, permit_status="asylum"), "asylum"),
        (_terms(category="sfi"), Attendee(1990, HOME, swedish_level="upper"), "sfi_finished"),
        (_terms(swedish_level_min="basic"), Attendee(1990, HOME, swedish_level="sfi-a"), "swedish_level"),
        (_terms(municipality_code=OUTSIDER), Attendee(1990, HOME), "too_far"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_verdict_names_the_rule(terms: Terms, person: Attendee, rule: str) -> None:
    found = verdict(terms, person, {HOME: None, PARTNER: 36}, TODAY, seat_km=600.0)
    assert found.rule == rule and not found.ok


def test_verdict_allows_when_every_rule_holds() -> None:
    assert verdict(_terms(), Attendee(1990, HOME), PARTNERS, TODAY, seat_km=1.0).ok


def test_conditions_name_what_the_person_has_not_told_yet() -> None:
    terms = _terms(category="vocational", swedish_level_min="sfi-c", asylum_seekers=False)
    assert conditions(terms, Attendee(1990, HOME), PARTNERS) == ("permit", "level")
    told = Attendee(1990, HOME, permit_status="temporary", swedish_level="sfi-d")
    assert conditions(terms, told, PARTNERS) == ()
    school = _terms(category="compulsory-school", kind="school")
    assert conditions(school, Attendee(2016, HOME, child=True), PARTNERS) == ()
