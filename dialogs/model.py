"""Channel-neutral values that pass between the channels, the turn runner and the dialog engine."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum


class Expect(StrEnum):
    """What kind of answer an output waits for; channels use it to pick a keyboard or a prompt."""

    CHOICE = "choice"
    TEXT = "text"
    NUMBER = "number"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Choice:
    """One option: `id` is stable and language-free, `label` is already localised."""

    id: str
    label: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with an output (an "add to calendar" file): channels that can send files send it, the
    others ignore it."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class Output:
    """One message to the person: localised text, optional choices and what answer it expects."""

    text: str
    choices: tuple[Choice, ...] = ()
    expect: Expect = Expect.NOTHING
    rtl: bool = False
    # The engine's token of the menu these choices belong to; a channel puts it in its buttons, so that a
    # press on an old menu is recognised. Choices without a token are not the conversation's (staff buttons).
    menu_token: str | None = None
    # Set when this output is the same question again, paged by a button of the menu with this token
    # ("More", "Later"): a channel may replace that menu in place instead of sending a new message.
    replaces_menu: str | None = None
    attachment: Attachment | None = None

    def to_dict(self) -> dict:
        data = self._dict()
        if self.attachment is not None:
            data["attachment"] = {
                "filename": self.attachment.filename,
                "mime_type": self.attachment.mime_type,
                "data": base64.b64encode(self.attachment.data).decode("ascii"),
            }
        return data

    def _dict(self) -> dict:
        return {
            "text": self.text,
            "choices": [{"id": c.id, "label": c.label} for c in self.choices],
            "expect": self.expect.value,
            "rtl": self.rtl,
            "menu_token": self.menu_token,
            "replaces_menu": self.replaces_menu,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Output:
        return cls(
            text=data["text"],
            choices=tuple(Choice(c["id"], c["label"]) for c in data.get("choices", ())),
            expect=Expect(data.get("expect", Expect.NOTHING)),
            rtl=bool(data.get("rtl", False)),
            menu_token=data.get("menu_token"),
            replaces_menu=data.get("replaces_menu"),
            attachment=_attachment(data.get("attachment")),
        )


def _attachment(data: dict | None) -> Attachment | None:
    if not data:
        return None
    return Attachment(data["filename"], data["mime_type"], base64.b64decode(data["data"]))


@dataclass(frozen=True)
class Inbound:
    """One thing the person did: typed text, or pressed a button (`choice_id`).

    `menu_token` identifies the menu a button belonged to, so a press on an old menu can be recognised.
    A channel that cannot carry a long `choice_id` sends "#N", the N-th choice of that menu.
    `payload` holds what a channel knows besides the words (see `engine.HINTS`): {"municipality": code}
    from a link the person followed, {"nearby": code} from a location they shared, {"unsupported": kind}
    for what the assistant cannot read ("media": a photo, a sticker …; "edited": a changed message).
    """

    text: str = ""
    choice_id: str | None = None
    menu_token: str | None = None
    payload: dict = field(default_factory=dict)
