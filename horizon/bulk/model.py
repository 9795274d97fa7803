"""What a backfill crawl is asked to do and what it reports per page; written as JSON for the
crawler process, so the rest of Horizon never depends on Scrapy."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from horizon.config import CrawlSettings, Source
from horizon.item import Entry


class PageCursor(BaseModel):
    """The page of a source to fetch next: its address and its number (1 is the newest)."""

    url: str
    page: int = Field(ge=1)


class BackfillJob(BaseModel):
    """Sources to page back through, each from its cursor, until `since` or `max_pages`."""

    crawl: CrawlSettings
    sources: list[Source]
    cursors: dict[str, PageCursor]
    since: date
    max_pages: int = Field(ge=1)


class PageOutcome(BaseModel):
    """One fetched page. An ok page either names the next page to read (`next_url`, followed)
    or says why the source's backfill stops here (`stop`); a failed page says what failed."""

    source: str
    page: int
    url: str
    outcome: Literal["ok", "failed"]
    http_status: int | None = None
    final_url: str | None = None
    entries: list[Entry] = Field(default_factory=list)
    next_url: str | None = None
    stop: str | None = None
    error: str | None = None
    warning: str | None = None
