"""Answers understood in any script: yes and no, the words that work at any step, and numbers in Latin,
Arabic-Indic and Persian digits, whatever language the person chose (dialogs/keywords.py, engine.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import dialogs.flows  # noqa: F401 - registers the steps
from bot.reference import read_municipalities
from dialogs import keywords
from dialogs.engine import GLOBAL_WORDS, Context, run_step
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES
from dialogs.model import Inbound
from tests.fakes import FakeServices

TZ = ZoneInfo("Europe/Stockholm")
LOCALES = Path(__file__).resolve().parent.parent / "locales"
ACTIONS = ("help", "menu", "back", "language", "stop", "start", "delete")


@pytest.mark.parametrize("code", sorted(set(LANGUAGES) - {"sv", "en"}))
def test_every_language_has_every_word(code: str) -> None:
    assert set(ACTIONS) <= set(keywords.WORDS[code]), code
    assert {"yes", "no"} == set(keywords.ANSWERS[code]), code


@pytest.mark.parametrize("code", ["sv", "en"])
def test_swedish_and_english_have_every_word_in_their_catalog_or_the_table(code: str) -> None:
    t = Translator(LOCALES, code, TZ)
    for action in ACTIONS:
        assert t.keywords(GLOBAL_WORDS[action]) or keywords.WORDS[code].get(action), (code, action)
    assert set(keywords.ANSWERS[code]) == {"yes", "no"}


def test_no_answer_means_two_things_nor_is_a_global_word() -> None:
    seen: dict[str, str] = {}
    for table in keywords.ANSWERS.values():
        for said, words in table.items():
            for word in words:
                assert seen.setdefault(keywords.key(word), said) == said, word
                assert keywords.action(word) is None, word
    assert keywords.conflicts() == []


def test_no_word_is_the_name_of_a_municipality_or_its_seat() -> None:
    places = {keywords.key(row[field]) for row in read_municipalities() for field in ("name", "seat")}
    words = [w for table in keywords.WORDS.values() for ws in table.values() for w in ws]
    words += [w for table in keywords.ANSWERS.values() for ws in table.values() for w in ws]
    assert not [word for word in words if keywords.key(word) in places]


# --- through the engine ----------------------------------------------------------------------------------


async def say(services: FakeServices, state: dict, text: str) -> tuple[str, dict]:
    ctx = Context(services, Translator(LOCALES, services.language, TZ), datetime(2026, 11, 27, tzinfo=TZ))
    outputs, state = await run_step(state, Inbound(text=text), ctx)
    return (outputs[0].text if outputs else ""), state


async def asked_about_botkyrka(language: str = "en") -> tuple[FakeServices, dict]:
    services = FakeServices(language=language, consented=True)
    _, state = await say(services, {"step": "ask_municipality"}, "botkirka")
    assert state["step"] == "confirm_municipality"
    return services, state


@pytest.mark.parametrize(
    "typed",
    [
        "yes",
        "Ja",
        "نعم",
        "أيوه",
        "بله",
        "آره",
        "بلی",
        "هو",
        "haa",
        "እወ",
        "так",
        "Да",
        "بەڵێ",
        "erê",
        "1",
        "١",
        "۱",
    ],
)
async def test_yes_in_any_language_or_digits(typed: str) -> None:
    services, state = await asked_about_botkyrka()
    await say(services, state, typed)
    assert services.municipality_code == "0127"


@pytest.mark.parametrize(
    "typed", ["no", "Nej", "لا", "نه", "نخیر", "maya", "ኣይፋል", "ні", "нет", "نەخێر", "na", "2", "٢", "۲"]
)
async def test_no_in_any_language_or_digits(typed: str) -> None:
    services, state = await asked_about_botkyrka()
    _, state = await say(services, state, typed)
    assert services.municipality_code is None
    assert state["step"] == "ask_municipality"


@pytest.mark.parametrize(
    ("typed", "step"),
    [
        ("رجوع", "ask_municipality"),
        ("назад", "ask_municipality"),
        ("dib", "ask_municipality"),
        ("اللغة", "choose_language"),
        ("زبان", "choose_language"),
        ("ziman", "choose_language"),
        ("мова", "choose_language"),
        ("حذف", "confirm_delete"),
        ("видалити", "confirm_delete"),
        ("tirtir", "confirm_delete"),
        ("القائمة", "main_menu"),
        ("меню", "main_menu"),
    ],
)
async def test_global_words_in_any_language(typed: str, step: str) -> None:
    services, state = await asked_about_botkyrka()
    _, state = await say(services, state, typed)
    assert state["step"] == step


async def test_stop_in_arabic_while_english_was_chosen() -> None:
    services, state = await asked_about_botkyrka()
    _, state = await say(services, state, "توقف")
    assert services.opted_out and state["step"] == "stopped"
    _, state = await say(services, state, "ابدأ")
    assert not services.opted_out


async def test_a_choice_by_its_words_in_arabic_script_despite_variants() -> None:
    """Labels are compared folded: another yeh, kaf or heh, vowel marks or a ZWNJ do not matter."""
    from dialogs.engine import resolve_choice

    ctx = Context(FakeServices(), Translator(LOCALES, "en", TZ), datetime(2026, 11, 27, tzinfo=TZ))
    choices = [["sfi", "یادگیری زبان سوئدی"], ["work", "کار یا کارآموزی"], ["school", "مدرسه برای فرزندم"]]
    assert resolve_choice(ctx, "يادگيري زبان سوئدي", choices) == ("sfi", None)
    assert resolve_choice(ctx, "كار يا كارآموزي", choices) == ("work", None)
    assert resolve_choice(ctx, "مدرسة براي فرزندم", choices) == ("school", None)
    assert resolve_choice(ctx, "مدرسه\u200cبرای فرزندم", choices) == ("school", None)
