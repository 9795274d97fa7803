"""The team's decisions as the tracker needs them, read from the run state database: which
stored items link to which instrument, their controls, triage states and impact flags. The
workspace tables are read only when the workspace has created them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from horizon.config import (
    Settings,
    instruments_path,
    inventory_path,
    load_instruments,
    load_inventory,
    load_organisation,
    organisation_path,
)
from horizon.instruments.catalogue import Instrument
from horizon.instruments.linking import Linker, link_item
from horizon.instruments.obligation_proposals import with_confirmed
from horizon.instruments.obligations import ObligationProposal, propose_obligations
from horizon.readiness.glance import ReadinessContext
from horizon.readiness.tracker import FlagFact, ReadinessRow, readiness
from horizon.state import StateDB, StoredItem


@dataclass
class TeamFacts:
    items: list[StoredItem] = field(default_factory=list)
    links: dict[str, set[str]] = field(default_factory=dict)
    item_controls: dict[str, set[str]] = field(default_factory=dict)
    triage: dict[str, str] = field(default_factory=dict)
    flags: list[FlagFact] = field(default_factory=list)


def read_team_facts(
    state: StateDB | None, instruments: Sequence[Instrument], link: Linker = link_item
) -> TeamFacts:
    """Everything stored that the tracker reads; empty when there is no run state yet."""
    facts = TeamFacts()
    if state is None:
        return facts
    facts.items = list(state.get_items(state.item_ids()).values())
    for stored in facts.items:
        item = stored.item
        for found in link(item.id, item.title, item.summary, instruments):
            facts.links.setdefault(found.instrument_id, set()).add(item.id)
        if item.tags is not None:
            facts.item_controls[item.id] = set(item.tags.control_ids())
    with state.connect() as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "workspace_triage" in tables:
            facts.triage = {
                row["item_id"]: row["state"]
                for row in connection.execute("SELECT item_id, state FROM workspace_triage")
            }
        if "workspace_flags" in tables:
            facts.flags = [
                FlagFact(
                    item_id=row["item_id"],
                    controls=frozenset(json.loads(row["controls"])),
                    status=row["status"],
                )
                for row in connection.execute(
                    "SELECT item_id, controls, status FROM workspace_flags"
                )
            ]
    return facts


def organisation_readiness(settings: Settings, state: StateDB | None) -> list[ReadinessRow]:
    """The readiness rows of this home: its (or the project's) instruments.yaml with the
    obligations confirmed from items, organisation.yaml, and the team's decisions in its
    state. Raises ConfigError."""
    instruments = with_confirmed(load_instruments(instruments_path(settings)).instruments, state)
    organisation = load_organisation(organisation_path(settings)).organisation
    facts = read_team_facts(state, instruments)
    return readiness(
        instruments,
        organisation,
        facts.links,
        facts.item_controls,
        facts.triage,
        facts.flags,
    )


def readiness_context(settings: Settings, state: StateDB | None) -> ReadinessContext:
    """What a digest needs to assess impact: this home's catalogue, inventory and readiness
    rows, read once. Raises ConfigError."""
    return ReadinessContext(
        instruments=load_instruments(instruments_path(settings)).instruments,
        systems=load_inventory(inventory_path(settings)).systems,
        obligations=organisation_readiness(settings, state),
    )


def obligations_from_items(
    state: StateDB, instruments: Sequence[Instrument]
) -> list[ObligationProposal]:
    """The obligations every stored item states for the instruments it names (with its best
    control tag), for an analyst to confirm."""
    found: list[ObligationProposal] = []
    for stored in state.get_items(state.item_ids()).values():
        item = stored.item
        links = link_item(item.id, item.title, item.summary, instruments)
        controls = item.tags.control_ids() if item.tags else []
        found += propose_obligations(
            item.id, item.title, item.summary, links, instruments, controls
        )
    return found
