"""The fetch stage's contract: what a crawl is asked to do and what it reports per source.

The crawling itself is Scrapy's (see `spiders/`); this module holds the typed job and outcome
that cross the process boundary, so the rest of Horizon never depends on Scrapy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from horizon.config import CrawlSettings, Source
from horizon.enrich.model import EnrichJob
from horizon.item import Entry

Outcome = Literal["ok", "unchanged", "failed"]


class Validators(BaseModel):
    """What the last successful fetch of a source returned, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


class ArchiveTarget(BaseModel):
    """Where one crawl archives every response: a WARC file and the database indexing it."""

    warc_path: str
    index_db: str
    replayed: bool = False


class CrawlJob(BaseModel):
    """Everything one crawl needs; written as JSON for the crawler process."""

    crawl: CrawlSettings
    sources: list[Source]
    validators: dict[str, Validators] = Field(default_factory=dict)
    replay_dir: str | None = None
    archive: ArchiveTarget | None = None
    enrich: EnrichJob | None = None


class FetchOutcome(BaseModel):
    """What happened to one source in one crawl, in words a user can act on.

    `warning` is set on a source that gave entries despite a problem worth fixing (a feed cut
    short, a page in another encoding than it claims).
    """

    source: str
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    entries: list[Entry] = Field(default_factory=list)
    elapsed_s: float = 0.0
