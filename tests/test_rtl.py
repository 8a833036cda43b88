"""Right-to-left: values and labels isolated so that nothing reverses, checked on the rendered strings.

A tiny Arabic catalog is compiled into a temporary folder (Arabic is not offered before its catalog is
complete); the texts are plain and short, enough to show where the isolates go.
"""

from __future__ import annotations

import string
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

import dialogs.flows  # noqa: F401 - registers the steps
from bot.channels.sms_render import count_segments, render_sms
from dialogs.engine import Context, run_step
from dialogs.i18n import Translator
from dialogs.model import Choice, Inbound, Output
from dialogs.script import FSI, PDI, RLM, first_strong
from tests.fakes import FakeServices

TZ = ZoneInfo("Europe/Stockholm")
LOCALES = Path(__file__).resolve().parent.parent / "locales"
INVISIBLE = set("\u2066\u2067\u2068\u2069\u200e\u200f\u202a\u202b\u202c\u202d\u202e")

ARABIC = {
    "Did you mean {municipality}?": "هل تقصد {municipality}؟",
    "You live in {municipality}.": "أنت تسكن في {municipality}.",
    "Booked: {when}, {address}. Reference {ref}. Show it at the desk.": (
        "تم الحجز: {when}، {address}. المرجع {ref}. أظهره في مكتب الاستقبال."
    ),
    "{title}, {place} ({km} km).": "{title}، {place} ({km} كم).",
    "Which one do you mean?": "أيّها تقصد؟",
    "None of these": "لا شيء منها",
    "Yes": "نعم",
    "No": "لا",
    "Choose your language:": "اختر لغتك:",
}
ARABIC_PLURAL = (
    ("{n} SFI course for you:", "{n} SFI courses for you:"),
    (
        "لا دورات SFI لك ({n}):",
        "دورة SFI واحدة لك ({n}):",
        "دورتان SFI لك ({n}):",
        "{n} دورات SFI لك:",
        "{n} دورة SFI لك:",
        "{n} دورة SFI لك:",
    ),
)


@pytest.fixture(scope="module")
def localedir(tmp_path_factory) -> Path:
    """A locale folder with the real Swedish and English catalogs and a tiny Arabic one."""
    root = tmp_path_factory.mktemp("locales")
    for code in ("sv", "en"):
        folder = root / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (LOCALES / code / "LC_MESSAGES" / "messages.po").open("rb") as source:
            catalog = read_po(source, locale=code)
        _write(folder, catalog)
    catalog = Catalog(locale="ar")
    for msgid, msgstr in ARABIC.items():
        catalog.add(msgid, msgstr)
    catalog.add(*ARABIC_PLURAL)
    folder = root / "ar" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    _write(folder, catalog)
    return root


def _write(folder: Path, catalog: Catalog) -> None:
    with (folder / "messages.po").open("wb") as po, (folder / "messages.mo").open("wb") as mo:
        write_po(po, catalog)
        write_mo(mo, catalog)


@pytest.fixture
def ar(localedir) -> Translator:
    return Translator(localedir, "ar", TZ)


@pytest.fixture
def en(localedir) -> Translator:
    return Translator(localedir, "en", TZ)


def iso(text: str) -> str:
    return f"{FSI}{text}{PDI}"


# --- values in sentences --------------------------------------------------------------------------------


def test_a_latin_name_in_an_arabic_sentence_is_isolated(ar) -> None:
    assert ar._("Did you mean {municipality}?", municipality="Botkyrka") == f"هل تقصد {iso('Botkyrka')}؟"


def test_every_value_of_a_booking_is_isolated_and_keeps_its_order(ar) -> None:
    when = ar.datetime(datetime(2026, 12, 7, 13, 0, tzinfo=ZoneInfo("UTC")))
    text = ar._(
        "Booked: {when}, {address}. Reference {ref}. Show it at the desk.",
        when=when,
        address="Sjödalsvägen 16, Huddinge",
        ref="PFR-4CD",
    )
    assert text == (
        f"تم الحجز: {iso('الاثنين 7 ديسمبر 14:00')}، {iso('Sjödalsvägen 16, Huddinge')}. "
        f"المرجع {iso('PFR-4CD')}. أظهره في مكتب الاستقبال."
    )
    assert first_strong(text) == "R"  # the paragraph is right-to-left, whatever the values


def test_numbers_are_isolated_too(ar) -> None:
    text = ar._("{title}, {place} ({km} km).", title="SFI B, kvällar", place="Huddinge", km=10)
    assert text == f"{iso('SFI B, kvällar')}، {iso('Huddinge')} ({iso('10')} كم)."


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, f"لا دورات SFI لك ({iso('0')}):"),
        (1, f"دورة SFI واحدة لك ({iso('1')}):"),
        (2, f"دورتان SFI لك ({iso('2')}):"),
        (3, f"{iso('3')} دورات SFI لك:"),
        (11, f"{iso('11')} دورة SFI لك:"),
        (100, f"{iso('100')} دورة SFI لك:"),
    ],
)
def test_arabic_has_six_plural_forms(ar, n: int, expected: str) -> None:
    assert ar.n_("{n} SFI course for you:", "{n} SFI courses for you:", n) == expected


def test_a_string_missing_in_arabic_falls_back_but_stays_isolated(ar) -> None:
    # Not in the tiny catalog: the chain ar -> sv -> en finds the Swedish catalog of this folder.
    assert ar._("Starts {date}.", date="11 jan") == f"Startar {iso('11 jan')}."


def test_already_isolated_values_are_not_wrapped_twice(ar) -> None:
    inner = ar._("You live in {municipality}.", municipality="Botkyrka")
    assert ar._("Did you mean {municipality}?", municipality=iso("Botkyrka")).count(FSI) == 1
    assert inner.count(FSI) == 1


def test_left_to_right_languages_isolate_only_right_to_left_values(en) -> None:
    assert en._("Did you mean {municipality}?", municipality="Botkyrka") == "Did you mean Botkyrka?"
    assert en._("Did you mean {municipality}?", municipality="ستوكهولم") == f"Did you mean {iso('ستوكهولم')}?"


def test_swedish_and_english_messages_stay_free_of_invisible_characters_and_gsm_7() -> None:
    """Every message with placeholders, filled with Latin values: not one isolate, so SMS stay GSM-7."""
    with (LOCALES / "messages.pot").open("rb") as source:
        template = read_po(source)
    for code in ("sv", "en"):
        t = Translator(LOCALES, code, TZ)
        for message in template:
            if not message.id or message.context or isinstance(message.id, tuple):
                continue
            names = {name for name in _placeholders(message.id)}
            text = t._(message.id, **dict.fromkeys(names, "Botkyrka 12"))
            assert not INVISIBLE & set(text), (code, message.id)
            assert count_segments(text).encoding == "GSM-7", (code, message.id, text)


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


# --- lines and labels -----------------------------------------------------------------------------------


def test_a_line_of_bare_data_is_marked_right_to_left(ar, en) -> None:
    assert ar.line("Sjödalsvägen 16, Huddinge") == RLM + iso("Sjödalsvägen 16, Huddinge")
    assert ar.line("دورة SFI") == "دورة SFI"
    assert en.line("Sjödalsvägen 16, Huddinge") == "Sjödalsvägen 16, Huddinge"


@pytest.mark.parametrize(
    ("label", "in_arabic", "in_english"),
    [
        ("Botkyrka", iso("Botkyrka"), "Botkyrka"),
        ("نعم", "نعم", iso("نعم")),
        ("العربية", "العربية", iso("العربية")),
        ("12", "12", "12"),  # digits alone have no direction to clash with
        ("Mon 7 Dec 14:00", iso("Mon 7 Dec 14:00"), "Mon 7 Dec 14:00"),
    ],
)
def test_labels_of_the_other_direction_are_isolated(ar, en, label, in_arabic, in_english) -> None:
    assert ar.label(label) == in_arabic
    assert en.label(label) == in_english


def test_sms_keeps_the_isolates_and_numbers_each_choice_beside_its_label(ar) -> None:
    question = ar._("Which one do you mean?")
    choices = ar.choices(
        [Choice("0127", "Botkyrka"), Choice("0126", "Huddinge"), Choice("none", "لا شيء منها")]
    )
    (sms,) = render_sms(Output(text=question, choices=choices, rtl=True))
    assert sms == f"أيّها تقصد؟\n1 {iso('Botkyrka')}  2 {iso('Huddinge')}  3 لا شيء منها"
    assert count_segments(sms).encoding == "UCS-2"
    # Outside the isolates the first letter is Arabic: every line is right-to-left, numbers stay in place.
    assert all(first_strong(line) == "R" for line in sms.splitlines())


def test_sms_of_a_yes_no_question(ar) -> None:
    text = ar._("Did you mean {municipality}?", municipality="Botkyrka")
    (sms,) = render_sms(Output(text=text, choices=ar.choices([Choice("yes", "نعم"), Choice("no", "لا")])))
    assert sms == f"هل تقصد {iso('Botkyrka')}؟\n1 نعم  2 لا"


def test_a_long_arabic_sms_split_in_two_keeps_every_isolate_closed(ar) -> None:
    lines = [ar._("You live in {municipality}.", municipality=f"Upplands Väsby {n}") for n in range(12)]
    messages = render_sms(Output(text="\n".join(lines)), budget_segments=1)
    assert len(messages) > 1
    for message in messages:
        assert message.count(FSI) == message.count(PDI)


# --- through the engine ---------------------------------------------------------------------------------


async def _turn(localedir, services, state, text):
    ctx = Context(services, Translator(localedir, services.language, TZ), datetime(2026, 11, 27, tzinfo=TZ))
    return await run_step(state, Inbound(text=text), ctx)


async def test_the_engine_isolates_labels_in_an_arabic_menu(localedir) -> None:
    names = {"0126": "Huddinge", "0136": "Haninge"}
    services = FakeServices(language="ar", consented=True, names=names)
    state = {"step": "ask_municipality"}
    outputs, state = await _turn(localedir, services, state, "h")
    (output,) = outputs
    assert output.rtl
    assert output.text == "أيّها تقصد؟"
    assert [c.label for c in output.choices] == [iso("Huddinge"), iso("Haninge"), "لا شيء منها"]
    # The menu remembers the plain labels: an answer by name still matches.
    assert state["menu"]["choices"][0] == ["0126", "Huddinge"]
    outputs, state = await _turn(localedir, services, state, "Huddinge")
    assert services.municipality_code == "0126"
    assert outputs[0].text.startswith(f"أنت تسكن في {iso('Huddinge')}.")


async def test_the_picker_isolates_right_to_left_names_and_puts_them_first_after_arabic(localedir) -> None:
    services = FakeServices()
    outputs, state = await _turn(localedir, services, {}, "مرحبا")
    labels = [c.label for c in outputs[0].choices]
    assert labels == [iso("العربية"), "Svenska", "English"]
    outputs, state = await _turn(localedir, services, {}, "Hej")
    assert [c.label for c in outputs[0].choices] == ["Svenska", "English", iso("العربية")]
    (sms,) = render_sms(outputs[0])
    assert sms.endswith(f"1 Svenska  2 English  3 {iso('العربية')}")


async def test_choosing_a_language_by_its_name_in_arabic_script(localedir) -> None:
    services = FakeServices()
    await _turn(localedir, services, {}, "مرحبا")
    await _turn(localedir, services, {"step": "choose_language"}, "العربيه")  # teh marbuta typed as heh
    assert services.language == "ar"
