"""Digest email, and every other message Horizon delivers, sent exactly once per (week, profile)
or (week, profile:channel).

`deliver` consults the `DeliveryLedger`, a table in the shared state database: a digest is
claimed before it is sent and recorded as sent only once the server (or the outbox) has taken
it, so re-running sends nothing new, a failed send is retried by the next run, and two processes
never send the same digest at once.

- `mail.py`: the digest email (`compose_message`) and its transports (`SmtpTransport`,
  `OutboxTransport`);
- `ledger.py`: the ledger and its claims (which process holds one, and when a dead one's is
  taken over);
- `sending.py`: `deliver_once` (any carrier: email, chat channels, webhooks) and `deliver` (one
  digest's email);
- `outcomes.py`: what a delivery came to (`Delivery`) and `DeliveryError`.
"""

from horizon.deliver.ledger import DeliveryLedger, process_identity
from horizon.deliver.mail import (
    DigestMail,
    OutboxTransport,
    SmtpTransport,
    Transport,
    chart_content_id,
    compose_message,
)
from horizon.deliver.outcomes import Delivery, DeliveryError
from horizon.deliver.sending import Carrier, deliver, deliver_once

__all__ = [
    "Carrier",
    "Delivery",
    "DeliveryError",
    "DeliveryLedger",
    "DigestMail",
    "OutboxTransport",
    "SmtpTransport",
    "Transport",
    "chart_content_id",
    "compose_message",
    "deliver",
    "deliver_once",
    "process_identity",
]
