"""The spider for `page-watch` sources: a page or PDF compared with its last version."""

from __future__ import annotations

from typing import ClassVar

from spiders.base import SourceSpider


class PageWatchSpider(SourceSpider):
    """Fetches watched pages; the entry it reports is the page itself, so no link is followed."""

    name = "page-watch"
    kinds: ClassVar[frozenset[str]] = frozenset({"page-watch"})
    accept: ClassVar[str] = "text/html, application/xhtml+xml, application/pdf;q=0.9, */*;q=0.8"
    follows_item_links: ClassVar[bool] = False
