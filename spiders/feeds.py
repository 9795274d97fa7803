"""The spider for syndication feeds: RSS, Atom, RDF and JSON Feed."""

from __future__ import annotations

from typing import ClassVar

from spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    """Fetches feeds, asking for the feed formats first, as feed readers do."""

    name = "feeds"
    kinds: ClassVar[frozenset[str]] = frozenset({"rss", "atom", "rdf", "jsonfeed"})
    accept: ClassVar[str] = (
        "application/rss+xml, application/atom+xml, application/rdf+xml, "
        "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
    )
