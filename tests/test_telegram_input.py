"""What people send on Telegram besides plain answers: deep links, buttons from old menus or forged, stickers,
photos, voice, contacts, locations, edited messages, group chats; and text that is not safe as HTML."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from bot.db import transaction
from bot.models import ChannelIdentity, ConversationState, Offering, OutboundMessage, Person
from tests.fakes_telegram import STAFF_CHAT, Chat, FakeBotAPI, run_assistant, staff_setup

PERSON = 515151
TUMBA = (59.2006, 17.8343)
PARIS = (48.8566, 2.3522)


@pytest.fixture
async def fake():
    api = await FakeBotAPI().start()
    yield api
    await api.close()


@pytest.fixture
async def running(runner, engine, catalogue, fake):
    running = await run_assistant(runner, engine, fake)
    yield running
    await running.shutdown()


@pytest.fixture
def chat(running) -> Chat:
    return Chat(running, PERSON)


async def test_a_deep_link_presets_the_language_and_suggests_the_municipality(chat) -> None:
    consent = await chat.say("/start 0127_lang-en")
    assert consent.text.startswith("We save your answers"), "English, without the language question"
    suggestion = await chat.press(consent, "OK")
    assert suggestion.text == "Do you live in Botkyrka?"
    goals = await chat.press(suggestion, "Yes")
    assert goals.text.startswith("You live in Botkyrka.")


async def test_saying_no_to_a_suggested_municipality_asks_for_it(chat) -> None:
    consent = await chat.say("/start 0127_lang-en")
    suggestion = await chat.press(consent, "OK")
    question = await chat.press(suggestion, "No")
    assert question.text == "Which municipality do you live in?"


@pytest.mark.parametrize("payload", ["summer-campaign", "9999", "lang-xx", "0127_" * 30, "<b>&"])
async def test_a_campaign_tag_or_an_unknown_payload_is_a_plain_start(chat, payload) -> None:
    welcome = await chat.say(f"/start {payload}")
    assert "Choose your language" in welcome.text


async def test_a_command_with_the_bots_name_is_understood(chat) -> None:
    goals = await chat.onboard()
    menu = await chat.say("/menu@vagvisare_test_bot")
    assert menu.text == "What do you want to do now?"
    assert goals.text.startswith("You live in Botkyrka.")


async def test_a_button_of_an_old_menu_gets_the_current_menu(chat) -> None:
    welcome = await chat.say("/start")
    consent = await chat.press(welcome, "English")
    question = await chat.press(consent, "OK")
    stale = await chat.press(consent, "Read more")
    assert stale.text == "That menu is old. Here is the current one.\n\nWhich municipality do you live in?"
    assert question.text == "Which municipality do you live in?"


@pytest.mark.parametrize(
    "data",
    ["c:1:../../admin", "c:99:ok", "n:2:99", "garbage", "c::", "x:staff:confirm:not-a-number", "z" * 64],
)
async def test_forged_button_data_is_answered_and_gets_the_current_menu(chat, fake, data) -> None:
    goals = await chat.onboard()
    press = fake.press(goals, data=data)
    if data.startswith("x:"):
        await fake.wait(lambda: fake.answered(press))
        assert len(fake.messages(PERSON)) == 4, "nothing else happens"
        return
    fresh = await chat.do(press)
    assert fresh.text.startswith("That menu is old. Here is the current one.")
    assert fresh.labels[0] == "Learn Swedish"
    assert fake.answered(press) is not None


async def test_every_button_press_is_answered(chat, fake) -> None:
    goals = await chat.onboard()
    await chat.press(goals, "Study")
    assert len(fake.answers) == 3
    assert all(answer.get("show_alert") in (None, False) for answer in fake.answers)


async def test_paging_replaces_the_list_in_place(chat, fake) -> None:
    goals = await chat.onboard()
    await chat.press(goals, "Learn Swedish")
    results = await chat.say("1990")
    first_page = results.text
    page_two = await chat.press(results, "More")
    assert page_two.message_id == results.message_id and page_two.edits == 1
    assert page_two.text.startswith("4-6 of ") and page_two.text != first_page
    assert fake.events[-1][0] == "edit"
    # The numbers are the positions on this page, as a person could also type them.
    details = await chat.press(page_two, "1")
    assert details.message_id > results.message_id, "a new step is a new message"


async def test_paging_after_another_message_sends_a_new_one(chat, fake, running, clock) -> None:
    goals = await chat.onboard()
    await chat.press(goals, "Learn Swedish")
    results = await chat.say("1990")
    fake.text(PERSON, "help")  # a message in between: the list is no longer the last thing in the chat
    help_reply = await fake.next_event(PERSON, len(fake.events))
    page_two = await chat.press(results, "More")
    assert page_two.text.startswith("That menu is old"), "the list was answered by the help text"
    assert help_reply.message_id != page_two.message_id


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "contact"])
async def test_stickers_photos_voice_and_contacts_get_a_short_answer_and_the_question(
    chat, fake, kind
) -> None:
    goals = await chat.onboard()
    reply = await chat.do(getattr(fake, kind)(PERSON))
    assert reply.text.startswith("I can only read text and buttons. Please write your answer.")
    assert "What do you want to do?" in reply.text and reply.labels == goals.labels


async def test_a_shared_contacts_number_is_never_kept(chat, fake, factory) -> None:
    await chat.onboard()
    await chat.do(fake.contact(PERSON))
    async with factory() as session:
        stored = [str(row.payload) for row in (await session.scalars(select(OutboundMessage))).all()]
        stored += [str(row.data) for row in (await session.scalars(select(ConversationState))).all()]
    assert not any("701234567" in text for text in stored)


async def test_a_first_message_that_is_a_sticker_gets_the_welcome(chat, fake) -> None:
    welcome = await chat.do(fake.sticker(PERSON))
    assert "Choose your language" in welcome.text


async def test_a_shared_location_suggests_the_nearest_municipality(chat, fake) -> None:
    welcome = await chat.say("/start")
    consent = await chat.press(welcome, "English")
    await chat.press(consent, "OK")
    suggestion = await chat.do(fake.location(PERSON, *TUMBA))
    assert suggestion.text == "Do you live in Botkyrka?"
    goals = await chat.press(suggestion, "Yes")
    assert goals.text.startswith("You live in Botkyrka.")


async def test_a_location_far_from_any_municipality_is_not_understood(chat, fake) -> None:
    await chat.onboard()
    reply = await chat.do(fake.location(PERSON, *PARIS))
    assert reply.text.startswith("I can only read text and buttons.")


async def test_an_edited_message_is_answered_not_acted_on(chat, fake, factory) -> None:
    welcome = await chat.say("/start")
    consent = await chat.press(welcome, "English")
    await chat.press(consent, "OK")
    sent = fake.text(PERSON, "Botkyrka")
    goals = await fake.next_event(PERSON, len(fake.events))
    reply = await chat.do(fake.edited(sent, "Stockholm"))
    assert reply.text.startswith("I do not read changes to sent messages.")
    async with factory() as session:
        person = await session.scalar(select(Person).options(selectinload(Person.profiles)))
        assert person.profiles[0].municipality_code == "0127"
    assert goals.text


async def test_in_a_group_the_bot_says_it_talks_in_private_chats(chat, fake, factory) -> None:
    group = -100777
    fake.group_text(group, "/start@vagvisare_test_bot")
    [reply] = await fake.wait(lambda: fake.messages(group))
    assert reply.text == "I only talk in a private chat. Write to me there: https://t.me/vagvisare_test_bot"
    fake.group_text(group, "hello everyone")  # not addressed to the bot: silence
    fake.group_text(group, "/start", language="sv")
    await fake.wait(lambda: len(fake.messages(group)) == 2)
    assert fake.messages(group)[1].text.startswith("Jag pratar bara i en privat chatt.")
    async with factory() as session:
        assert await session.scalar(select(ChannelIdentity)) is None, "a group is not a person"


async def test_chatid_in_a_group_and_myid_in_a_private_chat_help_set_up_staff(chat, fake, factory) -> None:
    group = -100779
    fake.group_text(group, "/chatid@vagvisare_test_bot")
    [reply] = await fake.wait(lambda: fake.messages(group))
    assert reply.text == (
        "This chat's id is -100779. To get a municipality's new intake requests here: "
        "vagvisare staff chat --municipality CODE --chat-id -100779"
    )
    mine = await chat.say("/myid")
    assert mine.text.startswith(f"Your Telegram id is {PERSON}. Staff are registered with it")
    async with factory() as session:
        assert await session.scalar(select(ChannelIdentity)) is None, "no person, no turn"


async def test_the_staff_chat_is_not_told_to_go_private(chat, fake, factory, clock, running) -> None:
    await staff_setup(factory, clock)
    fake.group_text(STAFF_CHAT, "/help")
    fake.group_text(-100778, "/help")
    await fake.wait(lambda: fake.messages(-100778))
    assert fake.messages(STAFF_CHAT) == []


async def test_user_and_feed_text_with_html_characters_arrives_intact(chat, fake, factory) -> None:
    async with transaction(factory) as session:
        await session.execute(
            update(Offering)
            .where(Offering.municipality_code == "0127", Offering.category == "sfi")
            .values(title={"en": "SFI <b>A&B</b> & more <script>", "sv": "SFI <b>A&B</b>"})
        )
    welcome = await chat.say("/start")
    consent = await chat.press(welcome, "English")
    await chat.press(consent, "OK")
    suggestion = await chat.say("<b>Botkyrka</b> & <i>")
    assert suggestion.text == "Did you mean Botkyrka?", "read as text, not as markup"
    goals = await chat.press(suggestion, "Yes")
    await chat.press(goals, "Learn Swedish")
    results = await chat.say("1990")
    assert "1. SFI <b>A&B</b> & more <script>" in results.text, results.text
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in results.html
    details = await chat.press(results, "1")
    assert details.text.startswith("SFI <b>A&B</b> & more <script>")
