"""Finding a municipality from what a person typed: "botkirka", "Södertälje kommun", "Tumba"."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Municipality
from dialogs.ports import MunicipalityMatch
from dialogs.script import ARABIC, CYRILLIC, script_of, sound_skeleton, swedish_skeletons
from dialogs.text import fold

SUFFIXES = (" kommun", " stad", " municipality")
# A town typed instead of the municipality is a good hint, but less sure than the name itself.
SEAT_PENALTY = 3
# Names as written in Arabic, Persian and Cyrillic letters (and English ones like "Gothenburg"): sure matches.
EXONYMS = Path(__file__).parent / "data" / "municipality_exonyms.csv"
# A name in Arabic or Cyrillic letters is compared by its sound skeleton (dialogs/script.py); such a match is
# never sure, so the person is asked "Did you mean …?".
SOUND_CEILING = 90.0
# Words that mean "municipality" or "town" in the other scripts, left out before comparing.
OTHER_SCRIPT_WORDS = frozenset(
    fold(word)
    for word in (
        *("بلدية", "بلديه", "مدينة", "مدينه", "محافظة", "شهر", "شهرداری", "کمون", "كومون"),
        *("коммуна", "муниципалитет", "город", "комуна", "місто"),
    )
)


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    lat: float
    lon: float


class MunicipalityDirectory:
    """All 290 municipalities, held in memory: they change once in a decade."""

    def __init__(self, rows: list[Municipality]):
        self.places = {row.code: Place(row.code, row.name, row.lat, row.lon) for row in rows}
        self._keys: list[tuple[str, str, int]] = []
        self._exact: dict[str, str] = {}
        for row in rows:
            self._keys.append((fold(row.name), row.code, 0))
            self._exact[row.name.casefold()] = row.code
            if fold(row.seat) != fold(row.name):
                self._keys.append((fold(row.seat), row.code, SEAT_PENALTY))
        self._sounds = [
            (swedish_skeletons(name), swedish_skeletons(name, vowels=True), row.code, penalty)
            for row in rows
            for name, penalty in ((row.name, 0), (row.seat, SEAT_PENALTY))
            if penalty == 0 or fold(row.seat) != fold(row.name)
        ]
        self._exonyms = {key: code for key, code in read_exonyms().items() if code in self.places}

    @classmethod
    async def load(cls, session: AsyncSession) -> MunicipalityDirectory:
        return cls(list((await session.scalars(select(Municipality))).all()))

    def name(self, code: str) -> str:
        place = self.places.get(code)
        return place.name if place else code

    def search(self, text: str, limit: int = 3) -> list[MunicipalityMatch]:
        typed = " ".join(text.casefold().split())
        for suffix in SUFFIXES:
            typed = typed.removesuffix(suffix)
        query = fold(typed)
        if not query:
            return []
        # An SCB code ("0127"), as staff and links write it: the same in every script.
        if query in self.places:
            return [MunicipalityMatch(query, self.name(query), 100.0)]
        words = " ".join(word for word in typed.split() if fold(word) not in OTHER_SCRIPT_WORDS)
        if fold(words) in self._exonyms:
            code = self._exonyms[fold(words)]
            return [MunicipalityMatch(code, self.name(code), 100.0)]
        if script_of(typed) in (ARABIC, CYRILLIC):
            return self._search_sounds(words, limit)
        found = process.extract(query, [key for key, _, _ in self._keys], scorer=fuzz.ratio, limit=limit * 3)
        best: dict[str, float] = {}
        for _, score, index in found:
            _, code, penalty = self._keys[index]
            best[code] = max(best.get(code, 0.0), score - penalty)
        # Folding makes "Håbo" and "Habo" equal; the spelling the person typed decides between such twins.
        exact = self._exact.get(typed)
        for code in best:
            if best[code] == 100 and exact and code != exact:
                best[code] = 99.0
        ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
        return [MunicipalityMatch(code, self.name(code), round(score, 1)) for code, score in ranked]

    def _search_sounds(self, words: str, limit: int) -> list[MunicipalityMatch]:
        """A name in Arabic or Cyrillic letters ("ستوكهولم", "Мальмё"), by its sound skeleton."""
        consonants, vowels = sound_skeleton(words), sound_skeleton(words, vowels=True)
        if not consonants:
            return []
        best: dict[str, float] = {}
        for plain, voweled, code, penalty in self._sounds:
            similarity = max(fuzz.ratio(consonants, key) for key in plain)
            similarity += max(fuzz.ratio(vowels, key) for key in voweled)
            best[code] = max(best.get(code, 0.0), SOUND_CEILING * similarity / 200 - penalty)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:limit]
        return [MunicipalityMatch(code, self.name(code), round(score, 1)) for code, score in ranked]


@cache
def read_exonyms(path: Path = EXONYMS) -> dict[str, str]:
    """Folded exonym -> SCB code."""
    with path.open(encoding="utf-8", newline="") as source:
        return {fold(row["name"]): row["code"] for row in csv.DictReader(source)}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    earth_radius_km = 6371.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * earth_radius_km * math.asin(math.sqrt(a))
