"""The spider for HTML listing pages read with a source's CSS `selectors`."""

from __future__ import annotations

from typing import ClassVar

from spiders.base import SourceSpider


class HtmlListingSpider(SourceSpider):
    """Fetches listing pages as a browser would ask for them."""

    name = "html-listing"
    kinds: ClassVar[frozenset[str]] = frozenset({"html-listing"})
    accept: ClassVar[str] = "text/html, application/xhtml+xml;q=0.9, */*;q=0.8"
