"""The one typed record that flows through every stage.

A parser turns a publisher's response into `Entry` objects (raw, as published); the normaliser
turns each `Entry` into an `Item` (clean text, canonical URL, UTC date, stable id, content hash);
the classifier adds `Tags`. Everything after parsing sees only `Item`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ITEM_TYPES: tuple[str, ...] = (
    "legislation",
    "guidance",
    "consultation",
    "enforcement",
    "standard",
    "vendor-change",
    "report",
)
Precision = Literal["day", "month", "year"]
THEMES: tuple[str, ...] = (
    "strategy",
    "procurement",
    "governance",
    "risk",
    "delivery",
    "communication",
    "workforce",
)


class Entry(BaseModel):
    """One entry as a publisher served it: HTML allowed, dates as written, URL as linked."""

    model_config = ConfigDict(extra="forbid")

    title: str
    url: str | None = None
    summary_html: str = ""
    published: str | None = None
    guid: str | None = None
    deadline: str | None = None
    effective: str | None = None


class ControlTag(BaseModel):
    """A control the item matters to, how sure the tagger is, and the sentence that said so
    (`from_full_text`: read in the linked page or PDF, not in the feed's title or summary)."""

    id: str
    score: float
    evidence: str
    from_full_text: bool = False


class Quote(BaseModel):
    """The sentence a date was read from, and whether it is in the item's full text."""

    sentence: str
    from_full_text: bool = False


class Tags(BaseModel):
    """The classifier's verdict on one item, in the shape of `horizon classify` output."""

    relevant: bool
    controls: list[ControlTag] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    type: str = "report"
    jurisdiction: str = "GLOBAL"
    deadline: date | None = None
    effective: date | None = None
    deadline_quote: Quote | None = None
    effective_quote: Quote | None = None

    def control_ids(self) -> list[str]:
        return [control.id for control in self.controls]


class Item(BaseModel):
    """A normalised item. `id` is stable: the caller's id, or derived from the canonical URL."""

    id: str
    title: str
    summary: str = ""
    url: str | None = None
    publisher: str = ""
    published: datetime | None = None
    published_precision: Precision = "day"
    source: str | None = None
    source_category: str | None = None
    source_jurisdiction: str | None = None
    content_hash: str
    deadline_hint: date | None = None
    effective_hint: date | None = None
    tags: Tags | None = None
    # The linked page's or PDF's main text (`horizon.enrich`), when the crawl fetched it. Never
    # part of `text()`, the content hash or any serialised form: de-duplication keeps comparing
    # feed texts with feed texts; tagging reads it for dates and evidence, the store for
    # search passages.
    full_text: str = Field(default="", exclude=True, repr=False)

    def text(self) -> str:
        """The title and summary: what is embedded, de-duplicated and classified."""
        return f"{self.title}. {self.summary}".strip() if self.summary else self.title
