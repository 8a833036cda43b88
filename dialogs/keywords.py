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

# language code -> action -> words. Actions are the engine's global words: stop, start, help, menu, language,
# back, delete and cancel (a booking; deleting and cancelling are always confirmed, so a word taken for them
# by mistake costs one "No"). A cancel word must never be a stop or delete word.
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
        "back": ("رجوع", "ارجع", "عودة", "الرجوع"),
        "delete": ("حذف", "احذف", "امسح", "احذف بياناتي"),
        "cancel": ("إلغاء الموعد",),
    },
    "fa": {
        "stop": ("توقف", "لغو", "لغو عضویت", "ایست"),
        "start": ("شروع", "آغاز"),
        "help": ("کمک", "راهنما", "راهنمایی"),
        "menu": ("منو", "فهرست"),
        "language": ("زبان",),
        "back": ("برگشت", "بازگشت", "عقب"),
        "delete": ("حذف", "پاک کن", "پاک کردن", "حذف اطلاعات"),
        "cancel": ("لغو جلسه",),
    },
    "prs": {
        "stop": ("توقف", "لغو", "ایست"),
        "start": ("شروع", "آغاز"),
        "help": ("کمک", "راهنمایی"),
        "menu": ("مینو", "منو"),
        "language": ("زبان",),
        "back": ("برگشت", "عقب", "پس"),
        "delete": ("حذف", "پاک کن", "پاک کردن"),
        "cancel": ("لغو ملاقات",),
    },
    "ps": {
        "stop": ("ودروه", "ودرول", "بند", "توقف"),
        "start": ("پیل", "پیل کړه", "شروع"),
        "help": ("مرسته",),
        "menu": ("مینو",),
        "language": ("ژبه",),
        "back": ("شاته", "بېرته"),
        "delete": ("ړنګول", "پاکول", "ړنګ یې کړه"),
        "cancel": ("ناسته لغوه",),
    },
    "so": {
        "stop": ("jooji", "joogso"),
        "start": ("bilow", "billow"),
        "help": ("caawi", "caawin", "caawimaad", "gargaar"),
        "menu": ("liiska",),
        "language": ("luqad", "luuqad", "luqadda", "luuqadda"),
        "back": ("dib", "dib u noqo", "gadaal"),
        "delete": ("tirtir", "masax", "tirtir xogtayda"),
        "cancel": ("baaji",),
    },
    "ti": {
        "stop": ("ኣቋርጽ", "ደው በል"),
        "start": ("ጀምር",),
        "help": ("ሓገዝ",),
        "menu": ("ዝርዝር",),
        "language": ("ቋንቋ",),
        "back": ("ንድሕሪት", "ተመለስ"),
        "delete": ("ደምስስ", "ሰርዝ"),
        "cancel": ("ኣይመጽእን",),
    },
    "uk": {
        "stop": ("стоп", "зупинити", "зупини", "відписатися"),
        "start": ("старт", "почати", "почни"),
        "help": ("допомога",),
        "menu": ("меню",),
        "language": ("мова",),
        "back": ("назад", "повернутися"),
        "delete": ("видалити", "видали", "видалити мої дані"),
        "cancel": ("скасувати",),
    },
    "ru": {
        "stop": ("стоп", "остановить", "отписаться"),
        "start": ("старт", "начать"),
        "help": ("помощь",),
        "menu": ("меню",),
        "language": ("язык",),
        "back": ("назад", "вернуться"),
        "delete": ("удалить", "удали", "удалить мои данные"),
        "cancel": ("отмена",),
    },
    "ckb": {
        "stop": ("وەستان", "بوەستە", "ڕاگرتن"),
        "start": ("دەستپێکردن", "دەستپێبکە"),
        "help": ("یارمەتی",),
        "menu": ("لیست", "مینیو"),
        "language": ("زمان",),
        "back": ("گەڕانەوە", "دواوە", "بگەڕێوە"),
        "delete": ("سڕینەوە", "بیسڕەوە"),
        "cancel": ("هەڵوەشاندنەوە",),
    },
    "kmr": {
        "stop": ("raweste", "rawestîne"),
        "start": ("dest pê bike", "destpêk"),
        "help": ("alîkarî",),
        "menu": ("menû", "lîste"),
        "language": ("ziman",),
        "back": ("paş", "vegere", "vegerîn"),
        "delete": ("jê bibe", "jêbirin", "paqij bike"),
        "cancel": ("betal",),
    },
}

# language code -> yes/no -> words: answers to a yes-or-no question (not global words), in every language
# whatever language the person chose. The catalogs' "yes|y|ok" and "no|n" entries hold more.
ANSWERS: dict[str, dict[str, tuple[str, ...]]] = {
    "sv": {"yes": ("ja", "japp", "jajamen", "jo", "okej", "visst"), "no": ("nej", "nä", "nix")},
    "en": {"yes": ("yes", "yeah", "yep", "ok", "okay", "sure"), "no": ("no", "nope")},
    "ar": {"yes": ("نعم", "ايوه", "أيوه", "ايوا", "أجل", "اكيد", "موافق"), "no": ("لا", "كلا")},
    "fa": {"yes": ("بله", "آره", "باشه", "بلی"), "no": ("نه", "خیر", "نخیر")},
    "prs": {"yes": ("بلی", "بله", "ها", "درسته"), "no": ("نه", "نخیر")},
    "ps": {"yes": ("هو", "هوکې", "بلې"), "no": ("نه", "نه نه")},
    "so": {"yes": ("haa", "haye", "waa hagaag"), "no": ("maya", "mayo")},
    "ti": {"yes": ("እወ", "እወ።"), "no": ("ኣይፋል", "ኣይፋልን")},
    "uk": {"yes": ("так", "добре", "звісно"), "no": ("ні",)},
    "ru": {"yes": ("да", "ага", "хорошо", "конечно"), "no": ("нет",)},
    "ckb": {"yes": ("بەڵێ", "بەلێ", "ئا", "ئەرێ"), "no": ("نەخێر", "نا", "نە")},
    "kmr": {"yes": ("erê", "belê"), "no": ("na", "nexêr", "ne")},
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


_ANSWERS = {key(word): said for table in ANSWERS.values() for said, words in table.items() for word in words}


def answer(text: str) -> str | None:
    """The answer "yes" or "no" in any language of the table ("نعم", "так", "haa"), or None."""
    folded = key(text)
    return _ANSWERS.get(folded) if folded else None


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
