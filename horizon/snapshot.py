"""Recorded snapshots (docs/snapshot-format.md): the manifest a replayed crawl answers from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from w3lib.url import canonicalize_url


class RecordedResponse(BaseModel):
    url: str
    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    # An earlier recording of the same address (a watched page's history): never served.
    recorded_at: datetime | None = None


class SnapshotManifest(BaseModel):
    recorded_at: datetime
    sample_data: bool = False
    note: str = ""
    responses: list[RecordedResponse]

    def served(self) -> list[RecordedResponse]:
        """The responses a replayed crawl answers with: those of the snapshot's own moment."""
        return [response for response in self.responses if response.recorded_at is None]

    def earlier(self, url: str) -> list[RecordedResponse]:
        """Earlier recordings of `url`, oldest first: what the runs before this one saw."""
        key = canonicalize_url(url)
        found = [
            response
            for response in self.responses
            if response.recorded_at is not None and canonicalize_url(response.url) == key
        ]
        return sorted(found, key=lambda response: response.recorded_at or self.recorded_at)


@dataclass(frozen=True)
class Recording:
    """One earlier recorded response of a watched page, read from the snapshot."""

    recorded_at: datetime
    status: int
    content_type: str | None
    body: bytes


def page_history(directory: Path, url: str) -> list[Recording]:
    """The earlier recordings of `url` in the snapshot at `directory`, oldest first."""
    manifest = load_manifest(directory)
    history = []
    for response in manifest.earlier(url):
        assert response.recorded_at is not None
        headers = {name.lower(): value for name, value in response.headers.items()}
        body = (directory / response.body).read_bytes() if response.body else b""
        history.append(
            Recording(response.recorded_at, response.status, headers.get("content-type"), body)
        )
    return history


class SnapshotError(ValueError):
    """A snapshot directory that cannot be replayed; the message says why."""


def load_manifest(directory: Path) -> SnapshotManifest:
    path = directory / "manifest.json"
    try:
        manifest = SnapshotManifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"{directory} is not a recorded snapshot: no manifest.json") from None
    except (ValidationError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{path} is not a valid snapshot manifest: {error}") from None
    for response in manifest.responses:
        if response.recorded_at is not None and response.recorded_at >= manifest.recorded_at:
            raise SnapshotError(
                f"{path}: the recording of {response.url} at {response.recorded_at.isoformat()} "
                "is not earlier than the snapshot's recorded_at; an earlier recording must be "
                "earlier (leave recorded_at out for the response the replay serves)"
            )
    return manifest
