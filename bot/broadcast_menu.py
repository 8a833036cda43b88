"""The staff menu: compose an announcement one question at a time, preview it, confirm it, send it now or
at a chosen time; list one's announcements, see a delivery report, cancel a scheduled one or stop a
running one.

Channel-neutral: a channel (bot/channels/telegram_broadcast.py) passes what a staff member typed or
pressed, in one transaction, and shows the `Reply`. What an announcement is and does (the audience, the
preview, scheduling, cancelling, stopping, the report) is bot/broadcasts.py's; this module only asks.

The dialog's state is a row of `staff_dialogs`, so a restart in the middle of composing loses nothing.
Buttons carry the number of the step they were shown for (`n`): a button of an older step gets the
current step shown afresh, never acted on. Whoever acts is looked up as staff again at every press and
message (their scope may have changed); a refused attempt is written to the audit log. Staff read Swedish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit, broadcasts
from bot.broadcasts import AGE_GROUPS, CHANNELS, GOALS, MAX_TEXT, Audience, BroadcastError
from bot.logs import pseudonym
from bot.models import Announcement, Municipality, Staff, StaffDialog
from bot.reminders import in_quiet_hours
from bot.staff import STAFF_LANGUAGE, language_name, staff_member
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES
from dialogs.model import Choice, Output

log = logging.getLogger(__name__)
PREFIX = "bc"
# Toggle lists show this many items a page (three rows of three); the list of announcements fewer.
PAGE = 9
LIST_PAGE = 6
RECENT = 60
# The steps of composing: typed text in them belongs to the staff menu, not to the newcomer dialog.
COMPOSE = (
    "text_sv",
    "langs",
    "text_lang",
    "missing",
    "aud_mun",
    "aud_lang",
    "aud_goal",
    "aud_age",
    "aud_chan",
    "urgent",
    "preview",
    "when",
)
TEXT_STEPS = ("text_sv", "text_lang", "when")
TOGGLES = {  # step -> the audience field it sets, and the next step
    "aud_mun": ("municipalities", "aud_lang"),
    "aud_lang": ("languages", "aud_goal"),
    "aud_goal": ("goals", "aud_age"),
    "aud_age": ("age_groups", "aud_chan"),
    "aud_chan": ("channels", "urgent"),
}
TIME_FORMAT = "%Y-%m-%d %H:%M"
TOMORROW_AT = time(9, 0)


@dataclass
class Reply:
    """What the menu shows now (`output`), and whether in place of the pressed message (`edit`); `alert`:
    a refusal for the one who pressed; `notice`: a short confirmation."""

    output: Output | None = None
    edit: bool = False
    alert: str | None = None
    notice: str | None = None


async def member_and_dialog(
    session: AsyncSession, telegram_id: int
) -> tuple[Staff | None, StaffDialog | None]:
    member = await staff_member(session, telegram_id)
    if member is None:
        return None, None
    query = select(StaffDialog).where(StaffDialog.staff_id == member.id)
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return member, await session.scalar(query)


def composing(dialog: StaffDialog | None) -> bool:
    return dialog is not None and dialog.data.get("step") in COMPOSE


def refuse(
    session: AsyncSession,
    member: Staff | None,
    telegram_id: int,
    action: str,
    now: datetime,
    **details: object,
) -> None:
    """A staff-menu action someone may not do: in the audit log, the one who tried as a pseudonym."""
    log.info("staff menu action refused", extra={"action": action})
    audit.record(
        session,
        member.id if member else None,
        f"broadcast.menu.{action}.refused",
        None,
        now,
        who=pseudonym(str(telegram_id)),
        **details,
    )


class StaffMenu:
    """One staff member's menu, for one message or press, inside the caller's transaction."""

    def __init__(
        self,
        session: AsyncSession,
        member: Staff,
        dialog: StaffDialog | None,
        now: datetime,
        *,
        telegram_id: int,
        tz: ZoneInfo,
        localedir: Path,
        sms_budget: int = 3,
    ):
        self.session, self.member, self.now = session, member, now
        self.telegram_id, self.tz, self.localedir, self.sms_budget = telegram_id, tz, localedir, sms_budget
        self.t = Translator(localedir, STAFF_LANGUAGE, tz)
        if dialog is None:
            dialog = StaffDialog(staff_id=member.id, data={"step": "menu", "n": 0}, updated_at=now)
            session.add(dialog)
        self.dialog = dialog
        self.state = dict(dialog.data)

    # --- what comes in ----------------------------------------------------------------------------------

    async def open(self) -> Reply:
        """/staff: the step being composed, shown again; otherwise the main menu."""
        if self.state.get("step") not in COMPOSE:
            audit.record(self.session, self.member.id, "broadcast.menu", None, self.now)
            self._go("menu")
        return Reply(await self._render())

    async def leave(self) -> Reply:
        """/cancel or "Cancel": composing ends, a draft made for the preview is cancelled."""
        await self._drop_draft()
        self._go("menu")
        return Reply(await self._render(), edit=True, notice=self.t._("Cancelled."))

    async def text(self, text: str) -> Reply:
        """Typed text while composing."""
        _ = self.t._
        step, text = self.state.get("step"), text.strip()
        if step not in TEXT_STEPS:
            return Reply(await self._render(_("Please use the buttons, or write /cancel to stop.")))
        if step == "when":
            return await self._typed_time(text)
        if not text or len(text) > MAX_TEXT:
            return Reply(await self._render(_("The text must be 1 to {n} characters.", n=MAX_TEXT)))
        texts = dict(self.state.get("texts") or {})
        texts["sv" if step == "text_sv" else self.state["lang"]] = text
        self.state["texts"] = texts
        self._go("langs")
        return Reply(await self._render())

    async def press(self, value: str) -> Reply:
        """A button: "bc:<step number>:<action>[:<argument>]"."""
        parts = value.split(":", 3)
        if len(parts) < 3 or parts[0] != PREFIX or not parts[1].isdigit():
            return Reply()
        n, action, argument = int(parts[1]), parts[2], parts[3] if len(parts) == 4 else ""
        if n != self.state.get("n"):
            return Reply(await self._render())  # an older menu: the current one, afresh
        if action == "cancel":
            return await self.leave()
        if action == "menu":
            await self._drop_draft()
            self._go("menu")
            return Reply(await self._render(), edit=True)
        handler = getattr(self, f"_on_{self.state.get('step', 'menu')}", None)
        reply = await handler(action, argument) if handler else None
        return reply or Reply(await self._render())

    # --- the steps' buttons -----------------------------------------------------------------------------

    async def _on_menu(self, action: str, argument: str) -> Reply | None:
        if action == "new":
            self.state = {"step": "menu", "n": self.state.get("n", 0)}
            self._go("text_sv")
            return Reply(await self._render(), edit=True)
        if action == "list":
            self._go("list")
            return Reply(await self._render(), edit=True)
        return None

    async def _on_langs(self, action: str, argument: str) -> Reply | None:
        if action == "page" and argument.isdigit():
            self.state["page"] = int(argument)
            return Reply(await self._render(), edit=True)
        if action == "lang" and argument in LANGUAGES and argument != "sv":
            self.state["lang"] = argument
            self._go("text_lang")
            return Reply(await self._render(), edit=True)
        if action == "done":
            self._go("missing")
            return Reply(await self._render(), edit=True)
        return None

    async def _on_text_lang(self, action: str, argument: str) -> Reply | None:
        if action == "back":
            self._go("langs")
            return Reply(await self._render(), edit=True)
        return None

    async def _on_missing(self, action: str, argument: str) -> Reply | None:
        if action == "missing" and argument in broadcasts.MISSING:
            self.state["missing"] = argument
            audience = {"municipalities": [], "languages": [], "goals": [], "age_groups": [], "channels": []}
            self.state["audience"] = audience
            self._go("aud_mun")
            return Reply(await self._render(), edit=True)
        return None

    async def _toggle(self, action: str, argument: str) -> Reply | None:
        step = self.state["step"]
        field, following = TOGGLES[step]
        chosen: list[str] = list(self.state["audience"].get(field) or [])
        if action == "page" and argument.isdigit():
            self.state["page"] = int(argument)
        elif action == "all":
            chosen = []
        elif action == "pick":
            allowed = dict(await self._items(step))
            if argument not in allowed:
                # A municipality outside the member's scope (or an item that does not exist): forged.
                refuse(
                    self.session,
                    self.member,
                    self.telegram_id,
                    "pick",
                    self.now,
                    step=step,
                    value=argument[:20],
                )
                return Reply(alert=self._refusal(step))
            chosen = [c for c in chosen if c != argument] if argument in chosen else [*chosen, argument]
        elif action == "done":
            self._go(following)
            return Reply(await self._render(), edit=True)
        else:
            return None
        self.state["audience"] = {**self.state["audience"], field: chosen}
        return Reply(await self._render(), edit=True)

    _on_aud_mun = _on_aud_lang = _on_aud_goal = _on_aud_age = _on_aud_chan = _toggle

    async def _on_urgent(self, action: str, argument: str) -> Reply | None:
        if action != "urgent" or argument not in ("yes", "no"):
            return None
        self.state["urgent"] = argument == "yes"
        try:
            announcement = await broadcasts.create(
                self.session,
                self.member,
                dict(self.state["texts"]),
                self._audience(),
                self.now,
                missing=self.state.get("missing", "sv_en"),
                urgent=self.state["urgent"],
            )
        except BroadcastError as exc:
            log.info("staff menu: announcement refused", extra={"error": str(exc)})
            return Reply(alert=self.t._("That cannot be done now."))
        self.state["draft"] = announcement.id
        self._go("preview")
        return Reply(await self._render())  # a new message: a preview is long

    async def _on_preview(self, action: str, argument: str) -> Reply | None:
        if action == "confirm":
            self._go("when")
            return Reply(await self._render())
        if action == "audience":  # back to the audience, texts and choices kept; a new draft at the preview
            await self._drop_draft()
            self._go("aud_mun")
            return Reply(await self._render())
        return None

    async def _on_when(self, action: str, argument: str) -> Reply | None:
        if action == "now":
            return await self._schedule(None)
        if action == "tomorrow":
            day = self.now.astimezone(self.tz).date() + timedelta(days=1)
            return await self._schedule(datetime.combine(day, TOMORROW_AT, tzinfo=self.tz))
        return None

    async def _on_list(self, action: str, argument: str) -> Reply | None:
        if action == "page" and argument.isdigit():
            self.state["page"] = int(argument)
            return Reply(await self._render(), edit=True)
        if action == "show" and argument.isdigit():
            return await self._show(int(argument))
        return None

    async def _on_show(self, action: str, argument: str) -> Reply | None:
        shown = self.state.get("show")
        if action == "list":
            self._go("list")
            return Reply(await self._render(), edit=True)
        if action == "refresh":
            return await self._show(shown)
        if action in ("drop", "halt") and shown is not None:
            try:
                if action == "drop":
                    await broadcasts.cancel(self.session, self.member, shown, self.now)
                else:
                    await broadcasts.stop(self.session, self.member, shown, self.now)
            except BroadcastError:
                return Reply(await self._render(), edit=True, alert=self.t._("That cannot be done now."))
            notice = self.t._("Cancelled.") if action == "drop" else self.t._("Stopped.")
            return Reply(await self._render(), edit=True, notice=notice)
        return None

    # --- acting ---------------------------------------------------------------------------------------

    async def _typed_time(self, text: str) -> Reply:
        _ = self.t._
        try:
            at = datetime.strptime(text, TIME_FORMAT).replace(tzinfo=self.tz)
        except ValueError:
            return Reply(await self._render())  # the question again, with an example
        if at <= self.now:
            return Reply(await self._render(_("That time has passed. Choose a later time.")))
        if broadcasts.in_clock_change_hour(at):
            return Reply(
                await self._render(
                    _("Nothing is sent between 02:00 and 03:00 (the clocks may change). Choose another time.")
                )
            )
        return await self._schedule(at)

    async def _schedule(self, at: datetime | None) -> Reply:
        _ = self.t._
        draft = self.state.get("draft")
        try:
            announcement = await broadcasts.schedule(self.session, self.member, draft, at, self.now)
        except BroadcastError:
            self._go("menu")
            return Reply(await self._render(), alert=_("That cannot be done now."))
        if at is None:
            headline = _("Announcement {id} goes out now.", id=str(announcement.id))
        else:
            headline = _("Announcement {id} is scheduled for {when}.", id=str(announcement.id), when=at)
        if not announcement.urgent and in_quiet_hours(announcement.scheduled_at, self.tz):
            headline += "\n" + _("That is in the quiet hours (21:00-08:00): it goes out at 08:00.")
        self.state.pop("draft", None)
        self.state["show"] = announcement.id
        self._go("show")
        return Reply(await self._render(headline))

    async def _show(self, announcement_id: int | None) -> Reply:
        try:
            if announcement_id is None:
                raise BroadcastError("nothing shown")
            await broadcasts.own(self.session, self.member, announcement_id)
        except BroadcastError:
            refuse(
                self.session, self.member, self.telegram_id, "show", self.now, announcement=announcement_id
            )
            return Reply(alert=self.t._("That is outside your municipalities."))
        audit.record(
            self.session, self.member.id, "broadcast.report", f"announcement:{announcement_id}", self.now
        )
        self.state["show"] = announcement_id
        self._go("show")
        return Reply(await self._render(), edit=True)

    async def _drop_draft(self) -> None:
        draft = self.state.pop("draft", None)
        if draft is not None:
            try:
                await broadcasts.cancel(self.session, self.member, draft, self.now)
            except BroadcastError:
                pass  # sent or cancelled meanwhile: nothing to undo

    # --- state ----------------------------------------------------------------------------------------

    def _go(self, step: str) -> None:
        """A new step: its buttons get a new number, so those of earlier steps are stale."""
        self.state["step"], self.state["n"], self.state["page"] = step, self.state.get("n", 0) + 1, 0

    def save(self) -> None:
        self.dialog.data, self.dialog.updated_at = dict(self.state), self.now

    def _audience(self) -> Audience:
        audience = Audience.from_dict(self.state.get("audience") or {})
        scope = broadcasts.scope(self.member)
        # The scope may have shrunk since the municipalities were chosen.
        audience.municipalities = [code for code in audience.municipalities if code in scope]
        return audience

    def _example(self) -> str:
        return (
            (self.now.astimezone(self.tz) + timedelta(days=1)).replace(hour=9, minute=0).strftime(TIME_FORMAT)
        )

    def _refusal(self, step: str) -> str:
        if step == "aud_mun":
            return self.t._("That is outside your municipalities.")
        return self.t._("That cannot be done now.")

    # --- what the menu shows ----------------------------------------------------------------------------

    def _choice(self, action: str, label: str, argument: str = "") -> Choice:
        data = f"{PREFIX}:{self.state['n']}:{action}" + (f":{argument}" if argument else "")
        return Choice(data, label)

    async def _render(self, headline: str = "") -> Output:
        step = self.state.get("step", "menu")
        text, choices = await getattr(self, f"_show_{step}", self._show_menu)()
        self.save()
        if headline:
            text = f"{headline}\n\n{text}"
        return Output(text=text, choices=tuple(choices))

    async def _show_menu(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        self.state["step"] = "menu"
        return _("Staff menu. What do you want to do?"), [
            self._choice("new", _("New announcement")),
            self._choice("list", _("My announcements")),
        ]

    async def _show_text_sv(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        return _("Write the announcement in Swedish (at most {n} characters).", n=MAX_TEXT), [
            self._choice("cancel", _("Cancel"))
        ]

    async def _show_langs(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        texts = self.state.get("texts") or {}
        names = ", ".join(language_name(code) for code in LANGUAGES if code in texts)
        others = [
            (code, ("✓ " if code in texts else "") + language_name(code))
            for code in LANGUAGES
            if code != "sv"
        ]
        page, nav = self._page(others, PAGE)
        text = _("Texts: {languages}.\nAdd a text in another language, or press Done.", languages=names)
        return text, [
            *(self._choice("lang", label, code) for code, label in page),
            *nav,
            self._choice("done", _("Done")),
            self._choice("cancel", _("Cancel")),
        ]

    async def _show_text_lang(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        return _("Write the text in {language}.", language=language_name(self.state.get("lang"))), [
            self._choice("back", _("Back")),
            self._choice("cancel", _("Cancel")),
        ]

    async def _show_missing(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        text = _("What do people get whose language has no text?")
        if "en" not in (self.state.get("texts") or {}):
            text += "\n" + _("(There is no English text: Swedish only.)")
        return text, [
            self._choice("missing", _("Swedish and English"), "sv_en"),
            self._choice("missing", _("Nothing"), "skip"),
            self._choice("cancel", _("Cancel")),
        ]

    async def _items(self, step: str) -> list[tuple[str, str]]:
        """(value, label) of a toggle list; municipalities only those of the member's scope."""
        _ = self.t._
        if step == "aud_mun":
            codes = broadcasts.scope(self.member)
            rows = await self.session.execute(
                select(Municipality.code, Municipality.name)
                .where(Municipality.code.in_(codes))
                .order_by(Municipality.name)
            )
            return [(code, name) for code, name in rows.all()]
        if step == "aud_lang":
            return [(code, language_name(code)) for code in LANGUAGES]
        if step == "aud_goal":
            labels = {
                "sfi": _("Learn Swedish"),
                "study": _("Study"),
                "work": _("Work or internship"),
                "school": _("School for my child"),
            }
            return [(goal, labels[goal]) for goal in GOALS]
        if step == "aud_age":
            return [(group, group) for group in AGE_GROUPS]
        return [(channel, {"telegram": "Telegram", "sms": "SMS"}[channel]) for channel in CHANNELS]

    async def _show_toggle(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        step = self.state["step"]
        field, _following = TOGGLES[step]
        items = await self._items(step)
        allowed = dict(items)
        chosen = [value for value in self.state["audience"].get(field) or [] if value in allowed]
        question = {
            "aud_mun": _("Which municipalities?"),
            "aud_lang": _("People with which languages?"),
            "aud_goal": _("People with which goals?"),
            "aud_age": _("People of which ages (or with children of those ages)?"),
            "aud_chan": _("On which channels?"),
        }[step]
        shown = ", ".join(allowed[value] for value in chosen) if chosen else _("all")
        labelled = [(value, ("✓ " if value in chosen else "") + label) for value, label in items]
        page, nav = self._page(labelled, PAGE)
        text = question + "\n" + _("Chosen: {chosen}", chosen=shown)
        return text, [
            *(self._choice("pick", label, value) for value, label in page),
            self._choice("all", ("✓ " if not chosen else "") + _("All")),
            *nav,
            self._choice("done", _("Next")),
            self._choice("cancel", _("Cancel")),
        ]

    _show_aud_mun = _show_aud_lang = _show_aud_goal = _show_aud_age = _show_aud_chan = _show_toggle

    async def _show_urgent(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        return _("Is it urgent? Otherwise it waits out the quiet hours (21:00-08:00)."), [
            self._choice("urgent", _("No"), "no"),
            self._choice("urgent", _("Yes, urgent"), "yes"),
            self._choice("cancel", _("Cancel")),
        ]

    async def _show_preview(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        announcement = await self.session.get(Announcement, self.state.get("draft"))
        if announcement is None:
            return await self._show_menu()
        result = await broadcasts.preview(
            self.session, announcement, self.now, self.tz, self.localedir, self.sms_budget
        )
        lines = [_("Preview. Recipients: {n}", n=result.total)]
        for (channel, language), count in sorted(result.counts.items()):
            lines.append(f"{_channel(channel)}, {language_name(language)}: {count}")
        for language, count in sorted(result.skipped.items()):
            lines.append(
                _(
                    "No text in their language, nothing for: {language} ({n})",
                    language=language_name(language),
                    n=count,
                )
            )
        lines.append(
            _(
                "SMS messages: {messages}, segments: {segments}",
                messages=result.sms_messages,
                segments=result.sms_segments,
            )
        )
        for (channel, language), sample in sorted(result.samples.items()):
            lines.append(f"\n— {_channel(channel)}, {language_name(language)} —\n{sample}")
        return "\n".join(lines), [
            self._choice("confirm", _("Confirm")),
            self._choice("audience", _("Change audience")),
            self._choice("cancel", _("Cancel")),
        ]

    async def _show_when(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        text = _(
            'When shall it go out? Press a button, or write a time like "{example}".', example=self._example()
        )
        return text, [
            self._choice("now", _("Send now")),
            self._choice("tomorrow", _("Tomorrow 09:00")),
            self._choice("cancel", _("Cancel")),
        ]

    async def _show_list(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        recent = (
            await self.session.scalars(select(Announcement).order_by(Announcement.id.desc()).limit(RECENT))
        ).all()
        mine = [a for a in recent if a.status != "draft" and broadcasts.in_scope(self.member, a)]
        items = [(str(a.id), f"{a.id} · {self._status(a.status)} · {self._when(a)}") for a in mine]
        page, nav = self._page(items, LIST_PAGE)
        text = _("Your announcements, the newest first:") if items else _("There are no announcements yet.")
        return text, [
            *(self._choice("show", label, value) for value, label in page),
            *nav,
            self._choice("menu", _("Menu")),
        ]

    async def _show_show(self) -> tuple[str, list[Choice]]:
        _ = self.t._
        announcement_id = self.state.get("show")
        announcement = await self.session.get(Announcement, announcement_id, populate_existing=True)
        if announcement is None or not broadcasts.in_scope(self.member, announcement):
            return await self._show_menu()
        report = await broadcasts.report(self.session, announcement.id)
        lines = [
            _(
                "Announcement {id}: {status}",
                id=str(announcement.id),
                status=self._status(announcement.status),
            ),
            _("Time: {when}", when=self._when(announcement)),
            _(
                "Languages: {languages}",
                languages=", ".join(language_name(c) for c in LANGUAGES if c in announcement.texts),
            ),
            "",
            _("Channel, language: queued / sent / delivered / failed / cancelled"),
        ]
        for (channel, language), counts in report.rows.items():
            numbers = " / ".join(str(counts[c]) for c in broadcasts.REPORT_COLUMNS)
            lines.append(f"{_channel(channel)}, {language_name(language)}: {numbers}")
        totals = report.totals
        lines.append(
            _("All: {numbers}", numbers=" / ".join(str(totals[c]) for c in broadcasts.REPORT_COLUMNS))
        )
        choices = [self._choice("refresh", _("Refresh"))]
        if announcement.status in ("draft", "scheduled"):
            choices.append(self._choice("drop", _("Cancel it")))
        elif announcement.status == "sending":
            choices.append(self._choice("halt", _("Stop it")))
        choices += [self._choice("list", _("Back")), self._choice("menu", _("Menu"))]
        return "\n".join(lines), choices

    def _page(self, items: list[tuple[str, str]], size: int) -> tuple[list[tuple[str, str]], list[Choice]]:
        pages = max(1, -(-len(items) // size))
        page = min(max(self.state.get("page", 0), 0), pages - 1)
        nav = []
        if page > 0:
            nav.append(self._choice("page", "‹", str(page - 1)))
        if page < pages - 1:
            nav.append(self._choice("page", "›", str(page + 1)))
        return items[page * size : (page + 1) * size], nav

    def _status(self, status: str) -> str:
        _ = self.t._
        return {
            "draft": _("draft"),
            "scheduled": _("scheduled"),
            "sending": _("sending"),
            "sent": _("sent"),
            "cancelled": _("called off"),
            "stopped": _("stopped"),
            "failed": _("failed"),
        }.get(status, status)

    def _when(self, announcement: Announcement) -> str:
        return self.t.datetime(announcement.scheduled_at) if announcement.scheduled_at else "–"


def _channel(channel: str) -> str:
    return {"telegram": "Telegram", "sms": "SMS"}.get(channel, channel)
