"""`page-watch` sources: a page (or PDF) without a feed, compared with its last stored version.

The watched text is the page's main content (trafilatura), or the text of the source's
`watch_selector`, or a PDF's text. It is compared sentence by sentence; sentences that are only
noise (dates, counters, "last updated", cookie and copyright lines) are left out of the
comparison, so a page whose only changes are noise never raises an item. A meaningful change
becomes one "page changed" item whose summary lists the added and removed sentences.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Literal

from parsel import Selector

from horizon.config import Source
from horizon.enrich.extract import ExtractionError, extract_text
from horizon.enrich.model import FullTextCaps
from horizon.fetch import FetchOutcome
from horizon.item import Item
from horizon.snapshot import Recording
from horizon.state import StateDB

MAX_WATCHED_CHARS = 500_000  # a 10 MB page is compared on its first half-million characters
MAX_LISTED_SENTENCES = 12
MAX_SUMMARY_CHARS = 4000  # as horizon.normalise cuts a summary
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_MONTHS = (
    r"jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?|mon(day)?|tue(sday)?|wed(nesday)?|thu(rsday)?|"
    r"fri(day)?|sat(urday)?|sun(day)?|today|yesterday|ago|am|pm|utc|gmt|bst|cet|"
    r"seconds?|minutes?|hours?|days?|weeks?|months?|years?"
)
# Removed before counting what a sentence says: dates, times, numbers, time stamps, counters.
_STAMPS_AND_COUNTS = re.compile(
    rf"\b({_MONTHS})\b|[\d][\d,.:/\-]*|last (updated|modified|reviewed|changed)|"
    r"\b(page|site)\b|\b(updated|modified|published|posted|on|at|by|of)\b|"
    r"\b(views?|visitors?|shares?|likes?|comments?|downloads?|reads?)\b",
    re.IGNORECASE,
)
_COOKIE_BANNER = re.compile(
    r"cookie.*\b(accept|consent|agree|preferences|settings|reject)|"
    r"\b(we|this site|this website) uses? cookies|cookies? (to|help) (improve|give)",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"©|\bcopyright\b|all rights reserved", re.IGNORECASE)
MAX_COPYRIGHT_LINE_WORDS = 12


class WatchError(ValueError):
    """The watched page gave no text to compare; the message says why."""


def watched_text(
    body: bytes, content_type: str | None, selector: str | None, caps: FullTextCaps
) -> str:
    """The text a `page-watch` source compares: a selector's text, else the main content."""
    if selector is not None:
        nodes = Selector(text=body.decode("utf-8", errors="replace")).css(selector)
        lines = [
            " ".join(text.split())
            for node in nodes
            for text in node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall()
        ]
        text = "\n".join(line for line in lines if line)
        if not text:
            raise WatchError(
                f"the selector '{selector}' matched no text — the page's layout may have "
                "changed; update watch_selector in sources.yaml"
            )
        return text[:MAX_WATCHED_CHARS]
    try:
        return extract_text(body, content_type, caps).text[:MAX_WATCHED_CHARS]
    except ExtractionError as error:
        raise WatchError(str(error)) from error


def sentences(text: str) -> list[str]:
    return [" ".join(part.split()) for part in _SENTENCE_END.split(text) if part.strip()]


def is_noise(sentence: str) -> bool:
    """A sentence that says nothing once its dates, numbers, time stamps and counters are gone
    ("Last updated: 5 December", "2,048 views"), a cookie banner, or a copyright line.

    A real sentence with a date in it ("The consultation closes on 2 August") is not noise, so
    a changed deadline is a change; so is a table row such as "Notification: 2 August 2025".
    """
    if _COOKIE_BANNER.search(sentence):
        return True
    if _COPYRIGHT.search(sentence) and len(sentence.split()) <= MAX_COPYRIGHT_LINE_WORDS:
        return True
    return not re.search(r"[^\W\d_]{2,}", _STAMPS_AND_COUNTS.sub(" ", sentence))


@dataclass(frozen=True)
class PageDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The change in readable form: added and removed sentences, capped in length."""
        parts = [f"Added: {s}" for s in self.added[:MAX_LISTED_SENTENCES]]
        parts += [f"Removed: {s}" for s in self.removed[:MAX_LISTED_SENTENCES]]
        hidden = len(self.added) + len(self.removed) - len(parts)
        if hidden > 0:
            parts.append(f"(and {hidden} more changed sentences)")
        return "\n".join(parts)[:MAX_SUMMARY_CHARS]


def page_diff(previous: str, current: str) -> PageDiff | None:
    """Added and removed meaningful sentences, in page order; None when nothing meaningful
    changed (including when only noise did)."""
    before = [s for s in sentences(previous) if not is_noise(s)]
    after = [s for s in sentences(current) if not is_noise(s)]
    before_set, after_set = set(before), set(after)
    added = [s for s in dict.fromkeys(after) if s not in before_set]
    removed = [s for s in dict.fromkeys(before) if s not in after_set]
    return PageDiff(added, removed) if added or removed else None


PAGE_VERSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS page_versions (
    source TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class PageVersion:
    source: str
    url: str
    text: str
    checked_at: datetime


class PageVersions:
    """The last stored text of each watched page, and the versions seen since, held back.

    `save` only holds a version in `pending` (later comparisons see it); `commit` writes them.
    The weekly flow commits after the run's items are stored, so a run killed in between
    compares the same page again next time and raises its change item then, instead of losing
    it (the item's id comes from the page's text, so it is never stored twice)."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        self.pending: dict[str, PageVersion] = {}
        state.ensure_schema(PAGE_VERSIONS_SCHEMA)

    def get(self, source: str) -> str | None:
        if source in self.pending:
            return self.pending[source].text
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT text FROM page_versions WHERE source = ?", (source,)
            ).fetchone()
        return None if row is None else str(row["text"])

    def checked_at(self, source: str) -> datetime | None:
        if source in self.pending:
            return self.pending[source].checked_at
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT checked_at FROM page_versions WHERE source = ?", (source,)
            ).fetchone()
        return None if row is None else datetime.fromisoformat(row["checked_at"])

    def save(self, source: str, url: str, text: str, checked_at: datetime) -> None:
        self.pending[source] = PageVersion(source, url, text, checked_at)

    def commit(self, versions: Iterable[PageVersion] | None = None) -> None:
        """Write the pending versions (or `versions`, another holder's) in one transaction."""
        chosen = list(self.pending.values() if versions is None else versions)
        with self.state.connect() as connection:
            connection.executemany(
                "INSERT OR REPLACE INTO page_versions (source, url, text, text_hash, checked_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (v.source, v.url, v.text, _hash(v.text), v.checked_at.isoformat())
                    for v in chosen
                ],
            )
        if versions is None:
            self.pending.clear()


Verdict = Literal["baseline", "unchanged", "noise-only", "changed", "unreadable"]
VERDICT_WORDS: dict[str, str] = {
    "baseline": "first version stored as the baseline",
    "unchanged": "unchanged",
    "noise-only": "only dates, counters, time stamps or banners changed — no item",
    "changed": "changed",
    "unreadable": "no text to compare",
}


@dataclass(frozen=True)
class WatchCheck:
    """What one comparison of a watched page found, and the item it raised, if any."""

    source: str
    checked_at: datetime
    verdict: Verdict
    item: Item | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, str | None]:
        return {
            "source": self.source,
            "checked_at": self.checked_at.isoformat(),
            "verdict": self.verdict,
            "words": VERDICT_WORDS[self.verdict],
            "item_title": self.item.title if self.item else None,
            "item_url": self.item.url if self.item else None,
            "diff": self.item.summary if self.item else None,
            "detail": self.detail,
        }


def check_page(
    source: Source, url: str, current: str, versions: PageVersions, checked_at: datetime
) -> WatchCheck:
    """Compare a watched page's text with its last version, keep it (pending), and say what
    changed.

    The first fetch only gives the baseline. The version is replaced by every fetch, so each
    change is reported once."""
    previous = versions.get(source.id)
    versions.save(source.id, url, current, checked_at)
    if previous is None:
        return WatchCheck(source.id, checked_at, "baseline")
    diff = page_diff(previous, current)
    if diff is None:
        verdict: Verdict = "unchanged" if previous == current else "noise-only"
        return WatchCheck(source.id, checked_at, verdict)
    summary = diff.summary()
    digest = _hash(current)[7:19]
    item = Item(
        id=f"{source.id}-change-{digest}",
        title=f"{source.name}: page changed",
        summary=summary,
        url=f"{url}#change-{digest}",
        publisher=source.publisher,
        published=checked_at,
        source=source.id,
        source_category=source.category,
        source_jurisdiction=source.jurisdiction,
        content_hash=_hash(summary),
    )
    return WatchCheck(source.id, checked_at, "changed", item)


def check_fetch(
    outcome: FetchOutcome, source: Source, versions: PageVersions, checked_at: datetime
) -> WatchCheck | None:
    """`check_page` for a crawl's fetch of the page; None when the fetch gave no page."""
    if outcome.outcome != "ok" or not outcome.entries:
        return None
    url = outcome.final_url or source.url
    return check_page(source, url, outcome.entries[0].summary_html, versions, checked_at)


def history_texts(source: Source, recordings: list[Recording]) -> list[tuple[datetime, str | None]]:
    """The compared text of each earlier recording of a watched page (None where it gave
    none: an error status, or no text)."""
    texts: list[tuple[datetime, str | None]] = []
    for recording in recordings:
        text = None
        if recording.status == HTTPStatus.OK:
            try:
                text = watched_text(
                    recording.body, recording.content_type, source.watch_selector, FullTextCaps()
                )
            except WatchError:
                text = None
        texts.append((recording.recorded_at, text))
    return texts


def check_history(
    source: Source, recordings: list[tuple[datetime, str | None]], versions: PageVersions
) -> list[WatchCheck]:
    """Earlier versions of a watched page (a replayed snapshot's history, oldest first),
    compared in turn as the runs of their dates would have; versions no newer than the one
    stored are skipped, so a second replay reports nothing twice. A recording with no text
    (None) is reported as unreadable and not compared."""
    stored_at = versions.checked_at(source.id)
    checks = []
    for recorded_at, text in recordings:
        if stored_at is not None and recorded_at <= stored_at:
            continue
        if text is None:
            checks.append(WatchCheck(source.id, recorded_at, "unreadable"))
            continue
        checks.append(check_page(source, source.url, text, versions, recorded_at))
    return checks


def _hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
