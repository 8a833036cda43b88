"""The person's side of a booking: "My bookings", cancelling (the UNBOOK word at any step), another time, the
waiting list and a seat offered from it."""

from __future__ import annotations

from dialogs.engine import Answer, Context, Prompt, Turn, on_word, step
from dialogs.i18n import N_
from dialogs.languages import pick_text
from dialogs.model import Choice
from dialogs.ports import MyBooking

PAGE = 3
STATUS_WORDS = {
    "requested": N_("waiting for staff"),
    "confirmed": N_("confirmed"),
    "declined": N_("declined"),
    "cancelled": N_("cancelled"),
    "offered": N_("a seat is held for you"),
}
ACTIVE = ("requested", "confirmed")


def _yes_no(ctx: Context) -> tuple[Choice, ...]:
    return Choice("yes", ctx.t._("Yes")), Choice("no", ctx.t._("No"))


def _line(ctx: Context, item: MyBooking) -> str:
    _ = ctx.t._
    parts = [pick_text(item.title, ctx.t.code)]
    if item.starts_at:
        parts.append(ctx.t.datetime(item.starts_at))
    if item.kind == "waiting" and item.status == "waiting":
        parts.append(_("waiting list, place {place}", place=item.position or 1))
    else:
        parts.append(_(STATUS_WORDS.get(item.status, "cancelled")))
    if item.reference:
        parts.append(item.reference)
    return ctx.t.line(", ".join(parts))


def _open(item: MyBooking) -> bool:
    return item.status in ACTIVE or item.kind == "waiting"


async def prompt_my_bookings(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    items = await ctx.services.my_bookings()
    if not items:
        return Prompt(_("You have no bookings."), (Choice("back", _("Back")),))
    choices = [
        Choice(f"{'w' if item.kind == 'waiting' else 'r'}{item.id}", _line(ctx, item))
        for item in items
        if _open(item)
    ]
    ended = [_line(ctx, item) for item in items if not _open(item)]
    text = _("Your bookings:") + ("\n" + "\n".join(ended) if ended else "")
    return Prompt(text, (*choices, Choice("back", _("Back"))))


@step("my_bookings", prompt_my_bookings)
async def handle_my_bookings(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    if answer.choice == "back":
        return "pop"
    if answer.choice and answer.choice[:1] in "rw" and answer.choice[1:].isdigit():
        turn.vars["booking"] = answer.choice
        return "booking"
    turn.say(ctx.t._("Please answer with a number."))
    return None


async def _chosen(ctx: Context, turn: Turn) -> MyBooking | None:
    chosen = turn.vars.get("booking", "")
    kind = "waiting" if chosen.startswith("w") else "request"
    return next(
        (i for i in await ctx.services.my_bookings() if i.kind == kind and f"{chosen[:1]}{i.id}" == chosen),
        None,
    )


async def prompt_booking(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    item = await _chosen(ctx, turn)
    if item is None or not _open(item):
        return Prompt(_("This booking is no longer open."), (Choice("back", _("Back")),))
    lines = [_line(ctx, item)]
    if item.address:
        lines.append(ctx.t.line(item.address))
    if item.kind == "waiting":
        if item.status == "offered":
            choices = (Choice("take", _("Take the seat")), Choice("leave", _("Leave the waiting list")))
        else:
            choices = (Choice("leave", _("Leave the waiting list")),)
    else:
        choices = (Choice("change", _("Change time")), Choice("cancel", _("Cancel the booking")))
        if item.starts_at is None:
            choices = choices[1:]
    return Prompt("\n".join(lines), (*choices, Choice("back", _("Back"))))


@step("booking", prompt_booking)
async def handle_booking(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    item = await _chosen(ctx, turn)
    if answer.choice == "back" or item is None:
        return "pop"
    if answer.choice == "cancel":
        turn.vars["cancel"] = item.id
        return "confirm_cancel"
    if answer.choice == "change":
        current = item.starts_at.isoformat() if item.starts_at else ""
        turn.vars.update(offering=item.offering_id, change=item.id, change_from=current, slot_offset=0)
        return "change_slot"
    if answer.choice == "take":
        turn.vars["waitlist"] = item.id
        return "answer_waitlist"
    if answer.choice == "leave":
        await ctx.services.leave_waitlist(item.id)
        turn.say(_("You have left the waiting list."))
        turn.stack = []
        return "main_menu"
    turn.say(_("Please answer with a number."))
    return None


async def prompt_confirm_cancel(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    item = next(
        (
            i
            for i in await ctx.services.my_bookings()
            if i.kind == "request" and i.id == turn.vars.get("cancel")
        ),
        None,
    )
    if item is None or item.status not in ACTIVE:
        return Prompt(_("This booking is no longer open."), (Choice("no", _("Back")),))
    return Prompt(_("Cancel this booking?") + "\n" + _line(ctx, item), _yes_no(ctx))


@step("confirm_cancel", prompt_confirm_cancel)
async def handle_confirm_cancel(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "no":
        return "pop"
    if answer.choice != "yes":
        turn.say(_("Please answer with a number."))
        return None
    if await ctx.services.cancel_booking(turn.vars.pop("cancel", 0)):
        turn.say(_("Your booking is cancelled. Staff are told."))
    else:
        turn.say(_("This booking is no longer open."))
    turn.stack = []
    return "main_menu"


async def prompt_change_slot(ctx: Context, turn: Turn) -> Prompt:
    _ = ctx.t._
    offset = turn.vars.get("slot_offset", 0)
    current = turn.vars.get("change_from", "")
    slots = [
        slot
        for slot in await ctx.services.free_slots(turn.vars["offering"], offset, PAGE + 2)
        if slot.starts_at.isoformat() != current
    ]
    choices = [Choice(f"s{slot.id}", ctx.t.datetime(slot.starts_at)) for slot in slots[:PAGE]]
    if len(slots) > PAGE:
        choices.append(Choice("later", _("Later")))
    choices.append(Choice("back", _("Back")))
    return Prompt(_("Free times:") if slots else _("There are no free times now."), tuple(choices))


@step("change_slot", prompt_change_slot)
async def handle_change_slot(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "back":
        return "pop"
    if answer.choice == "later":
        turn.vars["slot_offset"] = turn.vars.get("slot_offset", 0) + PAGE
        return None
    if not (answer.choice and answer.choice.startswith("s")):
        turn.say(_("Please answer with a number."))
        return None
    booking = await ctx.services.change_time(turn.vars.get("change", 0), int(answer.choice[1:]))
    if booking.status == "full":
        turn.say(_("Sorry, that time was just taken. Please choose another."))
        turn.vars["slot_offset"] = 0
        return None
    if booking.status == "booked" and booking.starts_at:
        turn.say(
            _(
                "New time: {when}, {address}. Reference {ref}. Staff will confirm it.",
                when=ctx.t.datetime(booking.starts_at),
                address=booking.address,
                ref=booking.reference,
            )
        )
    else:
        turn.say(_("This booking is no longer open."))
    turn.stack = []
    return "main_menu"


async def prompt_waitlist(ctx: Context, turn: Turn) -> Prompt:
    """Asked when a seat is freed for the person (see `engine.interject`), or from "My bookings"."""
    _ = ctx.t._
    offer = await ctx.services.waitlist_offer(turn.vars.get("waitlist", 0))
    if offer is None:
        return Prompt(_("This question is no longer open."), (Choice("ok", _("OK")),))
    text = _(
        "A seat is free for you: {title}, {when}, {address}. It is kept for you until {deadline}. "
        "Do you take it?",
        title=pick_text(offer.title, ctx.t.code),
        when=ctx.t.datetime(offer.starts_at),
        address=offer.address,
        deadline=ctx.t.datetime(offer.deadline) if offer.deadline else "",
    )
    return Prompt(text, _yes_no(ctx))


@step("answer_waitlist", prompt_waitlist)
async def handle_waitlist(ctx: Context, turn: Turn, answer: Answer) -> str | None:
    _ = ctx.t._
    if answer.choice == "ok":
        return "pop"
    if answer.choice not in ("yes", "no"):
        turn.say(_("Please answer with a number."))
        return None
    booking = await ctx.services.answer_waitlist(turn.vars.pop("waitlist", 0), answer.choice == "yes")
    if booking.status == "booked" and booking.starts_at:
        turn.say(
            _(
                "Booked: {when}, {address}. Reference {ref}. Show it at the desk.",
                when=ctx.t.datetime(booking.starts_at),
                address=booking.address,
                ref=booking.reference,
            )
        )
    elif booking.status == "declined":
        turn.say(_("OK. The seat goes to the next person waiting."))
    else:
        turn.say(_("This question is no longer open."))
    return "pop"


@on_word("cancel")
async def word_cancel(ctx: Context, turn: Turn) -> str | None:
    """UNBOOK (AVBOKA …) at any step: the one open booking at once, otherwise the list to choose from."""
    active = [i for i in await ctx.services.my_bookings() if i.kind == "request" and i.status in ACTIVE]
    if len(active) == 1:
        turn.vars["cancel"] = active[0].id
        return "confirm_cancel"
    return "my_bookings"
