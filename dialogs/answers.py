"""What matching needs to know, asked one question at a time, each answered by a digit; "My answers" to
review and change them; "Why is a course not shown?".

Which questions are asked, and when, is decided in bot/ (the answer must change the list): a few before the
first results (`Services.questions`), the rest after them on "Fit the list to me" (`MatchPage.questions`).
`turn.vars["asking"]` is where a question was asked from: "before" (then the results), "narrow" (then the
results again) or "change" (then "My answers").
"""

from __future__ import annotations

import re
from datetime import date

from dialogs.engine import Answer, Context, Prompt, Turn, step
from dialogs.i18n import N_
from dialogs.languages import pick_text
from dialogs.model import Choice, Expect
from dialogs.ports import Answers
from dialogs.reasons import explanation_text, level_name
from dialogs.text import fold, has_words

QUESTION_STEPS = {
    "permit_status": "ask_permit",
    "permit_month": "ask_permit_month",
    "swedish_level": "ask_level",
    "schooling_years": "ask_schooling",
    "schedule": "ask_schedule",
    "max_travel_km": "ask_travel",
    "occupations": "ask_experience",
}
PERMITS = {
    "permanent": N_("Yes, permanent"),
    "temporary": N_("Yes, temporary"),
    "asylum": N_("No, I am seeking asylum"),
    "other": N_("Other"),
}
# How long ago the permit came, as a choice, and the month that is stored for it (months ago).
PERMIT_AGES = {
    "lt1": (N_("Less than a year ago"), 6),
    "1to2": (N_("1-2 years ago"), 18),
    "2to3": (N_("2-3 years ago"), 30),
    "gt3": (N_("More than 3 years ago"), 48),
}
LEVEL_CHOICES = ("none", "sfi-a", "sfi-b", "sfi-c", "sfi-d", "sfi-finished", "basic")
SCHOOLING = {6: N_("0-6 years"), 9: N_("7-9 years"), 12: N_("10-12 years"), 15: N_("More than 12 years")}
SCHEDULE_CHOICES = {
    "day": N_("Daytime"),
    "evening": N_("Evenings"),
    "weekend": N_("Weekends"),
    "distance": N_("Distance, from home"),
}
TRAVEL = {
    5: N_("About 15 minutes (5 km)"),
    15: N_("About 30 minutes (15 km)"),
    30: N_("About 45 minutes (30 km)"),
    60: N_("An hour or more (60 km)"),
}


# --- the order of questions -------------------------------------------------------------------------------


async def next_question(ctx: Context, turn: Turn) -> str:
    """The next question that changes the list, or where the questions lead when there is none."""
    mode = turn.vars.get("asking", "before")
    if mode == "change":
        turn.vars.pop("asking", None)
        return "my_answers"
    goal, child = turn.vars.get("goal", "sfi"), turn.vars.get("child")
    if mode == "narrow":
        page = await ctx.services.match(goal, child, 0, 1)
        pending = [q for q in page.questions if q not in turn.vars.get("skipped", [])]
    else:
        pending = list(await ctx.services.questions(goal, child))
    if pending and pending[0] in QUESTION_STEPS:
        return QUESTION_STEPS[pending[0]]
    turn.vars.pop("asking", None)
    turn.vars.pop("skipped", None)
    turn.vars["offset"] = 0
    return "results"


def _skip(ctx: Context, turn: Turn, choices: list[Choice]) -> tuple[Choice, ...]:
    """After the first results a question may be skipped."""
    if turn.vars.get("asking") == "narrow":
        choices.append(Choice("skip", ctx.t._("Skip")))
    return tuple(choices)


async def _skipped(ctx: Context, turn: Turn, question: str) -> str:
    turn.vars["skipped"] = [*turn.vars.get("skipped", []), question]
    return await next_question(ctx, turn)


async def _answered(ctx: Context, turn: Turn, key: str, value: object) -> str:
    await ctx.services.set_answer(key, value)
    return await next_question(ctx, turn)


# --- residence permit -------------------------------------------------------------------------------------


async def prompt_permit(ctx: Context, turn: Turn) -> Prompt:
    choices = [Choice(code, ctx.t._(label)) for code, label in PERMITS.items()]
    return Prompt(ctx.t._("Do you have a residence permit?"), _skip(ctx, turn, choices))


@step("ask_permit", prompt_permit)
async def handle_permit(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "permit_status")
    if answer.choice not in PERMITS:
        turn.say(ctx.t._("Please answer with a number."))
        return None
    return await _answered(ctx, turn, "permit_status", answer.choice)


async def prompt_permit_month(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    choices = [Choice(code, _(label)) for code, (label, _months) in PERMIT_AGES.items()]
    text = _("When did you get your residence permit? If you have none: when did you come to Sweden?")
    return Prompt(text, _skip(ctx, turn, choices))


@step("ask_permit_month", prompt_permit_month)
async def handle_permit_month(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "permit_month")
    today = ctx.now.date()
    if answer.choice in PERMIT_AGES:
        month = months_before(today, PERMIT_AGES[answer.choice][1])
    else:
        month = month_and_year(answer.text, today)
    if month is None:
        turn.say(ctx.t._("Please answer with a number, or write month and year, for example 3 2024."))
        return None
    return await _answered(ctx, turn, "permit_month", month)


def months_before(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def month_and_year(text: str, today: date) -> date | None:
    """ "3 2024", "03/2024", "2024-03": the first of that month, if it is not in the future."""
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if len(numbers) != 2:
        return None
    for year, month in (numbers, numbers[::-1]):
        if 1950 <= year <= today.year and 1 <= month <= 12 and date(year, month, 1) <= today:
            return date(year, month, 1)
    return None


def permit_age(permit: date, today: date) -> str:
    """The choice that describes a permit month: "1-2 years ago" for one 18 months back."""
    months = (today.year - permit.year) * 12 + today.month - permit.month
    return "lt1" if months < 12 else "1to2" if months < 24 else "2to3" if months < 36 else "gt3"


# --- Swedish, schooling, work -----------------------------------------------------------------------------


async def prompt_level(ctx: Context, turn: Turn) -> Prompt:
    choices = [
        Choice(level, ctx.t._(N_("More than SFI")) if level == "basic" else level_name(ctx, level))
        for level in LEVEL_CHOICES
    ]
    return Prompt(ctx.t._("How much Swedish do you know?"), _skip(ctx, turn, choices))


@step("ask_level", prompt_level)
async def handle_level(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "swedish_level")
    if answer.choice not in LEVEL_CHOICES:
        turn.say(ctx.t._("Please answer with a number."))
        return None
    return await _answered(ctx, turn, "swedish_level", answer.choice)


async def prompt_schooling(ctx: Context, turn: Turn) -> Prompt:
    choices = [Choice(str(years), ctx.t._(label)) for years, label in SCHOOLING.items()]
    return Prompt(ctx.t._("How many years have you gone to school?"), _skip(ctx, turn, choices))


@step("ask_schooling", prompt_schooling)
async def handle_schooling(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "schooling_years")
    if not answer.choice or not answer.choice.isdigit() or int(answer.choice) not in SCHOOLING:
        turn.say(ctx.t._("Please answer with a number."))
        return None
    return await _answered(ctx, turn, "schooling_years", int(answer.choice))


async def prompt_experience(ctx: Context, turn: Turn) -> Prompt:
    text = ctx.t._("What work have you done? Write it in your own words, in any language.")
    return Prompt(text, (Choice("skip", ctx.t._("Skip")),), expect=Expect.TEXT)


@step("ask_experience", prompt_experience)
async def handle_experience(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "skip":
        return await _answered(ctx, turn, "occupations", ["none"])
    found = await ctx.services.find_occupations(answer.text)
    if not found:
        turn.say(_("I could not match that to a kind of work. I will show all internships and jobs."))
        return await _answered(ctx, turn, "occupations", ["other"])
    work = ", ".join(pick_text(o.labels, ctx.t.code) for o in found)
    turn.say(_("Noted: {work}.", work=work))
    return await _answered(ctx, turn, "occupations", [o.code for o in found])


# --- when and how far -------------------------------------------------------------------------------------


async def prompt_schedule(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    choices = [Choice(code, _(label)) for code, label in SCHEDULE_CHOICES.items()]
    choices.append(Choice("any", _("Any time")))
    text = _("When can you take part? You can choose more than one, for example 1 2.")
    return Prompt(text, _skip(ctx, turn, choices))


@step("ask_schedule", prompt_schedule)
async def handle_schedule(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "schedule")
    if answer.choice == "any":
        return await _answered(ctx, turn, "schedule", list(SCHEDULE_CHOICES))
    if answer.choice in SCHEDULE_CHOICES:
        return await _answered(ctx, turn, "schedule", [answer.choice])
    menu = [choice_id for choice_id, _label in turn.menu.get("choices", [])]
    picked = [menu[int(n) - 1] for n in re.findall(r"\d+", answer.text) if 1 <= int(n) <= len(menu)]
    if "any" in picked:
        picked = list(SCHEDULE_CHOICES)
    picked = [code for code in SCHEDULE_CHOICES if code in picked]
    if not picked:
        turn.say(ctx.t._("Please answer with one or more numbers, for example 1 2."))
        return None
    return await _answered(ctx, turn, "schedule", picked)


async def prompt_travel(ctx: Context, turn: Turn) -> Prompt:
    choices = [Choice(str(km), ctx.t._(label)) for km, label in TRAVEL.items()]
    return Prompt(ctx.t._("How far can you travel?"), _skip(ctx, turn, choices))


@step("ask_travel", prompt_travel)
async def handle_travel(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "skip":
        return await _skipped(ctx, turn, "max_travel_km")
    if not answer.choice or not answer.choice.isdigit() or int(answer.choice) not in TRAVEL:
        turn.say(ctx.t._("Please answer with a number."))
        return None
    return await _answered(ctx, turn, "max_travel_km", int(answer.choice))


# --- children ---------------------------------------------------------------------------------------------


async def prompt_pick_child(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    answers = await ctx.services.answers()
    choices = [
        Choice(f"c{child.id}", _("Child born {year}", year=str(child.birth_year)))
        for child in answers.children
    ]
    choices.append(Choice("new", _("Another child")))
    return Prompt(_("Which child?"), tuple(choices))


@step("pick_child", prompt_pick_child)
async def handle_pick_child(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "new":
        return "ask_child_birth_year"
    if answer.choice and answer.choice.startswith("c") and answer.choice[1:].isdigit():
        turn.vars.update(child=int(answer.choice[1:]), offset=0)
        return "results"
    turn.say(ctx.t._("Please answer with a number."))
    return None


# --- My answers -------------------------------------------------------------------------------------------


def answer_lines(ctx: Context, answers: Answers, municipality: str) -> list[tuple[str, str]]:
    """(question, "Question: answer") for each thing matching knows, in the order they are listed."""
    _ = ctx.t._
    unknown = _("not told")
    today = ctx.now.date()
    permit = _(PERMITS[answers.permit_status]) if answers.permit_status in PERMITS else unknown
    since = _(PERMIT_AGES[permit_age(answers.permit_month, today)][0]) if answers.permit_month else unknown
    schooling = _(SCHOOLING.get(answers.schooling_years, "")) if answers.schooling_years else unknown
    work = ", ".join(
        pick_text(o.labels, ctx.t.code)
        if o.labels
        else (_("No work experience") if o.code == "none" else _("Other"))
        for o in answers.occupations
    )
    times = ", ".join(_(SCHEDULE_CHOICES[s]) for s in answers.schedule if s in SCHEDULE_CHOICES)
    travel = _(TRAVEL[answers.max_travel_km]) if answers.max_travel_km in TRAVEL else unknown
    lines = [
        ("municipality", _("Municipality: {answer}", answer=municipality or unknown)),
        (
            "birth_year",
            _("Born: {answer}", answer=str(answers.birth_year) if answers.birth_year else unknown),
        ),
        ("permit_status", _("Residence permit: {answer}", answer=permit)),
        ("permit_month", _("Permit or arrival: {answer}", answer=since)),
        ("swedish_level", _("Swedish: {answer}", answer=level_name(ctx, answers.swedish_level) or unknown)),
        ("schooling_years", _("School: {answer}", answer=schooling)),
        ("occupations", _("Work: {answer}", answer=work or unknown)),
        ("schedule", _("When: {answer}", answer=times or unknown)),
        ("max_travel_km", _("Travel: {answer}", answer=travel)),
    ]
    if answers.children:
        years = ", ".join(str(child.birth_year) for child in answers.children)
        lines.append(("children", _("Children born: {answer}", answer=years)))
    return lines


async def prompt_my_answers(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    answers = await ctx.services.answers()
    place = (
        await ctx.services.municipality_name(answers.municipality_code) if answers.municipality_code else ""
    )
    choices = [Choice(key, line) for key, line in answer_lines(ctx, answers, place)]
    choices.append(Choice("back", _("Back")))
    return Prompt(_("Your answers. Choose one to change it."), tuple(choices))


@step("my_answers", prompt_my_answers)
async def handle_my_answers(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "back":
        turn.stack = []
        return "main_menu"
    if answer.choice == "municipality":
        return "ask_municipality"
    if answer.choice == "children":
        return "my_children"
    if answer.choice == "birth_year":
        turn.vars["asking"] = "change"
        return "ask_birth_year"
    if answer.choice in QUESTION_STEPS:
        turn.vars["asking"] = "change"
        return QUESTION_STEPS[answer.choice]
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def prompt_my_children(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    answers = await ctx.services.answers()
    choices = [
        Choice(f"c{child.id}", _("Remove: child born {year}", year=str(child.birth_year)))
        for child in answers.children
    ]
    choices.append(Choice("back", _("Back")))
    return Prompt(_("Your children. Choose one to remove it."), tuple(choices))


@step("my_children", prompt_my_children)
async def handle_my_children(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "back":
        return "my_answers"
    if answer.choice and answer.choice.startswith("c") and answer.choice[1:].isdigit():
        await ctx.services.remove_child(int(answer.choice[1:]))
        if turn.vars.get("child") == int(answer.choice[1:]):
            turn.vars["child"] = None
        turn.say(ctx.t._("Removed."))
        return "my_answers"
    turn.say(ctx.t._("Please answer with a number."))
    return None


# --- "Why is a course not shown?" -------------------------------------------------------------------------


async def prompt_course_name(ctx: Context, turn: Turn) -> Prompt:
    return Prompt(ctx.t._("Write the name of the course, internship or school."), expect=Expect.TEXT)


@step("ask_course_name", prompt_course_name)
async def handle_course_name(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    found = await ctx.services.find_offerings(answer.text, limit=3) if has_words(answer.text) else []
    if not found:
        turn.say(_("I could not find anything with that name. Please write it again."))
        return None
    if len(found) == 1:
        turn.vars["why"] = found[0].id
        return "why_not"
    turn.vars["why_candidates"] = [ref.id for ref in found]
    turn.vars["why_labels"] = [_named(ctx, ref.title, ref.place) for ref in found]
    return "pick_course"


def _named(ctx: Context, title: dict[str, str], place: str) -> str:
    """ "Language introduction, Södermalm, Stockholm" (the place left out when the title has it)."""
    text = pick_text(title, ctx.t.code)
    return (text if fold(place) in fold(text) else f"{text}, {place}")[:100]


async def prompt_pick_course(ctx: Context, turn: Turn) -> Prompt:
    ids, labels = turn.vars.get("why_candidates", []), turn.vars.get("why_labels", [])
    choices = [Choice(f"w{offering_id}", label) for offering_id, label in zip(ids, labels, strict=False)]
    choices.append(Choice("none", ctx.t._("None of these")))
    return Prompt(ctx.t._("Which one do you mean?"), tuple(choices))


@step("pick_course", prompt_pick_course)
async def handle_pick_course(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "none":
        return "ask_course_name"
    if answer.choice and answer.choice.startswith("w") and answer.choice[1:].isdigit():
        turn.vars["why"] = int(answer.choice[1:])
        return "why_not"
    return await handle_course_name(ctx, turn, answer)


async def prompt_why_not(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    found = await ctx.services.why_not(turn.vars.get("why", 0))
    choices = (Choice("again", _("Ask about another")), Choice("menu", _("Main menu")))
    return Prompt(explanation_text(ctx, found), choices)


@step("why_not", prompt_why_not)
async def handle_why_not(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "again":
        return "ask_course_name"
    if answer.choice == "menu":
        turn.stack = []
        return "main_menu"
    if answer.choice is None and has_words(answer.text):
        turn.step = "ask_course_name"
        return await handle_course_name(ctx, turn, answer)
    turn.say(ctx.t._("Please answer with a number."))
    return None
