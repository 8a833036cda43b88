"""The matching questions on a real database, through the turn runner and the sample catalogue."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import ConversationState, Profile
from tests.test_turns import converse

ONBOARD = ("Hi", "2", "1", "Botkyrka")


async def labels(factory) -> list[str]:
    async with factory() as session:
        state = await session.scalar(select(ConversationState))
    return [label for _, label in state.data["menu"]["choices"]]


async def _self(factory) -> Profile:
    async with factory() as session:
        return await session.scalar(select(Profile).where(Profile.kind == "self"))


async def test_learn_swedish_needs_only_the_birth_year_before_the_first_list(runner, catalogue) -> None:
    *_, text = await converse(runner, *ONBOARD, "1", "1990")
    assert text.startswith("8 SFI courses for you:\nYou need a residence permit for these.")


async def test_study_asks_the_swedish_level_because_some_courses_ask_for_one(
    runner, factory, catalogue
) -> None:
    *_, text = await converse(runner, "Hi", "2", "1", "Södertälje", "2", "1985")
    assert text == "How much Swedish do you know?"
    await converse(runner, "6")
    assert (await _self(factory)).swedish_level == "sfi-finished"
    shown = " ".join(await labels(factory))
    await converse(runner, "4")
    shown += " ".join(await labels(factory))
    assert "Swedish as a second language 1" in shown, "open once SFI is finished"


async def test_someone_who_finished_sfi_is_shown_where_swedish_goes_on(runner, catalogue) -> None:
    await converse(runner, "Hi", "2", "1", "Södertälje", "2", "1985", "6")
    *_, text = await converse(runner, "menu", "1", "1")
    assert text.startswith("You have finished SFI. Swedish goes on at komvux:")
    assert "SFI A-B" not in text


async def test_work_experience_is_kept_as_occupation_codes_only(runner, factory, catalogue) -> None:
    *_, text = await converse(runner, *ONBOARD, "3", "1988", "I worked as an assistant nurse in Aleppo")
    assert text.startswith("Noted: Assistant nurse.")
    first = (await labels(factory))[0]
    assert first.startswith("Internship in elderly care") and "Fits your work: Assist" in first
    assert (await _self(factory)).occupations == ["assistant-nurse"]
    async with factory() as session:
        state = await session.scalar(select(ConversationState))
    assert "Aleppo" not in str(state.data)


async def test_a_child_seeking_asylum_still_gets_school(runner, factory, catalogue) -> None:
    await converse(runner, *ONBOARD, "menu", "my answers", "3", "3", "10")
    assert (await _self(factory)).permit_status == "asylum"
    *_, text = await converse(runner, "1", "4", "2017")
    assert text.startswith("3 schools for your child:")
    *_, text = await converse(runner, "menu", "1", "1", "1990")
    assert text.startswith("Asylum seekers cannot take SFI.")


async def test_why_stockholms_class_is_not_shown_to_a_botkyrka_resident(runner, catalogue) -> None:
    await converse(runner, *ONBOARD, "1", "1990")
    *_, text = await converse(runner, "menu", "why", "Språkintroduktion Södermalm")
    assert text.startswith("Language introduction, Södermalm: It is only for residents of Stockholm.")
    *_, text = await converse(runner, "SFI B kvällstid Huddinge")
    assert text.startswith(
        "SFI B, evenings: It is open to you. It is number 2 in your list under Learn Swedish."
    )


async def test_a_child_is_chosen_again_without_writing_the_year(runner, factory, catalogue) -> None:
    await converse(runner, *ONBOARD, "4", "2017")
    *_, text = await converse(runner, "menu", "1", "4")
    assert text.startswith("Which child?") and "Child born 2017" in await labels(factory)
    *_, text = await converse(runner, "1")
    assert text.startswith("3 schools for your child:")
    async with factory() as session:
        children = (await session.scalars(select(Profile).where(Profile.kind == "child"))).all()
    assert [child.birth_year for child in children] == [2017]
