"""Carriers for one channel message: Apprise (chat), a signed webhook, or the outbox folder.

Each is a `horizon.deliver.Carrier`: it sends under a delivery id that the ledger records first,
and says where an interrupted delivery already went when it can (the outbox can; a chat service
or a receiver cannot, so those repeat the send, the webhook with the same delivery id).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from horizon.channels.message import ChatMessage
from horizon.channels.webhook import DEFAULT_RETRY_DELAYS, WebhookTransport
from horizon.deliver import DeliveryError


@dataclass(frozen=True)
class AppriseCarrier:
    """A chat message through Apprise; transient failures retried after `retry_delays`."""

    url: str
    message: ChatMessage
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS
    kind: str = "apprise"

    def where(self) -> str:
        import apprise

        plugin = apprise.Apprise.instantiate(self.url, suppress_exceptions=True)
        return str(plugin.url(privacy=True)) if plugin is not None else "an unreadable URL"

    def send(self, delivery_id: str) -> str:
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(self.url):
            raise DeliveryError(
                "Apprise does not understand this channel URL; check it with `horizon profiles`",
                1,
            )
        waits = list(self.retry_delays)
        attempts = 0
        while True:
            attempts += 1
            with apprise.LogCapture(level=logging.WARNING) as captured:
                sent = notifier.notify(
                    title=self.message.title,
                    body=self.message.body,
                    body_format=apprise.NotifyFormat.MARKDOWN,
                )
            if sent:
                return f"sent through {self.where()}" + (
                    f" at attempt {attempts}" if attempts > 1 else ""
                )
            lines = [line for line in captured.getvalue().splitlines() if line.strip()]
            if not waits:
                reason = lines[-1].strip() if lines else "the service did not accept it"
                raise DeliveryError(f"{self.where()}: {reason}", attempts)
            time.sleep(waits.pop(0))

    def find_delivered(self, delivery_id: str) -> str | None:
        return None


@dataclass(frozen=True)
class WebhookCarrier:
    transport: WebhookTransport
    event: str
    payload: dict[str, Any]
    kind: str = "webhook"

    def send(self, delivery_id: str) -> str:
        return self.transport.post(
            self.event, {**self.payload, "delivery": delivery_id}, delivery_id
        )

    def find_delivered(self, delivery_id: str) -> str | None:
        return None


@dataclass(frozen=True)
class OutboxCarrier:
    """Writes what the channel would have been sent to a file (a replayed snapshot, and the
    demo): the chat message as Markdown, a webhook's JSON as it would be posted."""

    path: Path
    content: str
    kind: str = "outbox"

    def send(self, delivery_id: str) -> str:
        stamp = f"<!-- horizon delivery {delivery_id} -->\n"
        data = (
            json.dumps({"delivery": delivery_id, **json.loads(self.content)}, indent=2)
            if self.path.suffix == ".json"
            else stamp + self.content
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.tmp")
            temporary.write_text(data, encoding="utf-8")
            temporary.replace(self.path)
        except OSError as error:
            raise DeliveryError(
                f"cannot write {self.path} ({error.strerror or error})", 1
            ) from error
        return f"written to {self.path}"

    def find_delivered(self, delivery_id: str) -> str | None:
        """Files are written whole and renamed: one holding this delivery id is complete."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return None
        return f"written to {self.path}" if delivery_id in text else None
