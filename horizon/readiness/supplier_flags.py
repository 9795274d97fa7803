"""Impact flag proposals from the supplier watch: a dated retirement of a model one of our
systems runs on proposes an impact flag for that system. An analyst confirms it (a real
impact flag is raised on the vendor's item, with the system's controls and owner by default:
`horizon.workspace.suppliers`) or rejects it with a reason; either decision is kept here, on
record for the learner's evidence log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from horizon.readiness.profile import System
from horizon.readiness.suppliers import SupplierHit
from horizon.state import StateDB, utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS supplier_flag_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    system_id TEXT NOT NULL,
    system_name TEXT NOT NULL,
    owner TEXT NOT NULL,
    controls TEXT NOT NULL,
    vendor TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    evidence TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed',
    proposed_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    note TEXT NOT NULL DEFAULT '',
    flag_id INTEGER,
    UNIQUE (item_id, system_id)
);
"""
FLAGGED_KINDS = frozenset({"retirement"})


def needs_flag(hit: SupplierHit) -> bool:
    """A retirement with a date: the system stops working on a known day."""
    return hit.kind in FLAGGED_KINDS and hit.date is not None


@dataclass(frozen=True)
class SupplierFlagProposal:
    id: int
    item_id: str
    system_id: str
    system_name: str
    owner: str
    controls: tuple[str, ...]
    vendor: str
    model: str
    kind: str
    date: date
    evidence: str
    status: Literal["proposed", "confirmed", "rejected"]
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str
    flag_id: int | None

    def as_json(self) -> dict[str, Any]:
        """The proposal as the workspace's API gives it."""
        return {
            "id": self.id,
            "item_id": self.item_id,
            "system_id": self.system_id,
            "system_name": self.system_name,
            "owner": self.owner,
            "controls": list(self.controls),
            "vendor": self.vendor,
            "model": self.model,
            "kind": self.kind,
            "date": self.date.isoformat(),
            "evidence": self.evidence,
            "status": self.status,
            "proposed_at": self.proposed_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
            "flag_id": self.flag_id,
        }

    def default_request(self) -> dict[str, object]:
        """The flag a confirmation raises unless the analyst says otherwise."""
        return {
            "controls": list(self.controls) or ["THIRD-PARTY"],
            "severity": "high",
            "owner": self.owner or "unassigned",
            "due": self.date,
            "rationale": f"{self.vendor} retires {self.model} on {self.date}, which "
            f"{self.system_name} runs on: “{self.evidence}”",
        }


class SupplierFlagProposals:
    """The supplier flag proposals of one home's state database."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(SCHEMA)

    def add(self, hits: Iterable[SupplierHit], systems: Sequence[System]) -> int:
        """Store a proposal for each dated retirement hit not stored yet; returns how many."""
        by_id = {system.id: system for system in systems}
        now = utc_now().isoformat()
        added = 0
        with self.state.connect() as connection:
            for hit in hits:
                if not needs_flag(hit) or hit.date is None:
                    continue
                system = by_id.get(hit.system_id)
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO supplier_flag_proposals (item_id, system_id,"
                    " system_name, owner, controls, vendor, model, kind, date, evidence,"
                    " proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        hit.item_id,
                        hit.system_id,
                        hit.system_name,
                        system.owner if system else "",
                        json.dumps(list(system.controls) if system else []),
                        hit.vendor,
                        hit.model,
                        hit.kind,
                        hit.date.isoformat(),
                        hit.evidence,
                        now,
                    ),
                )
                added += cursor.rowcount
        return added

    def find(self, status: str | None = None) -> list[SupplierFlagProposal]:
        condition, parameters = ("WHERE status = ?", (status,)) if status else ("", ())
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM supplier_flag_proposals {condition} ORDER BY id", parameters
            ).fetchall()
        return [_proposal(row) for row in rows]

    def get(self, proposal_id: int) -> SupplierFlagProposal | None:
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT * FROM supplier_flag_proposals WHERE id = ?", (proposal_id,)
            ).fetchone()
        return _proposal(row) if row is not None else None

    def record_decision(
        self,
        proposal_id: int,
        status: Literal["confirmed", "rejected"],
        by: str,
        note: str,
        flag_id: int | None,
    ) -> bool:
        """Record the decision on a proposal still open; False when it was not open."""
        with self.state.connect() as connection:
            return record_decision_in(connection, proposal_id, status, by, utc_now(), note, flag_id)


def record_decision_in(
    connection: sqlite3.Connection,
    proposal_id: int,
    status: Literal["confirmed", "rejected"],
    by: str,
    at: datetime,
    note: str,
    flag_id: int | None,
) -> bool:
    """`record_decision` inside the caller's transaction (so the workspace can write its audit
    entry in the same one)."""
    cursor = connection.execute(
        "UPDATE supplier_flag_proposals SET status = ?, decided_by = ?, decided_at = ?,"
        " note = ?, flag_id = ? WHERE id = ? AND status = 'proposed'",
        (status, by, at.isoformat(), note, flag_id, proposal_id),
    )
    return cursor.rowcount == 1


def _proposal(row: sqlite3.Row) -> SupplierFlagProposal:
    get = row.__getitem__
    return SupplierFlagProposal(
        id=get("id"),
        item_id=get("item_id"),
        system_id=get("system_id"),
        system_name=get("system_name"),
        owner=get("owner"),
        controls=tuple(json.loads(get("controls"))),
        vendor=get("vendor"),
        model=get("model"),
        kind=get("kind"),
        date=date.fromisoformat(get("date")),
        evidence=get("evidence"),
        status=get("status"),
        proposed_at=datetime.fromisoformat(get("proposed_at")),
        decided_by=get("decided_by"),
        decided_at=datetime.fromisoformat(get("decided_at")) if get("decided_at") else None,
        note=get("note"),
        flag_id=get("flag_id"),
    )
