"""The fetch stage's contract: what a crawl is asked to do and what it reports per source.

The crawling itself is Scrapy's (see `spiders/`); this module holds the typed job and outcome
that cross the process boundary, so the rest of Horizon never depends on Scrapy. It also reads
recorded snapshots (docs/snapshot-format.md), whose `recorded_at` the caller needs as "now".
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from horizon.config import CrawlSettings, Source
from horizon.item import Entry

Outcome = Literal["ok", "unchanged", "failed"]


class Validators(BaseModel):
    """What the last successful fetch of a source returned, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class CrawlJob(BaseModel):
    """Everything one crawl needs; written as JSON for the crawler process."""

    crawl: CrawlSettings
    sources: list[Source]
    validators: dict[str, Validators] = Field(default_factory=dict)
    replay_dir: str | None = None


class FetchOutcome(BaseModel):
    """What happened to one source in one crawl, in words a user can act on."""

    source: str
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    entries: list[Entry] = Field(default_factory=list)
    elapsed_s: float = 0.0


class SnapshotError(ValueError):
    """A recorded snapshot cannot be replayed; the message names the directory and the fault."""


class RecordedResponse(BaseModel):
    """One response as a server sent it, from a snapshot's manifest."""

    model_config = ConfigDict(extra="forbid")

    url: str
    status: int = Field(ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None


class SnapshotManifest(BaseModel):
    """A snapshot's manifest.json (docs/snapshot-format.md); `recorded_at` stands for "now"."""

    recorded_at: datetime | None = None
    sample_data: bool = False
    note: str = ""
    responses: list[RecordedResponse]


def load_snapshot(directory: Path) -> SnapshotManifest:
    """Read and check a snapshot directory: the manifest parses and every body file exists."""
    manifest_path = directory / "manifest.json"
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SnapshotError(
            f"{manifest_path}: not found — a snapshot directory needs a manifest.json"
        ) from None
    except OSError as error:
        raise SnapshotError(f"{manifest_path}: cannot be read ({error.strerror})") from None
    try:
        manifest = SnapshotManifest.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'file'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise SnapshotError(
            f"{manifest_path}: not a valid snapshot manifest ({problems})"
        ) from None
    root = directory.resolve()
    for recorded in manifest.responses:
        if recorded.body is None:
            continue
        body_path = (root / recorded.body).resolve()
        if not body_path.is_relative_to(root):
            raise SnapshotError(
                f"{manifest_path}: the body '{recorded.body}' for {recorded.url} lies outside "
                "the snapshot directory; bodies must be inside it"
            )
        if not body_path.is_file():
            raise SnapshotError(
                f"{manifest_path}: the body '{recorded.body}' for {recorded.url} is missing"
            )
    return manifest
