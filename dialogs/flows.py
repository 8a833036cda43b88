"""The steps of the conversation. Importing this module registers them with the engine."""

from __future__ import annotations

import dialogs.bookings  # noqa: F401 - registers My bookings, cancelling and the waiting list
from dialogs.answers import next_question
from dialogs.engine import Answer, Context, Prompt, Turn, on_hint, on_word, step
from dialogs.i18n import N_
from dialogs.languages import find_language, pick_text, picker_order
from dialogs.model import Choice, Expect
from dialogs.ports import MatchPage, OfferingSummary
from dialogs.reasons import detail_reasons, line_reasons, reason_text
from dialogs.script import script_of
from dialogs.text import fold, has_words, is_number

PAGE = 3
CODE_DIGITS = 6
# A person who wrote this many wrong link codes waits this long before trying again.
MAX_LINK_FAILURES, LINK_LOCK_SECONDS = 5, 15 * 60
GOALS = ("sfi", "study", "work", "school")
SCHEDULE_WORDS = {
    "day": N_("days"),
    "evening": N_("evenings"),
    "weekend": N_("weekends"),
    "distance": N_("distance"),
}


# --- language and consent -----------------------------------------------------------------------------


async def prompt_language(ctx: Context, turn: Turn) -> Prompt:
    languages = picker_order(ctx.t.offered(), turn.vars.get("script"))
    choices = tuple(Choice(lang.code, lang.native_name) for lang in languages)
    welcome = "Välkommen till Vägvisare. Välj språk.\nWelcome to Vägvisare. Choose your language:"
    person = await ctx.services.person()
    text = ctx.t._("Choose your language:") if person.language else welcome
    return Prompt(text, choices)


@step("choose_language", prompt_language, needs_consent=False)
async def handle_language(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    offered = ctx.t.offered()
    code = answer.choice or find_language(answer.text, offered)
    if code not in {lang.code for lang in offered}:
        # A first message in Arabic or Cyrillic letters puts the languages written in them first.
        turn.vars["script"] = script_of(answer.text) or turn.vars.get("script")
        return None
    turn.vars.pop("script", None)
    await ctx.services.set_language(code)
    ctx.use_language(code)
    person = await ctx.services.person()
    if not person.consented:
        return "consent"
    return "pop" if turn.stack else "main_menu"


async def prompt_consent(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    text = _(
        "We save your answers to find courses and book meetings for you. Delete them any time: write DELETE."
    )
    return Prompt(
        text, (Choice("ok", _("OK")), Choice("more", _("Read more")), Choice("no", _("No, thanks")))
    )


@step("consent", prompt_consent, needs_consent=False)
async def handle_consent(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "ok":
        await ctx.services.record_consent()
        person = await ctx.services.person()
        if person.municipality_code:
            return "ask_goal"
        suggested = turn.vars.pop("suggested_municipality", None)
        return _suggest_municipality(turn, suggested) if suggested else "ask_municipality"
    if answer.choice == "more":
        turn.say(
            _(
                "We keep your language, municipality, birth year and your bookings. We use them only to find "
                "offerings and book meetings for you. We never ask for your name or personal number. "
                "Municipal staff see a booking only when you make one. We delete everything at once when you "
                "write DELETE."
            )
        )
    elif answer.choice == "no":
        turn.say(_("We cannot help you without saving your answers. You can say yes any time."))
    else:
        turn.say(_("Please answer with a number."))
    return None


# --- where the person lives -----------------------------------------------------------------------------


async def prompt_municipality(ctx: Context, turn: Turn) -> Prompt:
    return Prompt(ctx.t._("Which municipality do you live in?"), expect=Expect.TEXT)


@step("ask_municipality", prompt_municipality)
async def handle_municipality(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    turn.vars.pop("suggested", None)
    if not has_words(answer.text):
        turn.say(_("Please write the name of your municipality, for example Botkyrka."))
        return None
    matches = await ctx.services.find_municipalities(answer.text, limit=3)
    if not matches or matches[0].score < 70:
        turn.say(_("I could not find that municipality. Please write its name again, for example Botkyrka."))
        return None
    best, close = matches[0], [m for m in matches if m.score >= max(70, matches[0].score - 5)]
    if best.score >= 95 and len(close) == 1:
        return await _settle_municipality(ctx, turn, best.code)
    if len(close) > 1:
        turn.vars["candidates"] = [m.code for m in close]
        return "pick_municipality"
    turn.vars["candidates"] = [best.code]
    return "confirm_municipality"


async def _settle_municipality(ctx: Context, turn: Turn, code: str) -> str:
    await ctx.services.set_municipality(code)
    turn.vars.pop("candidates", None)
    turn.vars.pop("suggested", None)
    turn.stack = []
    turn.say(ctx.t._("You live in {municipality}.", municipality=await ctx.services.municipality_name(code)))
    return "ask_goal"


async def prompt_confirm_municipality(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    name = await ctx.services.municipality_name(turn.vars["candidates"][0])
    if turn.vars.get("suggested"):
        return Prompt(_("Do you live in {municipality}?", municipality=name), _yes_no(ctx))
    return Prompt(_("Did you mean {municipality}?", municipality=name), _yes_no(ctx))


@step("confirm_municipality", prompt_confirm_municipality)
async def handle_confirm_municipality(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "yes":
        return await _settle_municipality(ctx, turn, turn.vars["candidates"][0])
    if answer.choice == "no":
        # Not where a link or a location suggested: ask where, instead of going back.
        return "ask_municipality" if turn.vars.pop("suggested", False) else "pop"
    return await _new_name_instead(ctx, turn, answer)


def _suggest_municipality(turn: Turn, code: str) -> str:
    turn.vars.update(candidates=[code], suggested=True)
    return "confirm_municipality"


@on_hint("municipality")
async def hint_municipality(ctx: Context, turn: Turn, code: str) -> str | None:
    """A link the person followed names a municipality (a poster's QR code): asked once they consent."""
    person = await ctx.services.person()
    if person.municipality_code:
        return None
    if not person.consented:
        turn.vars["suggested_municipality"] = code
        return None
    return _suggest_municipality(turn, code)


@on_hint("nearby")
async def hint_nearby(ctx: Context, turn: Turn, code: str) -> str | None:
    """The person shared a location: the municipality nearest to it is a good guess of where they live."""
    person = await ctx.services.person()
    if not person.consented:
        if not person.municipality_code:
            turn.vars["suggested_municipality"] = code
        return None
    if code == person.municipality_code:
        name = await ctx.services.municipality_name(code)
        turn.say(ctx.t._("You live in {municipality}.", municipality=name))
        return None
    return _suggest_municipality(turn, code)


@on_hint("unsupported")
async def hint_unsupported(ctx: Context, turn: Turn, kind: str) -> str | None:
    """A photo, a sticker, a voice message, a changed message: say what we read, then ask again."""
    if turn.step == "new":
        return None  # the welcome, in two languages, is the answer
    if kind == "edited":
        turn.say(ctx.t._("I do not read changes to sent messages. Please send your answer as a new message."))
    else:
        turn.say(ctx.t._("I can only read text and buttons. Please write your answer."))
    return None


async def prompt_pick_municipality(ctx: Context, turn: Turn) -> Prompt:
    names = [Choice(code, await ctx.services.municipality_name(code)) for code in turn.vars["candidates"]]
    return Prompt(ctx.t._("Which one do you mean?"), (*names, Choice("none", ctx.t._("None of these"))))


@step("pick_municipality", prompt_pick_municipality)
async def handle_pick_municipality(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice in turn.vars["candidates"]:
        return await _settle_municipality(ctx, turn, answer.choice)
    if answer.choice == "none":
        return "pop"
    return await _new_name_instead(ctx, turn, answer)


async def _new_name_instead(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    """A person asked "Did you mean …?" often just writes the name again, spelled better."""
    turn.step = "ask_municipality"
    return await handle_municipality(ctx, turn, answer)


# --- what the person wants --------------------------------------------------------------------------------


async def prompt_goal(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    labels = {
        "sfi": _("Learn Swedish"),
        "study": _("Study"),
        "work": _("Work or internship"),
        "school": _("School for my child"),
    }
    return Prompt(_("What do you want to do?"), tuple(Choice(goal, labels[goal]) for goal in GOALS))


@step("ask_goal", prompt_goal)
async def handle_goal(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice not in GOALS:
        turn.say(ctx.t._("Please answer with a number."))
        return None
    turn.vars.update(goal=answer.choice, offset=0, child=None, asking="before")
    if answer.choice == "school":
        answers = await ctx.services.answers()
        return "pick_child" if answers.children else "ask_child_birth_year"
    person = await ctx.services.person()
    return await next_question(ctx, turn) if person.birth_year else "ask_birth_year"


async def prompt_birth_year(ctx: Context, turn: Turn) -> Prompt:
    return Prompt(ctx.t._("What year were you born? For example 1990."), expect=Expect.NUMBER)


@step("ask_birth_year", prompt_birth_year)
async def handle_birth_year(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    year = _birth_year(answer.text, ctx.now.year)
    if year is None or ctx.now.year - year < 13:
        turn.say(ctx.t._("Please write the year you were born, for example 1990."))
        return None
    await ctx.services.set_birth_year(year)
    return await next_question(ctx, turn)


async def prompt_child_birth_year(ctx: Context, turn: Turn) -> Prompt:
    return Prompt(ctx.t._("What year was your child born? For example 2016."), expect=Expect.NUMBER)


@step("ask_child_birth_year", prompt_child_birth_year)
async def handle_child_birth_year(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    year = _birth_year(answer.text, ctx.now.year)
    if year is None or ctx.now.year - year > 21:
        turn.say(ctx.t._("Please write the year your child was born, for example 2016."))
        return None
    turn.vars["child"] = await ctx.services.add_child(year)
    return "results"


def _birth_year(text: str, this_year: int) -> int | None:
    """A year ("1990") or an age ("35")."""
    digits = "".join(ch for ch in text if is_number(ch))
    if not digits or len(digits) not in (1, 2, 4) or len(digits) != len(text.replace(" ", "")):
        return None
    number = int(digits)
    if len(digits) == 4:
        return number if 1900 <= number <= this_year else None
    return this_year - number


# --- results and details -------------------------------------------------------------------------------


async def prompt_results(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    offset = turn.vars.get("offset", 0)
    page = await ctx.services.match(turn.vars.get("goal", "sfi"), turn.vars.get("child"), offset, PAGE)
    if page.total == 0:
        nothing = _("I found nothing that fits you right now. New offerings come every week.")
        if "asylum" in page.notes:
            nothing = _(
                "Asylum seekers cannot take SFI. Study associations and libraries teach Swedish to everyone, "
                "free of charge. Ask your municipality about Swedish from day one."
            )
        return Prompt(
            nothing,
            (
                Choice("goal", _("Choose something else")),
                Choice("municipality", _("Change municipality")),
                Choice("menu", _("Main menu")),
            ),
        )
    header = _results_header(ctx, turn.vars.get("goal", "sfi"), page)
    if offset:
        header = _(
            "{first}-{last} of {total}:", first=offset + 1, last=offset + len(page.items), total=page.total
        )
    if "permit" in page.notes:
        header += "\n" + _("You need a residence permit for these.")
    choices = [Choice(f"o{item.id}", result_line(ctx, item)) for item in page.items]
    if offset + PAGE < page.total:
        choices.append(Choice("more", _("More")))
    elif offset:
        choices.append(Choice("first", _("Back to the first")))
    if page.questions:
        choices.append(Choice("narrow", _("Fit the list to me")))
    return Prompt(header, tuple(choices))


def _results_header(ctx: Context, goal: str, page: MatchPage) -> str:
    t, total = ctx.t, page.total
    if "asylum" in page.notes:
        return t._("Asylum seekers cannot take SFI. This is open to you:")
    if "sfi_finished" in page.notes:
        return t._("You have finished SFI. Swedish goes on at komvux:")
    if page.capped:
        return t._("The best for you:")
    if goal == "sfi":
        return t.n_("{n} SFI course for you:", "{n} SFI courses for you:", total)
    if goal == "study":
        return t.n_("{n} course for you:", "{n} courses for you:", total)
    if goal == "work":
        return t.n_("{n} internship or job for you:", "{n} internships or jobs for you:", total)
    return t.n_("{n} school for your child:", "{n} schools for your child:", total)


def result_line(ctx: Context, item: OfferingSummary) -> str:
    """ "SFI B, evenings, Huddinge (12 km). Open to Botkyrka residents." — the reason beside each result."""
    _ = ctx.t._
    title = pick_text(item.title, ctx.t.code)
    if item.distance_km is None:
        where = _("{title}. Distance course.", title=title)
    elif fold(item.place) in fold(title):
        where = _("{title} ({km} km).", title=title, km=item.distance_km)
    else:
        where = _("{title}, {place} ({km} km).", title=title, place=item.place, km=item.distance_km)
    return " ".join([where, *(reason_text(ctx, reason) for reason in line_reasons(ctx, item))])


@step("results", prompt_results)
async def handle_results(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "more":
        turn.vars["offset"] = turn.vars.get("offset", 0) + PAGE
        return None
    if answer.choice == "first":
        turn.vars["offset"] = 0
        return None
    if answer.choice in ("goal", "municipality", "menu"):
        return {"goal": "ask_goal", "municipality": "ask_municipality", "menu": "main_menu"}[answer.choice]
    if answer.choice == "narrow":
        turn.vars.update(asking="narrow", skipped=[])
        return await next_question(ctx, turn)
    if answer.choice and answer.choice.startswith("o"):
        turn.vars["offering"] = int(answer.choice[1:])
        return "details"
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def prompt_details(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    detail = await ctx.services.offering(turn.vars["offering"])
    if detail is None:
        return Prompt(_("This offering is no longer available."), (Choice("back", _("Back")),))
    item = detail.summary
    where = f"{detail.provider}, {detail.address}".strip(", ")
    lines = [ctx.t.line(pick_text(item.title, ctx.t.code)), ctx.t.line(where)]
    schedule = ", ".join(_(SCHEDULE_WORDS[s]) for s in item.schedule if s in SCHEDULE_WORDS)
    start = _("Starts {date}.", date=ctx.t.date(item.start_date)) if item.start_date else _("Start any week.")
    lines.append(f"{schedule.capitalize()}. {start}" if schedule else start)
    lines += [reason_text(ctx, reason) for reason in detail_reasons(item)]
    booking_times = detail.has_free_slots or detail.all_full
    action = _("Book an intake meeting") if booking_times else _("Send an intake request")
    return Prompt("\n".join(lines), (Choice("book", action), Choice("back", _("Back"))))


@step("details", prompt_details)
async def handle_details(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "back":
        return "pop"
    if answer.choice != "book":
        turn.say(ctx.t._("Please answer with a number."))
        return None
    detail = await ctx.services.offering(turn.vars["offering"])
    if detail is None:
        return "pop"
    if detail.has_free_slots or detail.all_full:
        turn.vars["slot_offset"] = 0
        return "pick_slot"
    return await _book(ctx, turn, None)


# --- booking --------------------------------------------------------------------------------------------


async def prompt_slot(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    offset = turn.vars.get("slot_offset", 0)
    slots = await ctx.services.free_slots(turn.vars["offering"], offset, PAGE + 1)
    choices = [Choice(f"s{slot.id}", ctx.t.datetime(slot.starts_at)) for slot in slots[:PAGE]]
    if len(slots) > PAGE:
        choices.append(Choice("later", _("Later")))
    if not slots and offset == 0:
        choices.append(Choice("wait", _("Join the waiting list")))
    choices.append(Choice("none", _("No time fits me")))
    text = _("Free times:") if slots else _("There are no free times now.")
    return Prompt(text, tuple(choices))


@step("pick_slot", prompt_slot)
async def handle_slot(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "later":
        turn.vars["slot_offset"] = turn.vars.get("slot_offset", 0) + PAGE
        return None
    if answer.choice == "none":
        return await _book(ctx, turn, None)
    if answer.choice == "wait":
        joined = await ctx.services.join_waitlist(turn.vars["offering"], None, turn.vars.get("child"))
        if joined.status == "waiting":
            turn.say(
                ctx.t._(
                    "You are on the waiting list, place {place}. When a seat frees up, we offer it to you "
                    "here.",
                    place=joined.position or 1,
                )
            )
        else:
            turn.say(ctx.t._("You have already asked for this."))
        turn.stack = []
        return "main_menu"
    if answer.choice and answer.choice.startswith("s"):
        return await _book(ctx, turn, int(answer.choice[1:]))
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def _book(ctx: Context, turn: Turn, slot_id: int | None) -> str | None:
    _ = ctx.t._
    booking = await ctx.services.request_intake(turn.vars["offering"], slot_id, turn.vars.get("child"))
    if booking.status == "full":
        turn.say(_("Sorry, that time was just taken. Please choose another."))
        turn.vars["slot_offset"] = 0
        return None
    if booking.status == "ineligible":
        turn.say(_("Sorry, you cannot book this offering."))
        return "pop"
    if booking.status == "exists":
        turn.say(_("You have already asked for this. Your reference is {ref}.", ref=booking.reference))
    elif booking.starts_at:
        when = ctx.t.datetime(booking.starts_at)
        turn.say(
            _(
                "Booked: {when}, {address}. Reference {ref}. Show it at the desk.",
                when=when,
                address=booking.address,
                ref=booking.reference,
            )
        )
    else:
        turn.say(
            _("Your request is sent. Staff will contact you here. Reference {ref}.", ref=booking.reference)
        )
    turn.stack = []
    return "main_menu"


async def prompt_proposal(ctx: Context, turn: Turn) -> Prompt:
    """Asked by staff, not by the conversation (see `engine.interject`): another time for an intake."""
    _ = ctx.t._
    proposal = await ctx.services.proposal(turn.vars.get("proposal", 0))
    if proposal is None:
        return Prompt(_("This question is no longer open."), (Choice("ok", _("OK")),))
    text = _(
        "Staff propose another time for your intake meeting ({title}, reference {ref}): {when}, {address}. "
        "Does this time suit you?",
        title=pick_text(proposal.title, ctx.t.code),
        ref=proposal.reference,
        when=ctx.t.datetime(proposal.starts_at),
        address=proposal.address,
    )
    return Prompt(text, _yes_no(ctx))


@step("answer_proposal", prompt_proposal)
async def handle_proposal(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "ok":
        return "pop"
    if answer.choice not in ("yes", "no"):
        turn.say(_("Please answer with a number."))
        return None
    booking = await ctx.services.answer_proposal(turn.vars.pop("proposal", 0), answer.choice == "yes")
    if booking.status == "booked" and booking.starts_at:
        when = ctx.t.datetime(booking.starts_at)
        turn.say(
            _(
                "Booked: {when}, {address}. Reference {ref}. Show it at the desk.",
                when=when,
                address=booking.address,
                ref=booking.reference,
            )
        )
    elif booking.status == "full":
        turn.say(_("Sorry, that time was just taken. Staff will propose another time."))
    elif booking.status == "declined":
        turn.say(_("OK. Staff will contact you here about another time."))
    else:
        turn.say(_("This question is no longer open."))
    return "pop"


# --- menus and words that work at any step ----------------------------------------------------------------


async def prompt_main_menu(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    choices = (
        Choice("find", _("Find courses, work or school")),
        Choice("municipality", _("Change municipality")),
        Choice("language", _("Change language")),
        Choice("link", _("Link SMS and Telegram")),
        Choice("answers", _("My answers")),
        Choice("why", _("Why is a course not shown?")),
        Choice("delete", _("Delete my data")),
        Choice("bookings", _("My bookings")),
    )
    return Prompt(_("What do you want to do now?"), choices)


@step("main_menu", prompt_main_menu)
async def handle_main_menu(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    targets = {
        "find": "ask_goal",
        "bookings": "my_bookings",
        "municipality": "ask_municipality",
        "language": "choose_language",
        "link": "link_menu",
        "answers": "my_answers",
        "why": "ask_course_name",
        "delete": "confirm_delete",
    }
    if answer.choice in targets:
        return targets[answer.choice]
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def prompt_confirm_delete(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    text = _("Delete all your answers? Your bookings are cancelled. This cannot be undone.")
    return Prompt(text, (Choice("yes", _("Yes, delete")), Choice("no", _("No, keep them"))))


@step("confirm_delete", prompt_confirm_delete, needs_consent=False)
async def handle_confirm_delete(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "yes":
        await ctx.services.erase_person()
        turn.erased = True
        turn.say(ctx.t._("Your data is deleted. Write to us any time to start again."))
        return None
    if answer.choice == "no":
        return "pop"
    turn.say(ctx.t._("Please answer with a number."))
    return None


def _yes_no(ctx: Context) -> tuple[Choice, ...]:
    return Choice("yes", ctx.t._("Yes")), Choice("no", ctx.t._("No"))


@on_word("help")
async def word_help(ctx: Context, turn: Turn) -> str | None:
    text = ctx.t._(
        "Answer with the number of your choice. You can write these words at any time: "
        "MENU, BACK, LANGUAGE, DELETE, STOP."
    )
    if ctx.help_contact:
        text += " " + ctx.t._("Questions? Contact our staff: {contact}", contact=ctx.help_contact)
    turn.say(text)
    return None


@on_word("menu")
async def word_menu(ctx: Context, turn: Turn) -> str | None:
    turn.stack = []
    return "main_menu"


@on_word("back")
async def word_back(ctx: Context, turn: Turn) -> str | None:
    return "pop"


@on_word("language")
async def word_language(ctx: Context, turn: Turn) -> str | None:
    return "choose_language"


@on_word("delete")
async def word_delete(ctx: Context, turn: Turn) -> str | None:
    return "confirm_delete"


@on_word("stop")
async def word_stop(ctx: Context, turn: Turn) -> str | None:
    await ctx.services.opt_out()
    turn.vars["resume"] = turn.step
    turn.say(ctx.t._("You will get no more messages from us. Write START to begin again."))
    return "stopped"


@on_word("start")
async def word_start(ctx: Context, turn: Turn) -> str | None:
    return None


# --- one person on SMS and Telegram -------------------------------------------------------------------


@on_word("link")
async def word_link(ctx: Context, turn: Turn) -> str | None:
    """LINK alone gives a code; LINK and a code (written on the other channel) links the two."""
    if turn.argument:
        return await _redeem_link_code(ctx, turn, turn.argument)
    await _give_link_code(ctx, turn)
    return None


async def prompt_link_menu(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    choices = (Choice("get", _("Get a code")), Choice("have", _("I have a code")), Choice("back", _("Back")))
    return Prompt(_("Link SMS and Telegram, so that your answers and bookings follow you."), choices)


@step("link_menu", prompt_link_menu)
async def handle_link_menu(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "get":
        await _give_link_code(ctx, turn)
        return "pop"
    if answer.choice == "have":
        return "ask_link_code"
    if answer.choice == "back":
        return "pop"
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def prompt_link_code(ctx: Context, turn: Turn) -> Prompt:
    return Prompt(ctx.t._("Write the 6-digit code."), expect=Expect.NUMBER)


@step("ask_link_code", prompt_link_code)
async def handle_link_code(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    code = answer.text.replace(" ", "")
    if len(code) != CODE_DIGITS or not code.isdigit():
        turn.say(ctx.t._("Please write the 6 digits of the code."))
        return None
    return await _redeem_link_code(ctx, turn, code)


async def _give_link_code(ctx: Context, turn: Turn) -> None:
    link = await ctx.services.create_link_code()
    turn.say(
        ctx.t._(
            "Your code is {code}. Within {minutes} minutes, write LINK {code} to us from your other "
            "phone or app (SMS or Telegram).",
            code=link.code,
            minutes=link.valid_minutes,
        )
    )


async def _redeem_link_code(ctx: Context, turn: Turn, code: str) -> str | None:
    _ = ctx.t._
    now = int(ctx.now.timestamp())
    failures = [at for at in turn.vars.get("link_failures", []) if now - at < LINK_LOCK_SECONDS]
    turn.vars["link_failures"] = failures
    if len(failures) >= MAX_LINK_FAILURES:
        turn.say(_("Too many wrong codes. Please wait 15 minutes, then try again."))
        return None
    status = await ctx.services.redeem_link_code(code)
    if status == "linked":
        turn.vars.pop("link_failures", None)
        person = await ctx.services.person()
        if person.language:
            ctx.use_language(person.language)
        turn.say(
            ctx.t._("Done: SMS and Telegram are linked. Your answers and bookings are the same on both.")
        )
        turn.stack = []
        return "main_menu"
    if status == "own":
        turn.say(_("This is your own code. Write it on your other phone or app."))
        return None
    turn.vars["link_failures"] = [*failures, now]
    if status == "expired":
        turn.say(_("This code is too old. Write LINK on your other phone or app to get a new one."))
    else:
        turn.say(
            _("That code is not right. Check it, or write LINK on your other phone or app for a new one.")
        )
    return None
