"""Failed sign-in throttling, per account and per client, kept in the state database so the
limit holds across restarts and across several server processes.

A failure is recorded under the account name typed (as a digest, so a password typed into the
name field is never stored) and under the client's address. Once an account has
`account_limit` failures within `window`, or a client `client_limit`, further attempts are
refused without checking the password until enough failures age out of the window. Unknown
names are counted exactly like real ones, so a refusal says nothing about which names exist.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from horizon.workspace.errors import WorkspaceError

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20
# An API token names no account: its failures count only against the client.
NO_ACCOUNT = ""


class Throttled(WorkspaceError):
    """Too many recent failures for this account or client; try again after `retry_after`
    seconds. The message is the same whatever the reason, and whether or not the name exists."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "too many failed attempts for this name or from this address; "
            f"try again in {minutes} minute{'s' if minutes > 1 else ''}"
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta = WINDOW
    account_limit: int = ACCOUNT_LIMIT
    client_limit: int = CLIENT_LIMIT


def account_key(name: str) -> str:
    """What the failures table keeps of a typed name: a digest, never the text."""
    return hashlib.sha256(name.strip().lower().encode("utf-8")).hexdigest()


def retry_after(
    connection: sqlite3.Connection,
    policy: ThrottlePolicy,
    now: datetime,
    account: str,
    client: str,
) -> int:
    """Seconds until an attempt for `account` from `client` is allowed again (0: now)."""
    since = (now - policy.window).isoformat()
    waits = [0.0]
    checks = [("client", client, policy.client_limit)]
    if account != NO_ACCOUNT:
        checks.append(("account", account, policy.account_limit))
    for column, value, limit in checks:
        times = [
            datetime.fromisoformat(row[0])
            for row in connection.execute(
                f"SELECT at FROM workspace_auth_failures WHERE {column} = ? AND at >= ?"
                " ORDER BY at",
                (value, since),
            )
        ]
        if len(times) >= limit:
            # Allowed again once the failures still in the window drop below the limit.
            freed = times[len(times) - limit] + policy.window
            waits.append((freed - now).total_seconds())
    return math.ceil(max(waits))


def record_failure(
    connection: sqlite3.Connection,
    policy: ThrottlePolicy,
    now: datetime,
    account: str,
    client: str,
) -> bool:
    """Record one failure; True when it has just locked the account or the client."""
    connection.execute(
        "DELETE FROM workspace_auth_failures WHERE at < ?", ((now - policy.window).isoformat(),)
    )
    connection.execute(
        "INSERT INTO workspace_auth_failures (at, account, client) VALUES (?, ?, ?)",
        (now.isoformat(), account, client),
    )
    return retry_after(connection, policy, now, account, client) > 0


def forget_account_failures(connection: sqlite3.Connection, account: str) -> None:
    """A successful sign-in clears the account's count (never the client's: one good account
    must not reset an attacker's count for guessing at others)."""
    connection.execute("DELETE FROM workspace_auth_failures WHERE account = ?", (account,))
