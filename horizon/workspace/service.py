"""The team workspace: users and their sessions, triage, impact flags, comments, tag verdicts,
saved searches, reading activity and the audit trail.

Everything a person can change goes through `Workspace`, which checks the actor's role, checks
the request against the stored items and the control catalogue, and writes the change and its
audit entry (who, when, what, before → after) in one transaction of the shared state database.
The web app, the JSON API and the command line are thin layers over it, so a viewer is refused
the same way everywhere and nothing is ever changed without a trace. Its parts live by job in
`accounts` (users, sign-in, sessions, tokens), `triage` (work on items), `history`
(searches, reading, the audit trail), `stages` (instrument stage changes decided) and
`obligations` (obligations stated by items, decided).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from horizon.state import StateDB, utc_now
from horizon.workspace import credentials
from horizon.workspace.accounts import COMMAND_LINE, SESSION_IDLE, SESSION_MAX, Accounts, Session
from horizon.workspace.history import History
from horizon.workspace.obligations import ObligationDecisions
from horizon.workspace.schema import ADDED_COLUMNS, SCHEMA
from horizon.workspace.stages import StageDecisions
from horizon.workspace.throttle import ThrottlePolicy
from horizon.workspace.triage import Triage

__all__ = ["COMMAND_LINE", "Session", "Workspace"]


class Workspace(Accounts, Triage, History, StageDecisions, ObligationDecisions):
    """The workspace's operations over the shared state database; one transaction each."""

    def __init__(
        self,
        state: StateDB,
        controls: Collection[str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        session_idle: timedelta = SESSION_IDLE,
        session_max: timedelta = SESSION_MAX,
        throttle_policy: ThrottlePolicy | None = None,
    ) -> None:
        self.state = state
        self.controls = frozenset(controls) if controls is not None else None
        self.clock = clock
        self.session_idle = session_idle
        self.session_max = session_max
        self.throttle_policy = throttle_policy or ThrottlePolicy()
        state.ensure_schema(SCHEMA)
        self._add_new_columns()
        self.secret_key = self._secret_key()

    def _add_new_columns(self) -> None:
        """Bring a home made by an older version up to the current tables."""
        for table, column, definition in ADDED_COLUMNS:
            self.state.add_missing_columns(table, {column: definition})

    def _secret_key(self) -> str:
        with self.state.connect() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO workspace_settings (key, value) VALUES ('secret_key', ?)",
                (credentials.new_secret_key(),),
            )
            row = connection.execute(
                "SELECT value FROM workspace_settings WHERE key = 'secret_key'"
            ).fetchone()
        return str(row["value"])
