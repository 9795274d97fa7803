"""Stage proposals kept in the run state database until an analyst confirms or rejects them.
A confirmed proposal becomes part of the instrument's stage history."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from horizon.instruments.catalogue import StageEvent
from horizon.instruments.stages import StageProposal
from horizon.state import StateDB, utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS instrument_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instrument_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    date TEXT,
    cue TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed',
    proposed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    rationale TEXT NOT NULL DEFAULT '',
    UNIQUE (instrument_id, item_id, stage)
);
CREATE INDEX IF NOT EXISTS instrument_proposals_status ON instrument_proposals(status);
"""

Decision = Literal["confirmed", "rejected"]


@dataclass(frozen=True)
class StoredProposal:
    id: int
    instrument_id: str
    item_id: str
    stage: str
    date: date | None
    cue: str
    evidence: str
    status: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    rationale: str = ""

    def as_json(self) -> dict[str, Any]:
        """The proposal as `horizon instruments propose --json` and the web API give it."""
        return {
            "id": self.id,
            "instrument": self.instrument_id,
            "item_id": self.item_id,
            "stage": self.stage,
            "date": self.date.isoformat() if self.date else None,
            "cue": self.cue,
            "evidence": self.evidence,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "rationale": self.rationale,
        }


class ProposalError(Exception):
    """A proposal that does not exist or was already decided."""


class ProposalMissing(ProposalError):
    """There is no proposal with that number."""


class ProposalDecided(ProposalError):
    """The proposal was confirmed or rejected already."""


class Proposals:
    """The proposals table of one home's state database."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(SCHEMA)
        # a home made before decisions carried a rationale
        state.add_missing_columns("instrument_proposals", {"rationale": "TEXT NOT NULL DEFAULT ''"})

    def add(self, proposals: Sequence[StageProposal]) -> int:
        """Store new proposals; one already stored (same instrument, item, stage) is kept as
        it is. Returns how many were new."""
        now = utc_now().isoformat()
        added = 0
        with self.state.connect() as connection:
            for proposal in proposals:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO instrument_proposals"
                    " (instrument_id, item_id, stage, date, cue, evidence, proposed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        proposal.instrument_id,
                        proposal.item_id,
                        proposal.stage,
                        proposal.date.isoformat() if proposal.date else None,
                        proposal.cue,
                        proposal.evidence,
                        now,
                    ),
                )
                added += cursor.rowcount
        return added

    def find(self, status: str | None = None) -> list[StoredProposal]:
        condition, parameters = ("WHERE status = ?", (status,)) if status else ("", ())
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM instrument_proposals {condition} ORDER BY id", parameters
            ).fetchall()
        return [_proposal(row) for row in rows]

    def decide(
        self, proposal_id: int, decision: Decision, by: str, rationale: str = ""
    ) -> StoredProposal:
        """Confirm or reject a proposal that is still open."""
        with self.state.connect() as connection:
            return decide_in(connection, proposal_id, decision, by, utc_now(), rationale)[1]

    def list_one(self, proposal_id: int) -> StoredProposal:
        with self.state.connect() as connection:
            return _row(connection, proposal_id)

    def confirmed_events(self) -> dict[str, list[StageEvent]]:
        """Confirmed stage changes by instrument, as stage history entries."""
        events: dict[str, list[StageEvent]] = {}
        for proposal in self.find("confirmed"):
            events.setdefault(proposal.instrument_id, []).append(
                StageEvent(
                    stage=proposal.stage,
                    date=proposal.date,
                    note=f"confirmed by {proposal.decided_by} from item {proposal.item_id}",
                )
            )
        return events


def decide_in(
    connection: sqlite3.Connection,
    proposal_id: int,
    decision: Decision,
    by: str,
    at: datetime,
    rationale: str = "",
) -> tuple[StoredProposal, StoredProposal]:
    """Decide an open proposal inside the caller's transaction (so the workspace can write its
    audit entry in the same one); returns the proposal before and after."""
    before = _row(connection, proposal_id)
    if before.status != "proposed":
        raise ProposalDecided(f"stage proposal {proposal_id} is already {before.status}")
    connection.execute(
        "UPDATE instrument_proposals SET status = ?, decided_by = ?, decided_at = ?,"
        " rationale = ? WHERE id = ?",
        (decision, by, at.isoformat(), rationale, proposal_id),
    )
    return before, _row(connection, proposal_id)


def _row(connection: sqlite3.Connection, proposal_id: int) -> StoredProposal:
    row = connection.execute(
        "SELECT * FROM instrument_proposals WHERE id = ?", (proposal_id,)
    ).fetchone()
    if row is None:
        raise ProposalMissing(f"there is no stage proposal {proposal_id}")
    return _proposal(row)


def _proposal(row: sqlite3.Row) -> StoredProposal:
    get = row.__getitem__
    return StoredProposal(
        id=get("id"),
        instrument_id=get("instrument_id"),
        item_id=get("item_id"),
        stage=get("stage"),
        date=date.fromisoformat(get("date")) if get("date") else None,
        cue=get("cue"),
        evidence=get("evidence"),
        status=get("status"),
        proposed_at=datetime.fromisoformat(get("proposed_at")),
        decided_by=get("decided_by"),
        decided_at=datetime.fromisoformat(get("decided_at")) if get("decided_at") else None,
        rationale=get("rationale"),
    )
