"""What a delivery can come to: its outcome for the run summary and the CLI, and the error a
transport raises when it could not deliver."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

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


class DeliveryError(Exception):
    """A transport could not deliver; the message says why in words a user can act on."""

    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
