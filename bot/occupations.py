"""Work experience, written in any language, as occupations: "I was a cook", "كنت طباخ", "водій автобуса".

The list (bot/data/occupations.csv) holds about 80 common occupations with a Swedish and an English label
and common synonyms in the languages the assistant speaks. Text is normalised before it is compared:
rapidfuzz's own processor splits Arabic-script words at diacritics and at the zero-width non-joiner, and
Persian and Arabic spell the same letters with different code points. Only occupation codes are stored,
never what was typed.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from dialogs.text import fold

DATA = Path(__file__).resolve().parent / "data" / "occupations.csv"
MIN_SCORE = 85
# Short words match only exactly: "taxi" is not "tax", "vvs" is not "vas".
SHORT = 4
MAX_WORDS = 3
MAX_RESULTS = 3

# Joiners and the Arabic elongation mark are invisible or decorative; harakat are optional vowel marks.
_DROP = dict.fromkeys(
    [0x200C, 0x200D, 0x0640, *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)],
)
# One spelling for letters that Arabic and Persian keyboards write differently.
_UNIFY = str.maketrans(
    {
        "\u06cc": "\u064a",  # Persian yeh -> Arabic yeh
        "\u0649": "\u064a",  # alef maksura
        "\u06a9": "\u0643",  # keheh -> kaf
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u0623": "\u0627",  # alef with hamza above
        "\u0625": "\u0627",  # alef with hamza below
        "\u0622": "\u0627",  # alef with madda
        "\u0671": "\u0627",  # alef wasla
        "\u0624": "\u0648",  # waw with hamza
        "\u0626": "\u064a",  # yeh with hamza
    }
)


def normalise(text: str) -> str:
    """A comparison key for any script: joiners and vowel marks dropped, letter variants unified, then folded
    (case, accents, punctuation)."""
    return fold(unicodedata.normalize("NFKC", text).translate(_DROP).translate(_UNIFY))


@dataclass(frozen=True)
class Occupation:
    code: str
    group: str
    labels: dict[str, str]


@dataclass(frozen=True)
class OccupationMatch:
    code: str
    score: float


@dataclass(frozen=True)
class _Index:
    occupations: dict[str, Occupation]
    keys: list[str]
    codes: list[str]


@lru_cache(maxsize=1)
def _index(path: Path = DATA) -> _Index:
    occupations: dict[str, Occupation] = {}
    keys: list[str] = []
    codes: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            occupation = Occupation(row["code"], row["group"], {"sv": row["sv"], "en": row["en"]})
            occupations[occupation.code] = occupation
            for name in {row["sv"], row["en"], *row["synonyms"].split("|")}:
                key = normalise(name)
                if key:
                    keys.append(key)
                    codes.append(occupation.code)
    return _Index(occupations, keys, codes)


def occupations() -> dict[str, Occupation]:
    return _index().occupations


def labels(code: str) -> dict[str, str]:
    occupation = occupations().get(code)
    return occupation.labels if occupation else {"sv": code, "en": code}


def _phrases(words: list[str]) -> list[tuple[str, int, int]]:
    """Every run of one to MAX_WORDS words, with where it starts and ends."""
    return [
        (" ".join(words[start:end]), start, end)
        for start in range(len(words))
        for end in range(start + 1, min(len(words), start + MAX_WORDS) + 1)
    ]


def find(text: str, limit: int = MAX_RESULTS) -> list[OccupationMatch]:
    """The occupations named in `text`, best first. Each part of the text names at most one occupation (the
    longest, closest match): "bus driver" is a bus driver, not also a driver."""
    index = _index()
    words = normalise(text).split()[:60]
    phrases = [p for p in _phrases(words) if len(p[0]) >= 3]
    if not phrases:
        return []
    found: list[tuple[float, int, int, int, str]] = []
    for phrase, start, end in phrases:
        hits = process.extract(phrase, index.keys, scorer=fuzz.ratio, score_cutoff=MIN_SCORE, limit=None)
        for key, score, column in hits:
            if len(key) <= SHORT and score < 100:
                continue
            found.append((float(score), len(key), start, end, index.codes[column]))
    found.sort(key=lambda item: (-item[0], -item[1]))
    taken: list[tuple[int, int]] = []
    result: list[OccupationMatch] = []
    for score, _, start, end, code in found:
        if any(start < other_end and other_start < end for other_start, other_end in taken):
            continue
        taken.append((start, end))
        if all(match.code != code for match in result):
            result.append(OccupationMatch(code, round(score, 1)))
        if len(result) >= limit:
            break
    return result


_TITLE_CACHE: dict[tuple[str, ...], tuple[str, ...]] = {}
_TITLE_CACHE_SIZE = 20_000


def of_title(title: dict[str, str]) -> tuple[str, ...]:
    """The occupations an internship's or a job's title names, in any of its languages (cached: titles repeat
    and change seldom)."""
    key = tuple(sorted(text for text in title.values() if text))
    cached = _TITLE_CACHE.get(key)
    if cached is None:
        codes: list[str] = []
        for text in key:
            codes += [m.code for m in find(text, limit=2) if m.code not in codes]
        cached = tuple(codes)
        if len(_TITLE_CACHE) >= _TITLE_CACHE_SIZE:
            _TITLE_CACHE.clear()
        _TITLE_CACHE[key] = cached
    return cached


def similarity(person: tuple[str, ...], offering: tuple[str, ...]) -> float:
    """1 for the same occupation, 0.5 for one in the same group (a cook and a kitchen assistant), else 0."""
    if not person or not offering:
        return 0.0
    if set(person) & set(offering):
        return 1.0
    table = occupations()
    groups = {table[code].group for code in person if code in table}
    return 0.5 if any(table[code].group in groups for code in offering if code in table) else 0.0
