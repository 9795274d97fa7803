"""What a crawl needs to enrich new items: where to store full texts, what is known, the caps."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FullTextCaps(BaseModel):
    """Limits that keep one huge page, PDF or bomb from holding up or filling a run."""

    max_bytes: int = Field(default=10 * 1_048_576, gt=0)
    max_pdf_pages: int = Field(default=60, gt=0)
    max_chars: int = Field(default=200_000, gt=0)
    per_source: int = Field(default=25, ge=0)


class EnrichJob(BaseModel):
    """Follow each item's link (canonical URLs): `followed_urls` are done with (a text or a
    final failure is stored) and are never fetched again; `stored_urls` are items already
    stored whose link waits (never followed, or failed for a cause that may pass), behind the
    new items' within the per-source budget."""

    state_db: str
    followed_urls: list[str] = Field(default_factory=list)
    stored_urls: list[str] = Field(default_factory=list)
    caps: FullTextCaps = FullTextCaps()
