"""Reasons in words: why an offering is in the person's list, what it asks, and why one is not.

A result line says its one or two most informative reasons ("Open to Botkyrka residents (the county
agreement). Evening classes."); the details say them all; "Why is a course not shown?" names the rule.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from dialogs.engine import Context
from dialogs.i18n import N_
from dialogs.languages import LANGUAGES, pick_text
from dialogs.ports import Explanation, OfferingSummary, Reason
from dialogs.text import fold

# Reasons a result line may say, and the ones it says only when it has nothing better.
LINE_REASONS = (
    "waiting_list",
    "agreement",
    "priority",
    "occupation",
    "language",
    "schedule",
    "beyond_travel",
    "everyone",
    "own_municipality",
)
PLAIN_REASONS = ("everyone", "own_municipality")
LINE_MAX = 2

LEVELS = {
    "none": N_("None"),
    "sfi-a": N_("SFI A"),
    "sfi-b": N_("SFI B"),
    "sfi-c": N_("SFI C"),
    "sfi-d": N_("SFI D"),
    "sfi-finished": N_("SFI finished"),
    "basic": N_("Basic level"),
    "upper": N_("Upper-secondary level"),
}
SCHEDULE_REASONS = {
    "day": N_("Daytime classes."),
    "evening": N_("Evening classes."),
    "weekend": N_("Weekend classes."),
    "distance": N_("Distance course."),
}
# Words a title may carry its schedule in (the same words the details use).
TITLE_WORDS = {
    "day": N_("days"),
    "evening": N_("evenings"),
    "weekend": N_("weekends"),
    "distance": N_("distance"),
}
GOAL_NAMES = {
    "sfi": N_("Learn Swedish"),
    "study": N_("Study"),
    "work": N_("Work or internship"),
    "school": N_("School for my child"),
}


def level_name(ctx: Context, level: str | None) -> str:
    return ctx.t._(LEVELS[level]) if level in LEVELS else (level or "")


def language_name(ctx: Context, code: str) -> str:
    """A language's name in the person's language ("Arabic", "arabiska"), from CLDR."""
    spoken = LANGUAGES.get(code)
    try:
        locale = Locale.parse(ctx.t.language.babel_locale)
        name = locale.languages.get((spoken.cldr_name if spoken else None) or code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or (spoken.english_name if spoken else code)


def reason_text(ctx: Context, reason: Reason) -> str:
    _ = ctx.t._
    params = reason.params
    if reason.code == "agreement":
        agreement = pick_text(params["agreement"], ctx.t.code)
        return _(
            "Open to {municipality} residents ({agreement}).",
            agreement=agreement,
            municipality=params["municipality"],
        )
    if reason.code == "everyone":
        return _("Open to everyone.")
    if reason.code == "own_municipality":
        return _("Offered by your municipality.")
    if reason.code == "waiting_list":
        return _("Waiting list.")
    if reason.code == "priority":
        return _("Priority: little schooling.")
    if reason.code == "occupation":
        return _("Fits your work: {occupation}.", occupation=pick_text(params["occupation"], ctx.t.code))
    if reason.code == "language":
        return _("Support in {language}.", language=language_name(ctx, params["language"]))
    if reason.code == "schedule":
        return _(SCHEDULE_REASONS[params["schedule"]])
    if reason.code == "beyond_travel":
        return _("Farther than you can travel.")
    if reason.code == "distance":
        return _("About {km} km from {place}.", km=params["km"], place=params["place"])
    if reason.code == "needs_permit":
        return _("You need a residence permit.")
    if reason.code == "needs_level":
        return _("Needs Swedish: {level}.", level=level_name(ctx, params.get("level")))
    if reason.code == "newcomer":
        return _(
            "Through {agreement}: up to {months} months after the residence permit.",
            agreement=pick_text(params.get("agreement") or {}, ctx.t.code),
            months=params.get("months", 0),
        )
    return ""


def line_reasons(ctx: Context, item: OfferingSummary) -> list[Reason]:
    """The one or two reasons a result line says: the most informative, else how the person may attend.
    "Evening classes" is left out when the title says so already ("SFI B, evenings")."""
    title = fold(pick_text(item.title, ctx.t.code))
    reasons = [
        r
        for r in (item.reasons or (item.reason,))
        if r.code in LINE_REASONS
        and not (r.code == "schedule" and fold(ctx.t._(TITLE_WORDS[r.params["schedule"]])) in title)
    ]
    informative = [r for r in reasons if r.code not in PLAIN_REASONS]
    return informative[:LINE_MAX] or reasons[:1]


def detail_reasons(item: OfferingSummary) -> list[Reason]:
    """Everything the details say besides the schedule (which has a line of its own)."""
    return [r for r in (item.reasons or (item.reason,)) if r.code != "schedule"]


def explanation_text(ctx: Context, found: Explanation) -> str:
    """Why an offering is not in the person's list, in one or two short sentences."""
    _ = ctx.t._
    p = found.params
    title = pick_text(found.title, ctx.t.code)
    if found.rule is None:
        goal = _(GOAL_NAMES.get(found.goal or "", N_("Study")))
        whom = (
            _("It is open to your child born {year}.", year=str(found.child_birth_year))
            if found.child_birth_year
            else _("It is open to you.")
        )
        if found.position:
            return f"{title}: {whom} " + _(
                "It is number {n} in your list under {goal}.", n=found.position, goal=goal
            )
        return f"{title}: {whom} " + _("Others fit you better. Find it under {goal}.", goal=goal)
    rule = found.rule
    if rule == "residence" and p.get("open_to") == "municipality":
        text = _("It is only for residents of {municipality}.", municipality=p["municipality"])
    elif rule == "residence":
        text = _(
            "It is only for residents of {municipality} and of municipalities in an agreement with it. "
            "{home} is not one of them.",
            municipality=p["municipality"],
            home=p["home"],
        )
    elif rule == "newcomer_period":
        text = _(
            "Through {agreement} it is open only {months} months after the residence permit. That time has "
            "passed.",
            agreement=pick_text(p.get("agreement") or {}, ctx.t.code),
            months=p.get("months") or 0,
        )
    elif rule == "adult_age":
        text = _("You can start it from July of the year you turn {age}.", age=p.get("from_age") or 0)
    elif rule == "upper_secondary_age":
        text = _("It must start before July of the year you turn 20.")
    elif rule in ("school_age", "offering_age"):
        text = _age_text(ctx, p.get("age_min"), p.get("age_max"))
    elif rule == "asylum":
        text = _("It is not open to asylum seekers.")
    elif rule == "sfi_finished":
        text = _("You have finished SFI. Swedish goes on at komvux: choose Study.")
    elif rule == "swedish_level":
        text = _("It needs Swedish: {level}.", level=level_name(ctx, p.get("level")))
    elif rule == "too_far":
        text = _("It is about {km} km from {place}: too far for you.", km=p.get("km") or 0, place=p["place"])
    elif rule == "deadline":
        text = _("The application deadline has passed.")
    elif rule == "ended":
        text = _("It has ended.")
    elif rule == "birth_year":
        text = _("I need your birth year to check.")
    elif rule == "municipality":
        text = _("I need to know where you live to check.")
    else:
        text = _("It is no longer offered.")
    return f"{title}: {text}" if title else text


def _age_text(ctx: Context, age_min: int | None, age_max: int | None) -> str:
    _ = ctx.t._
    if age_min is not None and age_max is not None:
        return _("It is for ages {low} to {high} (in the year it starts).", low=age_min, high=age_max)
    if age_min is not None:
        return _("It is for ages {low} and up (in the year it starts).", low=age_min)
    return _("It is for ages up to {high} (in the year it starts).", high=age_max or 0)
