"""The team workspace: triage, impact flags, comments, tag verdicts, users and their sessions.

Everything a person can change goes through `Workspace`, which checks the actor's role, checks
the request against the stored items and the control catalogue, and writes the change and its
audit entry (who, when, what, before → after) in one transaction of the shared state database.
The web app, the JSON API and the command line are thin layers over it, so a viewer is refused
the same way everywhere and nothing is ever changed without a trace.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from horizon.item import Tags
from horizon.state import StateDB, utc_now
from horizon.workspace import credentials
from horizon.workspace.errors import InvalidField, NotFound, PermissionDenied
from horizon.workspace.models import (
    NEEDS_RATIONALE,
    OPEN_STATES,
    ROLES,
    STATE_LABELS,
    TRANSITIONS,
    Activity,
    ActivityKind,
    ApiToken,
    AuditEntry,
    Comment,
    CommentRequest,
    Flag,
    FlagCloseRequest,
    FlagRequest,
    QueueEntry,
    Role,
    SavedSearch,
    SavedSearchRequest,
    TagVerdict,
    TokenRequest,
    TriageRecord,
    TriageRequest,
    TriageState,
    User,
    UserRequest,
    Verdict,
)
from horizon.workspace.schema import SCHEMA

SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(days=7)
# Refreshing a session's last-seen time on every request would make every page view a write.
_SESSION_REFRESH = timedelta(minutes=1)
COMMAND_LINE = User(
    name="command-line", role="admin", active=True, created=datetime(1970, 1, 1, tzinfo=UTC)
)


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who it is, its CSRF token, and a form kept across a re-login."""

    user: User
    digest: str
    csrf_token: str
    created: datetime
    draft: dict[str, Any] | None


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _rank(role: Role) -> int:
    return ROLES.index(role)


class Workspace:
    """The workspace's operations over the shared state database; one transaction each."""

    def __init__(
        self,
        state: StateDB,
        controls: Collection[str] | None = None,
        clock: Callable[[], datetime] = utc_now,
        session_idle: timedelta = SESSION_IDLE,
        session_max: timedelta = SESSION_MAX,
    ) -> None:
        self.state = state
        self.controls = frozenset(controls) if controls is not None else None
        self.clock = clock
        self.session_idle = session_idle
        self.session_max = session_max
        state.ensure_schema(SCHEMA)
        self.secret_key = self._secret_key()

    # ----- users ------------------------------------------------------------------------

    def add_user(self, actor: User, request: UserRequest) -> User:
        _require(actor, "admin", "adding users")
        now = self.clock()
        with self.state.connect() as connection:
            if _user_row(connection, request.name) is not None:
                raise InvalidField("name", f"a user called '{request.name}' already exists")
            connection.execute(
                "INSERT INTO workspace_users (name, role, password_hash, active, created) "
                "VALUES (?, ?, ?, 1, ?)",
                (
                    request.name,
                    request.role,
                    credentials.hash_password(request.password),
                    _iso(now),
                ),
            )
            user = User(name=request.name, role=request.role, active=True, created=now)
            _audit(
                connection, now, actor, "user.add", None, f"user {user.name}", None, _public(user)
            )
        return user

    def disable_user(self, actor: User, name: str) -> User:
        """Disable a user: their sessions end and their API tokens stop working at once."""
        _require(actor, "admin", "disabling users")
        now = self.clock()
        with self.state.connect() as connection:
            row = _user_row(connection, name)
            if row is None:
                raise NotFound(f"there is no user called '{name}'")
            before = _user(row)
            connection.execute("UPDATE workspace_users SET active = 0 WHERE name = ?", (name,))
            connection.execute("DELETE FROM workspace_sessions WHERE username = ?", (name,))
            connection.execute(
                "UPDATE workspace_tokens SET revoked = ? WHERE username = ? AND revoked IS NULL",
                (_iso(now), name),
            )
            after = before.model_copy(update={"active": False})
            _audit(
                connection,
                now,
                actor,
                "user.disable",
                None,
                f"user {name}",
                _public(before),
                _public(after),
            )
        return after

    def list_users(self, actor: User) -> list[User]:
        _require(actor, "admin", "listing users")
        with self.state.connect() as connection:
            rows = connection.execute("SELECT * FROM workspace_users ORDER BY name")
            return [_user(row) for row in rows]

    def user(self, name: str) -> User:
        with self.state.connect() as connection:
            row = _user_row(connection, name)
        if row is None:
            raise NotFound(f"there is no user called '{name}'")
        return _user(row)

    def active_user(self, name: str) -> User:
        """The named user, refusing a disabled one (for the command line's `--as`)."""
        user = self.user(name)
        if not user.active:
            raise PermissionDenied(f"user '{name}' is disabled")
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        """The active user with this name and password, or None; the hash is upgraded when
        argon2's recommended parameters have changed since it was made."""
        with self.state.connect() as connection:
            row = _user_row(connection, name)
            stored = row["password_hash"] if row is not None and row["active"] else None
            if not credentials.password_matches(stored, password) or row is None:
                return None
            if credentials.needs_rehash(row["password_hash"]):
                connection.execute(
                    "UPDATE workspace_users SET password_hash = ? WHERE name = ?",
                    (credentials.hash_password(password), name),
                )
            return _user(row)

    # ----- sessions and API tokens ------------------------------------------------------

    def start_session(self, user: User, draft: dict[str, Any] | None = None) -> str:
        """A new session for a signed-in user; returns the token for the cookie."""
        token = credentials.new_session_token()
        now = self.clock()
        with self.state.connect() as connection:
            connection.execute(
                "INSERT INTO workspace_sessions (token_hash, username, created, last_seen, draft)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    credentials.token_digest(token),
                    user.name,
                    _iso(now),
                    _iso(now),
                    json.dumps(draft) if draft else None,
                ),
            )
        return token

    def session(self, token: str | None) -> Session | None:
        """The live session for this cookie value, or None when it is unknown or expired."""
        if not token:
            return None
        digest = credentials.token_digest(token)
        now = self.clock()
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT s.*, u.role, u.active, u.created AS user_created FROM workspace_sessions s"
                " JOIN workspace_users u ON u.name = s.username WHERE s.token_hash = ?",
                (digest,),
            ).fetchone()
            if row is None:
                return None
            created, last_seen = _when(row["created"]), _when(row["last_seen"])
            assert created is not None and last_seen is not None
            if (
                not row["active"]
                or now - last_seen > self.session_idle
                or now - created > self.session_max
            ):
                connection.execute("DELETE FROM workspace_sessions WHERE token_hash = ?", (digest,))
                return None
            if now - last_seen > _SESSION_REFRESH:
                connection.execute(
                    "UPDATE workspace_sessions SET last_seen = ? WHERE token_hash = ?",
                    (_iso(now), digest),
                )
        user = User(
            name=row["username"],
            role=row["role"],
            active=True,
            created=datetime.fromisoformat(row["user_created"]),
        )
        return Session(
            user=user,
            digest=digest,
            csrf_token=credentials.csrf_token(self.secret_key, digest),
            created=created,
            draft=json.loads(row["draft"]) if row["draft"] else None,
        )

    def take_draft(self, session: Session) -> dict[str, Any] | None:
        """The form a user was filling in when their last session expired, once."""
        if session.draft is None:
            return None
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE workspace_sessions SET draft = NULL WHERE token_hash = ?", (session.digest,)
            )
        return session.draft

    def end_session(self, token: str | None) -> None:
        if token:
            with self.state.connect() as connection:
                connection.execute(
                    "DELETE FROM workspace_sessions WHERE token_hash = ?",
                    (credentials.token_digest(token),),
                )

    def create_token(self, actor: User, request: TokenRequest) -> tuple[ApiToken, str]:
        """A new API token for the actor (scripts act with the actor's role); the token itself
        is returned once and only its digest is kept."""
        token = credentials.new_api_token()
        now = self.clock()
        with self.state.connect() as connection:
            cursor = connection.execute(
                "INSERT INTO workspace_tokens (token_hash, username, label, created) "
                "VALUES (?, ?, ?, ?)",
                (credentials.token_digest(token), actor.name, request.label, _iso(now)),
            )
            record = ApiToken(
                id=int(cursor.lastrowid or 0),
                user=actor.name,
                label=request.label,
                created=now,
                last_used=None,
                revoked=None,
            )
            _audit(
                connection,
                now,
                actor,
                "token.create",
                None,
                f"token {record.id}",
                None,
                record.model_dump(mode="json"),
            )
        return record, token

    def tokens(self, actor: User) -> list[ApiToken]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM workspace_tokens WHERE username = ? ORDER BY id", (actor.name,)
            )
            return [_token(row) for row in rows]

    def revoke_token(self, actor: User, token_id: int) -> ApiToken:
        """Revoke one of the actor's own tokens (an admin may revoke anyone's)."""
        now = self.clock()
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT * FROM workspace_tokens WHERE id = ?", (token_id,)
            ).fetchone()
            if row is None:
                raise NotFound(f"there is no API token {token_id}")
            before = _token(row)
            if before.user != actor.name:
                _require(actor, "admin", "revoking another user's token")
            if before.revoked is not None:
                return before
            connection.execute(
                "UPDATE workspace_tokens SET revoked = ? WHERE id = ?", (_iso(now), token_id)
            )
            after = before.model_copy(update={"revoked": now})
            _audit(
                connection,
                now,
                actor,
                "token.revoke",
                None,
                f"token {token_id}",
                before.model_dump(mode="json"),
                after.model_dump(mode="json"),
            )
        return after

    def token_user(self, token: str | None) -> User | None:
        """The active user an API token belongs to, or None when it is unknown or revoked."""
        if not token:
            return None
        digest = credentials.token_digest(token)
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT u.* FROM workspace_tokens t JOIN workspace_users u ON u.name = t.username"
                " WHERE t.token_hash = ? AND t.revoked IS NULL AND u.active = 1",
                (digest,),
            ).fetchone()
            if row is None:
                return None
            connection.execute(
                "UPDATE workspace_tokens SET last_used = ? WHERE token_hash = ?",
                (_iso(self.clock()), digest),
            )
        return _user(row)

    # ----- triage -----------------------------------------------------------------------

    def triage(self, item_id: str) -> TriageRecord:
        with self.state.connect() as connection:
            _require_item(connection, item_id)
            return _triage(connection, item_id)

    def move(self, actor: User, item_id: str, request: TriageRequest) -> TriageRecord:
        """Move an item along the triage path; refuses a step the path does not have."""
        _require(actor, "analyst", "triaging items")
        if request.state in NEEDS_RATIONALE and not request.rationale:
            raise InvalidField("rationale", f"say why the item is '{STATE_LABELS[request.state]}'")
        now = self.clock()
        with self.state.connect() as connection:
            _require_item(connection, item_id)
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
                    published=_when(row["published"]),
                    type=row["type"],
                    jurisdiction=row["jurisdiction"],
                    controls=Tags.model_validate_json(row["tags"]).control_ids()
                    if row["tags"]
                    else [],
                    state=row["state"],
                    updated_by=row["updated_by"],
                    updated_at=_when(row["updated_at"]),
                    open_flags=row["open_flags"],
                )
                for row in rows
            ]

    # ----- impact flags -----------------------------------------------------------------

    def raise_flag(self, actor: User, item_id: str, request: FlagRequest) -> Flag:
        """Record an impact flag; an item not yet decided (or decided 'no impact', or closed)
        moves to 'impact' in the same transaction, because an open flag is work to do."""
        _require(actor, "analyst", "raising impact flags")
        self._check_controls("controls", request.controls)
        now = self.clock()
        with self.state.connect() as connection:
            _require_item(connection, item_id)
            cursor = connection.execute(
                "INSERT INTO workspace_flags (item_id, controls, severity, owner, due, rationale,"
                " raised_by, raised_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    json.dumps(request.controls),
                    request.severity,
                    request.owner,
                    _iso(request.due),
                    request.rationale,
                    actor.name,
                    _iso(now),
                ),
            )
            flag = _flag_row(connection, int(cursor.lastrowid or 0))
            _audit(
                connection,
                now,
                actor,
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
        _require(actor, "analyst", "closing impact flags")
        now = self.clock()
        with self.state.connect() as connection:
            before = _flag_row(connection, flag_id)
            if before.status == "closed":
                raise InvalidField("status", f"flag {flag_id} is already closed")
            connection.execute(
                "UPDATE workspace_flags SET status = 'closed', closed_by = ?, closed_at = ?,"
                " close_note = ? WHERE id = ?",
                (actor.name, _iso(now), request.note, flag_id),
            )
            after = _flag_row(connection, flag_id)
            _audit(
                connection,
                now,
                actor,
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
        clauses, values = _filters(item_id=item_id, raised_by=raised_by)
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM workspace_flags {clauses} ORDER BY id", values
            )
            return [_flag(row) for row in rows]

    # ----- comments ---------------------------------------------------------------------

    def add_comment(self, actor: User, item_id: str, request: CommentRequest) -> Comment:
        _require(actor, "analyst", "commenting")
        now = self.clock()
        with self.state.connect() as connection:
            _require_item(connection, item_id)
            cursor = connection.execute(
                "INSERT INTO workspace_comments (item_id, author, body, at) VALUES (?, ?, ?, ?)",
                (item_id, actor.name, request.body, _iso(now)),
            )
            comment = Comment(
                id=int(cursor.lastrowid or 0),
                item_id=item_id,
                author=actor.name,
                body=request.body,
                at=now,
            )
            _audit(
                connection,
                now,
                actor,
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
        _require(actor, "analyst", "confirming or rejecting tags")
        self._check_controls("control", [control])
        now = self.clock()
        confirmed = verdict == "confirm"
        with self.state.connect() as connection:
            _require_item(connection, item_id)
            row = connection.execute(
                "SELECT * FROM workspace_tag_feedback WHERE item_id = ? AND control = ?",
                (item_id, control),
            ).fetchone()
            before = _verdict(row) if row is not None else None
            connection.execute(
                "INSERT INTO workspace_tag_feedback (item_id, control, confirmed, username, at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(item_id, control) DO UPDATE SET"
                " confirmed = excluded.confirmed, username = excluded.username, at = excluded.at",
                (item_id, control, int(confirmed), actor.name, _iso(now)),
            )
            after = TagVerdict(
                item_id=item_id, control=control, confirmed=confirmed, user=actor.name, at=now
            )
            _audit(
                connection,
                now,
                actor,
                f"tag.{verdict}",
                item_id,
                f"tag {control}",
                _verdict_state(before),
                _verdict_state(after),
            )
        return after

    def verdicts(self, item_id: str | None = None, user: str | None = None) -> list[TagVerdict]:
        clauses, values = _filters(item_id=item_id, username=user)
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM workspace_tag_feedback {clauses} ORDER BY at, item_id, control",
                values,
            )
            return [_verdict(row) for row in rows]

    # ----- saved searches and activity --------------------------------------------------

    def save_search(self, actor: User, request: SavedSearchRequest) -> SavedSearch:
        """Save (or replace, by name) one of the actor's searches."""
        _require(actor, "analyst", "saving searches")
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
                (actor.name, request.name, request.query, json.dumps(request.filters), _iso(now)),
            )
            row = connection.execute(
                "SELECT * FROM workspace_saved_searches WHERE username = ? AND name = ?",
                (actor.name, request.name),
            ).fetchone()
            saved = _saved_search(row)
            _audit(
                connection,
                now,
                actor,
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

    def record_activity(self, user: User, kind: ActivityKind, subject: str) -> None:
        """Note what a user read (an item, a digest) or looked for; this is the learner's
        evidence of scanning, not a change, so it is not in the audit log."""
        with self.state.connect() as connection:
            connection.execute(
                "INSERT INTO workspace_activity (username, at, kind, subject) VALUES (?, ?, ?, ?)",
                (user.name, _iso(self.clock()), kind, subject[:1000]),
            )

    def activity(self, user: str, start: datetime, end: datetime) -> list[Activity]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM workspace_activity WHERE username = ? AND at >= ? AND at < ?"
                " ORDER BY at",
                (user, _iso(start), _iso(end)),
            )
            return [
                Activity(
                    user=row["username"],
                    at=datetime.fromisoformat(row["at"]),
                    kind=row["kind"],
                    subject=row["subject"],
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
    ) -> list[AuditEntry]:
        """Audit entries, oldest first, optionally for one item, one actor, or a period."""
        clauses, values = _filters(item_id=item_id, actor=actor)
        if start is not None:
            clauses += (" AND" if clauses else "WHERE") + " at >= ?"
            values.append(_iso(start))
        if end is not None:
            clauses += (" AND" if clauses else "WHERE") + " at < ?"
            values.append(_iso(end))
        with self.state.connect() as connection:
            rows = connection.execute(
                f"SELECT * FROM workspace_audit {clauses} ORDER BY id", values
            )
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

    # ----- helpers ----------------------------------------------------------------------

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


def _require(actor: User, role: Role, doing: str) -> None:
    if not actor.active or _rank(actor.role) < _rank(role):
        article = "an" if actor.role[0] in "aeiou" else "a"
        raise PermissionDenied(
            f"{actor.name} is {article} {actor.role}; {doing} needs the {role} role or higher"
        )


def _require_item(connection: sqlite3.Connection, item_id: str) -> None:
    if connection.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone() is None:
        raise NotFound(f"there is no item '{item_id}'")


def _filters(**conditions: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause for the conditions that are set (column = value)."""
    used = {column: value for column, value in conditions.items() if value is not None}
    if not used:
        return "", []
    return "WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())


def _audit(
    connection: sqlite3.Connection,
    at: datetime,
    actor: User,
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
            _iso(at),
            actor.name,
            action,
            item_id,
            subject,
            json.dumps(before) if before is not None else None,
            json.dumps(after) if after is not None else None,
        ),
    )


def _user_row(connection: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        "SELECT * FROM workspace_users WHERE name = ?", (name,)
    ).fetchone()
    return row


def _user(row: sqlite3.Row) -> User:
    return User(
        name=row["name"],
        role=row["role"],
        active=bool(row["active"]),
        created=datetime.fromisoformat(row["created"]),
    )


def _public(user: User) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "active": user.active}


def _token(row: sqlite3.Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user=row["username"],
        label=row["label"],
        created=datetime.fromisoformat(row["created"]),
        last_used=_when(row["last_used"]),
        revoked=_when(row["revoked"]),
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
        updated_at=_when(row["updated_at"]),
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
        (before.item_id, state, rationale, actor.name, _iso(now)),
    )
    after = TriageRecord(
        item_id=before.item_id,
        state=state,
        rationale=rationale,
        updated_by=actor.name,
        updated_at=now,
    )
    _audit(
        connection,
        now,
        actor,
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
        closed_at=_when(row["closed_at"]),
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
