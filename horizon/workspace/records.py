"""What every part of the workspace shares: the database and clock it works on, role checks,
and writing an audit entry in the same transaction as the change it records."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from horizon.state import StateDB
from horizon.workspace.errors import NotFound, PermissionDenied
from horizon.workspace.models import ROLES, Role, User

# The largest integer SQLite stores: ids and offsets beyond it are refused before any query.
MAX_SQL_INT = 2**63 - 1


class WorkspaceBase:
    """The attributes the parts of `Workspace` (accounts, triage, records) work with."""

    state: StateDB
    clock: Callable[[], datetime]
    controls: frozenset[str] | None
    secret_key: str


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def rank(role: Role) -> int:
    return ROLES.index(role)


def require(actor: User, role: Role, doing: str) -> None:
    if not actor.active or rank(actor.role) < rank(role):
        article = "an" if actor.role[0] in "aeiou" else "a"
        raise PermissionDenied(
            f"{actor.name} is {article} {actor.role}; {doing} needs the {role} role or higher"
        )


def require_item(connection: sqlite3.Connection, item_id: str) -> None:
    if connection.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise NotFound(f"there is no item '{item_id}'")


def filters(**conditions: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause for the conditions that are set (column = value)."""
    used = {column: value for column, value in conditions.items() if value is not None}
    if not used:
        return "", []
    return "WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())


def write_audit(
    connection: sqlite3.Connection,
    at: datetime,
    actor: str,
    action: str,
    item_id: str | None,
    subject: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    connection.execute(
        "INSERT INTO workspace_audit (at, actor, action, item_id, subject, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            iso(at),
            actor,
            action,
            item_id,
            subject,
            json.dumps(before) if before is not None else None,
            json.dumps(after) if after is not None else None,
        ),
    )
