"""The delivery ledger: which digest (or channel message) went to whom and when, in a table of
the shared state database. A digest is claimed before it is sent and recorded as sent only once
the transport has taken it. A claim names the process that holds it (host, pid and start time),
so a claim left by a killed process is taken over by the next run at once, while a live
sender's claim is never stolen; only a claim from another host, whose process cannot be
checked, waits `STALE_CLAIM` before it is taken over."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from horizon.state import StateDB

STALE_CLAIM = timedelta(minutes=15)
DELIVERY_SCHEMA = """
CREATE TABLE IF NOT EXISTS digest_deliveries (
    week TEXT NOT NULL,
    profile TEXT NOT NULL,
    status TEXT NOT NULL,
    transport TEXT,
    recipients TEXT NOT NULL DEFAULT '[]',
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT,
    delivered_at TEXT,
    PRIMARY KEY (week, profile)
);
"""
# Columns added after the first release; a ledger from then gains them when it is opened.
LATER_COLUMNS = {"claimed_by": "TEXT", "message_id": "TEXT"}


@dataclass(frozen=True)
class DeliveryRecord:
    """The ledger's row for one (week, profile)."""

    week: str
    profile: str
    status: str
    transport: str | None
    recipients: list[str]
    detail: str | None
    attempts: int
    claimed_at: datetime | None
    delivered_at: datetime | None
    claimed_by: str | None = None
    message_id: str | None = None


def process_identity() -> str:
    """host:pid:start of this process; the start time (from /proc where there is one) tells a
    live process from a later one that happens to reuse a dead claimant's pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def claimant_alive(identity: str | None) -> bool | None:
    """Whether the process named by a claim still runs: None when it cannot be checked (no
    identity, or another host)."""
    if not identity:
        return None
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or _start_time(pid) in ("", start)


class DeliveryLedger:
    """Which digest went to whom and when, in the shared state database."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(DELIVERY_SCHEMA)
        state.add_missing_columns("digest_deliveries", LATER_COLUMNS)

    def claim(
        self,
        week: str,
        profile: str,
        resend: bool,
        now: datetime,
        claimant: str | None = None,
    ) -> DeliveryRecord | None:
        """Take the right to send this digest for `claimant` (this process by default): None
        when taken, else the record that stands in the way (already sent, or being sent by a
        live process)."""
        with self.state.connect() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO digest_deliveries (week, profile, status) "
                "VALUES (?, ?, 'pending')",
                (week, profile),
            )
            record = _record(
                connection.execute(
                    "SELECT * FROM digest_deliveries WHERE week = ? AND profile = ?",
                    (week, profile),
                ).fetchone()
            )
            if not _claimable(record, resend, now):
                return record
            connection.execute(
                "UPDATE digest_deliveries SET status = 'sending', claimed_at = ?, claimed_by = ? "
                "WHERE week = ? AND profile = ?",
                (now.isoformat(), claimant or process_identity(), week, profile),
            )
        return None

    def record_message_id(self, week: str, profile: str, message_id: str) -> None:
        """Say which message is about to go, before it goes."""
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE digest_deliveries SET message_id = ? WHERE week = ? AND profile = ?",
                (message_id, week, profile),
            )

    def record_sent(
        self,
        week: str,
        profile: str,
        transport: str,
        recipients: Sequence[str],
        detail: str,
        attempts: int,
        now: datetime,
    ) -> None:
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE digest_deliveries SET status = 'sent', transport = ?, recipients = ?, "
                "detail = ?, attempts = attempts + ?, delivered_at = ? "
                "WHERE week = ? AND profile = ?",
                (
                    transport,
                    json.dumps(list(recipients)),
                    detail,
                    attempts,
                    now.isoformat(),
                    week,
                    profile,
                ),
            )

    def record_failed(
        self,
        week: str,
        profile: str,
        transport: str,
        recipients: Sequence[str],
        detail: str,
        attempts: int,
    ) -> None:
        """Release the claim as failed, so the next run (or `--send` again) retries it. A digest
        sent before (this was a `--resend`) stays recorded as sent, with its earlier details."""
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE digest_deliveries SET "
                "status = CASE WHEN delivered_at IS NULL THEN 'failed' ELSE 'sent' END, "
                "transport = CASE WHEN delivered_at IS NULL THEN ? ELSE transport END, "
                "recipients = CASE WHEN delivered_at IS NULL THEN ? ELSE recipients END, "
                "detail = CASE WHEN delivered_at IS NULL THEN ? ELSE detail END, "
                "attempts = attempts + ? WHERE week = ? AND profile = ?",
                (transport, json.dumps(list(recipients)), detail, attempts, week, profile),
            )

    def get(self, week: str, profile: str) -> DeliveryRecord | None:
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT * FROM digest_deliveries WHERE week = ? AND profile = ?", (week, profile)
            ).fetchone()
        return _record(row) if row is not None else None

    def records(self, week: str | None = None) -> list[DeliveryRecord]:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM digest_deliveries WHERE ? IS NULL OR week = ? "
                "ORDER BY week, profile",
                (week, week),
            ).fetchall()
        return [_record(row) for row in rows]


def _claimable(record: DeliveryRecord, resend: bool, now: datetime) -> bool:
    if record.status in ("pending", "failed"):
        return True
    if record.status == "sent":
        return resend
    alive = claimant_alive(record.claimed_by)
    if alive is None:
        return record.claimed_at is None or record.claimed_at < now - STALE_CLAIM
    return not alive


def _record(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(
        week=row["week"],
        profile=row["profile"],
        status=row["status"],
        transport=row["transport"],
        recipients=json.loads(row["recipients"] or "[]"),
        detail=row["detail"],
        attempts=row["attempts"],
        claimed_at=datetime.fromisoformat(row["claimed_at"]) if row["claimed_at"] else None,
        delivered_at=datetime.fromisoformat(row["delivered_at"]) if row["delivered_at"] else None,
        claimed_by=row["claimed_by"],
        message_id=row["message_id"],
    )
