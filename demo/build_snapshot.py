"""Rebuild the bundled demo snapshot (`demo/snapshot/`) from the sample items in `demo/items/`.

A maintainer tool, not part of the package. The item text lives in `demo/items/<source-id>.yaml`
(one file per source in sources.yaml); how each publisher lays out its response lives here and in
`demo/templates/`. The output follows docs/snapshot-format.md and is byte-for-byte the same on
every run, so a rebuild shows up in a diff only where the data or the formatting changed.

`--check` reads the snapshot back the way a crawl will (manifest, robots.txt, redirects, then
feedparser, json or parsel with the selectors from sources.yaml), compares what it finds with the
item files and prints per-source and per-week counts.

    PYTHONPATH=. python demo/build_snapshot.py           # rebuild demo/snapshot/
    PYTHONPATH=. python demo/build_snapshot.py --check   # verify it and print the counts
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import feedparser
import jinja2
import parsel
from markupsafe import Markup, escape
from protego import Protego
from w3lib.url import canonicalize_url

from demo.pdf import simple_pdf
from horizon.config import ConfigError, Source, SourcesFile, load_sources, read_yaml
from horizon.enrich.extract import ExtractionError, extract_text
from horizon.enrich.model import FullTextCaps
from horizon.normalise import canonical_url, parse_datetime
from horizon.watch import page_diff, watched_text

DEMO_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = DEMO_DIR.parent
ITEMS_DIR = DEMO_DIR / "items"
TEMPLATES_DIR = DEMO_DIR / "templates"
SNAPSHOT_DIR = DEMO_DIR / "snapshot"
SOURCES_FILE = PROJECT_ROOT / "sources.yaml"
PAGES_FILE = DEMO_DIR / "pages.yaml"
WATCHED_DIR = DEMO_DIR / "watched"
MIN_FULL_PAGES = 15
MIN_PDFS = 2

RECORDED_AT = datetime(2025, 9, 15, 6, 0, tzinfo=UTC)
FIRST_WEEK = (2025, 28)
LAST_WEEK = (2025, 37)
MIN_ITEMS = 650
MAX_DEMO_BYTES = 5_000_000
NOTE = (
    "SAMPLE DATA for `make demo`, written by the Horizon team from public facts of July to "
    "September 2025 and laid out the way each publisher serves its feed or page. It is not a "
    "recording of the publishers' servers: titles, summaries, dates and addresses are our own "
    "and may differ from what was published. See demo/README.md."
)

Validators = Literal["both", "etag", "last-modified", "none"]


@dataclass(frozen=True)
class SampleItem:
    """One item as the Horizon team wrote it; `story` links reports of the same event."""

    title: str
    url: str
    published: datetime
    summary: str
    story: str | None = None
    noise: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleFeed:
    """What one source's response carries: channel text and items, newest first."""

    source: Source
    channel: Mapping[str, Any]
    items: tuple[SampleItem, ...]

    @property
    def newest(self) -> datetime:
        if self.items:
            return max(item.published for item in self.items)
        return parse_required_datetime(str(self.channel["updated"]), f"{self.source.id}: updated")


@dataclass(frozen=True)
class Profile:
    """How one publisher serves its response: body layout, media type and cache validators."""

    template: str
    content_type: str
    validators: Validators = "both"
    weak_etag: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    link_domains: tuple[str, ...] = ()
    url_builder: Callable[[Mapping[str, Any]], str] | None = None


@dataclass(frozen=True)
class Failure:
    """A source that answers with something other than its feed, as its server really does."""

    status: int
    template: str
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


# --- Federal Register API details ------------------------------------------------------------


def federal_register_url(raw: Mapping[str, Any]) -> str:
    """The document page address the Federal Register builds from date, number and title."""
    published = parse_required_datetime(str(raw.get("published")), str(raw.get("title")))
    words = re.findall(r"[a-z0-9]+", str(raw.get("title", "")).lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 100:
            break
        slug = f"{slug}-{word}" if slug else word
    return (
        f"https://www.federalregister.gov/documents/{published:%Y/%m/%d}/"
        f"{raw.get('document_number')}/{slug}"
    )


def search_excerpt(text: str, term: str = "artificial intelligence") -> str | None:
    """The API's `excerpts`: the matched words in context, marked up as the site shows them."""
    found = re.search(re.escape(term), text, flags=re.IGNORECASE)
    if found is None:
        return None
    before = text[max(0, found.start() - 80) : found.start()].split(" ", 1)[-1]
    after = text[found.end() : found.end() + 80].rsplit(" ", 1)[0]
    return f'… {escape(before)}<span class="match">{escape(found.group())}</span>{escape(after)} …'


# --- how each publisher serves its response --------------------------------------------------

DRUPAL = "rss-drupal.xml.j2"
WORDPRESS = "rss-wordpress.xml.j2"
DOTNET = "rss-dotnet.xml.j2"
PLAIN = "rss-plain.xml.j2"
GOVUK = "govuk.atom.j2"
GITHUB = "github-releases.atom.j2"
RSS_UTF8 = "application/rss+xml; charset=utf-8"
XML_UTF8 = "application/xml; charset=utf-8"
TEXT_XML = "text/xml; charset=UTF-8"
HTML_UTF8 = "text/html; charset=utf-8"
GOVUK_HEADERS = {"Cache-Control": "max-age=1800, public", "Vary": "Accept-Encoding"}
GITHUB_HEADERS = {"Cache-Control": "max-age=0, private, must-revalidate"}

PROFILES: dict[str, Profile] = {
    "ico-news": Profile(PLAIN, RSS_UTF8, "last-modified", options={"dates": "gmt"}),
    "fca-news": Profile(DRUPAL, RSS_UTF8, options={"site": "https://www.fca.org.uk"}),
    "cma-govuk": Profile(GOVUK, "application/atom+xml; charset=utf-8", headers=GOVUK_HEADERS),
    "dsit-govuk": Profile(GOVUK, "application/atom+xml; charset=utf-8", headers=GOVUK_HEADERS),
    "aisi-govuk": Profile(GOVUK, "application/atom+xml; charset=utf-8", headers=GOVUK_HEADERS),
    "aisi-blog": Profile("aisi-blog.html.j2", HTML_UTF8, "etag", weak_etag=True),
    "drcf-publications": Profile("drcf-publications.html.j2", HTML_UTF8, "last-modified"),
    "boe-news": Profile(DOTNET, "application/rss+xml; charset=utf-8", "none"),
    "ec-digital-strategy": Profile(
        DRUPAL, RSS_UTF8, options={"site": "https://digital-strategy.ec.europa.eu"}
    ),
    "ec-ai-office": Profile("ec-ai-office.html.j2", HTML_UTF8, "etag"),
    "ec-press-corner": Profile(PLAIN, TEXT_XML, "none", options={"dates": "gmt", "cdata": True}),
    "edpb-news": Profile(DRUPAL, RSS_UTF8, options={"site": "https://www.edpb.europa.eu"}),
    "edps-news": Profile(
        DRUPAL, RSS_UTF8, "last-modified", options={"site": "https://www.edps.europa.eu"}
    ),
    "europarl-press": Profile(PLAIN, TEXT_XML, "etag", options={"dates": "offset", "cdata": True}),
    "enisa-news": Profile("enisa-news.html.j2", HTML_UTF8, "etag"),
    "ai-act-tracker": Profile(WORDPRESS, RSS_UTF8, "last-modified", link_domains=("europa.eu",)),
    "cen-cenelec-jtc21": Profile("cen-cenelec-jtc21.html.j2", HTML_UTF8, "last-modified"),
    "nist-news": Profile(DRUPAL, RSS_UTF8, options={"site": "https://www.nist.gov"}),
    "ftc-press": Profile(DRUPAL, RSS_UTF8, options={"site": "https://www.ftc.gov"}),
    "federal-register-ai": Profile(
        "federal-register.json",
        "application/json; charset=utf-8",
        "etag",
        weak_etag=True,
        headers={"Cache-Control": "max-age=0, private, must-revalidate"},
        url_builder=federal_register_url,
    ),
    "whitehouse-actions": Profile(WORDPRESS, RSS_UTF8),
    "cfpb-newsroom": Profile(PLAIN, RSS_UTF8, "last-modified", options={"dates": "offset"}),
    "sec-press": Profile(
        PLAIN,
        "application/rss+xml; charset=utf-8",
        "etag",
        options={"dates": "offset", "guid": "uuid", "padded_titles": True, "creator": True},
    ),
    "eeoc-newsroom": Profile(DRUPAL, RSS_UTF8, options={"site": "https://www.eeoc.gov"}),
    "copyright-office-newsnet": Profile(PLAIN, XML_UTF8, "last-modified", options={"dates": "dc"}),
    "oecd-ai": Profile(PLAIN, RSS_UTF8, "etag", options={"dates": "dc", "cdata": True}),
    "iso-sc42": Profile("iso-sc42.html.j2", HTML_UTF8, "none"),
    "ieee-sa-news": Profile("ieee-sa-news.html.j2", HTML_UTF8, "last-modified"),
    "coe-ai": Profile("coe-ai.html.j2", HTML_UTF8, "none"),
    "un-news": Profile(PLAIN, RSS_UTF8, "etag", options={"dates": "dc"}),
    "openai-news": Profile(
        PLAIN,
        "application/xml; charset=utf-8",
        "etag",
        options={"dates": "gmt", "cdata": True, "guid": "slug"},
    ),
    "anthropic-news": Profile("anthropic-news.html.j2", HTML_UTF8, "etag"),
    "google-ai-keyword": Profile(
        PLAIN,
        "application/xml; charset=utf-8",
        "last-modified",
        options={"dates": "offset", "media": True, "html_descriptions": True},
    ),
    "deepmind-blog": Profile(
        PLAIN,
        "application/rss+xml; charset=utf-8",
        options={"dates": "gmt"},
        link_domains=("blog.google",),
    ),
    "gemini-api-changelog": Profile(
        "gemini-api-changelog.html.j2",
        HTML_UTF8,
        "etag",
        link_domains=("developers.googleblog.com",),
    ),
    "azure-updates": Profile(
        DOTNET,
        "application/rss+xml; charset=utf-8",
        "etag",
        link_domains=("azure.microsoft.com",),
    ),
    "aws-whats-new": Profile(
        PLAIN,
        "application/rss+xml; charset=utf-8",
        "last-modified",
        options={"dates": "utc", "guid": "hash", "categories": True, "html_descriptions": True},
    ),
    "meta-llama-releases": Profile(
        GITHUB,
        "application/atom+xml; charset=utf-8",
        "etag",
        weak_etag=True,
        headers=GITHUB_HEADERS,
    ),
    "gh-openai-python": Profile(
        GITHUB,
        "application/atom+xml; charset=utf-8",
        "etag",
        weak_etag=True,
        headers=GITHUB_HEADERS,
    ),
    "gh-anthropic-sdk-python": Profile(
        GITHUB,
        "application/atom+xml; charset=utf-8",
        "etag",
        weak_etag=True,
        headers=GITHUB_HEADERS,
    ),
    "github-changelog": Profile(WORDPRESS, RSS_UTF8, "last-modified"),
    "hn-ai-regulation": Profile(
        "json-feed.json",
        "application/feed+json; charset=utf-8",
        "none",
        link_domains=("*",),
    ),
}

FAILURES: dict[str, Failure] = {
    "ofcom-news": Failure(
        404, "ofcom-404.html.j2", HTML_UTF8, {"Cache-Control": "no-cache, private"}
    ),
    "eurlex-legislation": Failure(
        202,
        "eurlex-waf-challenge.html.j2",
        "text/html; charset=UTF-8",
        {"x-amzn-waf-action": "challenge", "Cache-Control": "no-store, max-age=0"},
    ),
}
REDIRECTS: dict[str, tuple[int, str]] = {
    "eeoc-newsroom": (301, "https://www.eeoc.gov/rss/newsroom.xml"),
}
ROBOTS: dict[str, str] = {
    "https://hnrss.org/robots.txt": "robots-hnrss.txt",
    "https://www.fca.org.uk/robots.txt": "robots-fca.txt",
}
EXPECTED_OUTCOMES: dict[str, str] = {
    "ofcom-news": "404",
    "eurlex-legislation": "202",
    "eeoc-newsroom": "301→200",
    "hn-ai-regulation": "blocked by robots.txt",
}
BODY_SUFFIX = {
    "rss": "xml",
    "atom": "atom",
    "rdf": "rdf",
    "jsonfeed": "json",
    "json-api": "json",
    "html-listing": "html",
}


# --- reading the sample items ----------------------------------------------------------------


class SampleDataError(Exception):
    """An item file is wrong; the message names the file, the item and the fix."""


def parse_required_datetime(value: str, where: str) -> datetime:
    """An ISO 8601 date-time with its UTC offset, as the item files must give it."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SampleDataError(f"{where}: '{value}' is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise SampleDataError(f"{where}: '{value}' needs a UTC offset, e.g. +01:00")
    return parsed


_ITEM_KEYS = frozenset({"title", "url", "published", "summary", "story", "noise"})


def read_item(raw: Any, where: str) -> SampleItem:
    if not isinstance(raw, dict):
        raise SampleDataError(f"{where}: expected a mapping with title, url, published, summary")
    missing = [key for key in ("title", "url", "published") if not raw.get(key)]
    if missing:
        raise SampleDataError(f"{where}: missing {', '.join(missing)}")
    return SampleItem(
        title=str(raw["title"]).strip(),
        url=str(raw["url"]).strip(),
        published=parse_required_datetime(str(raw["published"]), where),
        summary=str(raw.get("summary") or "").strip(),
        story=raw.get("story"),
        noise=bool(raw.get("noise", False)),
        extra={key: value for key, value in raw.items() if key not in _ITEM_KEYS},
    )


def read_feed(source: Source) -> SampleFeed:
    path = ITEMS_DIR / f"{source.id}.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("feed"), dict):
        raise SampleDataError(f"{path}: expected 'feed' (channel text) and 'items' at the top")
    raw_items = data.get("items") or []
    builder = PROFILES[source.id].url_builder if source.id in PROFILES else None
    if builder is not None:
        raw_items = [
            raw if not isinstance(raw, dict) or raw.get("url") else {**raw, "url": builder(raw)}
            for raw in raw_items
        ]
    items = [read_item(raw, f"{path} item {number}") for number, raw in enumerate(raw_items, 1)]
    items.sort(key=lambda item: item.published, reverse=True)
    return SampleFeed(source=source, channel=data["feed"], items=tuple(items))


# --- formatting helpers used by the templates ----------------------------------------------


def rfc822(moment: datetime, style: str = "offset") -> str:
    """An RFC 822 date the way a given server writes it: own offset, GMT, +0000 or .NET's Z."""
    if style == "gmt":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    if style == "utc":
        return format_datetime(moment.astimezone(UTC))
    if style == "z":
        return format_datetime(moment.astimezone(UTC)).replace("+0000", "Z")
    return format_datetime(moment)


def iso(moment: datetime, style: str = "offset") -> str:
    if style == "z":
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()


def day_month_year(moment: datetime | date) -> str:
    return f"{moment.day} {moment:%B %Y}"


def month_day_year(moment: datetime | date, short: bool = False) -> str:
    return (
        f"{moment:%b} {moment.day}, {moment.year}"
        if short
        else (f"{moment:%B} {moment.day}, {moment.year}")
    )


def stable_number(text: str, low: int, high: int) -> int:
    """A number that looks like a CMS node id and never changes for the same URL."""
    digest = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:12], 16)
    return low + digest % (high - low)


def stable_uuid(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def stable_hex(text: str, length: int = 32) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any `]]>` so the section cannot end early."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def url_path(url: str) -> str:
    """The path-and-query part of a URL, for sites that link relatively."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def paragraphs(text: str) -> str:
    """Plain text with blank lines as HTML paragraphs (escaped), as CMS feeds emit it."""
    escaped = [str(escape(part.strip())) for part in text.split("\n\n")]
    return "".join(f"<p>{part}</p>" for part in escaped if part)


def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        rfc822=rfc822,
        iso=iso,
        dmy=day_month_year,
        mdy=month_day_year,
        node_id=lambda url: stable_number(url, 40_000, 990_000),
        uuid=stable_uuid,
        hexid=stable_hex,
        cdata=lambda text: Markup(cdata(str(text))),
        path=url_path,
        paragraphs=paragraphs,
        html_text=lambda markup: escape(str(markup)),
    )
    return environment


# --- rendering -----------------------------------------------------------------------------


def render_federal_register(feed: SampleFeed) -> str:
    """The Federal Register documents API page: `count`, `total_pages`, `next_page_url`, results."""
    agencies: Mapping[str, Mapping[str, Any]] = feed.channel["agencies"]
    results = []
    for item in feed.items:
        number = str(item.extra["document_number"])
        day = item.published.date()
        agency_rows = [
            {
                "raw_name": agencies[slug]["raw_name"],
                "name": agencies[slug]["name"],
                "id": agencies[slug]["id"],
                "url": f"https://www.federalregister.gov/agencies/{slug}",
                "json_url": f"https://www.federalregister.gov/api/v1/agencies/{agencies[slug]['id']}",
                "parent_id": agencies[slug].get("parent_id"),
                "slug": slug,
            }
            for slug in item.extra["agencies"]
        ]
        results.append(
            {
                "title": item.title,
                "type": item.extra["type"],
                "abstract": item.summary or None,
                "document_number": number,
                "html_url": item.url,
                "pdf_url": f"https://www.govinfo.gov/content/pkg/FR-{day}/pdf/{number}.pdf",
                "public_inspection_pdf_url": (
                    f"https://public-inspection.federalregister.gov/{number}.pdf?{day:%Y%m%d}"
                ),
                "publication_date": day.isoformat(),
                "agencies": agency_rows,
                "excerpts": search_excerpt(item.summary) or search_excerpt(item.title),
                "comments_close_on": item.extra.get("comments_close_on"),
                "effective_on": item.extra.get("effective_on"),
            }
        )
    page = {
        "count": feed.channel["count"],
        "description": feed.channel["description"],
        "total_pages": feed.channel["total_pages"],
        "next_page_url": feed.channel["next_page_url"],
        "results": results,
    }
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")) + "\n"


def render_json_feed(feed: SampleFeed) -> str:
    """hnrss.org's JSON Feed 1.1: one item per story, article URL plus the discussion link."""
    items = []
    for item in feed.items:
        discussion = f"https://news.ycombinator.com/item?id={item.extra['hn_id']}"
        content = (
            f'\n<p>Article URL: <a href="{item.url}">{item.url}</a></p>\n'
            f'<p>Comments URL: <a href="{discussion}">{discussion}</a></p>\n'
            f"<p>Points: {item.extra['points']}</p>\n"
            f"<p># Comments: {item.extra['comments']}</p>\n"
        )
        items.append(
            {
                "id": discussion,
                "title": item.title,
                "content_html": content,
                "url": item.url,
                "external_url": discussion,
                "date_published": iso(item.published, "z"),
                "authors": [{"name": item.extra["author"]}],
            }
        )
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.channel["title"],
        "description": feed.channel["description"],
        "home_page_url": feed.channel["link"],
        "feed_url": feed.source.url,
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent="\t") + "\n"


CODE_RENDERERS: dict[str, Callable[[SampleFeed], str]] = {
    "federal-register.json": render_federal_register,
    "json-feed.json": render_json_feed,
}


def render_body(environment: jinja2.Environment, profile: Profile, feed: SampleFeed) -> str:
    if profile.template in CODE_RENDERERS:
        return CODE_RENDERERS[profile.template](feed)
    template = environment.get_template(profile.template)
    return template.render(
        source=feed.source,
        feed=feed.channel,
        items=feed.items,
        updated=feed.newest,
        options=profile.options,
    )


def response_headers(profile: Profile, body: bytes, last_modified: datetime) -> dict[str, str]:
    headers = {"Content-Type": profile.content_type}
    if profile.validators in ("both", "etag"):
        tag = f'"{hashlib.sha1(body).hexdigest()[:20]}"'
        headers["ETag"] = f"W/{tag}" if profile.weak_etag else tag
    if profile.validators in ("both", "last-modified"):
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    headers.update(profile.headers)
    return headers


@dataclass
class Snapshot:
    """The manifest's responses and the body files that go with them."""

    responses: list[dict[str, Any]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)

    def add(
        self,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body_name: str | None = None,
        body: bytes | None = None,
        recorded_at: datetime | None = None,
    ) -> None:
        """Record one response; its Date header is the recording moment plus a second a request.
        With `recorded_at`, it is an earlier recording (a watched page's history), never served."""
        served_at = (recorded_at or RECORDED_AT) + timedelta(seconds=len(self.responses))
        response: dict[str, Any] = {
            "url": url,
            "status": status,
            "headers": {"Date": format_datetime(served_at, usegmt=True), **headers},
        }
        if recorded_at is not None:
            response["recorded_at"] = recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if body_name is not None and body is not None:
            response["body"] = f"bodies/{body_name}"
            self.bodies[body_name] = body
        self.responses.append(response)

    def manifest(self) -> dict[str, Any]:
        return {
            "recorded_at": RECORDED_AT.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sample_data": True,
            "note": NOTE,
            "responses": self.responses,
        }


def build_snapshot(sources: SourcesFile) -> Snapshot:
    environment = template_environment()
    snapshot = Snapshot()
    for robots_url, template_name in ROBOTS.items():
        text = environment.get_template(template_name).render().encode("utf-8")
        snapshot.add(
            robots_url, 200, {"Content-Type": "text/plain; charset=utf-8"}, template_name, text
        )
    items_by_url: dict[str, tuple[Source, SampleItem]] = {}
    for source in sources.sources:
        if source.kind == "page-watch":
            add_watched_page(snapshot, environment, source)
            continue
        if source.id in FAILURES:
            failure = FAILURES[source.id]
            page = environment.get_template(failure.template).render(source=source)
            name = f"{source.id}-{failure.status}.html"
            headers = {"Content-Type": failure.content_type, **failure.headers}
            snapshot.add(source.url, failure.status, headers, name, page.encode("utf-8"))
            continue
        profile = PROFILES.get(source.id)
        if profile is None:
            raise SampleDataError(f"{source.id}: no publisher profile in demo/build_snapshot.py")
        feed = read_feed(source)
        served_at = source.url
        if source.id in REDIRECTS:
            status, served_at = REDIRECTS[source.id]
            moved = environment.get_template("moved.html.j2").render(location=served_at)
            snapshot.add(
                source.url,
                status,
                {"Location": served_at, "Content-Type": "text/html; charset=iso-8859-1"},
                f"{source.id}-{status}.html",
                moved.encode("utf-8"),
            )
        body = render_body(environment, profile, feed).encode("utf-8")
        headers = response_headers(profile, body, feed.newest)
        snapshot.add(served_at, 200, headers, f"{source.id}.{BODY_SUFFIX[source.kind]}", body)
        if source.id in SCRIPT_RESOURCES:
            for url, content_type, name, resource in SCRIPT_RESOURCES[source.id](feed):
                snapshot.add(url, 200, {"Content-Type": content_type}, name, resource)
        items_by_url.update((item.url, (source, item)) for item in feed.items)
    for page in read_pages():
        source, item = linked_item(page, items_by_url)
        name, content_type, body = render_full_page(environment, page, source, item)
        headers = {
            "Content-Type": content_type,
            "Last-Modified": format_datetime(item.published.astimezone(UTC), usegmt=True),
        }
        snapshot.add(page.url, 200, headers, name, body)
    return snapshot


# --- full pages and PDFs that items link to --------------------------------------------------


@dataclass(frozen=True)
class FullPage:
    """A page or PDF an item links to, as demo/pages.yaml gives it."""

    url: str
    paragraphs: tuple[str, ...]

    @property
    def is_pdf(self) -> bool:
        return urlsplit(self.url).path.lower().endswith(".pdf")


def read_pages() -> list[FullPage]:
    data = read_yaml(PAGES_FILE)
    if not isinstance(data, dict) or not isinstance(data.get("pages"), list):
        raise SampleDataError(f"{PAGES_FILE}: expected a 'pages' list")
    pages = []
    for number, raw in enumerate(data["pages"], 1):
        if not isinstance(raw, dict) or not raw.get("url") or not raw.get("paragraphs"):
            raise SampleDataError(f"{PAGES_FILE} page {number}: needs url and paragraphs")
        paragraphs = tuple(" ".join(str(text).split()) for text in raw["paragraphs"])
        pages.append(FullPage(str(raw["url"]).strip(), paragraphs))
    return pages


def linked_item(
    page: FullPage, items_by_url: Mapping[str, tuple[Source, SampleItem]]
) -> tuple[Source, SampleItem]:
    if page.url not in items_by_url:
        raise SampleDataError(
            f"{PAGES_FILE}: {page.url} is not the link of any item in demo/items/"
        )
    return items_by_url[page.url]


def render_full_page(
    environment: jinja2.Environment, page: FullPage, source: Source, item: SampleItem
) -> tuple[str, str, bytes]:
    """The body file name, media type and bytes of an item's recorded page or PDF."""
    name = f"page-{source.id}-{stable_hex(page.url, 10)}"
    if page.is_pdf:
        return f"{name}.pdf", "application/pdf", simple_pdf(item.title, page.paragraphs)
    html = environment.get_template("article.html.j2").render(
        url=page.url,
        title=item.title,
        publisher=source.publisher,
        published=item.published,
        paragraphs=page.paragraphs,
    )
    return f"{name}.html", HTML_UTF8, html.encode("utf-8")


# --- a watched page's versions ---------------------------------------------------------------


@dataclass(frozen=True)
class PageVersion:
    """One recorded version of a watched page; `recorded_at` None is the snapshot's own."""

    recorded_at: datetime | None
    expect: str
    fields: Mapping[str, Any]


def read_versions(source: Source) -> list[PageVersion]:
    path = WATCHED_DIR / f"{source.id}.yaml"
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
        raise SampleDataError(f"{path}: expected a 'versions' list")
    versions = []
    for number, raw in enumerate(data["versions"], 1):
        where = f"{path} version {number}"
        moment = raw.get("recorded_at")
        recorded_at = parse_required_datetime(str(moment), where) if moment else None
        if recorded_at is not None and recorded_at >= RECORDED_AT:
            raise SampleDataError(f"{where}: an earlier version must predate {RECORDED_AT}")
        versions.append(PageVersion(recorded_at, str(raw.get("expect")), raw))
    if [version.recorded_at for version in versions][-1:] != [None]:
        raise SampleDataError(f"{path}: the last version must be the current one (no recorded_at)")
    return versions


def render_version(environment: jinja2.Environment, source: Source, version: PageVersion) -> bytes:
    template = environment.get_template(f"{source.id}.html.j2")
    return template.render(url=source.url, version=version.fields).encode("utf-8")


def add_watched_page(snapshot: Snapshot, environment: jinja2.Environment, source: Source) -> None:
    """Every version of a watched page: earlier ones as history, the last one served."""
    for version in read_versions(source):
        body = render_version(environment, source, version)
        moment = version.recorded_at or RECORDED_AT
        name = f"{source.id}-{moment:%Y-%m-%d}.html"
        headers = {"Content-Type": HTML_UTF8, "ETag": f'"{stable_hex(body.decode(), 20)}"'}
        snapshot.add(source.url, 200, headers, name, body, recorded_at=version.recorded_at)


# --- resources a rendered page's scripts fetch -------------------------------------------------

AI_OFFICE_SITE = "https://digital-strategy.ec.europa.eu"
AI_OFFICE_SCRIPT = "/modules/custom/dsm_listing/js/listing.bundle.js?t1zx9q"
AI_OFFICE_NEWS = (
    "/en/search-api/listing?f%5B0%5D=topic%3A327&f%5B1%5D=type%3Anews&items_per_page=10&sort=date"
)
AI_OFFICE_LIBRARY = (
    "/en/search-api/listing?f%5B0%5D=topic%3A327&f%5B1%5D=type%3Alibrary&items_per_page=6&sort=date"
)
JSON_UTF8 = "application/json; charset=utf-8"


def ai_office_resources(feed: SampleFeed) -> list[tuple[str, str, str, bytes]]:
    """The listing script and the search API answers it fetches: the list is built in the
    browser, so a plain fetch of the page finds no items."""
    news = {
        "count": len(feed.items),
        "results": [
            {
                "type": item.extra.get("type", "News article"),
                "date": item.published.date().isoformat(),
                "dateLabel": day_month_year(item.published),
                "url": url_path(item.url),
                "title": item.title,
                "teaser": item.summary,
            }
            for item in feed.items
        ],
    }
    library: dict[str, Any] = {"count": 0, "results": []}
    return [
        (
            AI_OFFICE_SITE + AI_OFFICE_SCRIPT,
            "text/javascript; charset=utf-8",
            "ec-ai-office-listing.js",
            (TEMPLATES_DIR / "ec-ai-office-listing.js").read_bytes(),
        ),
        (
            AI_OFFICE_SITE + AI_OFFICE_NEWS,
            JSON_UTF8,
            "ec-ai-office-news.json",
            (json.dumps(news, ensure_ascii=False, indent=1) + "\n").encode("utf-8"),
        ),
        (
            AI_OFFICE_SITE + AI_OFFICE_LIBRARY,
            JSON_UTF8,
            "ec-ai-office-library.json",
            (json.dumps(library) + "\n").encode("utf-8"),
        ),
    ]


SCRIPT_RESOURCES: dict[str, Callable[[SampleFeed], list[tuple[str, str, str, bytes]]]] = {
    "ec-ai-office": ai_office_resources,
}


def write_snapshot(snapshot: Snapshot, directory: Path) -> None:
    """Write the manifest and bodies; remove body files no longer in the manifest."""
    bodies_dir = directory / "bodies"
    bodies_dir.mkdir(parents=True, exist_ok=True)
    for stale in bodies_dir.iterdir():
        if stale.name not in snapshot.bodies:
            stale.unlink()
    for name, body in snapshot.bodies.items():
        (bodies_dir / name).write_bytes(body)
    manifest = json.dumps(snapshot.manifest(), ensure_ascii=False, indent=2) + "\n"
    (directory / "manifest.json").write_text(manifest, encoding="utf-8")


# --- checking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """One entry as a crawler reads it from the body: title, absolute link, date as written."""

    title: str
    link: str | None
    published: str | None


@dataclass
class SourceReport:
    source: Source
    statuses: list[int] = field(default_factory=list)
    final_url: str = ""
    robots_blocked: bool = False
    parsed: list[Parsed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def reachable(self) -> bool:
        return not self.robots_blocked and bool(self.statuses) and self.statuses[-1] == 200


class Replay:
    """Answers requests from a snapshot directory the way the replay download handler does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        self.manifest: dict[str, Any] = manifest
        self.responses = {
            canonicalize_url(response["url"]): response
            for response in manifest["responses"]
            if not response.get("recorded_at")
        }

    def get(self, url: str) -> tuple[int, dict[str, str], bytes]:
        response = self.responses.get(canonicalize_url(url))
        if response is None:
            return 404, {}, b""
        body = b""
        if response.get("body"):
            body = (self.directory / response["body"]).read_bytes()
        return int(response["status"]), dict(response.get("headers", {})), body

    def robots_allows(self, url: str, user_agent: str) -> bool:
        parts = urlsplit(url)
        status, _, body = self.get(f"{parts.scheme}://{parts.netloc}/robots.txt")
        if status != 200:
            return True
        robots = Protego.parse(body.decode("utf-8"))
        return bool(robots.can_fetch(url, user_agent))


def first_text(node: parsel.Selector, query: str | None) -> str | None:
    if not query:
        return None
    value = node.css(query).get()
    return re.sub(r"\s+", " ", value).strip() if value else None


def parse_body(source: Source, body: bytes, base_url: str) -> list[Parsed]:
    """Entries the way Horizon's parsers read this source's kind of response."""
    if source.kind in ("rss", "atom", "rdf"):
        parsed_feed = feedparser.parse(body)
        if parsed_feed.get("bozo"):
            raise ValueError(f"not well-formed: {parsed_feed.get('bozo_exception')}")
        return [
            Parsed(
                title=re.sub(r"\s+", " ", entry.get("title", "")).strip(),
                link=entry.get("link"),
                published=entry.get("published") or entry.get("updated"),
            )
            for entry in parsed_feed.entries
        ]
    if source.kind == "page-watch":
        return [Parsed(title=source.name, link=base_url, published=None)]
    if source.kind == "jsonfeed":
        document = json.loads(body)
        return [
            Parsed(record.get("title", ""), record.get("url"), record.get("date_published"))
            for record in document["items"]
        ]
    if source.kind == "json-api":
        assert source.fields is not None
        records: Any = json.loads(body)
        for key in source.fields.items.split("."):
            records = records[key]
        return [
            Parsed(
                title=dig(record, source.fields.title) or "",
                link=dig(record, source.fields.url),
                published=dig(record, source.fields.published),
            )
            for record in records
        ]
    assert source.selectors is not None
    page = parsel.Selector(text=body.decode("utf-8"), base_url=base_url)
    selectors = source.selectors
    return [
        Parsed(
            title=first_text(node, selectors.title) or "",
            link=first_text(node, selectors.link),
            published=first_text(node, selectors.date),
        )
        for node in page.css(selectors.item)
    ]


def rendered_listing(
    replay: Replay, source: Source, body: bytes, url: str, report: SourceReport
) -> list[Parsed]:
    """The entries of a page whose list its script builds: the page itself must list nothing
    (else render: true is not needed), and the search API answers its script fetches must."""
    if report.parsed:
        report.problems.append("the page lists items without JavaScript; render: true is unused")
    page = parsel.Selector(text=body.decode("utf-8"), base_url=url)
    if not page.css("script[src]"):
        report.problems.append("the rendered page has no script to build its list")
    entries = []
    for listing in page.css(".dsm-listing[data-listing-source]"):
        address = urljoin(url, listing.attrib["data-listing-source"])
        status, _, answer = replay.get(address)
        if status != 200:
            report.problems.append(f"the listing data {address} answers {status}")
            continue
        entries += [
            Parsed(result["title"], result["url"], result["date"])
            for result in json.loads(answer)["results"]
        ]
    return entries


def check_watched_page(replay: Replay, source: Source) -> list[str]:
    """Each recorded version, compared with the one before it as horizon.watch compares them,
    must give what its `expect` says (baseline, changed, noise-only)."""
    recorded = sorted(
        (
            response
            for response in replay.manifest["responses"]
            if canonicalize_url(response["url"]) == canonicalize_url(source.url)
        ),
        key=lambda response: response.get("recorded_at") or "9999",
    )
    versions = read_versions(source)
    if len(recorded) != len(versions):
        return [f"{len(recorded)} recordings of {source.url}, {len(versions)} versions"]
    problems, previous = [], None
    for version, response in zip(versions, recorded, strict=True):
        body = (replay.directory / response["body"]).read_bytes()
        text = watched_text(body, HTML_UTF8, source.watch_selector, FullTextCaps())
        if previous is None:
            found = "baseline"
        elif page_diff(previous, text) is not None:
            found = "changed"
        else:
            found = "noise-only" if text != previous else "unchanged"
        if found != version.expect:
            moment = version.recorded_at or RECORDED_AT
            problems.append(
                f"version of {moment:%Y-%m-%d} compares as {found}, not {version.expect}"
            )
        previous = text
    print(
        f"  {source.id}: {len(versions)} versions — "
        + ", ".join(version.expect for version in versions)
    )
    return problems


def check_full_pages(
    replay: Replay, reports: Sequence[SourceReport], feeds: Mapping[str, SampleFeed]
) -> list[str]:
    """Every recorded page must be read the way enrichment reads it (horizon.enrich), and be
    the link of an item that a polite crawl reaches within the per-source budget."""
    followed = {
        item.url: report.source.id
        for report in reports
        if report.reachable and report.source.id in feeds
        for item in feeds[report.source.id].items[: FullTextCaps().per_source]
    }
    problems: list[str] = []
    kinds: Counter[str] = Counter()
    sources_with_pages = set()
    for page in read_pages():
        if page.url not in followed:
            problems.append(f"{page.url}: no reachable item within the budget links to it")
            continue
        sources_with_pages.add(followed[page.url])
        status, headers, body = replay.get(page.url)
        try:
            extracted = extract_text(body, headers.get("Content-Type"), FullTextCaps())
        except ExtractionError as error:
            problems.append(f"{page.url}: answers {status} and gives no text ({error})")
            continue
        kinds[extracted.kind] += 1
        if page.paragraphs[-1][:60] not in " ".join(extracted.text.split()):
            problems.append(f"{page.url}: the extracted text lacks the page's last paragraph")
    print(
        f"\nFull pages linked by items: {kinds['html']} HTML pages and {kinds['pdf']} PDFs, "
        f"from {len(sources_with_pages)} sources"
    )
    if kinds["html"] + kinds["pdf"] < MIN_FULL_PAGES or kinds["pdf"] < MIN_PDFS:
        problems.append(f"{MIN_FULL_PAGES} full pages and {MIN_PDFS} PDFs wanted")
    return problems


def dig(record: Any, dotted: str | None) -> str | None:
    if not dotted:
        return None
    value = record
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else str(value)


def fetch_like_a_crawl(replay: Replay, source: Source, user_agent: str) -> SourceReport:
    report = SourceReport(source=source)
    url = source.url
    for _ in range(5):
        if not replay.robots_allows(url, user_agent):
            report.robots_blocked = True
            report.final_url = url
            return report
        status, headers, body = replay.get(url)
        report.statuses.append(status)
        if status in (301, 302, 303, 307, 308) and "Location" in headers:
            url = urljoin(url, headers["Location"])
            continue
        report.final_url = url
        if status == 200:
            try:
                report.parsed = parse_body(source, body, url)
                if source.render:
                    report.parsed = rendered_listing(replay, source, body, url, report)
            except (ValueError, KeyError, TypeError) as error:
                report.problems.append(f"body does not parse as {source.kind}: {error}")
        return report
    report.problems.append("more than 4 redirects")
    return report


def compare(report: SourceReport, feed: SampleFeed) -> None:
    """Every parsed entry must match the item it was rendered from: title, link and date."""
    if len(report.parsed) != len(feed.items):
        report.problems.append(
            f"parsed {len(report.parsed)} entries but the item file has {len(feed.items)}"
        )
        return
    date_only = report.source.kind == "html-listing" or report.source.kind == "json-api"
    for number, (parsed, item) in enumerate(zip(report.parsed, feed.items, strict=True), 1):
        where = f"item {number} ({item.title[:40]}…)"
        if parsed.title != re.sub(r"\s+", " ", item.title):
            report.problems.append(f"{where}: title parsed as {parsed.title!r}")
        link = urljoin(report.final_url, parsed.link) if parsed.link else None
        if link != item.url:
            report.problems.append(f"{where}: link parsed as {link!r}")
        moment = parse_datetime(parsed.published, now=RECORDED_AT)
        if moment is None:
            report.problems.append(f"{where}: date {parsed.published!r} does not parse")
        elif date_only and moment.date() != item.published.date():
            report.problems.append(f"{where}: date parsed as {moment.date()}")
        elif not date_only and moment != item.published:
            report.problems.append(f"{where}: date parsed as {moment.isoformat()}")


def site_host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def link_problems(feed: SampleFeed, profile: Profile) -> list[str]:
    """Item links must sit on the publisher's own domain (or one the profile names)."""
    allowed = (site_host(feed.source.url), *profile.link_domains)
    if "*" in allowed:
        return []
    problems = []
    for item in feed.items:
        host = urlsplit(item.url).hostname or ""
        if not any(host == domain or host.endswith("." + domain) for domain in allowed):
            problems.append(f"link {item.url} is not on {', '.join(allowed)}")
    return problems


def iso_week(moment: datetime) -> tuple[int, int]:
    calendar = moment.astimezone(UTC).isocalendar()
    return calendar.year, calendar.week


def week_label(week: tuple[int, int]) -> str:
    return f"{week[0]}-W{week[1]:02d}"


def in_window(week: tuple[int, int]) -> bool:
    return FIRST_WEEK <= week <= LAST_WEEK


def directory_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def outcome_label(report: SourceReport) -> str:
    """What a crawl of this source ends with, in the words EXPECTED_OUTCOMES uses."""
    if report.robots_blocked:
        return "blocked by robots.txt"
    label = "→".join(str(code) for code in report.statuses) or "no response"
    if report.statuses[-1:] == [200] and not report.parsed:
        label += " with no items"
    return label


def check(sources: SourcesFile, directory: Path) -> int:
    """Read the snapshot back like a crawl; print counts; return the number of problems."""
    replay = Replay(directory)
    problems: list[str] = []
    if replay.manifest.get("recorded_at") != "2025-09-15T06:00:00Z":
        problems.append("manifest: recorded_at must be 2025-09-15T06:00:00Z")
    reports: list[SourceReport] = []
    feeds: dict[str, SampleFeed] = {}
    for source in sources.sources:
        report = fetch_like_a_crawl(replay, source, sources.crawl.user_agent)
        reports.append(report)
        expected = EXPECTED_OUTCOMES.get(source.id, "200")
        if outcome_label(report) != expected:
            report.problems.append(f"ends with {outcome_label(report)!r}, expected {expected!r}")
        if source.id in PROFILES:
            feed = read_feed(source)
            feeds[source.id] = feed
            if report.statuses[-1:] == [200] and not report.robots_blocked:
                compare(report, feed)
            report.problems.extend(link_problems(feed, PROFILES[source.id]))
        problems.extend(f"{source.id}: {problem}" for problem in report.problems)

    reachable = {report.source.id for report in reports if report.reachable}
    print_source_table(reports, feeds)
    print("\nWatched pages (compared with horizon.watch):")
    for source in sources.sources:
        if source.kind == "page-watch":
            problems.extend(f"{source.id}: {p}" for p in check_watched_page(replay, source))
    problems.extend(check_full_pages(replay, reports, feeds))
    problems.extend(print_weeks(reports))
    window_items = [
        item
        for source_id, feed in feeds.items()
        if source_id in reachable
        for item in feed.items
        if in_window(iso_week(item.published))
    ]
    noise = sum(1 for item in window_items if item.noise)
    share = noise / len(window_items) if window_items else 0.0
    print(
        f"  everyday items with no AI-governance angle: {noise} of {len(window_items)} "
        f"({share:.0%})"
    )
    if len(window_items) < MIN_ITEMS:
        problems.append(f"only {len(window_items)} items in the window; {MIN_ITEMS} wanted")
    if not 0.35 <= share <= 0.45:
        problems.append(f"noise share {share:.0%} is outside 35–45 %")

    shared = {
        story: ids
        for story, ids in story_sources(feeds.values(), reachable).items()
        if len(ids) >= 2
    }
    print(f"\nStories reported by two or more reachable sources: {len(shared)}")
    if len(shared) < 40:
        problems.append(f"only {len(shared)} stories come from two or more sources; 40 wanted")
    problems.extend(url_collision_problems(feeds.values()))
    print(
        f"Pages linked by more than one source under different URLs (tracking parameters): "
        f"{tracking_duplicates(feeds.values())}"
    )
    size = directory_bytes(DEMO_DIR)
    print(f"demo/ size: {size / 1_000_000:.2f} MB")
    if size > MAX_DEMO_BYTES:
        problems.append(f"demo/ is {size} bytes; keep it under {MAX_DEMO_BYTES}")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print("\nNo problems found.")
    return len(problems)


def parsed_weeks(report: SourceReport) -> list[tuple[int, int]]:
    """ISO weeks of the entries as the parser dates them (date-only pages count as midnight UTC)."""
    return [
        iso_week(moment)
        for entry in report.parsed
        if (moment := parse_datetime(entry.published, now=RECORDED_AT)) is not None
    ]


def print_source_table(reports: Sequence[SourceReport], feeds: Mapping[str, SampleFeed]) -> None:
    print(
        f"{'source':26} {'kind':12} {'outcome':24} {'items':>5} {'window':>6} {'W37':>4} "
        f"{'noise':>5}"
    )
    for report in reports:
        feed = feeds.get(report.source.id)
        weeks = [week for week in parsed_weeks(report) if in_window(week)]
        found = len(report.parsed) if not report.robots_blocked else len(feed.items if feed else ())
        noise = sum(1 for item in feed.items if item.noise) if feed else 0
        w37 = weeks.count(LAST_WEEK)
        print(
            f"{report.source.id:26} {report.source.kind:12} {outcome_label(report):24} "
            f"{found:5} {len(weeks):6} {w37:4} {noise:5}"
        )


def print_weeks(reports: Sequence[SourceReport]) -> list[str]:
    """Per-week totals of what a polite crawl gets; a problem for every empty week."""
    counts: Counter[tuple[int, int]] = Counter()
    outside = 0
    for report in reports:
        if report.reachable:
            weeks = parsed_weeks(report)
            counts.update(week for week in weeks if in_window(week))
            outside += sum(1 for week in weeks if not in_window(week))
    print("\nItems a crawl of this snapshot gets, by ISO week of publication:")
    problems = []
    monday = date.fromisocalendar(*FIRST_WEEK, 1)
    while (monday.isocalendar().year, monday.isocalendar().week) <= LAST_WEEK:
        week = (monday.isocalendar().year, monday.isocalendar().week)
        print(
            f"  {week_label(week)} ({monday:%d %b}–{monday + timedelta(days=6):%d %b}): "
            f"{counts[week]}"
        )
        if counts[week] == 0:
            problems.append(f"week {week_label(week)} has no items")
        monday += timedelta(weeks=1)
    print(
        f"  total in the window: {sum(counts.values())}; older entries (catalogue rows, "
        f"old releases): {outside}"
    )
    return problems


def story_sources(feeds: Iterable[SampleFeed], reachable: set[str]) -> dict[str, set[str]]:
    stories: dict[str, set[str]] = defaultdict(set)
    for feed in feeds:
        if feed.source.id not in reachable:
            continue
        for item in feed.items:
            if item.story:
                stories[item.story].add(feed.source.id)
    return stories


def url_collision_problems(feeds: Iterable[SampleFeed]) -> list[str]:
    """A canonical URL may repeat across sources only for reports of one story."""
    seen: dict[str, tuple[str, SampleItem]] = {}
    problems = []
    for feed in feeds:
        for item in feed.items:
            key = canonical_url(item.url) or item.url
            if key in seen:
                other_source, other = seen[key]
                same_story = item.story is not None and item.story == other.story
                if other_source == feed.source.id or not same_story:
                    problems.append(
                        f"{feed.source.id}: {item.url} is also the link of "
                        f"{other_source}'s '{other.title[:50]}'"
                    )
            else:
                seen[key] = (feed.source.id, item)
    return problems


def tracking_duplicates(feeds: Iterable[SampleFeed]) -> int:
    by_canonical: dict[str, set[str]] = defaultdict(set)
    for feed in feeds:
        for item in feed.items:
            by_canonical[canonical_url(item.url) or item.url].add(item.url)
    return sum(1 for urls in by_canonical.values() if len(urls) > 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="verify the snapshot instead of rebuilding it"
    )
    parser.add_argument(
        "--snapshot", type=Path, default=SNAPSHOT_DIR, help="snapshot directory (%(default)s)"
    )
    arguments = parser.parse_args(argv)
    try:
        sources = load_sources(SOURCES_FILE)
        if arguments.check:
            return 1 if check(sources, arguments.snapshot) else 0
        snapshot = build_snapshot(sources)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    except (SampleDataError, jinja2.TemplateError) as error:
        print(f"cannot build the snapshot: {error}", file=sys.stderr)
        return 2
    write_snapshot(snapshot, arguments.snapshot)
    print(
        f"wrote {len(snapshot.responses)} responses and {len(snapshot.bodies)} bodies to "
        f"{arguments.snapshot}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
