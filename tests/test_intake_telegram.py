"""On Telegram, the confirmation comes with an "add to calendar" file (iCalendar, local time, its zone)."""

from __future__ import annotations

from icalendar import Calendar

from tests.fakes_telegram import Chat
from tests.test_telegram_staff import PERSON, STAFF, book, fake, press_as, request_row, running  # noqa: F401


async def test_the_confirmation_on_telegram_comes_with_a_calendar_file(running, fake, factory) -> None:  # noqa: F811
    chat = Chat(running, PERSON)
    card = await book(chat)
    await press_as(chat, card, "Bekräfta", STAFF)
    [(chat_id, filename, data)] = await fake.wait(lambda: fake.documents)
    request = await request_row(factory)
    assert chat_id == PERSON and filename == f"intake-{request.reference}.ics"
    calendar = Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    assert event["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert event.decoded("DTSTART") == request.slot.starts_at
    assert request.reference in str(event["SUMMARY"]) and "Tumba" in str(event["LOCATION"])
    assert calendar.walk("VTIMEZONE")
