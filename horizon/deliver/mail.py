"""Digest email: `compose_message` builds a multipart message (plain text and HTML
alternatives, the trend chart inline, referenced from the HTML by Content-ID, and the calendar
attached), and a transport carries it: `SmtpTransport` (STARTTLS, SSL or plain, credentials from
`SmtpSettings`, transient faults retried) or `OutboxTransport` (an .eml file under
digests/outbox/ when no server is configured)."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol

from horizon.config import SmtpSettings
from horizon.deliver.outcomes import DeliveryError

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0)
SMTP_TIMEOUT_SECONDS = 30.0


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


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
