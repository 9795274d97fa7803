"""Send a profile's digest to each of its channels, exactly once per (week, profile, channel).

The ledger is email's (`horizon.deliver.deliver_once`), keyed `profile:channel` (and
`profile:channel/ITEM` for a webhook's per-item events): a failed send is recorded as failed and
retried by the next run; a sent one is never sent again without `--resend`. A replayed snapshot
(the demo) writes each message to `digests/outbox/` instead, so nothing leaves the machine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from horizon.channels.message import ChatMessage, chat_message, digest_link
from horizon.channels.transports import AppriseCarrier, OutboxCarrier, WebhookCarrier
from horizon.channels.webhook import DEFAULT_RETRY_DELAYS, WebhookTransport
from horizon.config import Channel, ConfigError, Profile, resolve_channel
from horizon.deliver import Carrier, Delivery, DeliveryLedger, deliver_once


def high_impact_entries(record: dict[str, Any], min_score: float) -> list[dict[str, Any]]:
    """The digest's entries whose best control score reaches `min_score`, each once."""
    entries = [*record["top_changes"], *(e for es in record["by_control"].values() for e in es)]
    chosen: dict[str, dict[str, Any]] = {}
    for entry in entries:
        best = max((control["score"] for control in entry["controls"]), default=0.0)
        if best >= min_score or entry.get("pinned_by"):
            chosen.setdefault(entry["id"], entry)
    return list(chosen.values())


def channel_messages(
    channel: Channel, record: dict[str, Any], public_url: str | None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(ledger suffix, event, payload) for each message the channel gets for this digest."""
    if channel.kind == "chat":
        message = chat_message(record, digest_link(record, public_url))
        return [("", "chat", {"title": message.title, "body": message.body})]
    head = {"week": record["week"], "profile": record["profile"]["name"]}
    if channel.events == "digest":
        return [("", "digest", {"event": "digest", **head, "digest": record})]
    return [
        (f"/{entry['id']}", "item", {"event": "item", **head, "item": entry})
        for entry in high_impact_entries(record, channel.min_score)
    ]


def publish_channels(
    ledger: DeliveryLedger,
    profile: Profile,
    record: dict[str, Any],
    outbox: Path | None,
    public_url: str | None = None,
    resend: bool = False,
    env: Mapping[str, str] | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    now: datetime | None = None,
) -> list[Delivery]:
    """Deliver the digest `record` to every channel of `profile`; with `outbox`, write the
    messages there instead of sending them."""
    deliveries: list[Delivery] = []
    week = record["week"]
    for channel in profile.channels:
        key = f"{profile.name}:{channel.name}"
        try:
            resolved = resolve_channel(channel, env) if outbox is None else None
        except ConfigError as error:
            deliveries.append(
                Delivery(
                    week=week,
                    profile=profile.name,
                    channel=channel.name,
                    status="skipped",
                    transport=channel.kind,
                    recipients=[channel.name],
                    detail=f"not configured, so not sent: {error}",
                )
            )
            continue
        for suffix, event, payload in channel_messages(channel, record, public_url):
            carrier: Carrier
            if outbox is not None:
                extension = "md" if event == "chat" else "json"
                name = f"{week}-{profile.name}.{channel.name}{suffix.replace('/', '.')}.{extension}"
                content = (
                    f"# {payload['title']}\n\n{payload['body']}\n"
                    if event == "chat"
                    else json.dumps(payload, ensure_ascii=False)
                )
                carrier = OutboxCarrier(outbox / name, content)
            elif channel.kind == "chat":
                assert resolved is not None
                carrier = AppriseCarrier(
                    resolved.url, ChatMessage(**payload), retry_delays=retry_delays
                )
            else:
                assert resolved is not None and resolved.secret is not None
                transport = WebhookTransport(resolved.url, resolved.secret, retry_delays)
                carrier = WebhookCarrier(transport, event, payload)
            deliveries.append(
                deliver_once(
                    ledger,
                    week,
                    key + suffix,
                    [channel.name],
                    carrier,
                    lambda: uuid.uuid4().hex,
                    resend=resend,
                    now=now,
                    retry_hint=(
                        f", then run `horizon digest --week {week} --profile {profile.name} --send`"
                    ),
                )
            )
    return deliveries
