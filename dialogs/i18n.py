"""Translations (gettext catalogs compiled by Babel) and locale-aware formatting."""

from __future__ import annotations

import gettext
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from dialogs.languages import chain, language

DOMAIN = "messages"


@lru_cache(maxsize=64)
def _catalog(localedir: str, languages: tuple[str, ...]) -> gettext.NullTranslations:
    # The stdlib chains every catalog it finds in `languages` order: that is our fallback chain.
    return gettext.translation(DOMAIN, localedir, languages=list(languages), fallback=True)


class Translator:
    """Translates and formats for one person's language."""

    def __init__(self, localedir: Path, code: str | None, tz: ZoneInfo):
        self.code = language(code).code
        self.tz = tz
        self._localedir = str(localedir)
        self._catalog = _catalog(self._localedir, tuple(chain(self.code)))

    def for_language(self, code: str | None) -> Translator:
        return Translator(Path(self._localedir), code, self.tz)

    @property
    def rtl(self) -> bool:
        return language(self.code).rtl

    def _(self, message: str, **values: object) -> str:
        text = self._catalog.gettext(message)
        return text.format(**values) if values else text

    def n_(self, singular: str, plural: str, n: int, **values: object) -> str:
        return self._catalog.ngettext(singular, plural, n).format(n=n, **values)

    def keywords(self, message: str) -> set[str]:
        """Words that trigger something; a catalog entry (context "keywords") lists them separated by "|"."""
        return {
            word.strip() for word in self._catalog.pgettext("keywords", message).split("|") if word.strip()
        }

    def datetime(self, value: datetime) -> str:
        return format_datetime(
            value, "EEE d MMM HH:mm", tzinfo=self.tz, locale=language(self.code).babel_locale
        )

    def date(self, value: date) -> str:
        return format_date(value, "d MMM y", locale=language(self.code).babel_locale)


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated later, where the person's language is known."""
    return message


def K_(context: str, message: str) -> str:
    """Marks a keyword list for extraction with its context (see `Translator.keywords`)."""
    return message
