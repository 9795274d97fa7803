"""The readiness part of the weekly run: store the stage changes this week's items propose,
then report the instruments' stages, the obligations applying in the next 90 days, the
supplier hits on the inventory and the board briefing for the run's quarter.

Its configuration (instruments, organisation, inventory) is read before the run does any
work, like every other file, so a bad one stops the run with nothing fetched."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from horizon.briefing.gather import gather_briefing
from horizon.briefing.packs import write_pack
from horizon.config import (
    Settings,
    instruments_path,
    inventory_path,
    load_instruments,
    load_inventory,
    load_organisation,
    organisation_path,
)
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import link_item
from horizon.instruments.obligation_proposals import ObligationProposals
from horizon.instruments.obligations import ObligationProposal, propose_obligations
from horizon.instruments.proposals import Proposals
from horizon.instruments.stages import StageProposal, propose_stages
from horizon.instruments.timeline import instrument_row
from horizon.readiness.profile import Organisation, System
from horizon.readiness.supplier_flags import SupplierFlagProposals
from horizon.readiness.suppliers import SupplierHit, match_item, supplier_timeline
from horizon.readiness.tracker import ReadinessRow, applies_within
from horizon.state import StateDB

SOON_DAYS = 90


@dataclass(frozen=True)
class ReadinessConfig:
    catalogue: InstrumentsFile
    organisation: Organisation
    systems: list[System]


def load_readiness_config(settings: Settings) -> ReadinessConfig:
    """The home's (or the project's) instruments, organisation and inventory. Raises
    ConfigError naming each bad field."""
    return ReadinessConfig(
        catalogue=load_instruments(instruments_path(settings)),
        organisation=load_organisation(organisation_path(settings)).organisation,
        systems=load_inventory(inventory_path(settings)).systems,
    )


def quarter_of(day: date) -> tuple[date, date]:
    """The first and last day of the calendar quarter holding `day`."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    after = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, date.fromordinal(after.toordinal() - 1)


def _obligation(row: ReadinessRow) -> dict[str, Any]:
    return {
        "from": row.from_date.isoformat() if row.from_date else None,
        "control": row.control,
        "instrument": row.instrument_id,
        "what": row.what,
        "status": row.status,
    }


def readiness_run(
    state: StateDB, config: ReadinessConfig, today: date, briefing_dir: Path
) -> dict[str, Any]:
    """Store new stage, obligation and supplier flag proposals from the stored items (one
    already stored is not added again), write the quarter's briefing pack, and return the run
    summary's readiness block."""
    instruments = config.catalogue.instruments
    items = [stored.item for stored in state.get_items(state.item_ids()).values()]
    found: list[StageProposal] = []
    duties: list[ObligationProposal] = []
    hits: list[SupplierHit] = []
    for item in items:
        links = link_item(item.id, item.title, item.summary, instruments)
        published = item.published.date() if item.published else None
        found += propose_stages(item.id, item.title, item.summary, links, instruments, published)
        controls = item.tags.control_ids() if item.tags else []
        duties += propose_obligations(
            item.id, item.title, item.summary, links, instruments, controls
        )
        hits += match_item(
            item.id, item.title, item.summary, item.url, item.publisher, config.systems
        )
    proposals = Proposals(state)
    added = proposals.add(found)
    obligations = ObligationProposals(state)
    obligations_added = obligations.add(duties)
    flags = SupplierFlagProposals(state)
    flags_added = flags.add(hits, config.systems)
    confirmed = proposals.confirmed_events()
    rows = [
        instrument_row(instrument, confirmed.get(instrument.id, []), today)
        for instrument in instruments
    ]
    start, end = quarter_of(today)
    briefing = gather_briefing(
        state, config.catalogue, config.organisation, config.systems, start, end
    )
    soon = applies_within(briefing.readiness, today, SOON_DAYS)
    paths = write_pack(briefing, briefing_dir, state)
    return {
        "instruments": len(rows),
        "stages": dict(Counter(row["stage"] for row in rows)),
        "instrument_stages": [
            {"id": row["id"], "stage": row["stage"], "since": row["stage_date"]} for row in rows
        ],
        "proposals": {"new": added, "open": len(proposals.find("proposed"))},
        "proposed_stages": [
            {
                "instrument": proposal.instrument_id,
                "stage": proposal.stage,
                "date": proposal.date.isoformat() if proposal.date else None,
                "item_id": proposal.item_id,
            }
            for proposal in proposals.find("proposed")
        ],
        "obligations": [_obligation(row) for row in briefing.readiness],
        "applies_soon": [_obligation(row) for row in soon],
        "supplier_hits": [hit.summary() for hit in supplier_timeline(hits)],
        "obligation_proposals": {
            "new": obligations_added,
            "open": len(obligations.find("proposed")),
        },
        "supplier_flag_proposals": {"new": flags_added, "open": len(flags.find("proposed"))},
        "briefing": {
            "period": [start.isoformat(), end.isoformat()],
            "paths": [str(p) for p in paths],
        },
    }
