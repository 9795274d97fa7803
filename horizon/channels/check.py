"""Checking channels without revealing them: is each URL usable, what does it look like with
its secrets masked, and a test event through it (`horizon channels test PROFILE`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from horizon.channels.message import ChatMessage
from horizon.channels.transports import AppriseCarrier, WebhookCarrier
from horizon.channels.webhook import DEFAULT_RETRY_DELAYS, WebhookTransport, redacted
from horizon.config import Channel, ConfigError, Profile, ResolvedChannel, resolve_channel
from horizon.deliver import DeliveryError

CheckStatus = Literal["ok", "not set", "invalid", "sent", "failed"]


@dataclass(frozen=True)
class ChannelCheck:
    """One channel's state, safe to print: `shown` never contains a secret."""

    profile: str
    channel: str
    kind: str
    shown: str
    status: CheckStatus
    detail: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def masked(resolved: ResolvedChannel) -> str | None:
    """The URL with every secret masked, or None when it is not a usable channel URL."""
    if resolved.channel.kind == "webhook":
        return redacted(resolved.url) if resolved.url.startswith(("http://", "https://")) else None
    import apprise

    plugin = apprise.Apprise.instantiate(resolved.url, suppress_exceptions=True)
    return str(plugin.url(privacy=True)) if plugin is not None else None


def check_channel(
    profile: Profile, channel: Channel, env: Mapping[str, str] | None = None
) -> ChannelCheck:
    """Whether the channel can send: its environment variables are set and the URL parses."""

    def result(shown: str, status: CheckStatus, detail: str) -> ChannelCheck:
        return ChannelCheck(profile.name, channel.name, channel.kind, shown, status, detail)

    try:
        resolved = resolve_channel(channel, env)
    except ConfigError as error:
        return result(channel.url, "not set", str(error))
    shown = masked(resolved)
    if shown is None:
        scheme = resolved.url.partition("://")[0] or "(none)"
        sender = "Apprise" if channel.kind == "chat" else "an http(s) webhook"
        return result(
            f"{scheme}://…",
            "invalid",
            f"profile '{profile.name}' channel '{channel.name}': not a URL {sender} can send to; "
            "see docs/channels.md for the form each service takes",
        )
    return result(shown, "ok", "ready to send")


def send_test(
    profile: Profile,
    channel: Channel,
    env: Mapping[str, str] | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
) -> ChannelCheck:
    """Send a test event (not recorded in the ledger: it is not a digest)."""
    checked = check_channel(profile, channel, env)
    if checked.status != "ok":
        return checked
    resolved = resolve_channel(channel, env)
    text = (
        f"This is a test from Horizon for the '{profile.label}' digest. "
        "If you can read it, the channel works."
    )
    delivery_id = f"test-{uuid.uuid4().hex}"
    try:
        if channel.kind == "chat":
            where = AppriseCarrier(
                resolved.url, ChatMessage("Horizon channel test", text), retry_delays
            ).send(delivery_id)
        else:
            assert resolved.secret is not None
            transport = WebhookTransport(resolved.url, resolved.secret, retry_delays)
            payload = {"event": "test", "profile": profile.name, "message": text}
            where = WebhookCarrier(transport, "test", payload).send(delivery_id)
    except DeliveryError as error:
        return ChannelCheck(
            profile.name, channel.name, channel.kind, checked.shown, "failed", error.reason
        )
    return ChannelCheck(profile.name, channel.name, channel.kind, checked.shown, "sent", where)
