"""Reading what a briefing needs from a home: stored items, the team's decisions, stage
proposals; then scoring each item's impact. The only I/O of the briefing."""

from __future__ import annotations

from datetime import date, datetime

from horizon.briefing.build import Briefing, Decision, StageNote, build_briefing
from horizon.briefing.outlook import Outlook, classify_development
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import Link, link_item
from horizon.instruments.obligation_proposals import with_confirmed
from horizon.instruments.proposals import Proposals
from horizon.instruments.stages import propose_stages
from horizon.readiness.facts import read_team_facts
from horizon.readiness.impact import Impact, impact_level
from horizon.readiness.profile import Organisation, System
from horizon.readiness.suppliers import SupplierHit, match_item
from horizon.readiness.tracker import readiness
from horizon.state import StateDB


def gather_briefing(
    state: StateDB | None,
    catalogue: InstrumentsFile,
    organisation: Organisation,
    systems: list[System],
    start: date,
    end: date,
) -> Briefing:
    instruments = with_confirmed(catalogue.instruments, state)
    facts = read_team_facts(state, instruments)
    rows = readiness(
        instruments, organisation, facts.links, facts.item_controls, facts.triage, facts.flags
    )
    stored_status = {}
    if state is not None:
        for proposal in Proposals(state).find():
            key = (proposal.instrument_id, proposal.item_id, proposal.stage)
            stored_status[key] = proposal.status
    links: dict[str, list[Link]] = {}
    impacts: dict[str, Impact] = {}
    outlooks: dict[str, Outlook] = {}
    notes: list[StageNote] = []
    hits: list[SupplierHit] = []
    for stored in facts.items:
        item = stored.item
        published = item.published.date() if item.published else None
        item_links = link_item(item.id, item.title, item.summary, instruments)
        links[item.id] = item_links
        changes = propose_stages(
            item.id, item.title, item.summary, item_links, instruments, published
        )
        notes += [
            StageNote(
                item_id=item.id,
                instrument_id=change.instrument_id,
                stage=change.stage,
                date=change.date,
                status=stored_status.get(
                    (change.instrument_id, item.id, change.stage), "to confirm"
                ),
                evidence=change.evidence,
            )
            for change in changes
        ]
        item_hits = match_item(item.id, item.title, item.summary, item.url, item.publisher, systems)
        hits += item_hits
        relevant = item.tags is not None and item.tags.relevant
        if not (relevant or item_hits or changes):
            continue
        linked = {link.instrument_id for link in item_links}
        controls = facts.item_controls.get(item.id, set())
        touched = [row for row in rows if row.instrument_id in linked and row.control in controls]
        tags = item.tags
        impact = impacts[item.id] = impact_level(
            tags.type if tags else "report",
            published or end,
            deadline=tags.deadline if tags else item.deadline_hint,
            effective=tags.effective if tags else item.effective_hint,
            stage_changes=changes,
            obligations=touched,
            supplier_hits=item_hits,
        )
        outlooks[item.id] = classify_development(
            item.title, item.summary, tags.type if tags else "report", impact, changes, item_hits
        )
    titles = {stored.item.id: stored.item.title for stored in facts.items}
    return build_briefing(
        start,
        end,
        organisation.name,
        facts.items,
        impacts,
        outlooks,
        links,
        notes,
        rows,
        hits,
        _decisions(state, titles),
    )


def _decisions(state: StateDB | None, titles: dict[str, str]) -> list[Decision]:
    """Triage decisions with a rationale, and impact flags, from the workspace tables."""
    if state is None:
        return []
    decisions: list[Decision] = []
    with state.connect() as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if "workspace_triage" in tables:
            for row in connection.execute(
                "SELECT * FROM workspace_triage WHERE rationale != ''"
            ).fetchall():
                decisions.append(
                    Decision(
                        item_id=row["item_id"],
                        title=titles.get(row["item_id"], row["item_id"]),
                        what=f"triaged {row['state']}",
                        rationale=row["rationale"],
                        by=row["updated_by"],
                        on=datetime.fromisoformat(row["updated_at"]).date(),
                    )
                )
        if "workspace_flags" in tables:
            for row in connection.execute("SELECT * FROM workspace_flags").fetchall():
                decisions.append(
                    Decision(
                        item_id=row["item_id"],
                        title=titles.get(row["item_id"], row["item_id"]),
                        what=f"{row['severity']} impact flag ({row['status']}, owner "
                        f"{row['owner']}, due {row['due']})",
                        rationale=row["rationale"],
                        by=row["raised_by"],
                        on=datetime.fromisoformat(row["raised_at"]).date(),
                        flag_severity=row["severity"],
                        flag_open=row["status"] == "open",
                        flag_owner=row["owner"],
                        flag_due=date.fromisoformat(row["due"]),
                    )
                )
    return sorted(decisions, key=lambda decision: (decision.on, decision.item_id))
