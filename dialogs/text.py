"""Cleaning and normalising what people type, before it is matched against anything."""

from __future__ import annotations

import re
import unicodedata

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SPACES = re.compile(r"\s+")
# Directional marks and isolates are invisible; people's phones add them to otherwise plain answers.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff")
)


def latin_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as 0-9."""
    return text.translate(_DIGITS)


def clean(text: str) -> str:
    """Drop control and invisible characters, collapse whitespace, use Latin digits."""
    kept = (ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    return _SPACES.sub(" ", latin_digits("".join(kept)).translate(_INVISIBLE)).strip()


def fold(text: str) -> str:
    """A comparison key: case-folded, without accents or punctuation ("Södertälje" -> "sodertalje")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = (ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isalnum() else " " for ch in letters)
    return _SPACES.sub(" ", kept).strip()


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or punctuation)."""
    return any(ch.isalnum() for ch in text)
