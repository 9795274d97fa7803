"""What people looked for and read, and the audit trail (a part of `Workspace`).

Reading and searching are the learner's evidence of scanning, not changes, so they are kept
apart from the audit trail, each with how it was recorded (see `RECORDED_LABELS`).

Who sees which audit entries (`AUDIT_VISIBILITY`): an admin sees every entry; a viewer or an
analyst sees the changes made to items (triage, flags, comments, tag verdicts) by anyone, and
the account events they made themselves, never another user's saved searches, tokens or
sign-in failures, nor user administration.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from horizon.workspace.models import (
    Activity,
    ActivityKind,
    AuditEntry,
    RecordedHow,
    SavedSearch,
    SavedSearchRequest,
    User,
)
from horizon.workspace.records import WorkspaceBase, filters, iso, require, write_audit

AUDIT_VISIBILITY = {
    "viewer": "changes to items by anyone, and their own account events",
    "analyst": "changes to items by anyone, and their own account events",
    "admin": "every entry: items, users, tokens, saved searches, failed sign-ins",
}


class History(WorkspaceBase):
    """Saved searches, reading activity and the audit trail (a part of `Workspace`)."""

    def save_search(self, actor: User, request: SavedSearchRequest) -> SavedSearch:
        """Save (or replace, by name) one of the actor's searches."""
        require(actor, "analyst", "saving searches")
        now = self.clock()
        with self.state.connect() as connection:
            previous = connection.execute(
                "SELECT * FROM workspace_saved_searches WHERE username = ? AND name = ?",
                (actor.name, request.name),
            ).fetchone()
            connection.execute(
                "INSERT INTO workspace_saved_searches (username, name, query, filters, created)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(username, name) DO UPDATE SET"
                " query = excluded.query, filters = excluded.filters, created = excluded.created",
                (actor.name, request.name, request.query, json.dumps(request.filters), iso(now)),
            )
            row = connection.execute(
                "SELECT * FROM workspace_saved_searches WHERE username = ? AND name = ?",
                (actor.name, request.name),
            ).fetchone()
            saved = _saved_search(row)
            write_audit(
                connection,
                now,
                actor.name,
                "search.save",
                None,
                f"saved search '{saved.name}'",
                _search_state(_saved_search(previous)) if previous is not None else None,
                _search_state(saved),
            )
        return saved

    def saved_searches(self, user: str) -> list[SavedSearch]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM workspace_saved_searches WHERE username = ? ORDER BY name", (user,)
            )
            return [_saved_search(row) for row in rows]

    def record_activity(
        self, user: User, kind: ActivityKind, subject: str, how: RecordedHow
    ) -> None:
        """Note what a user read (an item, a digest) or looked for, and how that was known."""
        with self.state.connect() as connection:
            connection.execute(
                "INSERT INTO workspace_activity (username, at, kind, subject, how)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.name, iso(self.clock()), kind, subject[:1000], how),
            )

    def activity(self, user: str, start: datetime, end: datetime) -> list[Activity]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM workspace_activity WHERE username = ? AND at >= ? AND at < ?"
                " ORDER BY at",
                (user, iso(start), iso(end)),
            )
            return [
                Activity(
                    user=row["username"],
                    at=datetime.fromisoformat(row["at"]),
                    kind=row["kind"],
                    subject=row["subject"],
                    how=row["how"],
                )
                for row in rows
            ]

    # ----- the audit log ----------------------------------------------------------------

    def audit(
        self,
        item_id: str | None = None,
        actor: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        seen_by: User | None = None,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, optionally for one item, one actor, or a period;
        with `seen_by`, only those that user's role may see (see `AUDIT_VISIBILITY`)."""
        clauses, values = filters(item_id=item_id, actor=actor)
        conditions = [clauses.removeprefix("WHERE ")] if clauses else []
        if start is not None:
            conditions.append("at >= ?")
            values.append(iso(start))
        if end is not None:
            conditions.append("at < ?")
            values.append(iso(end))
        if seen_by is not None and seen_by.role != "admin":
            conditions.append("(item_id IS NOT NULL OR actor = ?)")
            values.append(seen_by.name)
        where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        with self.state.connect() as connection:
            rows = connection.execute(f"SELECT * FROM workspace_audit {where} ORDER BY id", values)
            return [
                AuditEntry(
                    id=row["id"],
                    at=datetime.fromisoformat(row["at"]),
                    actor=row["actor"],
                    action=row["action"],
                    item_id=row["item_id"],
                    subject=row["subject"],
                    before=json.loads(row["before"]) if row["before"] else None,
                    after=json.loads(row["after"]) if row["after"] else None,
                )
                for row in rows
            ]


def _saved_search(row: sqlite3.Row) -> SavedSearch:
    return SavedSearch(
        id=row["id"],
        user=row["username"],
        name=row["name"],
        query=row["query"],
        filters=json.loads(row["filters"]),
        created=datetime.fromisoformat(row["created"]),
    )


def _search_state(saved: SavedSearch) -> dict[str, Any]:
    return {"query": saved.query, "filters": saved.filters}
