"""What goes into a briefing, assembled from facts already read (pure functions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from horizon.instruments.linking import Link
from horizon.readiness.impact import Impact
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow, due_within
from horizon.state import StoredItem

TOP_DEVELOPMENTS = 5
_IMPACT_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Development:
    item: StoredItem
    impact: Impact
    instruments: tuple[str, ...]
    evidence: str


@dataclass(frozen=True)
class Decision:
    """A triage decision or an impact flag, with its rationale."""

    item_id: str
    title: str
    what: str
    rationale: str
    by: str
    on: date


@dataclass(frozen=True)
class StageNote:
    item_id: str
    instrument_id: str
    stage: str
    date: date | None
    status: str
    evidence: str


@dataclass
class Briefing:
    start: date
    end: date
    organisation: str
    developments: list[Development] = field(default_factory=list)
    stage_changes: list[StageNote] = field(default_factory=list)
    readiness: list[ReadinessRow] = field(default_factory=list)
    readiness_by_control: dict[str, Counter[str]] = field(default_factory=dict)
    supplier_hits: list[SupplierHit] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    asks: list[str] = field(default_factory=list)


def build_briefing(
    start: date,
    end: date,
    organisation: str,
    items: Sequence[StoredItem],
    impacts: Mapping[str, Impact],
    links: Mapping[str, Sequence[Link]],
    stage_changes: Sequence[StageNote],
    readiness: Sequence[ReadinessRow],
    supplier_hits: Sequence[SupplierHit],
    decisions: Sequence[Decision],
) -> Briefing:
    """The briefing for [start, end]: items published in the period ranked by impact (the top
    few of medium or high impact), the stage changes and supplier hits they brought, decisions
    taken in the period, and asks of the board from obligations that apply within 90 days of
    the period's end and are not started."""
    in_period = [
        stored
        for stored in items
        if stored.item.published and start <= stored.item.published.date() <= end
    ]
    ranked = sorted(
        (stored for stored in in_period if stored.item.id in impacts),
        key=lambda stored: (
            _IMPACT_ORDER[impacts[stored.item.id].level],
            -impacts[stored.item.id].score,
            stored.item.id,
        ),
    )
    developments = [
        Development(
            item=stored,
            impact=impacts[stored.item.id],
            instruments=tuple(link.instrument_id for link in links.get(stored.item.id, ())),
            evidence=next(
                (link.evidence for link in links.get(stored.item.id, ()) if link.how == "name"),
                "",
            ),
        )
        for stored in ranked
        if impacts[stored.item.id].level != "low"
    ][:TOP_DEVELOPMENTS]
    by_control: dict[str, Counter[str]] = {}
    for row in readiness:
        by_control.setdefault(row.control, Counter())[row.status] += 1
    asks = [
        f"Confirm an owner and resources for {row.control}: {row.instrument_name} "
        f"({row.obligation_id}) applies from {row.from_date} and has not started."
        for row in due_within(readiness, end, 90)
        if row.status == "not-started"
    ]
    item_ids = {stored.item.id for stored in in_period}
    return Briefing(
        start=start,
        end=end,
        organisation=organisation,
        developments=developments,
        stage_changes=[note for note in stage_changes if note.item_id in item_ids],
        readiness=list(readiness),
        readiness_by_control=by_control,
        supplier_hits=[hit for hit in supplier_hits if hit.item_id in item_ids],
        decisions=[decision for decision in decisions if start <= decision.on <= end],
        asks=asks,
    )
