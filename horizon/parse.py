"""Parsers: from one response body to the entries a publisher listed in it.

Pure functions, one per kind of source, chosen by `parse_response`. They accept what publishers
really serve (byte-order marks, legacy encodings, stray whitespace before the XML declaration,
wrong namespaces) and refuse what is not a feed at all with a `ParseError` in plain words. XML
entity declarations are never expanded, so a hostile feed cannot blow up memory or read files.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8
from parsel import Selector
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, to_unicode

from horizon.config import FEED_KINDS, JsonApiFields, ListingSelectors, Source
from horizon.enrich.model import FullTextCaps
from horizon.item import Entry
from horizon.watch import WatchError, watched_text

MAX_BODY_BYTES = 16 * 1024 * 1024
FALLBACK_TITLE_CHARS = 120

_HTML_PAGE_MESSAGE = (
    "the response is an HTML page, not a feed — the source may be behind a bot challenge "
    "or the feed has moved"
)
_WHITESPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_XML_MEDIA_TYPE = re.compile(
    r"^\s*(application/([\w.+-]+\+)?xml|text/([\w.+-]+\+)?xml)\s*(;|$)", re.I
)
_HTML_START = re.compile(rb"(<!doctype\s+html|<html|<head|<body)", re.I)
_PROLOG_SKIP = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.S)
_DOCTYPE_HEAD = re.compile(
    rb"<!DOCTYPE\s+([^\s\[>]+)((?:\s+(?:SYSTEM|PUBLIC))?(?:\s+(?:\"[^\"]*\"|'[^']*'))*)\s*",
    re.S | re.I,
)
_DTD_DECLARATION = re.compile(
    rb"\s+|<!--.*?-->|<\?.*?\?>|%[\w.:-]+;|<!(?:ENTITY|ELEMENT|ATTLIST|NOTATION)"
    rb"(?:[^\"'>]|\"[^\"]*\"|'[^']*')*>",
    re.S,
)
_CHARACTER_ENTITY = re.compile(
    rb"<!ENTITY\s+[A-Za-z_][\w.-]*\s+"
    rb"(\"&#(?:[0-9]+|x[0-9a-fA-F]+);\"|'&#(?:[0-9]+|x[0-9a-fA-F]+);')\s*>"
)
_DOCTYPE_END = re.compile(rb"\s*>")
_MALFORMED_DOCTYPE = (
    "the feed starts with a malformed document type declaration (<!DOCTYPE …>), which Horizon "
    "does not read, for safety — the publisher's feed is broken"
)


class ParseError(ValueError):
    """The body cannot be read as the source's kind; the message says why, in plain words."""


def parse_response(
    source: Source,
    body: bytes,
    content_type: str | None,
    url: str,
    warnings: list[str] | None = None,
) -> list[Entry]:
    """The entries in one response from `source`, parsed as the source's kind declares.

    An empty list means the response was readable but listed nothing; anything unreadable
    raises `ParseError`. Problems that did not stop the parse (a feed cut short after some
    entries, a page in another encoding than it claims) are appended to `warnings`.
    """
    _check_size(body)
    if not body.strip():
        raise ParseError("the response was empty — the server sent no content")
    if source.kind in FEED_KINDS:
        return parse_feed(body, content_type, url, warnings)
    if source.kind == "jsonfeed":
        return parse_json_feed(body, url)
    if source.kind == "json-api":
        assert source.fields is not None  # guaranteed by Source validation
        return parse_json_api(body, source.fields, url)
    if source.kind == "page-watch":
        return parse_watched_page(source, body, content_type, url)
    assert source.selectors is not None  # guaranteed by Source validation
    return parse_html_listing(body, content_type, source.selectors, url, warnings)


def parse_watched_page(
    source: Source, body: bytes, content_type: str | None, url: str
) -> list[Entry]:
    """A watched page as one entry whose summary is the text compared (horizon.watch)."""
    try:
        text = watched_text(body, content_type, source.watch_selector, FullTextCaps())
    except WatchError as error:
        raise ParseError(str(error)) from error
    return [Entry(title=source.name, url=url, summary_html=text)]


def parse_feed(
    body: bytes, content_type: str | None, url: str, warnings: list[str] | None = None
) -> list[Entry]:
    """Entries of an RSS (0.9x, 1.0/RDF, 2.0) or Atom feed, read with feedparser.

    A feed that breaks off (or is otherwise not well-formed) after some entries gives those
    entries, and says so in `warnings`, as feedparser's `bozo` flag does.
    """
    _check_size(body)
    safe_body, parsed = _read_feed(body, content_type, url)
    entries = [entry for raw in parsed.entries if (entry := _feed_entry(raw, url)) is not None]
    if entries or parsed.entries:
        if parsed.bozo and warnings is not None:
            warnings.append(
                f"the feed is not well-formed XML ({_describe(parsed.get('bozo_exception'))}), "
                f"so it may be cut short or broken: {len(entries)} entries were read, and any "
                "after the fault are missing — try again later or tell the publisher"
            )
        return entries
    if _looks_like_html(safe_body):
        raise ParseError(_HTML_PAGE_MESSAGE)
    if _looks_like_json(body):
        raise ParseError(
            "the response is JSON, not an RSS or Atom feed — if the source publishes a JSON "
            "Feed set its kind to jsonfeed, otherwise the address may now serve an API error"
        )
    if parsed.bozo:
        raise ParseError(
            f"the feed is not well-formed XML ({_describe(parsed.get('bozo_exception'))}) and "
            "no entries could be read from it — the publisher's feed is broken or cut short; "
            "try again later or tell the publisher"
        )
    if not parsed.get("version"):
        raise ParseError(
            "the response is XML but not an RSS, Atom or RDF feed — the address may point at "
            "another kind of document; check the source's url"
        )
    return []


def feed_next_link(body: bytes, content_type: str | None, url: str) -> str | None:
    """The feed's `<link rel="next">` (a paged feed, RFC 5005), read as safely as its entries."""
    try:
        _, parsed = _read_feed(body, content_type, url)
    except ParseError:
        return None
    links = parsed.feed.get("links", []) if parsed.get("feed") else []
    return next((link.get("href") for link in links if link.get("rel") == "next"), None)


def _read_feed(body: bytes, content_type: str | None, url: str) -> tuple[bytes, Any]:
    """The feed as UTF-8 with its DTD defused, and feedparser's reading of it."""
    headers = {"content-type": _feed_content_type(content_type), "content-location": url}
    utf8_body = convert_to_utf8(headers, _tidy_feed_start(body), {})
    safe_body = _defuse_doctype(utf8_body)
    parsed = feedparser.parse(
        io.BytesIO(safe_body),
        response_headers={
            "content-type": "application/xml; charset=utf-8",
            "content-location": url,
        },
    )
    return safe_body, parsed


def parse_json_feed(body: bytes, url: str) -> list[Entry]:
    """Entries of a JSON Feed (version 1.0 or 1.1)."""
    document = _load_json(body)
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ParseError(
            "the JSON has no 'items' list, so it is not a JSON Feed — the address may now serve "
            "something else; check the source's url"
        )
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = _text(item.get("url")) or _text(item.get("external_url"))
        summary = _json_feed_summary(item)
        entry = _make_entry(
            title=_text(item.get("title")),
            url=urljoin(url, link) if link else None,
            summary_html=summary,
            published=_text(item.get("date_published")) or _text(item.get("date_modified")),
            guid=_text(item.get("id")),
        )
        if entry is not None:
            entries.append(entry)
    return entries


def parse_json_api(body: bytes, fields: JsonApiFields, url: str) -> list[Entry]:
    """Entries of a JSON API response, each field found by its dotted path in `fields`.

    APIs mix plain text and HTML in their strings, so the summary is passed on as served.
    """
    document = _load_json(body)
    records = lookup_path(document, fields.items)
    if records is None:
        raise ParseError(
            f"the JSON has nothing at '{fields.items}' ({_describe_shape(document)}) — the API "
            "may have answered with an error or changed its format; check the source's "
            "fields.items"
        )
    if not isinstance(records, list):
        raise ParseError(
            f"'{fields.items}' in the JSON holds {type(records).__name__}, not a list of records "
            "— check the source's fields.items"
        )
    entries = []
    for record in records:
        link = _field(record, fields.url)
        entry = _make_entry(
            title=_field(record, fields.title),
            url=urljoin(url, link) if link else None,
            summary_html=_field(record, fields.summary) or "",
            published=_field(record, fields.published),
            guid=_field(record, fields.id),
            deadline=_field(record, fields.deadline),
            effective=_field(record, fields.effective),
        )
        if entry is not None:
            entries.append(entry)
    return entries


def parse_html_listing(
    body: bytes,
    content_type: str | None,
    selectors: ListingSelectors,
    url: str,
    warnings: list[str] | None = None,
) -> list[Entry]:
    """Entries of an HTML listing page, one per node matching `selectors.item`."""
    _check_size(body)
    text = decode_html(body, content_type, warnings)
    page = Selector(text=text, type="html", base_url=url, huge_tree=False)
    nodes = _css(page, selectors.item, "item")
    entries = []
    for node in nodes:
        link = _first(_css_values(node, selectors.link, "link"))
        entry = _make_entry(
            title=_joined(_css_values(node, selectors.title, "title")),
            url=urljoin(url, link) if link else None,
            summary_html=html.escape(
                _joined(_css_values(node, selectors.summary, "summary")) or "", quote=False
            ),
            published=_first(_css_values(node, selectors.date, "date")),
        )
        if entry is not None:
            entries.append(entry)
    return entries


def decode_html(body: bytes, content_type: str | None, warnings: list[str] | None = None) -> str:
    """The page's text, in the encoding it declares (header, then <meta>) when its bytes fit.

    Publishers' servers often label every page UTF-8, whatever its real encoding. Bytes that
    are not valid in the declared encoding are read by the page's own <meta> declaration, or
    else as windows-1252 (what browsers assume), and the mismatch is added to `warnings`,
    rather than stored as replacement characters ("R�sum�").
    """
    encoding, text = html_to_unicode(content_type, body)
    if "\ufffd" not in text or _fits(body, encoding):
        return text
    declared = html_body_declared_encoding(body)
    fallback = declared if declared and declared != encoding and _fits(body, declared) else None
    chosen = fallback or "cp1252"
    if warnings is not None:
        how = "as its <meta> tag declares" if fallback else "as windows-1252, as browsers do"
        warnings.append(
            f"the page is labelled {encoding} but its bytes are not valid {encoding}; it was "
            f"read {how} — check the titles, and tell the publisher its server mislabels it"
        )
    return to_unicode(body, chosen)


def _fits(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def lookup_path(document: Any, path: str) -> Any:
    """The value at a dotted path (`results`, `data.items`, `agencies.0.name`), or None.

    Empty path segments are skipped, so an empty path names the document itself.
    """
    node = document
    for part in path.split("."):
        if not part:
            continue
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _field(record: Any, path: str | None) -> str | None:
    return _text(lookup_path(record, path)) if path else None


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise ParseError(
            f"the response is {len(body) / 1_048_576:.1f} MB, more than the "
            f"{MAX_BODY_BYTES // 1_048_576} MB Horizon reads from one source — check that the "
            "address points at a feed or listing page, not a data dump"
        )


def _feed_content_type(content_type: str | None) -> str:
    """The content type to decode a feed by: the server's when it names an XML type.

    A feed labelled text/html or text/plain comes from a misconfigured server whose charset
    label cannot be trusted either, so the document's own declaration decides instead.
    """
    if content_type and _XML_MEDIA_TYPE.match(content_type):
        return content_type
    return "application/xml"


def _tidy_feed_start(body: bytes) -> bytes:
    """Remove what real publishers put before the XML declaration that XML forbids."""
    bom = codecs.BOM_UTF8 if body.startswith(codecs.BOM_UTF8) else b""
    rest = body[len(bom) :]
    if b"\x00" in rest[:4]:
        return body
    rest = rest.lstrip(b" \t\r\n\f")
    if rest.startswith(b"<?phpxml"):
        rest = b"<?xml" + rest[len(b"<?phpxml") :]
    return bom + rest


def _defuse_doctype(data: bytes) -> bytes:
    """The document with its DTD reduced to single-character entities.

    Entity declarations are what billion-laughs, quadratic-blowup and external-entity attacks
    need; a feed never needs more than character entities such as `&#160;`.
    """
    position = 0
    while match := _PROLOG_SKIP.match(data, position):
        position = match.end()
    head = _DOCTYPE_HEAD.match(data, position)
    if head is None:
        return data
    cursor = head.end()
    kept: list[bytes] = []
    if data[cursor : cursor + 1] == b"[":
        cursor += 1
        while declaration := _DTD_DECLARATION.match(data, cursor):
            if _CHARACTER_ENTITY.fullmatch(declaration.group()):
                kept.append(declaration.group())
            cursor = declaration.end()
        if data[cursor : cursor + 1] != b"]":
            raise ParseError(_MALFORMED_DOCTYPE)
        cursor += 1
    closing = _DOCTYPE_END.match(data, cursor)
    if closing is None:
        raise ParseError(_MALFORMED_DOCTYPE)
    subset = b" [" + b"".join(kept) + b"]" if kept else b""
    doctype = b"<!DOCTYPE " + head.group(1) + head.group(2) + subset + b">"
    return data[:position] + doctype + data[closing.end() :]


def _looks_like_html(data: bytes) -> bool:
    position = 0
    while match := _PROLOG_SKIP.match(data, position):
        position = match.end()
    return _HTML_START.match(data, position) is not None


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1] in (b"{", b"[")


def _feed_entry(raw: Mapping[str, Any], base_url: str) -> Entry | None:
    content = raw.get("content") or []
    summary = raw.get("summary") or (content[0].get("value") if content else "") or ""
    link = raw.get("link") or _http_url(raw.get("id"))
    return _make_entry(
        title=raw.get("title"),
        url=urljoin(base_url, link) if link else None,
        summary_html=summary,
        published=_feed_date(raw),
        guid=raw.get("id"),
    )


def _feed_date(raw: Mapping[str, Any]) -> str | None:
    """The date as the feed wrote it; ISO 8601 UTC when feedparser kept only a parsed form."""
    for key in ("published", "updated", "created"):
        # dict.get: feedparser's own get() aliases a missing "updated" to "published" and warns
        written = dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)
        if isinstance(written, str) and written.strip():
            return written.strip()
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(raw, key) if isinstance(raw, dict) else raw.get(key)
        if isinstance(parsed, time.struct_time):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)
    return None


def _json_feed_summary(item: Mapping[str, Any]) -> str:
    plain_summary = _text(item.get("summary"))
    if plain_summary:
        return html.escape(plain_summary, quote=False)
    content_html = _text(item.get("content_html"))
    if content_html:
        return content_html
    return html.escape(_text(item.get("content_text")) or "", quote=False)


def _make_entry(
    *,
    title: str | None,
    url: str | None,
    summary_html: str,
    published: str | None,
    guid: str | None = None,
    deadline: str | None = None,
    effective: str | None = None,
) -> Entry | None:
    """An entry, titled from its summary when the publisher gave no title; None when empty."""
    clean_title = _collapse(title)
    if not clean_title:
        clean_title = _shorten(_collapse(html.unescape(_TAG.sub(" ", summary_html))))
    if not clean_title:
        return None
    return Entry(
        title=clean_title,
        url=url.strip() if url else None,
        summary_html=summary_html.strip(),
        published=published,
        guid=guid,
        deadline=deadline,
        effective=effective,
    )


def _load_json(body: bytes) -> Any:
    _check_size(body)
    if _looks_like_html(body.lstrip(codecs.BOM_UTF8)):
        raise ParseError(
            "the response is an HTML page, not JSON — the source may be behind a bot challenge "
            "or its address has changed"
        )
    try:
        return json.loads(body)
    except RecursionError:
        raise ParseError("the JSON is nested too deeply to read safely") from None
    except ValueError as error:
        raise ParseError(
            f"the response is not valid JSON ({error}) — it is broken or cut short; try again later"
        ) from None


def _css(selector: Selector, css: str, role: str) -> list[Selector]:
    try:
        return list(selector.css(css))
    except (ValueError, SyntaxError) as error:
        raise ParseError(
            f"the {role} selector '{css}' is not valid CSS ({error}) — fix it in sources.yaml"
        ) from None


def _css_values(node: Selector, css: str | None, role: str) -> list[str]:
    """Strings a selector picks: text or attribute values as written, or an element's text."""
    if not css:
        return []
    values = []
    for match in _css(node, css, role):
        value = match.get() if isinstance(match.root, str) else match.xpath("string()").get()
        if value and value.strip():
            values.append(value.strip())
    return values


def _text(value: Any) -> str | None:
    """A scalar JSON value as text; lists of scalars joined; anything else is no value."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        parts = [text for element in value if (text := _text(element))]
        return " ".join(parts) or None
    return None


def _http_url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def _collapse(text: str | None) -> str:
    return _WHITESPACE.sub(" ", text).strip() if text else ""


def _joined(values: list[str]) -> str:
    return _collapse(" ".join(values))


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _shorten(text: str) -> str:
    if len(text) <= FALLBACK_TITLE_CHARS:
        return text
    cut = text[:FALLBACK_TITLE_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


def _describe(error: object) -> str:
    return str(error) if error else "unknown problem"


def _describe_shape(document: Any) -> str:
    if isinstance(document, dict):
        keys = ", ".join(sorted(str(key) for key in document)[:8])
        return f"its top-level keys are: {keys}" if keys else "it is an empty object"
    return f"it is a {type(document).__name__}"
