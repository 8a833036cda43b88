"""The language registry, the picker's languages and their order, and formatting in each locale."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from dialogs import languages
from dialogs.i18n import Translator
from dialogs.languages import LANGUAGES, chain, find_language, offered, pick_text, picker_order
from dialogs.script import ARABIC, CYRILLIC, ETHIOPIC, LATIN, script_of

LOCALES = Path(__file__).resolve().parent.parent / "locales"
TZ = ZoneInfo("Europe/Stockholm")
CODES = ["sv", "en", "ar", "fa", "prs", "ps", "so", "ti", "uk", "ru", "ckb", "kmr"]


def test_all_twelve_languages_are_described_in_the_conventions_order() -> None:
    assert list(LANGUAGES) == CODES
    assert {code for code, lang in LANGUAGES.items() if lang.rtl} == {"ar", "fa", "prs", "ps", "ckb"}


@pytest.mark.parametrize("code", CODES)
def test_every_language_has_a_babel_locale_that_babel_knows(code: str) -> None:
    lang = LANGUAGES[code]
    locale = Locale.parse(lang.babel_locale)
    assert locale.character_order == ("right-to-left" if lang.rtl else "left-to-right")
    assert script_of(lang.native_name) == lang.script


def test_dari_is_fa_af_for_babel() -> None:
    assert LANGUAGES["prs"].babel_locale == "fa_AF"
    assert LANGUAGES["kmr"].babel_locale == "ku"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("sv", "Svenska"),
        ("en", "English"),
        ("ar", "العربية"),
        ("fa", "فارسی"),
        ("prs", "دری"),
        ("ps", "پښتو"),
        ("so", "Soomaali"),
        ("ti", "ትግርኛ"),
        ("uk", "Українська"),
        ("ru", "Русский"),
        ("ckb", "کوردیی ناوەندی"),
        ("kmr", "Kurdî (kurmancî)"),
    ],
)
def test_each_language_is_named_in_itself_from_cldr(code: str, name: str) -> None:
    assert LANGUAGES[code].native_name == name


def test_a_language_cldr_lacks_is_named_by_its_fallback() -> None:
    made_up = dataclasses.replace(LANGUAGES["ti"], code="xx", babel_locale="xx_YY", native_fallback="Xish")
    assert made_up.native_name == "Xish"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("sv", ["sv", "en"]),
        ("en", ["en", "sv"]),
        ("prs", ["prs", "fa", "sv", "en"]),
        ("fa", ["fa", "prs", "sv", "en"]),
        ("ps", ["ps", "sv", "en"]),
        ("uk", ["uk", "sv", "en"]),
        ("ckb", ["ckb", "sv", "en"]),
        (None, ["sv", "en"]),
        ("xx", ["sv", "en"]),
    ],
)
def test_fallback_chains(code: str | None, expected: list[str]) -> None:
    assert chain(code) == expected


def test_every_chain_ends_in_swedish_and_english_and_names_only_known_languages() -> None:
    for code in CODES:
        steps = chain(code)
        assert set(steps) <= set(CODES)
        assert {"sv", "en"} <= set(steps)
    assert "ru" not in chain("uk") and "fa" not in chain("ps")


def test_feed_texts_follow_the_chain() -> None:
    texts = {"sv": "SFI på kvällstid", "en": "SFI, evenings", "fa": "اس اف ای عصرها"}
    assert pick_text(texts, "prs") == texts["fa"]
    assert pick_text(texts, "ar") == texts["sv"]
    assert pick_text({"en": "Only English"}, "ar") == "Only English"
    assert pick_text({"de": "Nur Deutsch"}, "ar") == "Nur Deutsch"
    assert pick_text(None, "ar") == ""


# --- offered languages -------------------------------------------------------------------------------


def test_all_twelve_languages_are_offered() -> None:
    assert [lang.code for lang in offered(LOCALES)] == CODES


def test_a_language_is_offered_as_soon_as_it_has_a_catalog(tmp_path) -> None:
    for code in ("ru", "ar", "sv"):
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text("", encoding="utf-8")
    assert [lang.code for lang in offered(tmp_path)] == ["sv", "en", "ar", "ru"]


FAKE = {
    code: LANGUAGES[code] for code in ("sv", "en", "so", "ar", "uk", "fa", "ckb", "ti", "ru")
}  # a registry in another order, as if all of these had catalogs


@pytest.mark.parametrize(
    ("first_message", "expected"),
    [
        ("Hej", ["sv", "en", "so", "ar", "uk", "fa", "ckb", "ti", "ru"]),
        ("", ["sv", "en", "so", "ar", "uk", "fa", "ckb", "ti", "ru"]),
        ("سلام", ["ar", "fa", "ckb", "sv", "en", "so", "uk", "ti", "ru"]),
        ("Привет", ["uk", "ru", "sv", "en", "so", "ar", "fa", "ckb", "ti"]),
        ("ሰላም", ["ti", "sv", "en", "so", "ar", "uk", "fa", "ckb", "ru"]),
        ("👋", ["sv", "en", "so", "ar", "uk", "fa", "ckb", "ti", "ru"]),
    ],
)
def test_the_script_of_the_first_message_puts_its_languages_first(first_message, expected) -> None:
    order = picker_order(list(FAKE.values()), script_of(first_message))
    assert [lang.code for lang in order] == expected


def test_a_first_message_in_arabic_script_puts_its_five_languages_first() -> None:
    assert [lang.code for lang in picker_order(offered(LOCALES), ARABIC)] == [
        *("ar", "fa", "prs", "ps", "ckb"),
        *("sv", "en", "so", "ti", "uk", "ru", "kmr"),
    ]


def test_scripts_are_recognised() -> None:
    assert script_of("Hej då") == LATIN
    assert script_of("می‌خواهم سوئدی یاد بگیرم") == ARABIC
    assert script_of("Хочу учить шведский") == CYRILLIC
    assert script_of("ሰላም") == ETHIOPIC
    assert script_of("123 !?") is None
    assert script_of("Stockholm مرحبا") == LATIN  # most letters decide


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("English", "en"),
        ("engelska", "en"),
        ("SVENSKA", "sv"),
        ("العربية", "ar"),
        ("عربي", "ar"),
        ("arabic", "ar"),
        ("فارسی", "fa"),
        ("فارسي", "fa"),  # with an Arabic yeh
        ("دری", "prs"),
        ("dari", "prs"),
        ("Українська", "uk"),
        ("русский", "ru"),
        ("soomaali", "so"),
        ("ትግርኛ", "ti"),
        ("kurdî", None),
        ("ru", "ru"),
    ],
)
def test_a_language_can_be_chosen_by_name(typed: str, code: str | None) -> None:
    assert find_language(typed, LANGUAGES.values()) == code


def test_only_offered_languages_can_be_chosen_by_name(tmp_path) -> None:
    assert find_language("русский", offered(LOCALES)) == "ru"
    assert find_language("русский", offered(tmp_path)) is None  # no catalogs there: English only


# --- formatting -------------------------------------------------------------------------------------

MEETING = datetime(2026, 12, 7, 13, 0, tzinfo=ZoneInfo("UTC"))  # 14:00 in Stockholm


@pytest.mark.parametrize(
    ("code", "when", "day"),
    [
        ("sv", "mån 7 dec. 14:00", "11 jan. 2027"),
        ("en", "Mon 7 Dec 14:00", "11 Jan 2027"),
        ("ar", "الاثنين 7 ديسمبر 14:00", "11 يناير 2027"),
        ("fa", "دوشنبه 7 دسامبر 14:00", "11 ژانویه 2027"),
        ("prs", "دوشنبه 7 دسم 14:00", "11 جنو 2027"),
        ("uk", "пн 7 груд. 14:00", "11 січ. 2027"),
        ("ru", "пн 7 дек. 14:00", "11 янв. 2027"),
    ],
)
def test_dates_and_times_in_the_persons_locale_and_stockholm_time(code, when, day) -> None:
    t = Translator(LOCALES, code, TZ)
    assert t.datetime(MEETING) == when
    assert t.date(date(2027, 1, 11)) == day


def test_daylight_saving_time_is_stockholms() -> None:
    t = Translator(LOCALES, "en", TZ)
    assert t.datetime(datetime(2027, 7, 1, 8, 0, tzinfo=ZoneInfo("UTC"))) == "Thu 1 Jul 10:00"


@pytest.mark.parametrize("code", CODES)
def test_every_language_writes_latin_digits(code: str) -> None:
    t = Translator(LOCALES, code, TZ)
    assert t.language.digits == "latn"
    assert t.number(12) == "12"
    assert t.number(1990) == "1990"  # no thousands separator in a year or a count
    assert all(ch.isascii() for ch in t.datetime(MEETING) if ch.isdigit())


def test_decimals_use_the_locales_separator() -> None:
    assert Translator(LOCALES, "sv", TZ).number(12.5) == "12,5"
    assert Translator(LOCALES, "en", TZ).number(12.5) == "12.5"


@pytest.mark.parametrize(
    ("code", "number", "when"),
    [
        ("fa", "۱۲٫۵", "دوشنبه ۷ دسامبر ۱۴:۰۰"),
        ("ckb", "١٢٫٥", "دووشەممە ٧ کانونی یەکەم ١٤:٠٠"),
        ("ar", "12.5", "الاثنين 7 ديسمبر 14:00"),  # CLDR's Arabic uses Latin digits by default
    ],
)
def test_a_language_may_choose_its_own_digits(monkeypatch, code, number, when) -> None:
    monkeypatch.setitem(languages.LANGUAGES, code, dataclasses.replace(LANGUAGES[code], digits="native"))
    t = Translator(LOCALES, code, TZ)
    assert t.number(12.5) == number
    assert t.datetime(MEETING) == when
    # Text is never touched: a reference code stays as it is written.
    assert "K7P-3QX 08-123 45" in t._("{ref}", ref="K7P-3QX 08-123 45")


def test_numbers_in_messages_are_formatted_and_text_is_left_alone() -> None:
    t = Translator(LOCALES, "sv", TZ)
    assert t._("{first}-{last} of {total}:", first=1, last=3, total=8) == "1-3 av 8:"
    assert t._("Starts {date}.", date=date(2027, 1, 11)) == "Startar 11 jan. 2027."
