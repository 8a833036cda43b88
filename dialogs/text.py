"""Cleaning and normalising what people type, before it is matched against anything."""

from __future__ import annotations

import re
import unicodedata

from dialogs.script import normalise_arabic

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SPACES = re.compile(r"\s+")
# Directional marks and isolates are invisible; people's phones add them to otherwise plain answers.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff")
)


def latin_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as 0-9."""
    return text.translate(_DIGITS)


def is_number(text: str) -> bool:
    """Only 0-9 (after `latin_digits`): "²" or "①" pass `str.isdigit` but are no answer to a menu."""
    return text.isascii() and text.isdigit()


def clean(text: str) -> str:
    """Drop control and invisible characters, collapse whitespace, use Latin digits."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    return _SPACES.sub(" ", latin_digits("".join(kept)).translate(_INVISIBLE)).strip()


def fold(text: str) -> str:
    """A comparison key: case-folded, without accents or punctuation ("Södertälje" -> "sodertalje"), with one
    form per Arabic-script letter and no zero-width joiners (see `dialogs.script.normalise_arabic`)."""
    decomposed = unicodedata.normalize("NFKD", normalise_arabic(text.casefold()))
    letters = (ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() else " " for ch in letters)
    return _SPACES.sub(" ", kept).strip()


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or punctuation)."""
    return any(ch.isalnum() for ch in text)


_PERSONAL_NUMBER = re.compile(r"(?<!\d)(?:19|20)?(\d{2})(\d{2})(\d{2})[-+ ]?(\d{4})(?!\d)")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(int(ch) for ch in digits):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def looks_like_personal_number(text: str) -> bool:
    """A Swedish personal identity or coordination number (YYMMDD-NNNN, YYYYMMDDNNNN; the day plus 60 for a
    coordination number), with a valid check digit."""
    for match in _PERSONAL_NUMBER.finditer(latin_digits(text)):
        year, month, day, rest = match.groups()
        day_number = int(day) - 60 if int(day) > 60 else int(day)
        if 1 <= int(month) <= 12 and 1 <= day_number <= 31 and _luhn_ok(year + month + day + rest):
            return True
    return False
