"""Sending exactly once: `deliver_once` claims a message in the ledger, reuses the delivery id
of a send an earlier process did not finish (and takes that send as done where the transport
shows it arrived), records the id, sends and records the outcome; `deliver` does this for one
digest's email. The message's Message-ID is recorded before the send: a process killed after
the outbox file was complete, but before the ledger said so, is found to have sent it, and an
SMTP send repeated after such a kill carries the same Message-ID, so mail systems that drop
repeated Message-IDs show it once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from horizon.deliver.ledger import DeliveryLedger
from horizon.deliver.mail import DigestMail, Transport, compose_message, new_message_id
from horizon.deliver.outcomes import Delivery, DeliveryError, DeliveryStatus
from horizon.state import utc_now


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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
