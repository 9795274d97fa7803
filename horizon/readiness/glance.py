"""What one digest item means for readiness: the stage changes it signals, the supplier hits
on the inventory and its impact level with reasons. The digest ranks its top changes by the
impact level and opens with an at-a-glance box built from these. Pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from horizon.instruments.catalogue import Instrument
from horizon.instruments.linking import link_item
from horizon.instruments.stages import StageProposal, propose_stages
from horizon.item import Item
from horizon.readiness.impact import Impact, impact_level
from horizon.readiness.profile import System
from horizon.readiness.suppliers import SupplierHit, match_item
from horizon.readiness.tracker import ReadinessRow

LEVEL_RANK = {"high": 2, "medium": 1, "low": 0}


@dataclass(frozen=True)
class ReadinessContext:
    """The organisation's catalogue, inventory and readiness rows, read once per run."""

    instruments: Sequence[Instrument]
    systems: Sequence[System]
    obligations: Sequence[ReadinessRow]


@dataclass(frozen=True)
class ItemReadiness:
    impact: Impact
    stage_changes: tuple[StageProposal, ...]
    supplier_hits: tuple[SupplierHit, ...]

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.impact.level]


def assess_item(item: Item, context: ReadinessContext, today: date) -> ItemReadiness:
    """The item's stage changes, supplier hits and impact level as of `today`."""
    links = link_item(item.id, item.title, item.summary, context.instruments)
    published = item.published.date() if item.published else None
    changes = propose_stages(
        item.id, item.title, item.summary, links, context.instruments, published
    )
    hits = match_item(item.id, item.title, item.summary, item.url, item.publisher, context.systems)
    linked = {link.instrument_id for link in links}
    tags = item.tags
    controls = set(tags.control_ids()) if tags else set()
    touched = [
        row
        for row in context.obligations
        if row.instrument_id in linked and row.control in controls
    ]
    impact = impact_level(
        tags.type if tags else "report",
        today,
        deadline=tags.deadline if tags else item.deadline_hint,
        effective=tags.effective if tags else item.effective_hint,
        stage_changes=changes,
        obligations=touched,
        supplier_hits=hits,
    )
    return ItemReadiness(impact=impact, stage_changes=tuple(changes), supplier_hits=tuple(hits))
