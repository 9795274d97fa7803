"""Digest email, sent exactly once per (week, profile).

`compose_message` builds a multipart message: plain text and HTML alternatives, the trend chart
inline (referenced from the HTML by Content-ID) and the calendar attached. A transport carries
it: `SmtpTransport` (STARTTLS, SSL or plain, credentials from `SmtpSettings`, transient faults
retried) or `OutboxTransport` (an .eml file under digests/outbox/ when no server is configured).

`deliver` consults the `DeliveryLedger`, a table in the shared state database: a digest is
claimed before it is sent and recorded as sent only once the server (or the outbox) has taken
it, so re-running sends nothing new, a failed send is retried by the next run, and two processes
never send the same digest at once.

A claim names the process that holds it (host, pid and start time), so a claim left by a killed
process is taken over by the next run at once, while a live sender's claim is never stolen. The
message's Message-ID is recorded before the send: a process killed after the outbox file was
complete, but before the ledger said so, is found to have sent it (no second copy is written),
and an SMTP send repeated after such a kill carries the same Message-ID, so mail systems that
drop repeated Message-IDs show it once. Only a claim from another host, whose process cannot be
checked, waits `STALE_CLAIM` before it is taken over.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import sqlite3
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel

from horizon.config import SmtpSettings
from horizon.state import StateDB, utc_now

STALE_CLAIM = timedelta(minutes=15)
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0)
SMTP_TIMEOUT_SECONDS = 30.0
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

DeliveryStatus = Literal["sent", "already sent", "failed", "skipped"]


class Delivery(BaseModel):
    """What happened to one digest's email in this run, for the run summary and the CLI."""

    week: str
    profile: str
    status: DeliveryStatus
    channel: str = "email"
    transport: str = ""
    recipients: list[str]
    detail: str
    attempts: int = 0


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


class DeliveryError(Exception):
    """A transport could not deliver; the message says why in words a user can act on."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


@dataclass(frozen=True)
class DigestMail:
    """Everything one digest email carries; `html` refers to the chart as `cid:<chart_cid>`."""

    week: str
    profile: str
    subject: str
    recipients: tuple[str, ...]
    text: str
    html: str
    chart_png: bytes | None
    chart_cid: str
    calendar_ics: bytes
    calendar_filename: str


def chart_content_id(week: str, profile: str) -> str:
    """The Content-ID (without angle brackets) of a digest's inline chart."""
    return f"trend.{week}.{profile}@horizon"


def new_message_id(mail: DigestMail, sender: str) -> str:
    sender_domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return make_msgid(idstring=f"{mail.week}.{mail.profile}", domain=sender_domain)


def compose_message(
    mail: DigestMail, sender: str, sent_at: datetime, message_id: str | None = None
) -> EmailMessage:
    """multipart/mixed: (text | (HTML + inline chart)) and the calendar as an attachment."""
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id or new_message_id(mail, sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Horizon-Digest"] = f"{mail.week} {mail.profile}"
    message.set_content(mail.text, cte="quoted-printable")
    message.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    html_part = message.get_body(preferencelist=("html",))
    if mail.chart_png is not None and isinstance(html_part, MIMEPart):
        html_part.add_related(
            mail.chart_png,
            maintype="image",
            subtype="png",
            cid=f"<{mail.chart_cid}>",
            filename="trend.png",
        )
    message.add_attachment(
        mail.calendar_ics,
        maintype="text",
        subtype="calendar",
        filename=mail.calendar_filename,
        params={"method": "PUBLISH", "charset": "utf-8"},
    )
    return message


class Transport(Protocol):
    kind: str

    def send(self, message: EmailMessage, name: str) -> str:
        """Deliver the message; return where it went; raise DeliveryError when it could not."""
        ...

    def find_delivered(self, message_id: str, name: str) -> str | None:
        """Where a message with this Message-ID was already delivered, when the transport can
        tell (after a sender was killed mid-send); None when it cannot or it was not."""
        ...


class SmtpTransport:
    """An SMTP server, reached with STARTTLS, SSL or (for a local relay) neither.

    Faults that may pass (no connection, a timeout, a 4xx reply) are retried after each of
    `retry_delays` seconds; a 5xx reply, a failed login or a bad certificate is not.
    """

    kind = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        tls_context: ssl.SSLContext | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        if settings.host is None:
            raise ValueError("SmtpTransport needs settings with a host")
        self.settings = settings
        self.host = settings.host
        self.tls_context = tls_context
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout

    def send(self, message: EmailMessage, name: str) -> str:
        waits = list(self.retry_delays)
        attempts = 0
        while True:
            attempts += 1
            try:
                refused = self._send_once(message)
            except (smtplib.SMTPException, OSError) as error:
                reason, transient = self._explain(error)
                if not transient or not waits:
                    raise DeliveryError(reason, attempts) from error
                time.sleep(waits.pop(0))
                continue
            return self._describe(refused, attempts)

    def find_delivered(self, message_id: str, name: str) -> str | None:
        """A server keeps no record Horizon can read: the send is repeated with the same
        Message-ID."""
        return None

    def _describe(self, refused: dict[str, tuple[int, bytes]], attempts: int) -> str:
        where = f"sent through {self.settings.address}"
        if attempts > 1:
            where += f" at attempt {attempts}"
        if refused:
            listed = "; ".join(
                f"{address} ({code} {_text(reply)})" for address, (code, reply) in refused.items()
            )
            where += f"; the server refused some recipients: {listed}"
        return where

    def _send_once(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        settings = self.settings
        context = self.tls_context or ssl.create_default_context()
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                self.host, settings.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, settings.port, timeout=self.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.user is not None and settings.password is not None:
                client.login(settings.user, settings.password)
            return client.send_message(message)

    def _explain(self, error: BaseException) -> tuple[str, bool]:
        """A plain reason, and whether trying again may help."""
        address = self.settings.address
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in error.recipients.values()]
            listed = "; ".join(
                f"{who} ({code} {_text(reply)})" for who, (code, reply) in error.recipients.items()
            )
            return (
                f"the SMTP server {address} refused every recipient: {listed}",
                all(400 <= code < 500 for code in codes),
            )
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return (
                f"the SMTP server {address} refused the login for HORIZON_SMTP_USER "
                f"({error.smtp_code} {_text(error.smtp_error)})",
                False,
            )
        if isinstance(error, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(error):
            return (
                f"the SMTP server {address} does not offer STARTTLS; set "
                "HORIZON_SMTP_SECURITY=ssl (port 465) or use a server that supports it",
                False,
            )
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return (
                f"the SMTP server {address} does not offer login ({error}); unset "
                "HORIZON_SMTP_USER and HORIZON_SMTP_PASSWORD, or check HORIZON_SMTP_SECURITY",
                False,
            )
        if isinstance(error, smtplib.SMTPResponseException):
            return (
                f"the SMTP server {address} refused the message "
                f"({error.smtp_code} {_text(error.smtp_error)})",
                400 <= error.smtp_code < 500,
            )
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return f"the SMTP server {address} closed the connection ({error})", True
        if isinstance(error, ssl.SSLError):
            return (
                f"TLS with the SMTP server {address} failed ({error.reason or error}); check "
                "HORIZON_SMTP_SECURITY and the server's certificate",
                False,
            )
        if isinstance(error, OSError):
            reason = error.strerror or str(error) or type(error).__name__
            return f"cannot reach the SMTP server {address} ({reason})", True
        return f"the SMTP exchange with {address} failed ({error})", False


class OutboxTransport:
    """Writes each message as an .eml file (what `make demo` does when no server is set)."""

    kind = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage, name: str) -> str:
        path = self.directory / f"{name}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            copy = 1
            while path.exists():
                copy += 1
                path = self.directory / f"{name}-{copy}.eml"
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_bytes(message.as_bytes(policy=policy.SMTP))
            temporary.replace(path)
        except OSError as error:
            raise DeliveryError(
                f"cannot write {path} ({error.strerror or error}); check that "
                f"{self.directory} is a folder Horizon may write to",
                1,
            ) from error
        return f"written to {path}"

    def find_delivered(self, message_id: str, name: str) -> str | None:
        """An outbox file is written whole and then renamed, so one that exists is complete."""
        for path in sorted(self.directory.glob(f"{name}*.eml")):
            try:
                with path.open("rb") as handle:
                    headers = BytesHeaderParser(policy=policy.default).parse(handle)
            except OSError:
                continue
            if headers.get("Message-ID", "").strip() == message_id:
                return f"written to {path}"
        return None


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


class Carrier(Protocol):
    """One message on its way through one transport, named by a delivery id (an email's
    Message-ID, a webhook's idempotency key) recorded before the send."""

    @property
    def kind(self) -> str: ...

    def send(self, delivery_id: str) -> str:
        """Deliver; return where it went; raise DeliveryError when it could not."""
        ...

    def find_delivered(self, delivery_id: str) -> str | None:
        """Where this delivery already went, when the transport can tell; else None."""
        ...


def deliver_once(
    ledger: DeliveryLedger,
    week: str,
    key: str,
    recipients: Sequence[str],
    carrier: Carrier,
    new_id: Callable[[], str],
    resend: bool = False,
    now: datetime | None = None,
    retry_hint: str = "",
) -> Delivery:
    """Deliver one message once per (week, key): claim it, reuse the delivery id of a send that
    an earlier process did not finish (and take that send as done where the transport shows it
    arrived), record the id, send, record the outcome. `key` is a profile, or
    `profile:channel` for a chat channel or webhook."""
    moment = now or utc_now()
    profile, _, channel = key.partition(":")

    def outcome(status: DeliveryStatus, detail: str, attempts: int = 0) -> Delivery:
        return Delivery(
            week=week,
            profile=profile,
            channel=channel or "email",
            status=status,
            transport=carrier.kind,
            recipients=list(recipients),
            detail=detail,
            attempts=attempts,
        )

    before = ledger.get(week, key)
    blocking = ledger.claim(week, key, resend, moment)
    if blocking is not None and blocking.status == "sent":
        when = f"{blocking.delivered_at:%-d %b %Y %H:%M} UTC" if blocking.delivered_at else ""
        return outcome(
            "already sent",
            f"already sent {when} ({blocking.detail}); use --resend to send it again",
        )
    if blocking is not None:
        return outcome(
            "skipped",
            f"another process ({blocking.claimed_by or 'unknown'}) has been sending it since "
            f"{blocking.claimed_at:%H:%M} UTC; run again once it has finished",
        )
    unfinished = before is not None and before.status in ("sending", "failed")
    delivery_id = (before.message_id if before is not None and unfinished else None) or new_id()
    if unfinished:
        found = carrier.find_delivered(delivery_id)
        if found is not None:
            where = f"{found} by an earlier run that was stopped before recording it"
            ledger.record_sent(week, key, carrier.kind, recipients, where, 0, moment)
            return outcome("sent", where, 0)
    ledger.record_message_id(week, key, delivery_id)
    try:
        where = carrier.send(delivery_id)
    except DeliveryError as error:
        detail = (
            f"not sent to {', '.join(recipients)}: {error.reason}"
            f" ({_count(error.attempts, 'attempt')}). Nothing was recorded as sent; fix the "
            f"cause{retry_hint} (the next scheduled run also retries it)"
        )
        ledger.record_failed(week, key, carrier.kind, recipients, detail, error.attempts)
        return outcome("failed", detail, error.attempts)
    except BaseException:
        ledger.record_failed(
            week,
            key,
            carrier.kind,
            recipients,
            "interrupted while sending; it will be sent again",
            1,
        )
        raise
    ledger.record_sent(week, key, carrier.kind, recipients, where, 1, moment)
    return outcome("sent", where, 1)


@dataclass(frozen=True)
class _MailCarrier:
    transport: Transport
    mail: DigestMail
    sender: str
    moment: datetime

    @property
    def kind(self) -> str:
        return self.transport.kind

    @property
    def name(self) -> str:
        return f"{self.mail.week}-{self.mail.profile}"

    def send(self, delivery_id: str) -> str:
        message = compose_message(self.mail, self.sender, self.moment, delivery_id)
        return self.transport.send(message, self.name)

    def find_delivered(self, delivery_id: str) -> str | None:
        return self.transport.find_delivered(delivery_id, self.name)


def deliver(
    ledger: DeliveryLedger,
    transport: Transport,
    mail: DigestMail,
    sender: str,
    resend: bool = False,
    now: datetime | None = None,
) -> Delivery:
    """Send one digest's email unless it was sent already; record the outcome either way."""
    moment = now or utc_now()
    if not mail.recipients:
        return Delivery(
            week=mail.week,
            profile=mail.profile,
            status="skipped",
            transport=transport.kind,
            recipients=[],
            detail="the profile has no recipients; the digest is only written",
        )
    return deliver_once(
        ledger,
        mail.week,
        mail.profile,
        mail.recipients,
        _MailCarrier(transport, mail, sender, moment),
        lambda: new_message_id(mail, sender),
        resend=resend,
        now=moment,
        retry_hint=(
            f", then run `horizon digest --week {mail.week} --profile {mail.profile} --send`"
        ),
    )


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


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
