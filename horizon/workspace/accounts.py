"""Accounts: users and their lifecycle, signing in (throttled), browser sessions and API tokens.

Every failed sign-in or refused API token is recorded in the audit trail and the log, and
counts towards the per-account and per-client limits of `throttle`. Signing in, changing a
password and disabling a user end sessions as a security reset should; the last active admin
can never be disabled, so an installation always has someone who can manage it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from horizon.workspace import credentials, throttle
from horizon.workspace.errors import Conflict, InvalidField, NotFound, PermissionDenied
from horizon.workspace.models import (
    ApiToken,
    PasswordChange,
    PasswordReset,
    TokenRequest,
    User,
    UserRequest,
)
from horizon.workspace.records import WorkspaceBase, iso, require, when, write_audit
from horizon.workspace.throttle import Throttled, ThrottlePolicy

SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(days=7)
# Refreshing a session's last-seen time on every request would make every page view a write.
_SESSION_REFRESH = timedelta(minutes=1)
COMMAND_LINE = User(
    name="command-line", role="admin", active=True, created=datetime(1970, 1, 1, tzinfo=UTC)
)
# Who failed sign-ins are attributed to in the audit trail: nobody has signed in.
ANONYMOUS = "anonymous"
log = logging.getLogger("horizon.workspace")


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who it is, its CSRF token, and a form kept across a re-login."""

    user: User
    digest: str
    csrf_token: str
    created: datetime
    draft: dict[str, Any] | None


class Accounts(WorkspaceBase):
    """Users, sign-in, sessions and tokens (a part of `Workspace`)."""

    session_idle: timedelta
    session_max: timedelta
    throttle_policy: ThrottlePolicy

    # ----- users ------------------------------------------------------------------------

    def add_user(self, actor: User, request: UserRequest) -> User:
        require(actor, "admin", "adding users")
        now = self.clock()
        with self.state.connect() as connection:
            if _user_row(connection, request.name) is not None:
                raise InvalidField("name", f"a user called '{request.name}' already exists")
            connection.execute(
                "INSERT INTO workspace_users (name, role, password_hash, active, created) "
                "VALUES (?, ?, ?, 1, ?)",
                (request.name, request.role, credentials.hash_password(request.password), iso(now)),
            )
            user = User(name=request.name, role=request.role, active=True, created=now)
            write_audit(
                connection,
                now,
                actor.name,
                "user.add",
                None,
                f"user {user.name}",
                None,
                _public(user),
            )
        return user

    def disable_user(self, actor: User, name: str) -> User:
        """Disable a user: their sessions end and their API tokens stop working at once.
        The last active admin cannot be disabled."""
        require(actor, "admin", "disabling users")
        now = self.clock()
        with self.state.connect() as connection:
            before = _existing_user(connection, name)
            if before.role == "admin" and before.active and _active_admins(connection) <= 1:
                raise Conflict(
                    f"{name} is the last active admin; make another user an admin first, "
                    "or nobody could manage users"
                )
            connection.execute("UPDATE workspace_users SET active = 0 WHERE name = ?", (name,))
            connection.execute("DELETE FROM workspace_sessions WHERE username = ?", (name,))
            connection.execute(
                "UPDATE workspace_tokens SET revoked = ? WHERE username = ? AND revoked IS NULL",
                (iso(now), name),
            )
            after = before.model_copy(update={"active": False})
            write_audit(
                connection,
                now,
                actor.name,
                "user.disable",
                None,
                f"user {name}",
                _public(before),
                _public(after),
            )
        return after

    def enable_user(self, actor: User, name: str) -> User:
        """Let a disabled user sign in again (their old tokens stay revoked)."""
        require(actor, "admin", "enabling users")
        now = self.clock()
        with self.state.connect() as connection:
            before = _existing_user(connection, name)
            connection.execute("UPDATE workspace_users SET active = 1 WHERE name = ?", (name,))
            after = before.model_copy(update={"active": True})
            write_audit(
                connection,
                now,
                actor.name,
                "user.enable",
                None,
                f"user {name}",
                _public(before),
                _public(after),
            )
        return after

    def reset_password(self, actor: User, name: str, request: PasswordReset) -> User:
        """An admin sets a user's password; the user's sessions end (their tokens stay)."""
        require(actor, "admin", "resetting passwords")
        now = self.clock()
        with self.state.connect() as connection:
            user = _existing_user(connection, name)
            _set_password(connection, name, request.password)
            connection.execute("DELETE FROM workspace_sessions WHERE username = ?", (name,))
            write_audit(
                connection,
                now,
                actor.name,
                "user.password-reset",
                None,
                f"user {name}",
                None,
                None,
            )
        return user

    def change_password(
        self, user: User, request: PasswordChange, client: str, keep_session: str | None = None
    ) -> None:
        """A user changes their own password; every other session of theirs ends. A wrong
        current password counts as a failed sign-in."""
        now = self.clock()
        key = throttle.account_key(user.name)
        with self.state.connect() as connection:
            wait = throttle.retry_after(connection, self.throttle_policy, now, key, client)
            if wait:
                raise Throttled(wait)
            row = _user_row(connection, user.name)
            stored = row["password_hash"] if row is not None and row["active"] else None
        if not credentials.password_matches(stored, request.current_password):
            self._failed(user.name, client, known=True)
            raise InvalidField("current_password", "that is not your current password")
        with self.state.connect() as connection:
            _set_password(connection, user.name, request.new_password)
            connection.execute(
                "DELETE FROM workspace_sessions WHERE username = ? AND token_hash IS NOT ?",
                (user.name, keep_session),
            )
            write_audit(
                connection,
                now,
                user.name,
                "user.password-change",
                None,
                f"user {user.name}",
                None,
                None,
            )

    def list_users(self, actor: User) -> list[User]:
        require(actor, "admin", "listing users")
        with self.state.connect() as connection:
            rows = connection.execute("SELECT * FROM workspace_users ORDER BY name")
            return [_user(row) for row in rows]

    def user(self, name: str) -> User:
        with self.state.connect() as connection:
            return _existing_user(connection, name)

    def active_user(self, name: str) -> User:
        """The named user, refusing a disabled one (for the command line's `--as`)."""
        user = self.user(name)
        if not user.active:
            raise PermissionDenied(f"user '{name}' is disabled")
        return user

    # ----- signing in -------------------------------------------------------------------

    def authenticate(self, name: str, password: str, client: str = "command-line") -> User | None:
        """The active user with this name and password, or None. Raises Throttled, without
        checking the password, while the name or the client has too many recent failures.
        The hash is upgraded when argon2's recommended parameters have changed."""
        now = self.clock()
        key = throttle.account_key(name)
        with self.state.connect() as connection:
            wait = throttle.retry_after(connection, self.throttle_policy, now, key, client)
            if wait:
                log.warning("sign-in refused while throttled (client %s)", client)
                raise Throttled(wait)
            row = _user_row(connection, name)
            stored = row["password_hash"] if row is not None and row["active"] else None
        if not credentials.password_matches(stored, password) or row is None:
            self._failed(name, client, known=row is not None)
            return None
        with self.state.connect() as connection:
            throttle.forget_account_failures(connection, key)
            if credentials.needs_rehash(row["password_hash"]):
                _set_password(connection, name, password)
        return _user(row)

    def _failed(self, name: str, client: str, known: bool) -> None:
        """Record a failed sign-in: the audit trail, the log, and the throttle's counts. A name
        that is not an account is not written down (it may be a password typed in the wrong
        field)."""
        now = self.clock()
        subject = f"user {name}" if known else "an unknown user name"
        with self.state.connect() as connection:
            write_audit(
                connection, now, ANONYMOUS, "login.fail", None, subject, None, {"client": client}
            )
            locked = throttle.record_failure(
                connection, self.throttle_policy, now, throttle.account_key(name), client
            )
            if locked:
                write_audit(
                    connection,
                    now,
                    ANONYMOUS,
                    "login.throttle",
                    None,
                    subject,
                    None,
                    {"client": client},
                )
        log.warning("failed sign-in for %s from client %s", subject, client)
        if locked:
            log.warning("sign-in for %s from client %s throttled", subject, client)

    # ----- sessions ---------------------------------------------------------------------

    def start_session(
        self, user: User, draft: dict[str, Any] | None = None, replacing: str | None = None
    ) -> str:
        """A new session for a signed-in user; returns the token for the cookie. The session
        the browser had before (`replacing`) ends: a session token never survives a sign-in."""
        token = credentials.new_session_token()
        now = self.clock()
        with self.state.connect() as connection:
            if replacing:
                connection.execute(
                    "DELETE FROM workspace_sessions WHERE token_hash = ?",
                    (credentials.token_digest(replacing),),
                )
            connection.execute(
                "INSERT INTO workspace_sessions (token_hash, username, created, last_seen, draft)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    credentials.token_digest(token),
                    user.name,
                    iso(now),
                    iso(now),
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
            created, last_seen = when(row["created"]), when(row["last_seen"])
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
                    (iso(now), digest),
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

    def session_count(self, user: User) -> int:
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT COUNT(*) FROM workspace_sessions WHERE username = ?", (user.name,)
            ).fetchone()
        return int(row[0])

    def end_other_sessions(self, user: User, keep: str | None = None) -> int:
        """Sign the user out everywhere except the session with digest `keep`; returns how
        many sessions ended."""
        now = self.clock()
        with self.state.connect() as connection:
            cursor = connection.execute(
                "DELETE FROM workspace_sessions WHERE username = ? AND token_hash IS NOT ?",
                (user.name, keep),
            )
            write_audit(
                connection,
                now,
                user.name,
                "session.end-others",
                None,
                f"user {user.name}",
                None,
                {"ended": cursor.rowcount},
            )
        return cursor.rowcount

    # ----- API tokens -------------------------------------------------------------------

    def create_token(self, actor: User, request: TokenRequest) -> tuple[ApiToken, str]:
        """A new API token for the actor (scripts act with the actor's role); the token itself
        is returned once and only its digest is kept."""
        token = credentials.new_api_token()
        now = self.clock()
        expires = now + timedelta(days=request.expires_in_days) if request.expires_in_days else None
        with self.state.connect() as connection:
            cursor = connection.execute(
                "INSERT INTO workspace_tokens (token_hash, username, label, created, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    credentials.token_digest(token),
                    actor.name,
                    request.label,
                    iso(now),
                    iso(expires),
                ),
            )
            record = ApiToken(
                id=int(cursor.lastrowid or 0),
                user=actor.name,
                label=request.label,
                created=now,
                last_used=None,
                revoked=None,
                expires=expires,
            )
            write_audit(
                connection,
                now,
                actor.name,
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
                require(actor, "admin", "revoking another user's token")
            if before.revoked is not None:
                return before
            connection.execute(
                "UPDATE workspace_tokens SET revoked = ? WHERE id = ?", (iso(now), token_id)
            )
            after = before.model_copy(update={"revoked": now})
            write_audit(
                connection,
                now,
                actor.name,
                "token.revoke",
                None,
                f"token {token_id}",
                before.model_dump(mode="json"),
                after.model_dump(mode="json"),
            )
        return after

    def token_user(self, token: str | None, client: str = "command-line") -> User | None:
        """The active user a live API token belongs to, or None when it is missing, unknown,
        revoked or expired. A token given but refused counts as a failure for the client;
        raises Throttled while the client has too many."""
        if not token:
            return None
        now = self.clock()
        digest = credentials.token_digest(token)
        with self.state.connect() as connection:
            wait = throttle.retry_after(
                connection, self.throttle_policy, now, throttle.NO_ACCOUNT, client
            )
            if wait:
                raise Throttled(wait)
            row = connection.execute(
                "SELECT u.* FROM workspace_tokens t JOIN workspace_users u ON u.name = t.username"
                " WHERE t.token_hash = ? AND t.revoked IS NULL AND u.active = 1"
                " AND (t.expires IS NULL OR t.expires > ?)",
                (digest, iso(now)),
            ).fetchone()
            if row is not None:
                connection.execute(
                    "UPDATE workspace_tokens SET last_used = ? WHERE token_hash = ?",
                    (iso(now), digest),
                )
                return _user(row)
            write_audit(
                connection,
                now,
                ANONYMOUS,
                "token.refused",
                None,
                "an API token",
                None,
                {"client": client},
            )
            locked = throttle.record_failure(
                connection, self.throttle_policy, now, throttle.NO_ACCOUNT, client
            )
            if locked:
                write_audit(
                    connection,
                    now,
                    ANONYMOUS,
                    "token.throttle",
                    None,
                    "API tokens",
                    None,
                    {"client": client},
                )
        log.warning("refused an API token from client %s", client)
        return None


def _set_password(connection: sqlite3.Connection, name: str, password: str) -> None:
    connection.execute(
        "UPDATE workspace_users SET password_hash = ? WHERE name = ?",
        (credentials.hash_password(password), name),
    )


def _active_admins(connection: sqlite3.Connection) -> int:
    row = connection.execute(
        "SELECT COUNT(*) FROM workspace_users WHERE role = 'admin' AND active = 1"
    ).fetchone()
    return int(row[0])


def _user_row(connection: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        "SELECT * FROM workspace_users WHERE name = ?", (name,)
    ).fetchone()
    return row


def _existing_user(connection: sqlite3.Connection, name: str) -> User:
    row = _user_row(connection, name)
    if row is None:
        raise NotFound(f"there is no user called '{name}'")
    return _user(row)


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
        last_used=when(row["last_used"]),
        revoked=when(row["revoked"]),
        expires=when(row["expires"]),
    )
