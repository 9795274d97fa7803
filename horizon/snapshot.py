"""Recorded snapshots (docs/snapshot-format.md): the manifest a replayed crawl answers from."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError


class RecordedResponse(BaseModel):
    url: str
    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None


class SnapshotManifest(BaseModel):
    recorded_at: datetime
    sample_data: bool = False
    note: str = ""
    responses: list[RecordedResponse]


class SnapshotError(ValueError):
    """A snapshot directory that cannot be replayed; the message says why."""


def load_manifest(directory: Path) -> SnapshotManifest:
    path = directory / "manifest.json"
    try:
        return SnapshotManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"{directory} is not a recorded snapshot: no manifest.json") from None
    except (ValidationError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{path} is not a valid snapshot manifest: {error}") from None
