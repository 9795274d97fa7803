"""What goes into a briefing, assembled from facts already read (pure functions).

A briefing is balanced: the risks (medium or high impact) and the opportunities of the period
each get a short list of their own, and what the board is asked for comes from obligations
about to apply unstarted, open high-severity impact flags and high-impact risks the team has
not decided on yet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from horizon.briefing.outlook import Outlook
from horizon.instruments.linking import Link
from horizon.readiness.impact import Impact
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow, due_within
from horizon.state import StoredItem

TOP_PER_SIDE = 3
MAX_ASKS = 6
_HIGH_SEVERITIES = frozenset({"high", "critical"})
_IMPACT_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Development:
    item: StoredItem
    impact: Impact
    instruments: tuple[str, ...]
    evidence: str
    outlook: Outlook


@dataclass(frozen=True)
class Decision:
    """A triage decision or an impact flag, with its rationale."""

    item_id: str
    title: str
    what: str
    rationale: str
    by: str
    on: date
    flag_severity: str = ""
    flag_open: bool = False
    flag_owner: str = ""
    flag_due: date | None = None


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
    risks: list[Development] = field(default_factory=list)
    opportunities: list[Development] = field(default_factory=list)
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
    outlooks: Mapping[str, Outlook],
    links: Mapping[str, Sequence[Link]],
    stage_changes: Sequence[StageNote],
    readiness: Sequence[ReadinessRow],
    supplier_hits: Sequence[SupplierHit],
    decisions: Sequence[Decision],
) -> Briefing:
    """The briefing for [start, end]: items published in the period and assessed (an impact
    and an outlook) ranked by impact, the top few risks (of medium or high impact) and the top
    few opportunities (any impact), the stage changes and supplier hits they brought, decisions
    taken in the period, and the asks of the board."""
    in_period = [
        stored
        for stored in items
        if stored.item.published and start <= stored.item.published.date() <= end
    ]
    assessed = impacts.keys() & outlooks.keys()
    ranked = sorted(
        (stored for stored in in_period if stored.item.id in assessed),
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
            outlook=outlooks[stored.item.id],
        )
        for stored in ranked
    ]
    risks = [
        each for each in developments if each.outlook.side == "risk" and each.impact.level != "low"
    ][:TOP_PER_SIDE]
    opportunities = [each for each in developments if each.outlook.side == "opportunity"][
        :TOP_PER_SIDE
    ]
    by_control: dict[str, Counter[str]] = {}
    for row in readiness:
        by_control.setdefault(row.control, Counter())[row.status] += 1
    item_ids = {stored.item.id for stored in in_period}
    return Briefing(
        start=start,
        end=end,
        organisation=organisation,
        risks=risks,
        opportunities=opportunities,
        stage_changes=[note for note in stage_changes if note.item_id in item_ids],
        readiness=list(readiness),
        readiness_by_control=by_control,
        supplier_hits=[hit for hit in supplier_hits if hit.item_id in item_ids],
        decisions=[decision for decision in decisions if start <= decision.on <= end],
        asks=board_asks(end, readiness, decisions, risks),
    )


def board_asks(
    end: date,
    readiness: Sequence[ReadinessRow],
    decisions: Sequence[Decision],
    risks: Sequence[Development],
) -> list[str]:
    """What the board is asked for: an owner for each obligation applying within 90 days of
    the period's end that has not started; backing for each open high-severity impact flag;
    a view on each high-impact risk the team has not decided on yet."""
    asks = [
        f"Confirm an owner and resources for {row.control}: {row.instrument_name} "
        f"({row.obligation_id}) applies from {row.from_date} and has not started."
        for row in due_within(readiness, end, 90)
        if row.status == "not-started"
    ]
    asks += [
        f"Back the response to “{decision.title}”: open {decision.flag_severity} impact flag, "
        f"owner {decision.flag_owner}, due {decision.flag_due}."
        for decision in decisions
        if decision.flag_open and decision.flag_severity in _HIGH_SEVERITIES
    ]
    decided = {decision.item_id for decision in decisions}
    asks += [
        f"Note the risk “{risk.item.item.title}” ({risk.outlook.reason}); "
        "the team has not decided on it yet."
        for risk in risks
        if risk.impact.level == "high" and risk.item.item.id not in decided
    ]
    return asks[:MAX_ASKS]
