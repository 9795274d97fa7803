"""What `horizon instruments` shows: each instrument's stage and next milestone, and one
instrument's timeline from its stage history, milestones and linked items. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from horizon.instruments.catalogue import Instrument, StageEvent
from horizon.instruments.linking import Link, Linker, link_item
from horizon.state import StoredItem


def instrument_row(
    instrument: Instrument, confirmed: Sequence[StageEvent], today: date
) -> dict[str, Any]:
    """One line of the instrument list."""
    stage = instrument.stage(list(confirmed), on=today)
    upcoming = instrument.next_milestone(today)
    return {
        "id": instrument.id,
        "name": instrument.name,
        "jurisdiction": instrument.jurisdiction,
        "kind": instrument.kind,
        "stage": stage.stage,
        "stage_date": stage.date.isoformat() if stage.date else None,
        "next_milestone": {
            "date": upcoming.date.isoformat(),
            "applies": upcoming.applies,
            "articles": upcoming.articles,
        }
        if upcoming
        else None,
        "obligations": len(instrument.obligations),
    }


def linked_items(
    instrument: Instrument,
    instruments: Sequence[Instrument],
    items: Sequence[StoredItem],
    link: Linker = link_item,
) -> list[tuple[StoredItem, Link]]:
    """The stored items that name this instrument, with the evidence for each."""
    found = []
    for stored in items:
        item = stored.item
        for each in link(item.id, item.title, item.summary, instruments):
            if each.instrument_id == instrument.id:
                found.append((stored, each))
    return found


def timeline(
    instrument: Instrument,
    confirmed: Sequence[StageEvent],
    linked: Sequence[tuple[StoredItem, Link]],
    proposals: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Stage changes, milestones and linked items in date order (undated stages first).
    `proposals` maps item ids to the stage they propose, shown beside the item."""
    entries: list[dict[str, Any]] = []
    for event in [*instrument.history, *confirmed]:
        entries.append(
            {
                "date": event.date.isoformat() if event.date else None,
                "kind": "stage",
                "text": event.stage + (f": {event.note}" if event.note else ""),
            }
        )
    for milestone in instrument.milestones:
        articles = f" ({', '.join(milestone.articles)})" if milestone.articles else ""
        entries.append(
            {
                "date": milestone.date.isoformat(),
                "kind": "milestone",
                "text": f"applies: {milestone.applies}{articles}",
            }
        )
    for stored, link in linked:
        published = stored.item.published
        entry: dict[str, Any] = {
            "date": published.date().isoformat() if published else None,
            "kind": "item",
            "text": stored.item.title,
            "item_id": stored.item.id,
            "url": stored.item.url,
            "evidence": link.evidence,
        }
        if proposals and stored.item.id in proposals:
            entry["proposes"] = proposals[stored.item.id]
        entries.append(entry)
    return sorted(entries, key=lambda entry: entry["date"] or "")
