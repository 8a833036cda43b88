"""The matching questions, "My answers", "Why is a course not shown?" and the reasons on result lines, in the
dialog engine with a fake of its ports (no database)."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs import ports
from dialogs.answers import month_and_year, months_before, permit_age
from dialogs.engine import Context
from dialogs.flows import result_line
from dialogs.i18n import Translator
from dialogs.reasons import explanation_text, line_reasons
from tests.fakes import FakeServices
from tests.test_engine import LOCALES, TZ, Conversation, onboarded

TODAY = date(2026, 11, 27)


async def at_results(goal: str = "1", **fake) -> Conversation:
    c = await onboarded()
    for key, value in fake.items():
        setattr(c.services, key, value)
    c.services.birth_year = 1990
    await c.say("1")
    await c.say(goal)
    return c


async def test_learn_swedish_goes_straight_to_the_results_and_offers_to_fit_the_list() -> None:
    c = await at_results(after=("permit_status", "schedule"))
    assert c.state["step"] == "results"
    assert c.labels[-1] == "Fit the list to me"
    assert (await c.say("5")).startswith("Do you have a residence permit?")
    assert c.labels[-1] == "Skip"
    text = await c.say("2")
    assert text.startswith("When can you take part?") and c.services.answered["permit_status"] == "temporary"
    text = await c.say("2 3")
    assert c.services.answered["schedule"] == ["evening", "weekend"]
    assert text == "5 SFI courses for you:" and "Fit the list to me" not in c.labels


async def test_a_skipped_question_is_not_asked_again_while_fitting_the_list() -> None:
    c = await at_results(after=("permit_status", "schedule"))
    await c.say("5")
    await c.say("5")  # skip the permit
    assert c.state["step"] == "ask_schedule"
    await c.say("5")  # any time
    assert c.services.answered == {"schedule": ["day", "evening", "weekend", "distance"]}
    assert c.state["step"] == "results"


async def test_study_asks_the_swedish_level_before_the_results_when_it_matters() -> None:
    c = await at_results("2", before=("swedish_level",))
    assert c.state["step"] == "ask_level"
    assert c.labels == ["None", "SFI A", "SFI B", "SFI C", "SFI D", "SFI finished", "More than SFI"]
    assert "Skip" not in c.labels, "a question before the results is answered, not skipped"
    text = await c.say("4")
    assert c.services.answered["swedish_level"] == "sfi-c" and text.startswith("5 courses for you")


async def test_work_experience_in_any_words_is_matched_to_an_occupation() -> None:
    c = await at_results("3", before=("occupations",))
    assert c.state["step"] == "ask_experience" and c.labels == ["Skip"]
    text = await c.say("I was a cook for ten years")
    assert text.startswith("Noted: Cook.") and c.services.answered["occupations"] == ["cook"]


async def test_unknown_work_is_noted_as_other_and_skip_as_none() -> None:
    c = await at_results("3", before=("occupations",))
    text = await c.say("astronaut")
    assert text.startswith("I could not match that") and c.services.answered["occupations"] == ["other"]
    c = await at_results("3", before=("occupations",))
    await c.say("1")
    assert c.services.answered["occupations"] == ["none"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 2024", date(2024, 3, 1)),
        ("03/2024", date(2024, 3, 1)),
        ("2024-11", date(2024, 11, 1)),
        ("12 2026", None),
        ("13 2024", None),
        ("2024", None),
        ("3 1890", None),
    ],
)
def test_month_and_year_of_the_permit(text: str, expected) -> None:
    assert month_and_year(text, TODAY) == expected


def test_coarse_permit_answers_are_kept_as_a_month_and_read_back_the_same() -> None:
    for code, months in (("lt1", 6), ("1to2", 18), ("2to3", 30), ("gt3", 48)):
        assert permit_age(months_before(TODAY, months), TODAY) == code


async def test_my_answers_lists_what_is_known_and_changes_one_answer() -> None:
    c = await onboarded()
    c.services.birth_year = 1990
    c.services.children = [2016]
    c.services.answered = {"permit_status": "temporary", "schedule": ["evening"], "occupations": ["cook"]}
    text = await c.say("my answers")
    assert text == "Your answers. Choose one to change it."
    assert c.labels == [
        "Municipality: Botkyrka",
        "Born: 1990",
        "Residence permit: Yes, temporary",
        "Permit or arrival: not told",
        "Swedish: not told",
        "School: not told",
        "Work: Cook",
        "When: Evenings",
        "Travel: not told",
        "Children born: 2016",
        "Back",
    ]
    assert (await c.say("9")).startswith("How far can you travel?")
    assert "Skip" not in c.labels
    text = await c.say("3")
    assert c.services.answered["max_travel_km"] == 30 and text == "Your answers. Choose one to change it."
    await c.say("2")
    text = await c.say("1985")
    assert c.services.birth_year == 1985 and text == "Your answers. Choose one to change it."
    await c.say("10")
    assert c.labels == ["Remove: child born 2016", "Back"]
    text = await c.say("1")
    assert text.startswith("Removed.") and c.services.removed == [1]


async def test_a_known_child_is_chosen_again_or_another_added() -> None:
    c = await onboarded()
    c.services.children = [2016]
    await c.say("1")
    assert (await c.say("4")) == "Which child?"
    assert c.labels == ["Child born 2016", "Another child"]
    await c.say("1")
    assert c.state["step"] == "results" and c.state["vars"]["child"] == 1
    await c.say("menu")
    await c.say("1")
    await c.say("4")
    assert (await c.say("2")).startswith("What year was your child born?")


async def test_why_is_a_course_not_shown() -> None:
    c = await onboarded()
    assert (await c.say("why")) == "Write the name of the course, internship or school."
    text = await c.say("course 1")
    assert text == "Course 1: It is only for residents of Stockholm."
    assert c.labels == ["Ask about another", "Main menu"]
    text = await c.say("course")
    assert text == "Which one do you mean?" and c.labels == [
        "Course 1, Tumba",
        "Course 2, Tumba",
        "None of these",
    ]
    assert (await c.say("2")) == "Course 2: It is only for residents of Stockholm."
    text = await c.say("nothing like it")
    assert text.startswith("I could not find anything with that name.")


# --- the words --------------------------------------------------------------------------------------------


def ctx(language: str = "en") -> Context:
    from datetime import datetime

    return Context(FakeServices(), Translator(LOCALES, language, TZ), datetime(2026, 11, 27, tzinfo=TZ))


def summary(title: str, *reasons: ports.Reason) -> ports.OfferingSummary:
    return ports.OfferingSummary(
        1, {"en": title}, "sfi", "Huddinge", 10, None, ("evening",), reasons[0], reasons=reasons
    )


AGREEMENT = ports.Reason(
    "agreement", {"municipality": "Botkyrka", "agreement": {"en": "the county agreement"}}
)


def test_a_result_line_says_the_one_or_two_most_informative_reasons() -> None:
    item = summary(
        "SFI B",
        ports.Reason("waiting_list"),
        AGREEMENT,
        ports.Reason("language", {"language": "ar"}),
        ports.Reason("distance", {"km": 10, "place": "Tumba"}),
    )
    assert result_line(ctx(), item) == (
        "SFI B, Huddinge (10 km). Waiting list. Open to Botkyrka residents (the county agreement)."
    )
    own = summary("SFI A", ports.Reason("own_municipality"), ports.Reason("language", {"language": "ar"}))
    assert result_line(ctx(), own) == "SFI A, Huddinge (10 km). Support in Arabic."
    assert result_line(ctx("sv"), own) == "SFI A, Huddinge (10 km). Stöd på arabiska."
    plain = summary("SFI A", ports.Reason("own_municipality"))
    assert result_line(ctx(), plain) == "SFI A, Huddinge (10 km). Offered by your municipality."


def test_evening_classes_are_not_said_twice() -> None:
    evening = ports.Reason("schedule", {"schedule": "evening"})
    said = summary("SFI B, evenings", AGREEMENT, evening)
    assert [r.code for r in line_reasons(ctx(), said)] == ["agreement"]
    unsaid = summary("SFI B", AGREEMENT, evening)
    assert result_line(ctx(), unsaid).endswith("(the county agreement). Evening classes.")


@pytest.mark.parametrize(
    ("rule", "params", "text"),
    [
        (
            "residence",
            {"open_to": "municipality", "municipality": "Stockholm"},
            "only for residents of Stockholm",
        ),
        ("deadline", {}, "The application deadline has passed."),
        ("adult_age", {"from_age": 20}, "from July of the year you turn 20"),
        ("school_age", {"age_min": 7, "age_max": 16}, "for ages 7 to 16"),
        ("asylum", {}, "not open to asylum seekers"),
        ("too_far", {"km": 480, "place": "Tumba"}, "about 480 km from Tumba: too far"),
        ("swedish_level", {"level": "sfi-d"}, "It needs Swedish: SFI D."),
        ("newcomer_period", {"agreement": {"en": "the county agreement"}, "months": 36}, "only 36 months"),
    ],
)
def test_why_not_names_the_rule_in_words(rule: str, params: dict, text: str) -> None:
    found = ports.Explanation({"en": "SFI C"}, rule, params)
    assert text in explanation_text(ctx(), found)


def test_why_not_says_where_an_open_offering_is() -> None:
    found = ports.Explanation({"en": "SFI B"}, None, goal="sfi", position=2)
    assert explanation_text(ctx(), found) == (
        "SFI B: It is open to you. It is number 2 in your list under Learn Swedish."
    )
    child = ports.Explanation({"en": "School"}, None, goal="school", child_birth_year=2017)
    assert "open to your child born 2017" in explanation_text(ctx(), child)
