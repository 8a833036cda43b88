"""Finding a municipality from what a person typed (bot/municipalities.py), among the bundled 290."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.municipalities import MunicipalityDirectory, haversine_km
from bot.reference import read_municipalities

SURE = 95  # a score the dialog may accept without asking "Did you mean …?"
PLAUSIBLE = 70  # a score worth asking about


@pytest.fixture(scope="module")
def rows() -> list[SimpleNamespace]:
    return [SimpleNamespace(**row) for row in read_municipalities()]


@pytest.fixture(scope="module")
def municipalities(rows) -> MunicipalityDirectory:
    return MunicipalityDirectory(rows)


def test_reference_data_has_all_290_municipalities(rows) -> None:
    assert len(rows) == 290
    assert len({row.code for row in rows}) == 290


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("sodertalje", "0181"),  # without the Swedish letters
        ("Södertälje kommun", "0181"),  # with the word "kommun"
        ("Upplands Bro", "0139"),  # "Upplands-Bro" without its hyphen
        ("malmo", "1280"),
    ],
)
def test_sure_match(municipalities, typed: str, code: str) -> None:
    found = municipalities.search(typed)
    assert found[0].code == code
    assert found[0].score >= SURE


def test_misspelling_is_found_but_must_be_confirmed(municipalities) -> None:
    found = municipalities.search("Botkirka")
    assert found[0].code == "0127"
    assert found[0].name == "Botkyrka"
    assert PLAUSIBLE <= found[0].score < SURE


def test_seat_finds_its_municipality(municipalities) -> None:
    """Tumba is the seat of Botkyrka: a person may well name the town they live in."""
    found = municipalities.search("Tumba")
    assert found[0].code == "0127"
    assert found[0].score >= SURE


def test_nonsense_is_not_plausible(municipalities) -> None:
    found = municipalities.search("zzzzqqq")
    assert all(match.score < PLAUSIBLE for match in found)


@pytest.mark.parametrize("typed", ["", "   ", "?!"])
def test_nothing_to_search_for(municipalities, typed: str) -> None:
    assert municipalities.search(typed) == []


def test_the_word_kommun_alone_is_not_plausible(municipalities) -> None:
    assert all(match.score < PLAUSIBLE for match in municipalities.search("kommun"))


def test_every_municipality_by_its_exact_name(municipalities, rows) -> None:
    """Each of the 290 names, typed exactly, scores 100 and comes first, alone."""
    wrong = []
    for row in rows:
        found = municipalities.search(row.name)
        if (
            not found
            or (found[0].code, found[0].score) != (row.code, 100)
            or [m for m in found[1:] if m.score == 100]
        ):
            wrong.append((row.name, found[:2]))
    assert wrong == []


# Håbo (0305, Uppsala county) and Habo (0643, Jönköping county) differ only by the ring on the å.
@pytest.mark.parametrize(("typed", "code"), [("Håbo", "0305"), ("Habo", "0643")])
def test_exact_spelling_beats_its_accent_folded_twin(municipalities, typed: str, code: str) -> None:
    found = municipalities.search(typed)
    assert (found[0].code, found[0].score) == (code, 100)
    assert found[1].score < 100


def test_haversine_stockholm_to_goteborg() -> None:
    stockholm, goteborg = (59.3251, 18.0711), (57.7072, 11.9670)
    assert haversine_km(*stockholm, *goteborg) == pytest.approx(398, abs=10)
    assert haversine_km(*goteborg, *stockholm) == pytest.approx(haversine_km(*stockholm, *goteborg))


def test_haversine_same_point_is_zero() -> None:
    assert haversine_km(59.2006, 17.8343, 59.2006, 17.8343) == 0
