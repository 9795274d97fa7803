"""Normalise: from what a publisher served to a clean, comparable `Item`.

Clean text from HTML (BeautifulSoup), a canonical URL with tracking parameters stripped, the
published date in UTC, a stable id and a content hash. Pure functions only.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from dateparser.date import DateDataParser

from horizon.config import Source
from horizon.item import Entry, Item, Precision

# Longest value kept per field; longer ones are cut and the cut is reported (a hostile or broken
# feed once served a 1 MB title). A summary is for reading and ranking: the embedding model
# reads only its first few hundred words anyway.
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 4000
MAX_PUBLISHER_CHARS = 200
MAX_URL_CHARS = 2048
MAX_ID_CHARS = 200
MAX_DATE_CHARS = 100  # no date is written longer; dateparser is slow on long text
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "igshid",
        "ref",
        "ref_src",
        "cmpid",
        "ncid",
        "sr_share",
        "s_cid",
        "spm",
        "src",
        "at_medium",
        "at_campaign",
        "at_link",
        "at_ptr",
        "wt.mc_id",
        "cid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "oly_")
_WHITESPACE = re.compile(r"\s+")
_DEFAULT_PORT = {"http": 80, "https": 443}
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f]")  # percent-encoded, so that no URL ends in a space
_DATE_PARSER = DateDataParser(
    languages=["en", "fr", "de"],
    settings={
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DAY_OF_MONTH": "first",
        "PREFER_DATES_FROM": "past",
    },
)


def clean_text(markup: str | None) -> str:
    """Visible text of an HTML fragment (or plain text), whitespace collapsed."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return _WHITESPACE.sub(" ", markup).strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    return _WHITESPACE.sub(" ", soup.get_text(" ")).strip()


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The URL two reports of one page share: lower-case scheme and host, no default port, no
    fragment, no tracking parameters, remaining parameters sorted, no trailing slash on a path.

    The scheme is kept as the publisher served it: an `http` page is not rewritten to `https`,
    which the publisher may not serve at all (the digest links to this URL)."""
    if not url or not url.strip():
        return None
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
    except ValueError:
        return None  # an unbalanced IPv6 bracket or a port that is not a number 0-65535
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORT[scheme]:
        host = f"{host}:{port}"
    path = _UNSAFE_IN_PATH.sub(lambda m: quote(m.group()), re.sub(r"/{2,}", "/", parts.path)) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, path, urlencode(sorted(query)), ""))


def parse_datetime(value: str | None, now: datetime | None = None) -> datetime | None:
    """A date or date-time as publishers write it (ISO 8601, RFC 822, "12 September 2025"),
    in UTC. Unparseable values and dates implausibly far in the future give None."""
    return parse_published(value, now)[0]


def parse_published(
    value: str | None, now: datetime | None = None
) -> tuple[datetime | None, Precision]:
    """Like `parse_datetime`, also saying how precise the written date was: "2025-05" or
    "May 2025" is a month, "2025" a year. Partial dates start at the period's first day."""
    if not value or not value.strip() or len(value) > MAX_DATE_CHARS:
        return None, "day"
    text = value.strip()
    precision: Precision = "day"
    parsed = _parse_iso(text) or _parse_rfc822(text)
    if parsed is None:
        data = _DATE_PARSER.get_date_data(text)
        parsed, period = data.date_obj, data.period or "day"
        if parsed is not None and period in ("month", "year"):
            precision = "month" if period == "month" else "year"
            parsed = parsed.replace(month=1 if period == "year" else parsed.month, day=1)
    if parsed is None:
        return None, "day"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 or year 9999 at -14:00 has no UTC date
        return None, "day"
    reference = now or datetime.now(UTC)
    if parsed.year > reference.year + 1:
        return None, "day"
    return parsed, precision


def parse_date(value: str | None) -> date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _parse_rfc822(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def content_hash(title: str, summary: str) -> str:
    """Changes exactly when the text a reader sees changes (whitespace aside)."""
    text = f"{_WHITESPACE.sub(' ', title).strip()}\n{_WHITESPACE.sub(' ', summary).strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def derive_item_id(url: str | None, *fallback_parts: str) -> str:
    """Stable id from the canonical URL, or from the given parts when there is no URL."""
    basis = url if url else "\x1f".join(fallback_parts)
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16]


def capped(field: str, text: str, limit: int, notes: list[str] | None) -> str:
    """`text` cut to `limit` characters; a cut is added to `notes` in plain words."""
    if len(text) <= limit:
        return text
    if notes is not None:
        notes.append(f"{field} was {len(text):,} characters; kept the first {limit:,}")
    return text[:limit].rstrip()


def _capped_url(url: str | None, notes: list[str] | None) -> str | None:
    if url is not None and len(url) > MAX_URL_CHARS:
        if notes is not None:
            notes.append(f"url was {len(url):,} characters (over {MAX_URL_CHARS:,}); dropped it")
        return None
    return url


def normalise_entry(
    entry: Entry, source: Source, base_url: str | None = None, notes: list[str] | None = None
) -> Item:
    """An entry parsed from `source` as a normalised item attributed to that source. Fields
    over their length limit are cut, each cut added to `notes` (when given) for the run's
    report."""
    title = capped("title", clean_text(entry.title), MAX_TITLE_CHARS, notes)
    summary = capped("summary", clean_text(entry.summary_html), MAX_SUMMARY_CHARS, notes)
    url = _capped_url(canonical_url(entry.url, base_url or source.url), notes)
    published, precision = parse_published(entry.published)
    fallback = entry.guid or f"{title}|{entry.published or ''}"
    return Item(
        id=derive_item_id(url, source.id, fallback),
        title=title,
        summary=summary,
        url=url,
        publisher=source.publisher,
        published=published,
        published_precision=precision,
        source=source.id,
        source_category=source.category,
        source_jurisdiction=source.jurisdiction,
        content_hash=content_hash(title, summary),
        deadline_hint=parse_date(entry.deadline),
        effective_hint=parse_date(entry.effective),
    )


class RecordError(ValueError):
    """A JSON Lines record that cannot become an item; the message says why."""


def check_identifier(field: str, value: str) -> str:
    """`value` as an id (of an item or a source): stripped, at most MAX_ID_CHARS, and with no
    line break or other control character, which would break every place that shows, links
    or looks it up. RecordError says what is wrong."""
    text = value.strip()
    if _CONTROL.search(text):
        raise RecordError(
            f"'{field}' contains a line break or control character; use letters, digits "
            "and punctuation only"
        )
    if len(text) > MAX_ID_CHARS:
        raise RecordError(f"'{field}' is {len(text):,} characters; at most {MAX_ID_CHARS} allowed")
    return text


def item_from_record(
    record: Mapping[str, Any],
    sources: Mapping[str, Source] | None = None,
    notes: list[str] | None = None,
) -> Item:
    """An item from the JSON Lines input format of the CLI contract (title required).

    The given `id` is kept; without one, the id derives from the URL or the content. A `source`
    naming a known source lends that source's publisher, category and jurisdiction. An id or
    source with a control character is refused; an over-long field is cut and noted in `notes`.
    """
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RecordError("'title' is required and must be a non-empty string")
    for key in ("id", "summary", "url", "publisher", "published", "source"):
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise RecordError(f"'{key}' must be a string")
    given_id = check_identifier("id", record.get("id") or "")
    source_id = check_identifier("source", record.get("source") or "") or None
    source = (sources or {}).get(source_id or "")
    clean_title = capped("title", clean_text(title), MAX_TITLE_CHARS, notes)
    summary = capped("summary", clean_text(record.get("summary")), MAX_SUMMARY_CHARS, notes)
    url = _capped_url(canonical_url(record.get("url")), notes)
    published_text = record.get("published")
    published, precision = parse_published(published_text)
    if published_text and published is None:
        raise RecordError(f"'published' is not a date: {published_text[:80]!r}")
    publisher = capped("publisher", clean_text(record.get("publisher")), MAX_PUBLISHER_CHARS, notes)
    return Item(
        id=given_id or derive_item_id(url, clean_title, summary),
        title=clean_title,
        summary=summary,
        url=url,
        publisher=publisher or (source.publisher if source else ""),
        published=published,
        published_precision=precision,
        source=source.id if source else source_id,
        source_category=source.category if source else None,
        source_jurisdiction=source.jurisdiction if source else None,
        content_hash=content_hash(clean_title, summary),
    )
