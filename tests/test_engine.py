"""The dialog engine on its own: no database, no channel, a fake implementation of its ports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import dialogs.flows  # noqa: F401 - registers the steps
from dialogs.engine import Context, run_step
from dialogs.i18n import Translator
from dialogs.model import Expect, Inbound
from dialogs.script import isolate
from tests.fakes import FakeServices

TZ = ZoneInfo("Europe/Stockholm")
LOCALES = Path(__file__).resolve().parent.parent / "locales"


class Conversation:
    def __init__(self, services: FakeServices | None = None):
        self.services = services or FakeServices()
        self.state: dict = {}
        self.outputs = []

    async def say(self, text: str = "", **inbound) -> str:
        ctx = Context(
            self.services, Translator(LOCALES, self.services.language, TZ), datetime(2026, 11, 27, tzinfo=TZ)
        )
        self.outputs, self.state = await run_step(self.state, Inbound(text=text, **inbound), ctx)
        return self.outputs[0].text if self.outputs else ""

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.outputs[0].choices] if self.outputs else []


async def onboarded(language: str = "en") -> Conversation:
    conversation = Conversation(FakeServices(language=language, consented=True, municipality_code="0127"))
    await conversation.say("menu")
    return conversation


async def test_first_message_shows_the_language_picker_in_both_languages() -> None:
    c = Conversation()
    text = await c.say("Hi")
    assert "Choose your language" in text and "Välj språk" in text
    # Each language in its own name and script; the right-to-left names isolated (FSI … PDI) in the list.
    assert c.labels == [
        *("Svenska", "English", isolate("العربية"), isolate("فارسی"), isolate("دری"), isolate("پښتو")),
        *("Soomaali", "ትግርኛ", "Українська", "Русский", isolate("کوردیی ناوەندی"), "Kurdî (kurmancî)"),
    ]
    assert c.outputs[0].expect == Expect.CHOICE


@pytest.mark.parametrize("answer", ["2", "English", "english", "٢", "۲", "en"])
async def test_language_by_number_in_any_script_or_by_name(answer: str) -> None:
    c = Conversation()
    await c.say("Hi")
    text = await c.say(answer)
    assert c.services.language == "en"
    assert text.startswith("We save your answers")


async def test_consent_comes_before_anything_is_asked_and_read_more_explains() -> None:
    c = Conversation()
    await c.say("Hi")
    await c.say("2")
    text = await c.say("2")
    assert "never ask for your name" in text and not c.services.consented
    assert "Which municipality" in await c.say("1")
    assert c.services.consented


async def test_declining_consent_stores_nothing_and_asks_again() -> None:
    c = Conversation()
    await c.say("Hi")
    await c.say("2")
    text = await c.say("3")
    assert "cannot help you" in text and c.services.consented is False
    assert c.labels == ["OK", "Read more", "No, thanks"]


async def test_a_near_miss_asks_did_you_mean_and_yes_settles_it() -> None:
    c = Conversation(FakeServices(language="en", consented=True))
    c.state = {"step": "ask_municipality"}
    assert await c.say("botkirka") == "Did you mean Botkyrka?"
    text = await c.say("yes")
    assert c.services.municipality_code == "0127"
    assert text.startswith("You live in Botkyrka.")


async def test_no_to_did_you_mean_asks_again_and_a_new_name_is_taken_directly() -> None:
    c = Conversation(FakeServices(language="en", consented=True))
    c.state = {"step": "ask_municipality"}
    await c.say("botkirka")
    assert await c.say("2") == "Which municipality do you live in?"
    await c.say("botkirka")
    text = await c.say("Botkyrka")
    assert text.startswith("You live in Botkyrka.") and c.services.municipality_code == "0127"


async def test_two_close_candidates_are_offered_as_a_choice() -> None:
    c = Conversation(FakeServices(language="en", consented=True))
    c.state = {"step": "ask_municipality"}
    assert await c.say("h") == "Which one do you mean?"
    assert c.labels == ["Huddinge", "0136", "None of these"]
    await c.say("1")
    assert c.services.municipality_code == "0126"


async def test_results_page_with_more_and_details_and_booking() -> None:
    c = await onboarded()
    c.services.birth_year = 1990
    await c.say("1")
    text = await c.say("1")
    assert text == "5 SFI courses for you:"
    assert c.labels[-1] == "More" and len(c.labels) == 4
    assert c.labels[0] == "Course 1, Tumba (1 km). Offered by your municipality."
    assert await c.say("4") == "4-5 of 5:"
    assert c.labels[-1] == "Back to the first"
    text = await c.say("1")
    assert text.startswith("Course 4\nBotkyrka vux, Storgatan 1, Tumba")
    await c.say("1")
    assert c.labels[:3] == ["Tue 1 Dec 10:00", "Wed 2 Dec 10:00", "Thu 3 Dec 10:00"]
    text = await c.say("2")
    assert c.services.bookings == [(4, 2)]
    assert "Reference ACD-EFH" in text and text.endswith("What do you want to do now?")


async def test_birth_year_accepts_a_year_or_an_age_and_rejects_nonsense() -> None:
    c = await onboarded()
    await c.say("1")
    await c.say("1")
    assert "For example 1990" in await c.say("next year")
    assert "For example 1990" in await c.say("2026")
    await c.say("35")
    assert c.services.birth_year == 1991


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("", "Your message was empty."),
        ("   \u200f ", "Your message was empty."),
        ("x" * 10_000, "Your message is too long."),
        ("😀🎉", "Sorry, I did not understand."),
        ("\u0007\u0008", "Your message was empty."),
        ("42", "Please answer with a number from 1 to 8."),
        ("0x", "Please answer with a number."),
    ],
)
async def test_bad_input_gets_a_short_answer_and_the_question_again(message: str, expected: str) -> None:
    c = await onboarded()
    text = await c.say(message)
    assert text.startswith(expected)
    assert text.endswith("What do you want to do now?")
    assert c.state["step"] == "main_menu"


async def test_bad_input_is_answered_in_the_persons_language() -> None:
    c = await onboarded("sv")
    assert (await c.say("42")).startswith("Svara med en siffra från 1 till 8.")


async def test_help_repeats_the_question_after_the_help_text() -> None:
    c = await onboarded()
    await c.say("1")
    text = await c.say("HELP")
    assert text.startswith("Answer with the number") and text.endswith("What do you want to do?")


async def test_back_returns_to_the_previous_question() -> None:
    c = await onboarded()
    c.services.birth_year = 1990
    await c.say("1")
    await c.say("1")
    await c.say("2")
    assert c.state["step"] == "details"
    await c.say("back")
    assert c.state["step"] == "results"


async def test_language_can_be_changed_at_any_step_and_the_conversation_goes_on() -> None:
    c = await onboarded()
    await c.say("1")
    await c.say("language")
    text = await c.say("1")
    assert c.services.language == "sv"
    assert text == "Vad vill du göra?"


async def test_stop_silences_everything_until_start() -> None:
    c = await onboarded()
    text = await c.say("STOP")
    assert "no more messages" in text and c.services.opted_out
    assert await c.say("hello?") == "" and c.outputs == []
    assert await c.say("1") == ""
    text = await c.say("start")
    assert text.startswith("Welcome back.") and not c.services.opted_out


async def test_delete_asks_first_and_then_erases() -> None:
    c = await onboarded()
    await c.say("delete")
    assert c.labels == ["Yes, delete", "No, keep them"]
    await c.say("no")
    assert not c.services.erased and c.state["step"] == "main_menu"
    await c.say("delete")
    text = await c.say("1")
    assert c.services.erased and "deleted" in text
    assert c.state == {}


async def test_a_button_from_an_old_menu_gets_the_current_menu() -> None:
    c = await onboarded()
    old_token = c.state["menu"]["token"]
    await c.say("1")
    text = await c.say(choice_id="find", menu_token=old_token)
    assert text.startswith("That menu is old.")
    assert c.state["step"] == "ask_goal"


async def test_a_button_from_the_current_menu_is_taken() -> None:
    c = await onboarded()
    await c.say(choice_id="find", menu_token=c.state["menu"]["token"])
    assert c.state["step"] == "ask_goal"


async def test_forged_choice_ids_are_ignored_safely() -> None:
    c = await onboarded()
    text = await c.say(choice_id="../../admin", menu_token=c.state["menu"]["token"])
    assert text.startswith("That menu is old.") and c.state["step"] == "main_menu"


async def test_choices_are_answered_by_their_words_too() -> None:
    c = await onboarded()
    await c.say("change language")
    assert c.state["step"] == "choose_language"


async def test_every_step_answers_every_kind_of_input() -> None:
    """No dead end: from each step, any input gives an answer, and "menu" leads to the main menu."""
    from dialogs.engine import STEPS

    for step in STEPS:
        for message in ["", "1", "99", "hello", "😀", "ا", "menu"]:
            c = await onboarded()
            c.services.birth_year = 1990
            c.state = {"step": step, "vars": {"offering": 1, "candidates": ["0127"], "goal": "sfi"}}
            text = await c.say(message)
            assert text, (step, message)
        await c.say("menu")
        assert c.state["step"] == "main_menu"
