"""Obligation proposals kept in the run state database until an analyst confirms or rejects
them (with a rationale, kept on record); a confirmed one joins its instrument's obligations,
and so the readiness tracker."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from horizon.instruments.catalogue import Instrument, Obligation
from horizon.instruments.obligations import ObligationProposal
from horizon.instruments.proposals import Decision, ProposalDecided, ProposalMissing
from horizon.state import StateDB, utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS obligation_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    control TEXT NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL,
    from_date TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed',
    proposed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    UNIQUE (instrument_id, item_id, who, from_date)
);
CREATE INDEX IF NOT EXISTS obligation_proposals_status ON obligation_proposals(status);
"""


@dataclass(frozen=True)
class StoredObligation:
    id: int
    instrument_id: str
    item_id: str
    control: str
    who: str
    what: str
    from_date: date
    evidence: str
    status: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    rationale: str = ""

    def as_json(self) -> dict[str, Any]:
        """The proposal as the workspace's API gives it."""
        return {
            "id": self.id,
            "instrument": self.instrument_id,
            "item_id": self.item_id,
            "control": self.control,
            "who": self.who,
            "what": self.what,
            "from": self.from_date.isoformat(),
            "evidence": self.evidence,
            "status": self.status,
            "proposed_at": self.proposed_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "rationale": self.rationale,
        }

    def as_obligation(self) -> Obligation:
        """The catalogue obligation it becomes once confirmed."""
        return Obligation.model_validate(
            {
                "id": f"from-item-{self.id}",
                "control": self.control,
                "who": [self.who],
                "what": self.what,
                "from": self.from_date,
            }
        )


class ObligationProposals:
    """The obligation proposals table of one home's state database."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(SCHEMA)
        # a home made before decisions carried a rationale
        state.add_missing_columns("obligation_proposals", {"rationale": "TEXT NOT NULL DEFAULT ''"})

    def add(self, proposals: Sequence[ObligationProposal]) -> int:
        """Store new proposals; one already stored (same instrument, item, role and day) is
        kept as it is. Returns how many were new."""
        now = utc_now().isoformat()
        added = 0
        with self.state.connect() as connection:
            for proposal in proposals:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO obligation_proposals (instrument_id, item_id, control,"
                    " who, what, from_date, evidence, proposed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        proposal.instrument_id,
                        proposal.item_id,
                        proposal.control,
                        proposal.who,
                        proposal.what,
                        proposal.from_date.isoformat(),
                        proposal.evidence,
                        now,
                    ),
                )
                added += cursor.rowcount
        return added

    def find(self, status: str | None = None) -> list[StoredObligation]:
        condition, parameters = ("WHERE status = ?", (status,)) if status else ("", ())
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM obligation_proposals {condition} ORDER BY id", parameters
            ).fetchall()
        return [_stored(row) for row in rows]


def decide_obligation_in(
    connection: sqlite3.Connection,
    proposal_id: int,
    decision: Decision,
    by: str,
    at: datetime,
    control: str | None = None,
    rationale: str = "",
) -> tuple[StoredObligation, StoredObligation]:
    """Decide an open proposal inside the caller's transaction (so the workspace can write its
    audit entry in the same one); returns the proposal before and after."""
    before = _row(connection, proposal_id)
    if before.status != "proposed":
        raise ProposalDecided(f"obligation proposal {proposal_id} is already {before.status}")
    connection.execute(
        "UPDATE obligation_proposals SET status = ?, control = ?, decided_by = ?,"
        " decided_at = ?, rationale = ? WHERE id = ?",
        (decision, control or before.control, by, at.isoformat(), rationale, proposal_id),
    )
    return before, _row(connection, proposal_id)


def _row(connection: sqlite3.Connection, proposal_id: int) -> StoredObligation:
    row = connection.execute(
        "SELECT * FROM obligation_proposals WHERE id = ?", (proposal_id,)
    ).fetchone()
    if row is None:
        raise ProposalMissing(f"there is no obligation proposal {proposal_id}")
    return _stored(row)


def with_confirmed(instruments: Sequence[Instrument], state: StateDB | None) -> list[Instrument]:
    """The catalogue's instruments with the confirmed obligation proposals added to theirs."""
    if state is None:
        return list(instruments)
    added: dict[str, list[Obligation]] = {}
    for proposal in ObligationProposals(state).find("confirmed"):
        added.setdefault(proposal.instrument_id, []).append(proposal.as_obligation())
    return [
        instrument.model_copy(
            update={"obligations": [*instrument.obligations, *added[instrument.id]]}
        )
        if instrument.id in added
        else instrument
        for instrument in instruments
    ]


def _stored(row: sqlite3.Row) -> StoredObligation:
    get = row.__getitem__
    return StoredObligation(
        id=get("id"),
        instrument_id=get("instrument_id"),
        item_id=get("item_id"),
        control=get("control"),
        who=get("who"),
        what=get("what"),
        from_date=date.fromisoformat(get("from_date")),
        evidence=get("evidence"),
        status=get("status"),
        proposed_at=datetime.fromisoformat(get("proposed_at")),
        decided_by=get("decided_by"),
        decided_at=datetime.fromisoformat(get("decided_at")) if get("decided_at") else None,
        rationale=get("rationale"),
    )
