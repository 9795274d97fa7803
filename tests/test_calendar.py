"""The iCalendar file of upcoming deadlines and effective dates, read back with icalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from test_digest import AS_OF, SOURCES, W37, seed_week

from horizon.calendar import CalendarEvent, build_calendar
from horizon.digest import Week, build_digest, calendar_events, write_formats
from horizon.state import StateDB

STAMP = datetime(2025, 9, 15, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> StateDB:
    database = StateDB(tmp_path_factory.mktemp("home") / "state.db")
    seed_week(database)
    return database


def events_of(document: bytes) -> list[dict[str, object]]:
    calendar = Calendar.from_ical(document)
    return [
        {
            "uid": str(event["uid"]),
            "start": event.decoded("dtstart"),
            "end": event.decoded("dtend"),
            "summary": str(event["summary"]),
            "description": str(event["description"]),
            "url": str(event.get("url", "")),
        }
        for event in calendar.walk("VEVENT")
    ]


def test_each_date_is_an_all_day_event_that_survives_a_round_trip() -> None:
    event = CalendarEvent(
        uid="consult-deadline@horizon",
        day=date(2025, 10, 9),
        summary="Consultation closes: transparency, labelling; deepfakes",
        description="European Commission\nControls: TRANSPARENCY",
        url="https://ec.example.org/consult?lang=en&x=1",
        categories=("consultation", "TRANSPARENCY"),
    )
    document = build_calendar([event], "Horizon — Data protection team", STAMP)
    assert b"DTSTART;VALUE=DATE:20251009" in document
    assert b"METHOD:PUBLISH" in document
    (read,) = events_of(document)
    assert read == {
        "uid": "consult-deadline@horizon",
        "start": date(2025, 10, 9),
        "end": date(2025, 10, 10),
        "summary": "Consultation closes: transparency, labelling; deepfakes",
        "description": "European Commission\nControls: TRANSPARENCY",
        "url": "https://ec.example.org/consult?lang=en&x=1",
    }
    calendar = Calendar.from_ical(document)
    assert str(calendar["x-wr-calname"]) == "Horizon — Data protection team"


def test_long_lines_are_folded_as_the_standard_requires() -> None:
    event = CalendarEvent("long@horizon", date(2025, 10, 9), "Takes effect: " + "x" * 300, "d")
    document = build_calendar([event], "Horizon", STAMP)
    assert all(len(line) <= 75 for line in document.split(b"\r\n"))
    assert events_of(document)[0]["summary"] == "Takes effect: " + "x" * 300


def test_an_empty_calendar_is_still_a_valid_calendar() -> None:
    calendar = Calendar.from_ical(build_calendar([], "Horizon", STAMP))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["prodid"]) == "-//Horizon//AI regulatory horizon scan//EN"


def test_the_digests_calendar_holds_every_upcoming_date_of_the_profile(state: StateDB) -> None:
    events = calendar_events(build_digest(state, W37, SOURCES, as_of=AS_OF))
    assert [(event.day, event.summary) for event in events] == [
        (date(2025, 10, 9), "Consultation closes: Commission consults on AI Act transparency "
         "guidelines"),
        (date(2025, 10, 22), "Takes effect: Anthropic retires Claude Sonnet 3.5 snapshots on "
         "22 October 2025"),
        (date(2026, 6, 30), "Takes effect: Colorado delays its AI Act to 30 June 2026"),
    ]  # fmt: skip
    consult = events[0]
    assert consult.url == "https://ec.example.org/consult"
    assert "European Commission, published 9 Sep 2025" in consult.description
    assert "Controls: TRANSPARENCY" in consult.description
    assert consult.categories == ("consultation", "TRANSPARENCY")


def test_event_ids_stay_the_same_from_week_to_week_so_calendars_update(state: StateDB) -> None:
    this_week = calendar_events(build_digest(state, W37, SOURCES, as_of=AS_OF))
    next_week = calendar_events(
        build_digest(
            state, Week.parse("2025-W38"), SOURCES, as_of=datetime(2025, 9, 22, tzinfo=UTC)
        )
    )
    assert [event.uid for event in this_week] == [event.uid for event in next_week]
    assert this_week[0].uid == "consult-deadline@horizon"
    assert len({event.uid for event in this_week}) == len(this_week)


def test_a_passed_date_leaves_the_calendar(state: StateDB) -> None:
    after = datetime(2025, 10, 10, tzinfo=UTC)
    events = calendar_events(build_digest(state, Week.parse("2025-W41"), SOURCES, as_of=after))
    assert [event.uid for event in events] == [
        "vendor-effective@horizon",
        "colorado-effective@horizon",
    ]


def test_the_written_file_is_what_a_calendar_app_imports(state: StateDB, tmp_path: Path) -> None:
    _, paths = write_formats(build_digest(state, W37, SOURCES, as_of=AS_OF), tmp_path)
    (ics,) = [path for path in paths if path.suffix == ".ics"]
    assert [event["start"] for event in events_of(ics.read_bytes())] == [
        date(2025, 10, 9),
        date(2025, 10, 22),
        date(2026, 6, 30),
    ]
