"""What kind of source an address is: a feed, a page announcing a feed, a JSON Feed, or a listing.

Pure functions over a fetched body, used by `horizon sources add URL` (pipelines/sources_cli.py),
which does the fetching through the crawl. For a listing page the selectors are proposed from
the page's most repeated block that holds a link with a title-like text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from horizon.config import ListingSelectors, SourceKind

FEED_LINK_TYPES: dict[str, SourceKind] = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "jsonfeed",
    "application/json": "jsonfeed",
}
MIN_TITLE_CHARS = 12
MIN_REPEATS = 2
BLOCK_TAGS = ("article", "li", "tr", "div", "section")
_SLUG_RUN = re.compile(r"[^a-z0-9]+")


def feed_kind(body: bytes) -> SourceKind | None:
    """The feed format of a body by its content (not its Content-Type, which servers get wrong)."""
    start = body[:4096].lstrip()
    if start.startswith((b"{", b"[")):
        try:
            document = json.loads(body)
        except ValueError:
            return None
        version = document.get("version", "") if isinstance(document, dict) else ""
        return "jsonfeed" if "jsonfeed.org" in str(version) else None
    head = start.lower()
    if b"<rdf:rdf" in head:
        return "rdf"
    if b"<rss" in head:
        return "rss"
    if b"<feed" in head and b"<html" not in head:
        return "atom"
    return None


def autodiscovered_feeds(html: str, base_url: str) -> list[tuple[str, SourceKind]]:
    """Feeds a page announces with `<link rel="alternate" type="…feed type…" href="…">`."""
    found: list[tuple[str, SourceKind]] = []
    for link in Selector(text=html).css("link[href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = FEED_LINK_TYPES.get((link.attrib.get("type") or "").lower().split(";")[0].strip())
        if "alternate" in rel and kind is not None:
            found.append((urljoin(base_url, link.attrib["href"].strip()), kind))
    return found


def fallback_feed(html: str, page_url: str) -> tuple[str, SourceKind] | None:
    """The feed a listing page announces, for a run whose selectors matched nothing there: the
    first announced RSS, Atom, RDF or JSON Feed that is not the page itself."""
    for url, kind in autodiscovered_feeds(html, page_url):
        if url.split("#")[0] != page_url.split("#")[0]:
            return url, kind
    return None


def fallback_note(feed_url: str, kind: SourceKind) -> str:
    """What a run says when it read a listing's announced feed instead of its selectors."""
    return (
        f"the listing's selectors matched nothing; used the autodiscovered feed {feed_url} "
        f"instead — update sources.yaml (kind: {kind}, url: {feed_url}) or fix the selectors"
    )


def propose_selectors(html: str) -> ListingSelectors | None:
    """Selectors for the most repeated block holding a link with a title-like text, if any."""
    page = Selector(text=html)
    counts: Counter[str] = Counter()
    for anchor in page.css("body a[href]"):
        text = " ".join(anchor.css("::text").getall()).strip()
        if len(text) < MIN_TITLE_CHARS:
            continue
        block = _enclosing_block(anchor)
        if block is not None:
            counts[block] += 1
    if not counts:
        return None
    block, repeats = counts.most_common(1)[0]
    if repeats < MIN_REPEATS:
        return None
    date = "time::attr(datetime)" if page.css(f"{block} time[datetime]") else None
    return ListingSelectors(item=block, title="a::text", link="a::attr(href)", date=date)


def _enclosing_block(anchor: Selector) -> str | None:
    """`tag.class` of the nearest enclosing block element, the item selector candidate."""
    for ancestor in anchor.xpath("ancestor::*")[::-1]:
        tag = ancestor.root.tag if isinstance(ancestor.root.tag, str) else ""
        if tag in BLOCK_TAGS:
            classes = (ancestor.attrib.get("class") or "").split()
            return f"{tag}.{classes[0]}" if classes else tag
    return None


def page_title(html: str) -> str:
    title = Selector(text=html).css("title::text").get() or ""
    return " ".join(title.split())


def source_id_for(url: str, taken: set[str]) -> str:
    """A slug from the address's host and path, unique among `taken`."""
    parts = urlsplit(url)
    host = (parts.hostname or "source").removeprefix("www.")
    base = _SLUG_RUN.sub("-", f"{host} {parts.path}".lower()).strip("-")[:50].strip("-")
    base = base if len(base) >= 2 else "source"
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    return candidate
