"""Words a person may write alone at any step, in the languages that have no catalog yet.

The catalogs' "keywords" entries (see `dialogs.engine.GLOBAL_WORDS`) hold the Swedish and English words and,
once a language has a catalog, that language's words too. Until then this table makes sure that STOP, START
and HELP (and the menu and language words) work in every language the assistant is meant to speak, whatever
language the person has chosen — someone who wants no more messages must be heard in their own words.

SMS providers know only English opt-out words (Twilio: STOP, UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT,
CANCEL; START, UNSTOP; HELP, INFO); the rest are ours to handle. Review by native speakers is welcome: add
words, keep them unambiguous when written alone.
"""

from __future__ import annotations

import re

from dialogs.text import fold

# language code -> action -> words. Actions are the engine's global words: stop, start, help, menu, language.
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    # English words SMS providers treat as opt-out, opt-in and help words (the catalog has the plain ones).
    "en": {
        "stop": ("stopall", "stop all", "unsubscribe", "optout", "opt out", "revoke"),
        "start": ("unstop",),
        "help": ("info",),
    },
    "sv": {
        "stop": ("stoppa", "avsluta", "avanmäl"),
        "start": ("börja",),
    },
    "ar": {
        "stop": ("توقف", "إيقاف", "أوقف", "قف", "إلغاء", "إلغاء الاشتراك"),
        "start": ("ابدأ", "بدء", "استئناف"),
        "help": ("مساعدة", "ساعدني"),
        "menu": ("قائمة", "القائمة"),
        "language": ("لغة", "اللغة"),
    },
    "fa": {
        "stop": ("توقف", "لغو", "لغو عضویت", "ایست"),
        "start": ("شروع", "آغاز"),
        "help": ("کمک", "راهنما", "راهنمایی"),
        "menu": ("منو", "فهرست"),
        "language": ("زبان",),
    },
    "prs": {
        "stop": ("توقف", "لغو", "ایست"),
        "start": ("شروع", "آغاز"),
        "help": ("کمک", "راهنمایی"),
        "menu": ("مینو", "منو"),
        "language": ("زبان",),
    },
    "ps": {
        "stop": ("ودروه", "ودرول", "بند", "توقف"),
        "start": ("پیل", "پیل کړه", "شروع"),
        "help": ("مرسته",),
        "menu": ("مینو",),
        "language": ("ژبه",),
    },
    "so": {
        "stop": ("jooji", "joogso"),
        "start": ("bilow", "billow"),
        "help": ("caawi", "caawin", "caawimaad", "gargaar"),
        "menu": ("liiska",),
        "language": ("luqad", "luuqad", "luqadda", "luuqadda"),
    },
    "ti": {
        "stop": ("ኣቋርጽ", "ደው በል"),
        "start": ("ጀምር",),
        "help": ("ሓገዝ",),
        "menu": ("ዝርዝር",),
        "language": ("ቋንቋ",),
    },
    "uk": {
        "stop": ("стоп", "зупинити", "зупини", "відписатися"),
        "start": ("старт", "почати", "почни"),
        "help": ("допомога",),
        "menu": ("меню",),
        "language": ("мова",),
    },
    "ru": {
        "stop": ("стоп", "остановить", "отписаться"),
        "start": ("старт", "начать"),
        "help": ("помощь",),
        "menu": ("меню",),
        "language": ("язык",),
    },
    "ckb": {
        "stop": ("وەستان", "بوەستە", "ڕاگرتن"),
        "start": ("دەستپێکردن", "دەستپێبکە"),
        "help": ("یارمەتی",),
        "menu": ("لیست", "مینیو"),
        "language": ("زمان",),
    },
    "kmr": {
        "stop": ("raweste", "rawestîne"),
        "start": ("dest pê bike", "destpêk"),
        "help": ("alîkarî",),
        "menu": ("menû", "lîste"),
        "language": ("ziman",),
    },
}

# Letters that look alike and are typed interchangeably on Arabic, Persian and Kurdish keyboards.
_ARABIC_SCRIPT = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "ە": "ه", "ـ": ""})
_GAPS = re.compile(r"[\s\u200c\u200d]+")


def key(text: str) -> str:
    """A comparison key: folded (case, accents, hamza and vowel marks gone), one spelling per letter, and
    without spaces or zero-width joiners, which people type inconsistently."""
    return _GAPS.sub("", fold(text.replace("\u200c", "")).translate(_ARABIC_SCRIPT))


def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for actions in WORDS.values():
        for action, words in actions.items():
            for word in words:
                index.setdefault(key(word), action)
    return index


_INDEX = _index()


def action(text: str) -> str | None:
    """The global word a message means in any language of the table ("jooji" -> "stop"), or None."""
    folded = key(text)
    return _INDEX.get(folded) if folded else None


def conflicts() -> list[tuple[str, str, str]]:
    """Words that mean two different actions (must stay empty; checked by the tests)."""
    seen: dict[str, str] = {}
    found = []
    for actions in WORDS.values():
        for name, words in actions.items():
            for word in words:
                other = seen.setdefault(key(word), name)
                if other != name:
                    found.append((word, other, name))
    return found
