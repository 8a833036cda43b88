"""Telegram rendering, free of aiogram: message text (HTML, escaped), button layout and callback data.

The terminal chat's Telegram preview (`vagvisare chat --channel telegram`) uses the same layout, so what it
shows is what Telegram shows.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from dialogs.model import Choice, Output

# Labels this short go three to a row; longer ones get a row of their own.
SHORT_LABEL = 16
BUTTONS_PER_ROW = 3
# A longer label is cut off on a phone: it becomes a numbered line of the text, and its button the number.
BUTTON_LABEL_MAX = 40
CALLBACK_DATA_MAX = 64
MESSAGE_MAX = 4096
RLM = "\u200f"

# Callback data: a choice of the conversation's menu "c:<token>:<choice id>", or by position when the id
# does not fit "n:<token>:<N>"; a button outside the conversation (staff) "x:<id>".
MENU, POSITION, OUTSIDE = "c", "n", "x"


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Rendered:
    """`text` is plain (the preview shows it); `html` is the same, escaped for parse_mode HTML."""

    text: str
    rows: tuple[tuple[Button, ...], ...]

    @property
    def html(self) -> str:
        return html.escape(self.text, quote=False)

    def chunks(self) -> list[str]:
        """The HTML text in messages Telegram accepts (4096 characters); the buttons go with the last."""
        return split_text(self.text)


def callback_data(output: Output, position: int, choice: Choice) -> str:
    if output.menu_token is None:
        data = f"{OUTSIDE}:{choice.id}"
        if len(data.encode()) > CALLBACK_DATA_MAX:
            raise ValueError(f"a button id outside the conversation is too long: {choice.id[:20]}…")
        return data
    data = f"{MENU}:{output.menu_token}:{choice.id}"
    if len(data.encode()) <= CALLBACK_DATA_MAX:
        return data
    return f"{POSITION}:{output.menu_token}:{position}"


def parse_callback(data: str) -> tuple[str, str | None, str]:
    """("menu", token, choice id) for the conversation's buttons (by position: choice id "#N"),
    ("outside", None, id) for others, ("unknown", None, "") for anything else (forged, or old)."""
    kind, _, rest = data.partition(":")
    if kind == OUTSIDE and rest:
        return "outside", None, rest
    token, _, value = rest.partition(":")
    if not token.isdigit() or not value:
        return "unknown", None, ""
    if kind == MENU:
        return "menu", token, value
    if kind == POSITION and value.isdigit():
        return "menu", token, f"#{value}"
    return "unknown", None, ""


def render(output: Output) -> Rendered:
    """Short labels three to a row, longer ones one per row; labels too long for a button are listed as
    numbered lines under the text, with the number on the button (the number a person could also type)."""
    numbered = [
        (position, choice)
        for position, choice in enumerate(output.choices, start=1)
        if len(choice.label) > BUTTON_LABEL_MAX
    ]
    text = output.text
    if numbered:
        # The dialogs mark the direction of what they say; a line made here starts with a number, which
        # has none, so in a right-to-left message it is marked right-to-left.
        mark = RLM if output.rtl else ""
        text += "\n\n" + "\n".join(f"{mark}{position}. {choice.label}" for position, choice in numbered)
    listed = {position for position, _ in numbered}
    rows: list[list[Button]] = []
    row_is_short = False
    for position, choice in enumerate(output.choices, start=1):
        label = str(position) if position in listed else choice.label
        button = Button(label, callback_data(output, position, choice))
        short = len(label) <= SHORT_LABEL
        if short and row_is_short and len(rows[-1]) < BUTTONS_PER_ROW:
            rows[-1].append(button)
        else:
            rows.append([button])
            row_is_short = short
    return Rendered(text, tuple(tuple(row) for row in rows))


def preview(output: Output) -> str:
    """The terminal's picture of a Telegram message: the text, then the buttons as [label]."""
    rendered = render(output)
    rows = (" ".join(f"[{button.label}]" for button in row) for row in rendered.rows)
    return "\n".join([rendered.text, *rows])


def split_text(text: str, limit: int = MESSAGE_MAX) -> list[str]:
    """Escaped HTML pieces of at most `limit` characters, cut between paragraphs, lines or words where it
    can be, never inside an escaped character."""
    pieces: list[str] = []
    rest = text
    while len(html.escape(rest, quote=False)) > limit:
        cut = _cut(rest, limit)
        pieces.append(html.escape(rest[:cut].rstrip(), quote=False))
        rest = rest[cut:].lstrip()
    pieces.append(html.escape(rest, quote=False))
    return [piece for piece in pieces if piece] or [""]


def _cut(text: str, limit: int) -> int:
    # Escaping at most quintuples a character ("&amp;"): find the longest plain prefix that fits.
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(html.escape(text[:middle], quote=False)) <= limit:
            low = middle
        else:
            high = middle - 1
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, low)
        if at > low // 2:
            return at + len(separator)
    return low
