"""Writing systems: which script a text is written in, its direction, Arabic-script letter variants, and a
Latin "sound skeleton" that lets a name typed in Arabic or Cyrillic letters be compared with a Swedish one.

Nothing here knows a language's words; it knows letters. `dialogs.text.fold` uses `normalise_arabic`, so every
comparison in the dialogs (keywords, choices, municipality names) sees one spelling for the many ways the same
Arabic-script word can be typed.
"""

from __future__ import annotations

import re
import unicodedata

# --- scripts and direction ---------------------------------------------------------------------------------

ARABIC, CYRILLIC, ETHIOPIC, LATIN = "Arab", "Cyrl", "Ethi", "Latn"
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0600, 0x06FF, ARABIC),
    (0x0750, 0x077F, ARABIC),
    (0x08A0, 0x08FF, ARABIC),
    (0xFB50, 0xFDFF, ARABIC),
    (0xFE70, 0xFEFF, ARABIC),
    (0x0400, 0x052F, CYRILLIC),
    (0x1C80, 0x1C8F, CYRILLIC),
    (0x1200, 0x139F, ETHIOPIC),
    (0x2D80, 0x2DDF, ETHIOPIC),
    (0xAB00, 0xAB2F, ETHIOPIC),
)

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
LRM, RLM = "\u200e", "\u200f"
_ISOLATE_OPENERS = frozenset((LRI, RLI, FSI))


def script_of_char(ch: str) -> str | None:
    point = ord(ch)
    for low, high, script in _SCRIPT_RANGES:
        if low <= point <= high:
            return script
    if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
        return LATIN
    return None


def script_of(text: str) -> str | None:
    """The script most of the letters are written in ("Arab", "Cyrl", "Ethi", "Latn"), or None."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = script_of_char(ch)
            if script:
                counts[script] = counts.get(script, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None


def first_strong(text: str) -> str | None:
    """ "L" or "R" for the first strongly directional letter outside isolates (as rule P2 of the Unicode
    bidirectional algorithm finds it), or None when there is none."""
    depth = 0
    for ch in text:
        if ch in _ISOLATE_OPENERS:
            depth += 1
        elif ch == PDI:
            depth = max(0, depth - 1)
        elif depth == 0:
            kind = unicodedata.bidirectional(ch)
            if kind == "L":
                return "L"
            if kind in ("R", "AL"):
                return "R"
    return None


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


def isolate(text: str) -> str:
    """`text` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: it keeps its own order inside text of
    the other direction, and nothing around it moves. Empty and already isolated texts stay as they are."""
    if not text or (text[0] in _ISOLATE_OPENERS and text[-1] == PDI and text.count(PDI) == 1):
        return text
    return f"{FSI}{text}{PDI}"


# --- Arabic-script letter variants ----------------------------------------------------------------------

# One letter for the several ways Arabic, Persian, Dari, Pashto and Sorani keyboards write it. The target is
# the Arabic letter; the key is for comparing, never for showing.
_ARABIC_LETTERS = {
    **dict.fromkeys("أإآٱٲٳ", "ا"),
    **dict.fromkeys("ىیېۍێئےۓ", "ي"),  # alef maksura, Farsi yeh, Pashto and Kurdish yehs, yeh with hamza
    **dict.fromkeys("کڪګ", "ك"),
    **dict.fromkeys("ةۀھەۂ", "ه"),  # teh marbuta, heh with yeh, heh doachashmee, Kurdish ae
    **dict.fromkeys("ؤۆۇۉۋ", "و"),
    "ڵ": "ل",
    "ڕ": "ر",
    "ٹ": "ت",
}
_ARABIC_DROP = (
    "\u0640"  # tatweel
    "\u200c\u200d"  # zero-width non-joiner and joiner: they split words for rapidfuzz
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u08d3-\u08ff"  # harakat, superscript alef, Quranic marks
    "\u0621"  # a lone hamza
)
_ARABIC_DROP_RE = re.compile(f"[{_ARABIC_DROP}]")
_ARABIC_TABLE = str.maketrans(_ARABIC_LETTERS)


def normalise_arabic(text: str) -> str:
    """Arabic-script text with one form per letter, no diacritics, tatweel or (non-)joiners.

    "أستوكهولم" and "استوکهولم", "ميخواهم" and "می‌خواهم" become the same. Text in other scripts is unchanged.
    """
    if not any(0x0600 <= ord(ch) <= 0x08FF or 0xFB50 <= ord(ch) <= 0xFEFF for ch in text):
        return text
    # Presentation forms (isolated, final … shapes) to letters first, keeping everything else composed.
    text = "".join(unicodedata.normalize("NFKC", ch) if 0xFB50 <= ord(ch) <= 0xFEFF else ch for ch in text)
    return _ARABIC_DROP_RE.sub("", text).translate(_ARABIC_TABLE)


# --- sound skeletons ------------------------------------------------------------------------------------
#
# Arabic script writes no short vowels, Cyrillic spells Swedish names as they sound, and both lack letters
# Swedish has. A skeleton keeps what survives all of that: consonant classes (b=p, f=v=w, s=z, k=c=q,
# x for the "sh"/"ch" sounds, j for the "y" sound), with every vowel as "a" (`vowels=True`) or dropped.

_ARABIC_SOUNDS = {
    "ا": "a",
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ط": "t",
    "ټ": "t",
    "ث": "s",
    "ج": "j",
    "چ": "x",
    "ح": "h",
    "خ": "h",
    "د": "d",
    "ډ": "d",
    "ض": "d",
    "ذ": "s",
    "ر": "r",
    "ړ": "r",
    "ز": "s",
    "ژ": "x",
    "ږ": "x",
    "س": "s",
    "ص": "s",
    "ظ": "s",
    "ځ": "s",
    "څ": "s",
    "ش": "x",
    "ښ": "x",
    "ع": "",
    "غ": "g",
    "ف": "f",
    "ڤ": "f",
    "ق": "k",
    "ك": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ڼ": "n",
    "ه": "h",
    "و": "o",
    "ي": "i",
}
_CYRILLIC_SOUNDS = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ё": "o",
    "є": "e",
    "ж": "x",
    "з": "z",
    "и": "i",
    "і": "i",
    "ї": "ji",
    "й": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "ts",
    "ч": "x",
    "ш": "x",
    "щ": "x",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "u",
    "я": "a",
}
_CYRILLIC_IOTATED = frozenset("еёєюя")
_VOWELS = frozenset("aeiouyåäöéüæø")
_FRONT = "eiyäöéüæø"
_CLASSES = str.maketrans({"p": "b", "v": "f", "w": "f", "z": "s", "q": "k", "c": "k"})
_REPEATS = re.compile(r"(.)\1+")

# Swedish spelling as it sounds: "Göteborg" ~ "jöteborj", "Jönköping" ~ "jönxöping", "Skövde" ~ "xövde".
_SWEDISH_SOUNDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"x", "ks"),
        (r"ck", "k"),
        (r"ph", "f"),
        (r"th", "t"),
        (r"qu", "kv"),
        (r"\b(?:dj|gj|hj|lj)", "j"),
        (r"stj|skj|sj|sch|sh", "x"),
        (rf"sk(?=[{_FRONT}])", "x"),
        (r"tj|kj|ch", "x"),
        (rf"(?<!s)k(?=[{_FRONT}])", "x"),
        (rf"(?<!n)g(?=[{_FRONT}])", "j"),
        (r"(?<=[rl])g\b", "j"),
        (rf"c(?=[{_FRONT}])", "s"),
    )
)


def _reduce(sounds: str, vowels: bool) -> str:
    out = []
    for ch in sounds.translate(_CLASSES):
        if ch in _VOWELS:
            if vowels:
                out.append("a")
        elif ch.isascii() and ch.isalpha():
            out.append(ch)
        elif ch == " ":
            out.append(" ")
    return " ".join(_REPEATS.sub(r"\1", "".join(out)).split())


def _arabic_sounds(word: str) -> str:
    out = []
    for index, ch in enumerate(word):
        sound = _ARABIC_SOUNDS.get(ch, "")
        last = index == len(word) - 1
        if index == 0 and ch == "و" and len(word) > 1 and word[1] not in "اوي":
            sound = "v"  # a word-initial waw is the consonant: "وستروس" (Västerås)
        elif index == 0 and ch == "ي" and len(word) > 1:
            sound = "j"  # a word-initial yeh is the consonant: "یوتبوری" (Göteborg), "يونشوبينغ" (Jönköping)
        elif last and ch == "ه" and index > 0:
            sound = "e"  # a word-final heh is a vowel in Persian spellings: "هودینگه" (Huddinge)
        out.append(sound)
    return "".join(out)


def _cyrillic_sounds(word: str) -> str:
    out = []
    previous = ""
    for ch in word:
        sound = _CYRILLIC_SOUNDS.get(ch, ch if ch.isascii() else "")
        if ch in _CYRILLIC_IOTATED and (not previous or previous in "аеёиоуыэюяіїєьъ"):
            sound = "j" + sound.lstrip("j")  # "Евле" (Gävle), "Йёнчёпинг" (Jönköping)
        out.append(sound)
        previous = ch
    return "".join(out)


def sound_skeleton(text: str, *, vowels: bool = False) -> str:
    """The skeleton of a name typed in Arabic, Cyrillic or Latin letters ("ستوكهولم" -> "stkhlm")."""
    words = []
    for word in normalise_arabic(text.casefold()).split():
        script = script_of(word)
        if script == ARABIC:
            words.append(_arabic_sounds(word))
        elif script == CYRILLIC:
            words.append(_cyrillic_sounds(word))
        else:
            words.append(_latin_letters(word))
    return _reduce(" ".join(words), vowels)


def _latin_letters(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def swedish_skeletons(name: str, *, vowels: bool = False) -> set[str]:
    """Skeletons of a Swedish name as it is spelled and as it sounds (both are how others write it)."""
    lowered = " ".join(name.casefold().replace("-", " ").split())
    spelled = lowered
    for pattern, replacement in _SWEDISH_SOUNDS[:5]:
        spelled = pattern.sub(replacement, spelled)
    spoken = lowered
    for pattern, replacement in _SWEDISH_SOUNDS:
        spoken = pattern.sub(replacement, spoken)
    return {_reduce(_latin_letters(form), vowels) for form in (spelled, spoken)}
