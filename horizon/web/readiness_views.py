"""What the instruments, proposals, readiness and supplier pages and their API both answer,
assembled from the domain functions the command line uses (`horizon instruments`,
`horizon readiness`, `horizon suppliers`), so the web and the terminal never disagree.

The catalogue, organisation and inventory files are read and validated once, when the app is
built (`load_readiness_files`); the team's decisions and the stored items are read per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from horizon.config import (
    Settings,
    instruments_path,
    inventory_path,
    load_instruments,
    load_inventory,
    load_organisation,
    organisation_path,
)
from horizon.instruments.catalogue import JURISDICTION, STAGES, Instrument, InstrumentsFile
from horizon.instruments.linking import Link, link_item
from horizon.instruments.obligation_proposals import StoredObligation, with_confirmed
from horizon.instruments.proposals import Proposals, StoredProposal
from horizon.instruments.timeline import instrument_row, linked_items, timeline
from horizon.readiness.export import readiness_calendar, readiness_csv
from horizon.readiness.facts import read_team_facts
from horizon.readiness.profile import Organisation, System
from horizon.readiness.supplier_flags import SupplierFlagProposal
from horizon.readiness.suppliers import SupplierHit, match_item, supplier_timeline
from horizon.readiness.tracker import ReadinessRow, Status, readiness
from horizon.state import StateDB, StoredItem
from horizon.workspace import InvalidField, NotFound

STATUS_LABELS: dict[Status, str] = {
    "not-started": "not started",
    "in-progress": "in progress",
    "ready": "ready",
}
# Supplier changes that end something we run: they go to the calendar and the page's list of
# retirements with their dates.
ENDING_KINDS = ("retirement", "deprecation")


class LinkMemo:
    """`link_item` remembered per item text. The catalogue is fixed for the app's life, so an
    item's links change only when its title or summary does; without this every page view
    re-links every stored item (the costly part of the readiness and timeline pages)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._known: dict[tuple[int, str, str, str], list[Link]] = {}
        self._limit = limit

    def __call__(
        self, item_id: str, title: str, summary: str, instruments: Sequence[Instrument]
    ) -> list[Link]:
        key = (id(instruments), item_id, title, summary)
        found = self._known.get(key)
        if found is None:
            found = link_item(item_id, title, summary, instruments)
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[key] = found
        return list(found)


@dataclass(frozen=True)
class ReadinessFiles:
    """instruments.yaml, organisation.yaml and inventory.yaml of the home (else the project's),
    and the links of the items seen so far."""

    catalogue: InstrumentsFile
    organisation: Organisation
    systems: tuple[System, ...]
    links: LinkMemo = field(default_factory=LinkMemo, compare=False)

    def instrument(self, instrument_id: str) -> Instrument:
        found = self.catalogue.get(instrument_id)
        if found is None:
            raise NotFound(f"there is no instrument '{instrument_id}'")
        return found

    def names(self) -> dict[str, str]:
        return {each.id: each.name for each in self.catalogue.instruments}


def load_readiness_files(settings: Settings) -> ReadinessFiles:
    """The three files, validated; raises ConfigError naming every bad field."""
    return ReadinessFiles(
        catalogue=load_instruments(instruments_path(settings)),
        organisation=load_organisation(organisation_path(settings)).organisation,
        systems=tuple(load_inventory(inventory_path(settings)).systems),
    )


def parse_day(text: str | None) -> date:
    """The `on` day of a request (default today); InvalidField when it is not a date."""
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidField("on", "a date like 2026-08-02") from None


def _stored_items(state: StateDB) -> list[StoredItem]:
    return list(state.get_items(state.item_ids()).values())


# ----- instruments ---------------------------------------------------------------------------


def instrument_rows(
    files: ReadinessFiles,
    state: StateDB,
    on: date,
    jurisdiction: str | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """The instrument list (as `horizon instruments --json`), optionally only one jurisdiction
    (a country also matches its subdivisions: US matches US-CO) or one current stage."""
    if jurisdiction and not JURISDICTION.match(jurisdiction):
        raise InvalidField(
            "jurisdiction", "UK, EU, US, INT, GLOBAL, an ISO code or a subdivision such as US-CO"
        )
    if stage and stage not in STAGES:
        raise InvalidField("stage", f"'{stage}' is not a stage; use one of {', '.join(STAGES)}")
    confirmed = Proposals(state).confirmed_events()
    rows = [
        instrument_row(instrument, confirmed.get(instrument.id, []), on)
        for instrument in files.catalogue.instruments
    ]
    return [
        row
        for row in rows
        if (
            not jurisdiction
            or row["jurisdiction"] == jurisdiction
            or row["jurisdiction"].startswith(f"{jurisdiction}-")
        )
        and (not stage or row["stage"] == stage)
    ]


def instrument_detail(
    files: ReadinessFiles, state: StateDB, instrument_id: str, on: date
) -> dict[str, Any]:
    """One instrument: the list line's fields, its description and address, its obligations,
    its timeline (stages, milestones and linked items with their evidence, in date order;
    as `horizon instruments show --json`) and its open stage proposals."""
    instrument = files.instrument(instrument_id)
    store = Proposals(state)
    confirmed = store.confirmed_events().get(instrument.id, [])
    open_proposals = [
        proposal for proposal in store.find("proposed") if proposal.instrument_id == instrument.id
    ]
    linked = linked_items(
        instrument, files.catalogue.instruments, _stored_items(state), files.links
    )
    entries = timeline(
        instrument,
        confirmed,
        linked,
        {proposal.item_id: proposal.stage for proposal in open_proposals},
    )
    return {
        **instrument_row(instrument, confirmed, on),
        "description": instrument.description,
        "url": instrument.url,
        "obligations": [
            obligation.model_dump(mode="json", by_alias=True)
            for obligation in instrument.obligations
        ],
        "timeline": entries,
        "proposals": [proposal.as_json() for proposal in open_proposals],
    }


# ----- proposals -----------------------------------------------------------------------------


def _titles(state: StateDB, item_ids: set[str]) -> dict[str, str]:
    items = state.get_items(item_ids)
    return {
        item_id: items[item_id].item.title if item_id in items else item_id for item_id in item_ids
    }


def proposal_records(
    files: ReadinessFiles, state: StateDB, proposals: Sequence[StoredProposal]
) -> list[dict[str, Any]]:
    """Proposals as the pages and the API show them: with the instrument's name and the title
    of the item that signalled the change."""
    titles = _titles(state, {proposal.item_id for proposal in proposals})
    names = files.names()
    return [
        {
            **proposal.as_json(),
            "instrument_name": names.get(proposal.instrument_id, proposal.instrument_id),
            "item_title": titles[proposal.item_id],
        }
        for proposal in proposals
    ]


def obligation_records(
    files: ReadinessFiles, state: StateDB, proposals: Sequence[StoredObligation]
) -> list[dict[str, Any]]:
    """Obligation proposals with the instrument's name and the stating item's title."""
    titles = _titles(state, {proposal.item_id for proposal in proposals})
    names = files.names()
    return [
        {
            **proposal.as_json(),
            "instrument_name": names.get(proposal.instrument_id, proposal.instrument_id),
            "item_title": titles[proposal.item_id],
        }
        for proposal in proposals
    ]


def supplier_records(
    state: StateDB, proposals: Sequence[SupplierFlagProposal]
) -> list[dict[str, Any]]:
    """Supplier flag proposals with the title of the vendor's item."""
    titles = _titles(state, {proposal.item_id for proposal in proposals})
    return [
        {**proposal.as_json(), "item_title": titles[proposal.item_id]} for proposal in proposals
    ]


# ----- readiness -----------------------------------------------------------------------------


def readiness_rows(files: ReadinessFiles, state: StateDB) -> list[ReadinessRow]:
    """Per control then date, the obligations that apply to the organisation (the catalogue's
    and those confirmed from items), with their status from the team's flags and triage (as
    `horizon readiness`)."""
    # Links depend on names only, so the catalogue's instruments (a fixed list, as the link
    # memo wants) link the items; the obligations come with the confirmed ones added.
    facts = read_team_facts(state, files.catalogue.instruments, files.links)
    return readiness(
        with_confirmed(files.catalogue.instruments, state),
        files.organisation,
        facts.links,
        facts.item_controls,
        facts.triage,
        facts.flags,
    )


def readiness_csv_text(files: ReadinessFiles, state: StateDB) -> str:
    return readiness_csv(readiness_rows(files, state))


def readiness_ics(files: ReadinessFiles, state: StateDB) -> bytes:
    return readiness_calendar(readiness_rows(files, state), datetime.now(UTC))


# ----- suppliers -----------------------------------------------------------------------------


def supplier_hits(files: ReadinessFiles, state: StateDB) -> list[SupplierHit]:
    """Every stored item's hits on the inventory, by vendor then date (as `horizon suppliers`)."""
    hits: list[SupplierHit] = []
    for stored in _stored_items(state):
        item = stored.item
        hits += match_item(
            item.id, item.title, item.summary, item.url, item.publisher, files.systems
        )
    return supplier_timeline(hits)


def endings(hits: Sequence[SupplierHit]) -> list[SupplierHit]:
    """Retirements and deprecations with a date, soonest first."""
    return sorted(
        (hit for hit in hits if hit.kind in ENDING_KINDS and hit.date is not None),
        key=lambda hit: (hit.date or date.max, hit.vendor),
    )
