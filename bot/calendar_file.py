"""An "add to calendar" file (iCalendar, RFC 5545) for an intake meeting, sent on Telegram with the
confirmation. Times are local (Europe/Stockholm) with the zone's VTIMEZONE, so a calendar shows the right hour
on either side of a clock change."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from dialogs.model import Attachment

MEETING_LENGTH = timedelta(hours=1)
MIME_TYPE = "text/calendar"


def intake_event(
    *,
    reference: str,
    title: str,
    place: str,
    starts_at: datetime,
    tz: ZoneInfo,
    now: datetime,
    description: str = "",
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Vagvisare//intake//SV")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{reference}@vagvisare")
    event.add("dtstamp", now)
    local = starts_at.astimezone(tz)
    event.add("dtstart", local)
    event.add("dtend", local + MEETING_LENGTH)
    event.add("summary", f"{title} ({reference})")
    if place:
        event.add("location", place)
    if description:
        event.add("description", description)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def attachment(reference: str, data: bytes) -> Attachment:
    return Attachment(filename=f"intake-{reference}.ics", mime_type=MIME_TYPE, data=data)
