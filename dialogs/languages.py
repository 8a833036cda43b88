"""The languages the assistant speaks, their own names, direction and fallback chains."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str
    english_name: str
    babel_locale: str
    rtl: bool = False
    fallbacks: tuple[str, ...] = ("sv", "en")


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("sv", "Svenska", "Swedish", "sv_SE", fallbacks=("en",)),
        Language("en", "English", "English", "en_GB", fallbacks=("sv",)),
    )
}

DEFAULT_LANGUAGE = "sv"


def language(code: str | None) -> Language:
    return LANGUAGES.get(code or DEFAULT_LANGUAGE, LANGUAGES[DEFAULT_LANGUAGE])


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
