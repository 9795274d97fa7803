"""Signed webhooks: JSON over HTTP POST with an HMAC-SHA256 signature a receiver can check.

Each request carries `X-Horizon-Timestamp` (Unix seconds), `X-Horizon-Signature`
(`sha256=` and the hex HMAC-SHA256, keyed with the channel's secret, of the timestamp, a dot and
the exact body bytes), `X-Horizon-Event` and `X-Horizon-Delivery` (an id that stays the same
when a delivery is repeated after an interruption, so a receiver can drop repeats). `verify` is
the check a receiver runs; docs/channels.md shows it as a standalone snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from horizon.deliver import DeliveryError

SIGNATURE_HEADER = "X-Horizon-Signature"
TIMESTAMP_HEADER = "X-Horizon-Timestamp"
EVENT_HEADER = "X-Horizon-Event"
DELIVERY_HEADER = "X-Horizon-Delivery"
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 4.0, 16.0)
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 15.0


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    signature: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the signature matches the body and the timestamp is recent
    (an old, replayed request fails)."""
    if not timestamp.isdigit():
        return False
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def redacted(url: str) -> str:
    """The endpoint without credentials or query string, fit for logs and the ledger."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class WebhookTransport:
    """POSTs signed JSON; retries after each of `retry_delays` seconds when the receiver is
    unreachable, times out, answers 429 or 5xx; a 4xx is the receiver's final word."""

    kind = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout

    def post(self, event: str, payload: dict[str, Any], delivery_id: str) -> str:
        body = encode(payload)
        waits = list(self.retry_delays)
        attempts = 0
        where = redacted(self.url)
        while True:
            attempts += 1
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Horizon webhook",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self.secret, timestamp, body),
                EVENT_HEADER: event,
                DELIVERY_HEADER: delivery_id,
            }
            try:
                response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as error:
                reason, transient = f"cannot reach {where} ({error or type(error).__name__})", True
            else:
                if response.is_success:
                    return f"posted to {where} ({response.status_code})" + (
                        f" at attempt {attempts}" if attempts > 1 else ""
                    )
                reason = f"{where} answered {response.status_code} {response.reason_phrase}"
                transient = response.status_code == 429 or response.status_code >= 500
            if not transient or not waits:
                raise DeliveryError(reason, attempts)
            time.sleep(waits.pop(0))
