"""An iCalendar file of upcoming consultation deadlines and effective dates.

Each date is an all-day event whose UID is derived from the item and the kind of date, so a
calendar that re-imports next week's file updates the same events instead of adding copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event

PRODUCT_ID = "-//Horizon//AI regulatory horizon scan//EN"


@dataclass(frozen=True)
class CalendarEvent:
    """One date worth a reminder; `uid` must stay the same for the same item and kind."""

    uid: str
    day: date
    summary: str
    description: str
    url: str | None = None
    categories: tuple[str, ...] = ()


def build_calendar(events: Iterable[CalendarEvent], name: str, stamped: datetime) -> bytes:
    """The events as one iCalendar (RFC 5545) document, ready to attach or publish."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for item in events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamped)
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("transp", "TRANSPARENT")
        if item.url:
            event.add("url", item.url)
        if item.categories:
            event.add("categories", list(item.categories))
        calendar.add_component(event)
    return calendar.to_ical()
