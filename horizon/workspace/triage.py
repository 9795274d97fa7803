"""Triage, impact flags, comments and tag verdicts: the team's work on items (a part of
`Workspace`). Each change and its audit entry are written in one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from horizon.item import Tags
from horizon.workspace.errors import InvalidField, NotFound
from horizon.workspace.models import (
    NEEDS_RATIONALE,
    OPEN_STATES,
    STATE_LABELS,
    TRANSITIONS,
    Comment,
    CommentRequest,
    Flag,
    FlagCloseRequest,
    FlagRequest,
    QueueEntry,
    TagVerdict,
    TriageRecord,
    TriageRequest,
    TriageState,
    User,
    Verdict,
)
from horizon.workspace.records import (
    WorkspaceBase,
    filters,
    iso,
    require,
    require_item,
    when,
    write_audit,
)


class Triage(WorkspaceBase):
    """The team's work on items (a part of `Workspace`)."""

    # ----- triage -----------------------------------------------------------------------

    def triage(self, item_id: str) -> TriageRecord:
        with self.state.connect() as connection:
            require_item(connection, item_id)
            return _triage(connection, item_id)

    def move(self, actor: User, item_id: str, request: TriageRequest) -> TriageRecord:
        """Move an item along the triage path; refuses a step the path does not have."""
        require(actor, "analyst", "triaging items")
        if request.state in NEEDS_RATIONALE and not request.rationale:
            raise InvalidField("rationale", f"say why the item is '{STATE_LABELS[request.state]}'")
        now = self.clock()
        with self.state.connect() as connection:
            require_item(connection, item_id)
            before = _triage(connection, item_id)
            allowed = TRANSITIONS[before.state]
            if request.state not in allowed:
                choices = " or ".join(f"'{state}'" for state in allowed)
                raise InvalidField(
                    "state",
                    f"an item that is '{before.state}' can move to {choices}, "
                    f"not '{request.state}'",
                )
            return _set_triage(connection, now, actor, before, request.state, request.rationale)

    def queue(
        self, states: Sequence[TriageState] = OPEN_STATES, limit: int = 100, offset: int = 0
    ) -> list[QueueEntry]:
        """Relevant items (and any already triaged) in the given states, newest first."""
        marks = ",".join("?" * len(states))
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT i.id, i.title, i.publisher, i.published, i.type, i.jurisdiction, i.tags,"
                " COALESCE(t.state, 'new') AS state, t.updated_by, t.updated_at,"
                " (SELECT COUNT(*) FROM workspace_flags f WHERE f.item_id = i.id"
                "  AND f.status = 'open') AS open_flags"
                " FROM items i LEFT JOIN workspace_triage t ON t.item_id = i.id"
                " WHERE (i.relevant = 1 OR t.item_id IS NOT NULL)"
                f" AND COALESCE(t.state, 'new') IN ({marks})"
                " ORDER BY i.published DESC, i.id LIMIT ? OFFSET ?",
                (*states, limit, offset),
            )
            return [
                QueueEntry(
                    item_id=row["id"],
                    title=row["title"],
                    publisher=row["publisher"],
                    published=when(row["published"]),
                    type=row["type"],
                    jurisdiction=row["jurisdiction"],
                    controls=Tags.model_validate_json(row["tags"]).control_ids()
                    if row["tags"]
                    else [],
                    state=row["state"],
                    updated_by=row["updated_by"],
                    updated_at=when(row["updated_at"]),
                    open_flags=row["open_flags"],
                )
                for row in rows
            ]

    # ----- impact flags -----------------------------------------------------------------

    def raise_flag(self, actor: User, item_id: str, request: FlagRequest) -> Flag:
        """Record an impact flag; an item not yet decided (or decided 'no impact', or closed)
        moves to 'impact' in the same transaction, because an open flag is work to do."""
        with self.state.connect() as connection:
            return self.raise_flag_in(connection, self.clock(), actor, item_id, request)

    def raise_flag_in(
        self,
        connection: sqlite3.Connection,
        now: datetime,
        actor: User,
        item_id: str,
        request: FlagRequest,
    ) -> Flag:
        """`raise_flag` inside the caller's transaction (a confirmed supplier proposal records
        its decision in the same one)."""
        require(actor, "analyst", "raising impact flags")
        self._check_controls("controls", request.controls)
        require_item(connection, item_id)
        cursor = connection.execute(
            "INSERT INTO workspace_flags (item_id, controls, severity, owner, due, rationale,"
            " raised_by, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item_id,
                json.dumps(request.controls),
                request.severity,
                request.owner,
                iso(request.due),
                request.rationale,
                actor.name,
                iso(now),
            ),
        )
        flag = _flag_row(connection, int(cursor.lastrowid or 0))
        write_audit(
            connection,
            now,
            actor.name,
            "flag.raise",
            item_id,
            f"flag {flag.id}",
            None,
            _flag_state(flag),
        )
        before = _triage(connection, item_id)
        if before.state not in ("impact", "actioned"):
            _set_triage(
                connection, now, actor, before, "impact", f"flag {flag.id}: {request.rationale}"
            )
        return flag

    def close_flag(self, actor: User, flag_id: int, request: FlagCloseRequest) -> Flag:
        require(actor, "analyst", "closing impact flags")
        now = self.clock()
        with self.state.connect() as connection:
            before = _flag_row(connection, flag_id)
            if before.status == "closed":
                raise InvalidField("status", f"flag {flag_id} is already closed")
            connection.execute(
                "UPDATE workspace_flags SET status = 'closed', closed_by = ?, closed_at = ?,"
                " close_note = ? WHERE id = ?",
                (actor.name, iso(now), request.note, flag_id),
            )
            after = _flag_row(connection, flag_id)
            write_audit(
                connection,
                now,
                actor.name,
                "flag.close",
                after.item_id,
                f"flag {flag_id}",
                _flag_state(before),
                _flag_state(after),
            )
        return after

    def flag(self, flag_id: int) -> Flag:
        with self.state.connect() as connection:
            return _flag_row(connection, flag_id)

    def flags(self, item_id: str | None = None, raised_by: str | None = None) -> list[Flag]:
        clauses, values = filters(item_id=item_id, raised_by=raised_by)
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM workspace_flags {clauses} ORDER BY id", values
            )
            return [_flag(row) for row in rows]

    # ----- comments ---------------------------------------------------------------------

    def add_comment(self, actor: User, item_id: str, request: CommentRequest) -> Comment:
        require(actor, "analyst", "commenting")
        now = self.clock()
        with self.state.connect() as connection:
            require_item(connection, item_id)
            cursor = connection.execute(
                "INSERT INTO workspace_comments (item_id, author, body, at) VALUES (?, ?, ?, ?)",
                (item_id, actor.name, request.body, iso(now)),
            )
            comment = Comment(
                id=int(cursor.lastrowid or 0),
                item_id=item_id,
                author=actor.name,
                body=request.body,
                at=now,
            )
            write_audit(
                connection,
                now,
                actor.name,
                "comment.add",
                item_id,
                f"comment {comment.id}",
                None,
                {"body": comment.body},
            )
        return comment

    def comments(self, item_id: str) -> list[Comment]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM workspace_comments WHERE item_id = ? ORDER BY id", (item_id,)
            )
            return [
                Comment(
                    id=row["id"],
                    item_id=row["item_id"],
                    author=row["author"],
                    body=row["body"],
                    at=datetime.fromisoformat(row["at"]),
                )
                for row in rows
            ]

    # ----- tag verdicts -----------------------------------------------------------------

    def judge_tag(self, actor: User, item_id: str, control: str, verdict: Verdict) -> TagVerdict:
        """Record an analyst's verdict on one control for one item (the latest one counts).
        Confirming a control the classifier did not give adds it; the classifier learns from
        both through `load_feedback`."""
        require(actor, "analyst", "confirming or rejecting tags")
        self._check_controls("control", [control])
        now = self.clock()
        confirmed = verdict == "confirm"
        with self.state.connect() as connection:
            require_item(connection, item_id)
            row = connection.execute(
                "SELECT * FROM workspace_tag_feedback WHERE item_id = ? AND control = ?",
                (item_id, control),
            ).fetchone()
            before = _verdict(row) if row is not None else None
            connection.execute(
                "INSERT INTO workspace_tag_feedback (item_id, control, confirmed, username, at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(item_id, control) DO UPDATE SET"
                " confirmed = excluded.confirmed, username = excluded.username, at = excluded.at",
                (item_id, control, int(confirmed), actor.name, iso(now)),
            )
            after = TagVerdict(
                item_id=item_id, control=control, confirmed=confirmed, user=actor.name, at=now
            )
            write_audit(
                connection,
                now,
                actor.name,
                f"tag.{verdict}",
                item_id,
                f"tag {control}",
                _verdict_state(before),
                _verdict_state(after),
            )
        return after

    def verdicts(self, item_id: str | None = None, user: str | None = None) -> list[TagVerdict]:
        clauses, values = filters(item_id=item_id, username=user)
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM workspace_tag_feedback {clauses} ORDER BY at, item_id, control",
                values,
            )
            return [_verdict(row) for row in rows]

    def _check_controls(self, field: str, controls: Sequence[str]) -> None:
        if self.controls is None:
            return
        unknown = [control for control in controls if control not in self.controls]
        if unknown:
            raise InvalidField(
                field,
                f"'{unknown[0]}' is not a control in the catalogue; use one of "
                + ", ".join(sorted(self.controls)),
            )


def _triage(connection: sqlite3.Connection, item_id: str) -> TriageRecord:
    row = connection.execute(
        "SELECT * FROM workspace_triage WHERE item_id = ?", (item_id,)
    ).fetchone()
    if row is None:
        return TriageRecord(
            item_id=item_id, state="new", rationale="", updated_by=None, updated_at=None
        )
    return TriageRecord(
        item_id=item_id,
        state=row["state"],
        rationale=row["rationale"],
        updated_by=row["updated_by"],
        updated_at=when(row["updated_at"]),
    )


def _set_triage(
    connection: sqlite3.Connection,
    now: datetime,
    actor: User,
    before: TriageRecord,
    state: TriageState,
    rationale: str,
) -> TriageRecord:
    connection.execute(
        "INSERT INTO workspace_triage (item_id, state, rationale, updated_by, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET state = excluded.state,"
        " rationale = excluded.rationale, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        (before.item_id, state, rationale, actor.name, iso(now)),
    )
    after = TriageRecord(
        item_id=before.item_id,
        state=state,
        rationale=rationale,
        updated_by=actor.name,
        updated_at=now,
    )
    write_audit(
        connection,
        now,
        actor.name,
        "triage.move",
        before.item_id,
        "triage",
        {"state": before.state, "rationale": before.rationale},
        {"state": after.state, "rationale": after.rationale},
    )
    return after


def _flag_row(connection: sqlite3.Connection, flag_id: int) -> Flag:
    row = connection.execute("SELECT * FROM workspace_flags WHERE id = ?", (flag_id,)).fetchone()
    if row is None:
        raise NotFound(f"there is no flag {flag_id}")
    return _flag(row)


def _flag(row: sqlite3.Row) -> Flag:
    return Flag(
        id=row["id"],
        item_id=row["item_id"],
        controls=json.loads(row["controls"]),
        severity=row["severity"],
        owner=row["owner"],
        due=date.fromisoformat(row["due"]),
        rationale=row["rationale"],
        status=row["status"],
        raised_by=row["raised_by"],
        raised_at=datetime.fromisoformat(row["raised_at"]),
        closed_by=row["closed_by"],
        closed_at=when(row["closed_at"]),
        close_note=row["close_note"],
    )


def _flag_state(flag: Flag) -> dict[str, Any]:
    return flag.model_dump(
        mode="json",
        include={"controls", "severity", "owner", "due", "rationale", "status", "close_note"},
    )


def _verdict(row: sqlite3.Row) -> TagVerdict:
    return TagVerdict(
        item_id=row["item_id"],
        control=row["control"],
        confirmed=bool(row["confirmed"]),
        user=row["username"],
        at=datetime.fromisoformat(row["at"]),
    )


def _verdict_state(verdict: TagVerdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"control": verdict.control, "verdict": "confirmed" if verdict.confirmed else "rejected"}
