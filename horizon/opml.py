"""Sources in and out as OPML, the list format every feed reader imports and exports.

`render_opml` writes the feed-like sources of sources.yaml as an OPML 2.0 outline grouped by
category; `parse_opml` reads the feed outlines of any reader's export (nested folders allowed)
without resolving entities, DTDs or anything external; `plan_import` turns them into source
entries, setting aside feeds already watched and feeds listed twice. Pure functions only: the
command line fetches each new feed once to check it answers before anything is written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from pydantic import ValidationError

from horizon.config import Source, SourceCategory

OPML_FEED_KINDS = {"rss": "rss", "atom": "atom", "rdf": "rdf", "jsonfeed": "json"}
_SLUG_RUN = re.compile(r"[^a-z0-9]+")


class OpmlError(ValueError):
    """The file is not OPML Horizon can read; the message says why."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: its title, feed address, web page and folder (category)."""

    title: str
    xml_url: str
    html_url: str | None = None
    folder: str | None = None
    kind_hint: str | None = None


def render_opml(sources: list[Source], title: str = "Horizon sources") -> bytes:
    """OPML 2.0 of the sources a feed reader can subscribe to (feeds and JSON Feeds), one
    folder per category; json-api and html-listing sources have no feed to export."""
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for source in sources:
        if source.kind not in OPML_FEED_KINDS:
            continue
        folder = folders.get(source.category)
        if folder is None:
            folder = ET.SubElement(body, "outline", {"text": source.category})
            folders[source.category] = folder
        ET.SubElement(
            folder,
            "outline",
            {
                "type": "rss",
                "text": source.name,
                "title": source.name,
                "xmlUrl": source.url,
                "description": f"{source.publisher} ({source.jurisdiction})",
                "category": f"/{source.category}/{source.jurisdiction}",
                "version": OPML_FEED_KINDS[source.kind],
            },
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an `xmlUrl`, in document order, with the folder it sits in."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise OpmlError(
            f"refused: the file uses {type(error).__name__}; DTDs and entities are not "
            "allowed in OPML"
        ) from None
    except ET.ParseError as error:
        raise OpmlError(f"not well-formed XML ({error})") from None
    if root.tag != "opml":
        raise OpmlError(f"the document's root is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("the OPML has no <body>")
    feeds: list[OpmlFeed] = []

    def walk(element: ET.Element, folder: str | None) -> None:
        for outline in element.findall("outline"):
            url = (outline.get("xmlUrl") or "").strip()
            name = (outline.get("title") or outline.get("text") or "").strip()
            if url:
                feeds.append(
                    OpmlFeed(
                        title=name or url,
                        xml_url=url,
                        html_url=outline.get("htmlUrl"),
                        folder=folder,
                        kind_hint=(outline.get("version") or outline.get("type") or "").lower()
                        or None,
                    )
                )
            walk(outline, name or folder)

    walk(body, None)
    return feeds


@dataclass
class ImportPlan:
    """What an import would add, and what it sets aside (feed, reason)."""

    new: list[Source] = field(default_factory=list)
    duplicates: list[tuple[OpmlFeed, str]] = field(default_factory=list)
    refused: list[tuple[OpmlFeed, str]] = field(default_factory=list)


def plan_import(
    feeds: list[OpmlFeed],
    existing: list[Source],
    category: SourceCategory,
    jurisdiction: str,
    allow_private_hosts: bool = False,
) -> ImportPlan:
    """New source entries for feeds not watched yet (same address, ignoring scheme case and a
    trailing slash), with unique ids derived from their titles. An address that is not public
    is refused here unless `allow_private_hosts` (the crawl checks again after DNS)."""
    plan = ImportPlan()
    watched = {_address_key(source.url): source.id for source in existing}
    taken = {source.id for source in existing}
    for feed in feeds:
        scheme = urlsplit(feed.xml_url).scheme.lower()
        if scheme not in ("http", "https"):
            plan.refused.append(
                (feed, f"'{scheme or 'no'}' scheme: only http(s) feeds can be watched")
            )
            continue
        key = _address_key(feed.xml_url)
        if key in watched:
            plan.duplicates.append((feed, f"already watched as '{watched[key]}'"))
            continue
        identifier = _unique_id(feed.title, taken)
        kind = "jsonfeed" if feed.kind_hint == "json" or key.endswith(".json") else "rss"
        try:
            source = Source(
                id=identifier,
                name=feed.title[:120],
                publisher=feed.title[:120],
                category=category,
                jurisdiction=jurisdiction,
                kind=kind,
                url=feed.xml_url,
                official=False,
                allow_private_hosts=allow_private_hosts,
            )
        except ValidationError as error:
            plan.refused.append((feed, error.errors()[0]["msg"].removeprefix("Value error, ")))
            continue
        taken.add(identifier)
        watched[key] = identifier
        plan.new.append(source)
    return plan


def _address_key(url: str) -> str:
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{(parts.hostname or '').lower()}{f':{parts.port}' if parts.port else ''}{path}{query}"


def _unique_id(title: str, taken: set[str]) -> str:
    base = _SLUG_RUN.sub("-", title.lower()).strip("-")[:50].strip("-") or "feed"
    if len(base) < 2:
        base = f"feed-{base}"
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}-{number}"
        number += 1
    return candidate
