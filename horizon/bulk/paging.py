"""Finding the next (older) page of a source, and deciding where its backfill stops.

Pure functions. The next page comes from, in order: the HTTP `Link: <…>; rel="next"` header
(GitHub's API, many others), the source's own `next` setting (`fields.next`, a dotted path
such as the Federal Register's `next_page_url`; `selectors.next`, a CSS selector), a JSON
Feed's `next_url`, a feed's `<link rel="next">` (RFC 5005), or a listing's `rel="next"` link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from datetime import date
from urllib.parse import urljoin

from parsel import Selector

from horizon.config import FEED_KINDS, Source
from horizon.item import Entry
from horizon.normalise import parse_datetime
from horizon.parse import decode_html, feed_next_link, lookup_path

LISTING_NEXT = ("link[rel~=next]::attr(href)", "a[rel~=next]::attr(href)")
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""\brel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.I)


def link_header_next(value: str | None) -> str | None:
    """The target of the `rel="next"` link in an HTTP Link header (RFC 8288), if any."""
    for match in _LINK_VALUE.finditer(value or ""):
        for rel in _REL.finditer(match.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def next_page_url(
    source: Source, body: bytes, content_type: str | None, link_header: str | None, url: str
) -> str | None:
    """The absolute http(s) address of the page after this one, or None when there is none."""
    found = link_header_next(link_header) or _in_body(source, body, content_type, url)
    if not found:
        return None
    absolute = urljoin(url, found.strip())
    return absolute if absolute.startswith(("http://", "https://")) else None


def _in_body(source: Source, body: bytes, content_type: str | None, url: str) -> str | None:
    if source.kind in ("json-api", "jsonfeed"):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None
        path = source.fields.next if source.fields else "next_url"
        value = lookup_path(document, path) if path else None
        return value if isinstance(value, str) else None
    if source.kind in FEED_KINDS:
        return feed_next_link(body, content_type, url)
    if source.kind == "html-listing":
        page = Selector(text=decode_html(body, content_type), type="html", base_url=url)
        wanted = (source.selectors.next,) if source.selectors and source.selectors.next else ()
        for css in wanted or LISTING_NEXT:
            try:
                value = page.css(css).get()
            except (ValueError, SyntaxError):
                return None
            if value and value.strip():
                return value.strip()
    return None


def published_on(entry: Entry) -> date | None:
    parsed = parse_datetime(entry.published)
    return parsed.date() if parsed else None


def wanted(entry: Entry, since: date) -> bool:
    """An entry published on or after `since`, or one whose date cannot be read (kept: it may
    belong to the period)."""
    published = published_on(entry)
    return published is None or published >= since


def stop_reason(
    entries: Sequence[Entry], next_url: str | None, since: date, read: Collection[str] = ()
) -> str | None:
    """Why a source's history ends at this page, or None when `next_url` continues it.
    (The page cap is not an end: a later backfill with a higher cap goes on from there.)"""
    if not entries:
        return "the page held no entries"
    dates = [published_on(entry) for entry in entries]
    if all(day is not None and day < since for day in dates):
        return f"every entry on this page is older than {since.isoformat()}"
    if next_url is None:
        return "the source gives no link to an older page"
    if next_url in read:
        return "the next-page link points back to a page already read"
    return None


def cap_message(max_pages: int) -> str:
    return f"reached the page cap ({max_pages} pages); raise --max-pages to go further"
