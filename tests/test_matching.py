"""Matching (bot/matching.py) on a real database: the SQL pre-filter never hides what the rules allow, the
ranking and its reasons, agreements and their newcomer periods, and every municipality of the country.

Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.db import transaction
from bot.eligibility import Attendee
from bot.matching import COLUMNS, GOAL_CATEGORIES, Matcher, agreement_access
from bot.models import IntakeRequest, Offering

TODAY = date(2026, 11, 27)
BOTKYRKA, HUDDINGE, JARFALLA, STOCKHOLM = "0127", "0126", "0123", "0180"
MALMO, LUND, GOTEBORG = "1280", "1281", "1480"
ROOT = Path(__file__).resolve().parent.parent


def bench_module():
    """bench/matching.py, whose catalogue and profile generators the national tests share."""
    if "bench_matching" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_matching", ROOT / "bench" / "matching.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_matching"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_matching"]


_counter = iter(range(1, 10**9))


def offering(municipality: str, category: str = "sfi", **values) -> dict:
    """One row for the offerings table: published by and held in `municipality`, open by agreement, at the
    municipality's seat unless `lat`/`lon` say otherwise."""
    number = next(_counter)
    kind = {"internship": "internship", "job": "job"}.get(category, "course")
    if category in GOAL_CATEGORIES["school"]:
        kind = "school"
    title = values.pop("title", f"Offering {number}")
    row = {
        "source": "test",
        "source_id": f"t-{number}",
        "kind": kind,
        "category": category,
        "title": {"en": title, "sv": title},
        "description": {},
        "publisher_code": municipality,
        "municipality_code": municipality,
        "city": None,
        "lat": None,
        "lon": None,
        "start_date": TODAY + timedelta(days=30),
        "end_date": None,
        "application_deadline": None,
        "schedule": ["day"],
        "languages": ["sv"],
        "age_min": None,
        "age_max": None,
        "swedish_level_min": None,
        "open_to": "agreement",
        "asylum_seekers": False,
        "seats": None,
        "content_hash": "t",
        "status": "active",
        "updated_at": datetime(2026, 11, 27, tzinfo=UTC),
    }
    row.update(values)
    return row


async def add(factory, *rows: dict) -> dict[str, int]:
    """Inserts the rows; returns their ids by English title."""
    async with transaction(factory) as session:
        connection = await session.connection()
        for start in range(0, len(rows), 2000):
            await connection.execute(insert(Offering.__table__), list(rows[start : start + 2000]))
    async with factory() as session:
        found = await session.execute(
            select(Offering.id, Offering.title).where(
                Offering.source_id.in_([r["source_id"] for r in rows[:500]])
            )
        )
        return {title["en"]: offering_id for offering_id, title in found.all()}


async def ranked(factory, directory, person: Attendee, goal: str) -> list:
    async with factory() as session:
        return (await Matcher(directory).page(session, person, goal, TODAY)).matches


def titles(matches) -> list[str]:
    return [m.offering.title["en"] for m in matches]


def codes(match) -> list[str]:
    return [reason.code for reason in match.reasons]


# --- the pre-filter lets through too much, never too little ----------------------------------------------


async def test_the_prefilter_never_excludes_an_offering_the_rules_allow(factory, directory) -> None:
    """Every eligible offering of a generated catalogue is among the SQL candidates (no bound), for many
    generated people; and the pre-filter does narrow things down."""
    bench = bench_module()
    rows = bench.generate_offerings(random.Random(11), 3000, TODAY, source="gen")
    # People where the catalogue is, at every age and with every kind of answer.
    people = bench.generate_profiles(random.Random(12), 160, TODAY)
    await add(factory, *rows)
    matcher = Matcher(directory)
    eligible_total = candidates_total = 0
    async with factory() as session:
        everything = (await session.execute(select(*COLUMNS))).all()
        for query in people:
            person, categories = query.person, GOAL_CATEGORIES[query.goal]
            access = await agreement_access(session, person.municipality_code, TODAY)
            ids, capped = await matcher.candidate_ids(session, person, categories, access, TODAY, limit=10**6)
            eligible = {
                row.id
                for row in everything
                if row.category in categories and matcher.allows(row, person, access, TODAY)
            }
            missing = eligible - set(ids)
            assert not missing, (query, sorted(missing)[:5])
            assert not capped
            eligible_total += len(eligible)
            candidates_total += len(ids)
    assert eligible_total > 500, "the generated people must have found something"
    assert candidates_total < 160 * len(rows) / 10, "the pre-filter must narrow down"


@pytest.mark.parametrize(
    ("birth_year", "start", "expected"),
    [(2007, date(2027, 8, 16), True), (2008, date(2027, 8, 16), False), (2008, date(2028, 8, 14), True)],
    ids=["turns-20-in-start-year", "turns-19-in-start-year", "starts-the-year-after"],
)
async def test_the_prefilter_counts_age_in_the_year_the_offering_starts(
    factory, directory, birth_year: int, start: date, expected: bool
) -> None:
    """An offering's own minimum age holds in the year it starts: born 2008 is 18 now and 20 in 2028."""
    await add(factory, offering(BOTKYRKA, "vocational", title="Welding", age_min=20, start_date=start))
    found = await ranked(factory, directory, Attendee(birth_year, BOTKYRKA), "study")
    assert ("Welding" in titles(found)) is expected


async def test_the_bound_keeps_the_nearest_and_soonest(factory, directory) -> None:
    """With more candidates than the bound, the first ones by distance and start are ranked: a busy home
    municipality fills the list, far municipalities are not read at all."""
    rows = [offering(BOTKYRKA, title=f"Home {n}", start_date=TODAY + timedelta(days=n)) for n in range(60)]
    rows.append(offering(JARFALLA, title="Far, starts now", start_date=TODAY))
    await add(factory, *rows)
    async with factory() as session:
        page = await Matcher(directory).page(session, Attendee(1990, BOTKYRKA), "sfi", TODAY, limit=10)
    assert page.capped and len(page.matches) == 10
    assert titles(page.matches) == [f"Home {n}" for n in range(10)]


# --- ranking and reasons ----------------------------------------------------------------------------------


async def test_evening_classes_come_first_for_someone_who_can_come_in_the_evening(factory, directory) -> None:
    await add(
        factory,
        offering(BOTKYRKA, title="SFI days"),
        offering(HUDDINGE, title="SFI evenings", schedule=["evening"]),
    )
    anyone = await ranked(factory, directory, Attendee(1990, BOTKYRKA), "sfi")
    assert titles(anyone) == ["SFI days", "SFI evenings"]
    evenings = await ranked(factory, directory, Attendee(1990, BOTKYRKA, schedule=("evening",)), "sfi")
    assert titles(evenings) == ["SFI evenings", "SFI days"]
    first = evenings[0]
    assert codes(first)[:2] == ["agreement", "schedule"] and first.reasons[1].params == {
        "schedule": "evening"
    }
    assert first.reasons[0].params["agreement"]["en"] == "the county agreement"
    distance = next(r for r in first.reasons if r.code == "distance")
    assert distance.params == {"km": 9, "place": "Tumba"}


async def test_study_support_in_the_persons_language_ranks_higher(factory, directory) -> None:
    await add(
        factory,
        offering(BOTKYRKA, title="SFI", start_date=TODAY + timedelta(days=20)),
        offering(
            BOTKYRKA, title="SFI with Arabic", languages=["sv", "ar"], start_date=TODAY + timedelta(days=40)
        ),
    )
    found = await ranked(factory, directory, Attendee(1990, BOTKYRKA, language="ar"), "sfi")
    assert titles(found) == ["SFI with Arabic", "SFI"]
    assert Reason_of(found[0], "language").params == {"language": "ar"}
    assert (
        titles(await ranked(factory, directory, Attendee(1990, BOTKYRKA, language="fa"), "sfi"))[0] == "SFI"
    )


def Reason_of(match, code: str):  # noqa: N802 - reads like the thing it finds
    return next(r for r in match.reasons if r.code == code)


@pytest.mark.parametrize(("years", "priority"), [(6, True), (9, True), (12, False), (15, False)])
async def test_adult_education_gives_priority_to_the_least_schooled(
    factory, directory, years: int, priority: bool
) -> None:
    """SL 20 kap. 2 § and 23 §: the less schooling, the higher adult education ranks; the reason says so."""
    await add(
        factory,
        offering(
            BOTKYRKA, "civic-orientation", title="Civic orientation", start_date=TODAY + timedelta(days=10)
        ),
        offering(
            BOTKYRKA, "komvux-basic", title="Basic adult education", start_date=TODAY + timedelta(days=40)
        ),
    )
    found = await ranked(factory, directory, Attendee(1980, BOTKYRKA, schooling_years=years), "study")
    komvux = next(m for m in found if m.offering.category == "komvux-basic")
    assert ("priority" in codes(komvux)) is priority
    assert (titles(found)[0] == "Basic adult education") is (years <= 9)


async def test_work_experience_ranks_the_matching_internship_first(factory, directory) -> None:
    await add(
        factory,
        offering(BOTKYRKA, "internship", title="Internship in property maintenance"),
        offering(
            BOTKYRKA, "internship", title="Internship in elderly care", start_date=TODAY + timedelta(days=60)
        ),
    )
    nurse = Attendee(1985, BOTKYRKA, occupations=("assistant-nurse",))
    found = await ranked(factory, directory, nurse, "work")
    assert titles(found)[0] == "Internship in elderly care"
    assert Reason_of(found[0], "occupation").params["occupation"]["en"] == "Assistant nurse"
    assert titles(await ranked(factory, directory, Attendee(1985, BOTKYRKA), "work"))[0] == (
        "Internship in property maintenance"
    )


async def test_a_full_offering_is_shown_with_a_waiting_list_and_ranked_down(factory, directory) -> None:
    ids = await add(
        factory,
        offering(BOTKYRKA, title="Full", seats=1),
        offering(HUDDINGE, title="Free", seats=20, start_date=TODAY + timedelta(days=40)),
    )
    async with transaction(factory) as session:
        session.add(
            IntakeRequest(
                reference="AAA-AAA", offering_id=ids["Full"], municipality_code=BOTKYRKA, status="requested"
            )
        )
    found = await ranked(factory, directory, Attendee(1990, BOTKYRKA), "sfi")
    assert titles(found) == ["Free", "Full"]
    assert found[1].waiting_list and codes(found[1])[0] == "waiting_list"
    assert not found[0].waiting_list


async def test_beyond_travel_is_ranked_down_and_clearly_too_far_is_not_shown(factory, directory) -> None:
    await add(
        factory,
        offering(HUDDINGE, title="Huddinge, 10 km", start_date=TODAY),
        offering(JARFALLA, title="Järfälla, 24 km", start_date=TODAY),
        offering(BOTKYRKA, title="Tumba", start_date=TODAY + timedelta(days=200)),
        offering(STOCKHOLM, title="Distance course", open_to="everyone", schedule=["distance"]),
    )
    near = Attendee(1990, BOTKYRKA, max_travel_km=5)
    found = await ranked(factory, directory, near, "sfi")
    assert "Järfälla, 24 km" not in titles(found), "more than twice the 5 km (10 km) is clearly too far"
    assert set(titles(found)) == {"Huddinge, 10 km", "Tumba", "Distance course"}
    huddinge = next(m for m in found if m.offering.title["en"] == "Huddinge, 10 km")
    assert "beyond_travel" in codes(huddinge)
    assert "Järfälla, 24 km" in titles(await ranked(factory, directory, Attendee(1990, BOTKYRKA), "sfi"))


@pytest.mark.parametrize(("months_ago", "shown"), [(35, True), (36, False)])
async def test_the_agreements_newcomer_period(factory, directory, months_ago: int, shown: bool) -> None:
    """The county agreement counts 36 months from the permit: then Huddinge's course closes to a Botkyrka
    resident, while Botkyrka's own stays open."""
    await add(factory, offering(HUDDINGE, title="Huddinge SFI"), offering(BOTKYRKA, title="Botkyrka SFI"))
    permit = _months_before(TODAY, months_ago)
    found = await ranked(factory, directory, Attendee(1990, BOTKYRKA, permit_month=permit), "sfi")
    assert ("Huddinge SFI" in titles(found)) is shown
    assert "Botkyrka SFI" in titles(found)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


async def test_without_the_permit_month_the_condition_is_shown(factory, directory) -> None:
    await add(factory, offering(HUDDINGE, title="Huddinge SFI"))
    [match] = await ranked(factory, directory, Attendee(1990, BOTKYRKA), "sfi")
    newcomer = Reason_of(match, "newcomer")
    assert newcomer.params["months"] == 36 and "needs_permit" in codes(match)


async def test_asylum_seekers_get_only_what_is_open_to_them(factory, directory) -> None:
    await add(
        factory,
        offering(BOTKYRKA, title="SFI"),
        offering(BOTKYRKA, "civic-orientation", title="Civic orientation, open", asylum_seekers=True),
    )
    seeker = Attendee(1990, BOTKYRKA, permit_status="asylum")
    assert titles(await ranked(factory, directory, seeker, "sfi")) == []
    assert titles(await ranked(factory, directory, seeker, "study")) == ["Civic orientation, open"]


# --- a parent: a 9-year-old and a 17-year-old ---------------------------------------------------------------


async def test_a_parent_gets_school_for_a_9_year_old_and_language_introduction_for_a_17_year_old(
    factory, directory, catalogue
) -> None:
    nine = await ranked(factory, directory, Attendee(2017, BOTKYRKA, child=True), "school")
    assert {m.offering.category for m in nine} == {"compulsory-school"}
    seventeen = await ranked(factory, directory, Attendee(2009, BOTKYRKA, child=True), "school")
    assert seventeen[0].offering.category == "language-introduction"
    assert all(
        m.offering.publisher_code != STOCKHOLM or m.offering.open_to != "municipality" for m in seventeen
    )


# --- the whole country -------------------------------------------------------------------------------------


async def test_a_person_in_malmo_gets_malmo_and_its_agreement_partners(factory, directory) -> None:
    bench = bench_module()
    await add(factory, *bench.generate_offerings(random.Random(5), 4000, TODAY, source="gen"))
    await add(
        factory,
        offering(LUND, title="Lund SFI, agreement"),
        offering(LUND, "job", title="Lund job, agreement"),
        offering(STOCKHOLM, title="Stockholm SFI, agreement"),
        offering(GOTEBORG, title="Göteborg distance SFI", open_to="everyone", schedule=["distance"]),
    )
    person = Attendee(1990, MALMO, schedule=("day", "distance"))
    found = await ranked(factory, directory, person, "sfi")
    assert "Lund SFI, agreement" in titles(found) and "Stockholm SFI, agreement" not in titles(found)
    lund = next(m for m in found if m.offering.title["en"] == "Lund SFI, agreement")
    assert lund.reason.params["agreement"]["en"] == "the Skåne example agreement"
    partners = {MALMO, LUND, "1231", "1262", "1230", "1263", "1233", "1261"}
    for match in found:
        assert match.offering.publisher_code in partners or match.offering.open_to == "everyone", match
    work = await ranked(factory, directory, Attendee(1990, MALMO), "work")
    assert "Lund job, agreement" not in titles(work), "the Skåne example agreement does not cover jobs"


async def test_every_municipality_gets_its_own_offerings(factory, directory) -> None:
    """All 290 municipalities: each has a course for its own residents only; each resident gets theirs and
    no other municipality's."""
    places = sorted(directory.places)
    assert len(places) == 290
    ids = await add(
        factory, *(offering(code, title=f"Own {code}", open_to="municipality") for code in places[:200])
    )
    ids |= await add(
        factory, *(offering(code, title=f"Own {code}", open_to="municipality") for code in places[200:])
    )
    matcher = Matcher(directory)
    async with factory() as session:
        for code in places:
            found = await matcher.match(session, Attendee(1990, code), "sfi", TODAY)
            assert [m.offering.title["en"] for m in found] == [f"Own {code}"], code
