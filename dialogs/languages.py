"""The languages the assistant speaks: their own names, direction, digits and fallback chains.

Every language the assistant is meant to speak is described here (`LANGUAGES`). A language is *offered* in
the picker only once it has a catalog, `locales/<code>/LC_MESSAGES/messages.po` (`offered`); the
completeness check (tests/test_translations.py) makes sure that every catalog there is complete. So adding a
language is adding its catalog: nothing else changes.

Fallback chains (for a message or a feed text missing in a language): a close written relative first, then
Swedish, then English — Swedish before English because the feeds are written in Swedish and every office,
letter and sign the person meets is Swedish.
- Dari and Persian are one written language with a few differences of words: each falls back on the other.
- Pashto does not fall back on Persian or Dari: another language, and not every Pashto reader reads Dari.
- Ukrainian does not fall back on Russian, nor Sorani on Kurmanji or Arabic (another script, and another
  language): sv, en.

Digits: every language writes Latin digits (0-9) in what the assistant formats (dates, times, counts,
distances), a deliberate choice: in Sweden every letter, sign, clock, timetable, address and reference code
at the desk is in Latin digits, and a booking time or a reference must be matched against them; Babel's own
default for Arabic is Latin digits too. People may answer in any digits (Latin, Arabic-Indic, Persian). A
language whose reviewers prefer its own digits in chat sets `digits="native"`: counts, dates and times then
use them, while reference codes, phone numbers and addresses (text, not numbers) stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError

from dialogs.script import ARABIC, CYRILLIC, ETHIOPIC, LATIN
from dialogs.text import fold

DOMAIN = "messages"


@dataclass(frozen=True)
class Language:
    """`babel_locale` formats dates and numbers and sets the plural rules of the catalog; `cldr_name` is
    the key of the language's own name in that locale's data (Dari is "fa_AF" in CLDR); `native_fallback`
    is used only where CLDR has no name."""

    code: str
    english_name: str
    babel_locale: str
    script: str
    native_fallback: str
    rtl: bool = False
    fallbacks: tuple[str, ...] = ("sv", "en")
    digits: str = "latn"
    cldr_name: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def native_name(self) -> str:
        return native_name(self)


def _lang(code: str, english: str, babel_locale: str, script: str, fallback: str, **kw) -> Language:
    return Language(code, english, babel_locale, script, fallback, **kw)


# The order is the picker's order (the conventions' list: Swedish and English, then by script).
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        _lang("sv", "Swedish", "sv_SE", LATIN, "Svenska", fallbacks=("en",), aliases=("svenska", "swedish")),
        _lang("en", "English", "en_GB", LATIN, "English", fallbacks=("sv",), aliases=("engelska",)),
        _lang("ar", "Arabic", "ar", ARABIC, "العربية", rtl=True, fallbacks=("sv", "en"), aliases=("عربي",)),
        _lang("fa", "Persian", "fa", ARABIC, "فارسی", rtl=True, fallbacks=("prs", "sv", "en")),
        _lang(
            "prs",
            "Dari",
            "fa_AF",
            ARABIC,
            "دری",
            rtl=True,
            fallbacks=("fa", "sv", "en"),
            cldr_name="fa_AF",
        ),
        _lang("ps", "Pashto", "ps", ARABIC, "پښتو", rtl=True, aliases=("پشتو",)),
        _lang("so", "Somali", "so", LATIN, "Soomaali", aliases=("af soomaali",)),
        _lang("ti", "Tigrinya", "ti", ETHIOPIC, "ትግርኛ"),
        _lang("uk", "Ukrainian", "uk", CYRILLIC, "Українська", aliases=("украинский",)),
        _lang("ru", "Russian", "ru", CYRILLIC, "Русский", aliases=("русский язык",)),
        _lang(
            "ckb", "Central Kurdish (Sorani)", "ckb", ARABIC, "کوردیی ناوەندی", rtl=True, aliases=("سۆرانی",)
        ),
        _lang("kmr", "Northern Kurdish (Kurmanji)", "ku", LATIN, "Kurdî (kurmancî)", cldr_name="ku"),
    )
}

DEFAULT_LANGUAGE = "sv"

# The languages a first message in a script most likely means, most likely first.
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    ARABIC: ("ar", "fa", "prs", "ps", "ckb"),
    CYRILLIC: ("uk", "ru"),
    ETHIOPIC: ("ti",),
}


def language(code: str | None) -> Language:
    return LANGUAGES.get(code or DEFAULT_LANGUAGE, LANGUAGES[DEFAULT_LANGUAGE])


@cache
def native_name(lang: Language) -> str:
    """The language's name in itself, from CLDR, capitalised as a picker's item ("Українська")."""
    try:
        locale = Locale.parse(lang.babel_locale)
    except (UnknownLocaleError, ValueError):
        return lang.native_fallback
    name = locale.languages.get(lang.cldr_name or locale.language) or locale.get_language_name()
    if not name:
        return lang.native_fallback
    return name[:1].upper() + name[1:]


def chain(code: str | None) -> list[str]:
    """The language itself, then its fallbacks, without repeats."""
    lang = language(code)
    seen: list[str] = []
    for item in (lang.code, *lang.fallbacks):
        if item not in seen:
            seen.append(item)
    return seen


def pick_text(texts: dict[str, str] | None, code: str | None) -> str:
    """A feed text in the person's language, else along the fallback chain, else any text there is."""
    if not texts:
        return ""
    for item in chain(code):
        if texts.get(item):
            return texts[item]
    return next((value for value in texts.values() if value), "")


# --- what the picker offers ---------------------------------------------------------------------------


def catalog_path(localedir: Path | str, code: str) -> Path:
    return Path(localedir) / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def offered(localedir: Path | str, registry: dict[str, Language] | None = None) -> list[Language]:
    """The languages with a catalog, in the registry's order. English, the source language, is always
    offered."""
    return list(_offered(str(localedir), tuple((registry or LANGUAGES).values())))


@cache
def _offered(localedir: str, languages: tuple[Language, ...]) -> tuple[Language, ...]:
    return tuple(
        lang for lang in languages if lang.code == "en" or catalog_path(localedir, lang.code).exists()
    )


def picker_order(languages: Sequence[Language], script: str | None) -> list[Language]:
    """The picker's languages, those most likely meant by the script of the first message first (a courtesy:
    "مرحبا" is in Arabic script, which puts Arabic, Persian, Dari, Pashto and Sorani at the top)."""
    likely = SCRIPT_LANGUAGES.get(script or "", ())
    rank = {code: index for index, code in enumerate(likely)}
    return sorted(languages, key=lambda lang: rank.get(lang.code, len(rank)))


def find_language(text: str, languages: Iterable[Language]) -> str | None:
    """A language written by its code or its name, in itself or in English ("English", "ru", "فارسی")."""
    key = fold(text)
    if not key:
        return None
    for lang in languages:
        names = {lang.code, lang.native_name, lang.native_fallback, lang.english_name, *lang.aliases}
        if key in {fold(name) for name in names}:
            return lang.code
    return None
