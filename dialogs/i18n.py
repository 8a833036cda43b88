"""Translations (gettext catalogs compiled by Babel) and locale-aware formatting.

Right-to-left: a translator never types direction marks. In a right-to-left language every value put into
a message (`{municipality}`, `{ref}`, `{when}`, `{km}` …) is wrapped in Unicode isolates (FSI … PDI), so a
Latin name, an address, a reference code or a date with Latin digits keeps its order and nothing around it
moves. In a left-to-right language only values written in a right-to-left script are isolated, so Swedish
and English texts never carry an invisible character (one would turn a whole SMS into UCS-2). Choice labels
get the same treatment (`choices`), and a line of bare data (an address on its own line) is marked
right-to-left (`line`).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from dialogs.languages import DOMAIN, Language, chain, language, offered
from dialogs.model import Choice
from dialogs.script import RLM, first_strong, has_rtl, isolate

# 24-hour clock and the day and month names of the person's language, as on Swedish letters and signs.
DATETIME_PATTERN = "EEE d MMM HH:mm"
DATE_PATTERN = "d MMM y"
_NATIVE_DIGITS = {
    "arab": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "arabext": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}


@lru_cache(maxsize=64)
def _catalog(localedir: str, languages: tuple[str, ...]) -> gettext.NullTranslations:
    # The stdlib chains every catalog it finds in `languages` order: that is our fallback chain.
    return gettext.translation(DOMAIN, localedir, languages=list(languages), fallback=True)


class Translator:
    """Translates and formats for one person's language."""

    def __init__(self, localedir: Path, code: str | None, tz: ZoneInfo):
        self.language: Language = language(code)
        self.code = self.language.code
        self.tz = tz
        self.localedir = Path(localedir)
        self._catalog = _catalog(str(localedir), tuple(chain(self.code)))

    def for_language(self, code: str | None) -> Translator:
        return Translator(self.localedir, code, self.tz)

    @property
    def rtl(self) -> bool:
        return self.language.rtl

    def offered(self) -> list[Language]:
        """The languages the picker offers: those with a catalog."""
        return offered(self.localedir)

    # --- messages ---------------------------------------------------------------------------------------

    def _(self, message: str, **values: object) -> str:
        text = self._catalog.gettext(message)
        return text.format(**self._values(values)) if values else text

    def n_(self, singular: str, plural: str, n: int, **values: object) -> str:
        return self._catalog.ngettext(singular, plural, n).format(**self._values({"n": n, **values}))

    def keywords(self, message: str) -> set[str]:
        """Words that trigger something; a catalog entry (context "keywords") lists them separated by "|"."""
        return {
            word.strip() for word in self._catalog.pgettext("keywords", message).split("|") if word.strip()
        }

    def _values(self, values: dict[str, object]) -> dict[str, str]:
        return {name: self.embed(self.display(value)) for name, value in values.items()}

    def display(self, value: object) -> str:
        """A value as the person reads it: numbers and dates in their locale and digits, text as it is."""
        if isinstance(value, bool) or not isinstance(value, int | float | datetime | date):
            return str(value)
        if isinstance(value, datetime):
            return self.datetime(value)
        if isinstance(value, date):
            return self.date(value)
        return self.number(value)

    # --- direction --------------------------------------------------------------------------------------

    def embed(self, text: str) -> str:
        """Text to put inside a sentence of this language; isolated when its direction may differ."""
        if self.rtl or has_rtl(text):
            return isolate(text)
        return text

    def line(self, text: str) -> str:
        """A line of bare data (a title from a feed, an address) shown on its own: in a right-to-left
        message it is isolated and the line marked right-to-left, so it aligns with the rest and keeps its
        order."""
        if self.rtl and text and first_strong(text) != "R":
            return RLM + isolate(text)
        return text

    def label(self, text: str) -> str:
        """A choice label, isolated when its direction differs from the language's, so that the numbered lines
        of an SMS ("1 نعم  2 Botkyrka") never swap a number and its label."""
        direction = first_strong(text)
        if direction is None or direction == ("R" if self.rtl else "L"):
            return text
        return isolate(text)

    def choices(self, choices: Iterable[Choice]) -> tuple[Choice, ...]:
        return tuple(Choice(choice.id, self.label(choice.label)) for choice in choices)

    # --- numbers and dates ------------------------------------------------------------------------------

    def _digits(self, text: str) -> str:
        if self.language.digits != "native":
            return text
        system = self._locale_numbering()
        return text.translate(_NATIVE_DIGITS[system]) if system in _NATIVE_DIGITS else text

    def _locale_numbering(self) -> str:
        return Locale.parse(self.language.babel_locale).default_numbering_system

    def number(self, value: float) -> str:
        native = self.language.digits == "native"
        text = format_decimal(
            value,
            locale=self.language.babel_locale,
            group_separator=False,
            numbering_system="default" if native else "latn",
        )
        return self._digits(text)

    def datetime(self, value: datetime) -> str:
        text = format_datetime(value, DATETIME_PATTERN, tzinfo=self.tz, locale=self.language.babel_locale)
        return self._digits(text)

    def date(self, value: date) -> str:
        return self._digits(format_date(value, DATE_PATTERN, locale=self.language.babel_locale))


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, where the person's language is known."""
    return message


def K_(context: str, message: str) -> str:
    """Marks a keyword list for extraction with its context (see `Translator.keywords`)."""
    return message
