"""The weekly digest: what a compliance lead must read this week, and proof of what was checked.

`build_digest` gathers the week's relevant items for one profile (a team's interests, or all
items), with items found too late for their own week's digest (`late_discoveries`), folds in
every source that reported each one and ranks them (see `rank_score`). The digest opens with
the top changes (everything that needs action, then the strongest of the rest), groups the
remainder by control with its themes, lists consultations closing within 30 days and rules and
vendor changes taking effect soon, draws the 12-week trend and states the coverage — which
sources were checked, unchanged or failed and why — so "nothing else this week" is a claim
backed by evidence.

Each digest is written as Markdown, email-safe HTML (inline CSS, no scripts; scraped text is
escaped and the whole body passes through the nh3 sanitiser), plain text and JSON, with its
chart (PNG) and calendar (iCalendar). `publish_week` writes every profile's digest and the
all-items one, the Atom feed, and sends each team's email exactly once.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import nh3
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from horizon.calendar import CalendarEvent, build_calendar
from horizon.channels.publish import publish_channels
from horizon.chart import Trend, render_trend_png
from horizon.config import (
    Profile,
    Rules,
    Settings,
    SmtpSettings,
    Source,
    instruments_path,
    inventory_path,
    load_instruments,
    load_inventory,
    load_profiles,
    load_smtp_settings,
    profiles_path,
    shown,
)
from horizon.deliver import (
    Delivery,
    DeliveryLedger,
    DigestMail,
    OutboxTransport,
    SmtpTransport,
    Transport,
    chart_content_id,
    deliver,
)
from horizon.feed import write_feed, write_profile_feeds
from horizon.instruments.stages import StageProposal
from horizon.item import ControlTag, Item
from horizon.profiles import ALL_ITEMS, interest_score, matches
from horizon.readiness.export import row_json
from horizon.readiness.facts import organisation_readiness
from horizon.readiness.glance import ItemReadiness, ReadinessContext, assess_item
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow, applies_within
from horizon.rules import combined, judge
from horizon.state import Report, SourceCheck, StateDB, StoredItem

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
TYPE_WEIGHT = {
    "legislation": 0.30,
    "enforcement": 0.25,
    "consultation": 0.25,
    "guidance": 0.20,
    "standard": 0.15,
    "vendor-change": 0.15,
    "report": 0.0,
}
TYPE_LABEL = {
    "legislation": "legislation",
    "enforcement": "enforcement",
    "consultation": "consultation",
    "guidance": "guidance",
    "standard": "standard",
    "vendor-change": "vendor change",
    "report": "report",
}
SOURCE_WEIGHT = 0.1
SOURCE_WEIGHT_CAP = 0.3
UPCOMING_WEIGHT = 0.3
RECENCY_WEIGHT = 0.1
RECENCY_DAYS = 14
COMING_UP_DAYS = 30
ACTION_HORIZON_DAYS = 120
APPLIES_SOON_DAYS = 90
CALENDAR_DAYS = 365
TREND_WEEKS = 12
LATE_DISCOVERY_DAYS = 60
DIGEST_GRACE = timedelta(days=1)
TOP_LIMIT = 5
TOP_MIN_SCORE = 0.8
SUMMARY_CHARS = 280
EVIDENCE_CHARS = 240
NO_CONTROL = "Other relevant items"


class WeekError(ValueError):
    """A week that is not of the form YYYY-Www."""


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = _WEEK.match(text.strip())
        if not match:
            raise WeekError(
                f"{shown(text)} is not an ISO week; write it as YYYY-Www, e.g. 2025-W37"
            )
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise WeekError(f"{year} has no week {number}") from None
        return cls(year, number)

    @classmethod
    def containing(cls, moment: datetime | date) -> Week:
        year, number, _ = moment.isocalendar()
        return cls(year, number)

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        """The most recent week that has ended: on Monday morning, last week."""
        return cls.containing(now - timedelta(days=7))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.monday, datetime.min.time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    def previous(self, weeks: int = 1) -> Week:
        return Week.containing(self.start - timedelta(days=7 * weeks))


@dataclass
class DigestEntry:
    """One announcement as the digest shows it, with why it is there."""

    stored: StoredItem
    rank_score: float
    also_reported_by: list[Report]
    action: str | None = None
    primary_control: str = NO_CONTROL
    first_seen_late: bool = False
    pinned_by: str | None = None
    readiness: ItemReadiness | None = None

    @property
    def item(self) -> Item:
        return self.stored.item

    @property
    def short_summary(self) -> str:
        return shorten(self.item.summary, SUMMARY_CHARS)


@dataclass(frozen=True)
class DatedEntry:
    """A date a reader must not miss: a consultation closing or a rule taking effect."""

    when: date
    what: str
    entry: DigestEntry
    days_away: int

    @property
    def kind(self) -> str:
        return "deadline" if self.what == "closes" else "effective"


@dataclass(frozen=True)
class CoverageLine:
    source: str
    name: str
    outcome: str
    detail: str


@dataclass
class Coverage:
    checked: int = 0
    ok: int = 0
    unchanged: int = 0
    failed: list[CoverageLine] = field(default_factory=list)
    never_checked: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    muted: int = 0

    @property
    def answered(self) -> int:
        return self.checked - len(self.failed)

    @property
    def all_failed(self) -> bool:
        """Sources were checked and not one answered: the digest would say nothing true."""
        return self.checked > 0 and self.answered == 0

    @property
    def statement(self) -> str:
        if self.checked == 0:
            return "No source was checked for this week: run `horizon run` first."
        parts = [f"{self.checked} sources checked: {self.ok + self.unchanged} OK"]
        if self.unchanged:
            parts[0] += f" ({self.unchanged} unchanged since the last check)"
        parts.append(f"{len(self.failed)} failed")
        muted = f" {_count(self.muted, 'item')} muted by rules." if self.muted else ""
        return ", ".join(parts) + "." + muted


@dataclass
class Digest:
    week: Week
    as_of: datetime
    profile: str
    scanned: int
    top: list[DigestEntry]
    by_control: dict[str, list[DigestEntry]]
    closing: list[DatedEntry]
    taking_effect: list[DatedEntry]
    calendar: list[DatedEntry]
    themes: dict[str, int]
    trend: Trend
    coverage: Coverage
    profile_name: str = ALL_ITEMS.name
    applies_soon: list[ReadinessRow] = field(default_factory=list)

    @property
    def entries(self) -> list[DigestEntry]:
        return self.top + [entry for entries in self.by_control.values() for entry in entries]

    @property
    def act_on(self) -> list[DigestEntry]:
        """The top changes, read first (with `by_control`, every entry of the digest)."""
        return self.top

    @property
    def need_action(self) -> list[DigestEntry]:
        """The entries with a deadline or an effective date coming up."""
        return [entry for entry in self.top if entry.action]

    @property
    def coming_up(self) -> list[tuple[date, str, DigestEntry]]:
        lines = [(d.when, d.what, d.entry) for d in (*self.closing, *self.taking_effect)]
        return sorted(lines, key=lambda line: (line[0], line[2].item.title))

    @property
    def glance_actions(self) -> dict[str, list[tuple[str, str]]]:
        """What needs action, by control: each line's date (or action) and what it is."""
        lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for entry in self.need_action:
            lines[entry.primary_control].append((entry.action or "", entry.item.title))
        for row in self.applies_soon:
            if row.status != "ready":
                what = f"{row.instrument_name}: {row.what} ({row.status})"
                lines[row.control].append((f"applies from {row.from_date:%-d %b %Y}", what))
        return dict(sorted(lines.items()))

    @property
    def stage_changes(self) -> list[tuple[StageProposal, DigestEntry]]:
        return [
            (change, entry)
            for entry in self.entries
            if entry.readiness
            for change in entry.readiness.stage_changes
        ]

    @property
    def supplier_hits(self) -> list[SupplierHit]:
        hits = [hit for e in self.entries if e.readiness for hit in e.readiness.supplier_hits]
        return sorted(hits, key=lambda hit: (hit.date or date.max, hit.vendor))

    @property
    def relevant_count(self) -> int:
        return len(self.entries)

    @property
    def title(self) -> str:
        return f"Horizon — AI regulatory horizon scan, week {self.week.label}"

    @property
    def period(self) -> str:
        first, last = self.week.monday, self.week.monday + timedelta(days=6)
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"

    @property
    def headline(self) -> str:
        """One line a reader (or a subject line) can stop at."""
        need = len(self.need_action)
        return (
            f"{need} need{'s' if need == 1 else ''} action, {self.relevant_count} relevant, "
            f"{self.coverage.checked} sources checked"
        )


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a sentence or word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("; "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


_LINE_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|!])")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LINE_START_MARKER = re.compile(r"^([-+~])|^(\d+)([.)])")


def one_line(text: str | None) -> str:
    """Scraped text on one line: line breaks and control characters become one space, so a
    field can never start a line of its own (a forged heading, list item or table row)."""
    return _LINE_BREAKS.sub(" ", text or "").strip()


def escape_markdown(text: str | None) -> str:
    """Scraped text shown literally in Markdown, whatever renderer reads it: on one line, HTML
    special characters as entities (so no tag or autolink), and every character that makes a
    link, image, emphasis, code, heading or table cell backslash-escaped; a leading list marker
    or code fence is escaped too."""
    flat = one_line(text)
    flat = "".join(_HTML_SPECIAL.get(char, char) for char in flat)
    flat = _MARKDOWN_SPECIAL.sub(r"\\\1", flat)
    return _LINE_START_MARKER.sub(
        lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", flat
    )


def web_url(url: str | None) -> str:
    """The URL when it is an http(s) address, with characters that would end a Markdown or
    HTML link percent-encoded; otherwise empty, so no other scheme becomes a link."""
    if not url:
        return ""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    if scheme not in ("http", "https"):
        return ""
    return quote(url.strip(), safe="/:?#[]@!$&'*+,;=%~-._")


def independent_sources(stored: StoredItem) -> int:
    """How many different publishers reported the item (two feeds of one publisher are one)."""
    publishers = {report.publisher or report.source or "" for report in stored.reports}
    return max(1, len(publishers - {""}))


def rank_score(stored: StoredItem, as_of: date, profile: Profile | None = None) -> float:
    """Higher first. The tag score for the profile's controls (0-1), plus: the item type
    (legislation 0.3 … report 0), 0.1 for each further independent publisher (up to 0.3), 0.3
    for a deadline or effective date within 120 days, and up to 0.1 for recency."""
    item, tags = stored.item, stored.item.tags
    if tags is None:
        return 0.0
    score = interest_score(tags, profile or ALL_ITEMS)
    score += TYPE_WEIGHT.get(tags.type, 0.0)
    score += min(SOURCE_WEIGHT_CAP, SOURCE_WEIGHT * (independent_sources(stored) - 1))
    upcoming = [when for when in (tags.deadline, tags.effective) if when and when >= as_of]
    if upcoming and (min(upcoming) - as_of).days <= ACTION_HORIZON_DAYS:
        score += UPCOMING_WEIGHT
    if item.published is not None:
        age = (as_of - item.published.date()).days
        score += RECENCY_WEIGHT * max(0.0, 1.0 - age / RECENCY_DAYS)
    return round(score, 4)


def action_for(item: Item, as_of: date) -> str | None:
    """Why a reader must act, if they must: a deadline or an effective date coming up."""
    tags = item.tags
    if tags is None:
        return None
    if tags.deadline and tags.deadline >= as_of:
        return f"closes {tags.deadline:%-d %b %Y} ({_days_away((tags.deadline - as_of).days)})"
    if tags.effective and as_of <= tags.effective <= as_of + timedelta(days=ACTION_HORIZON_DAYS):
        days = (tags.effective - as_of).days
        return f"effective {tags.effective:%-d %b %Y} ({_days_away(days)})"
    return None


def _days_away(days: int) -> str:
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def build_digest(
    state: StateDB,
    week: Week,
    sources: list[Source],
    as_of: datetime | None = None,
    profile: Profile | None = None,
    rules: Rules | None = None,
    obligations: Sequence[ReadinessRow] = (),
    context: ReadinessContext | None = None,
) -> Digest:
    """Everything the digest of `week` shows for `profile` (default: all relevant items), read
    from the state as of `as_of` (default: the end of the week). `rules` (global ones, with
    the profile's own added here) mute or pin items; muted ones are only counted.
    `obligations` (the readiness rows) give the section "applies in the next 90 days";
    `context` (catalogue, inventory and those rows) adds each item's impact level, stage
    changes and supplier hits, which rank the top changes and fill the at-a-glance box."""
    chosen = profile or ALL_ITEMS
    applied = combined(rules or Rules(), chosen.rules)
    moment = as_of or week.end
    today = moment.date()
    in_week = state.items_in_window(week.start, week.end) + late_discoveries(state, week)
    entries, muted = [], 0
    for stored in in_week:
        verdict = judge(stored.item, applied) if not applied.empty else None
        if verdict is not None and verdict.verdict == "muted":
            muted += matches(stored, chosen)
            continue
        if verdict is None and not matches(stored, chosen):
            continue
        entry = _entry(stored, today, chosen, late=_published_before(stored, week.start))
        entry.pinned_by = verdict.rule if verdict is not None else None
        if context is not None:
            entry.readiness = assess_item(stored.item, context, today)
        entries.append(entry)
    entries.sort(key=lambda entry: (entry.pinned_by is None, -entry.rank_score, entry.item.title))
    top = _top_changes(entries)
    top_ids = {entry.item.id for entry in top}
    by_control: dict[str, list[DigestEntry]] = defaultdict(list)
    for entry in entries:
        if entry.item.id not in top_ids:
            by_control[entry.primary_control].append(entry)
    dated = _dated(state, today, chosen)
    excluded = set(chosen.exclude_sources)
    coverage = _coverage(
        state.latest_checks(before=moment + timedelta(days=1)),
        [source for source in sources if source.id not in excluded],
        sorted(excluded & {source.id for source in sources}),
    )
    coverage.muted = muted
    return Digest(
        week=week,
        as_of=moment,
        profile=chosen.label,
        profile_name=chosen.name,
        scanned=len(in_week),
        top=top,
        by_control=dict(sorted(by_control.items(), key=lambda kv: -kv[1][0].rank_score)),
        closing=[d for d in dated if d.what == "closes" and d.days_away <= COMING_UP_DAYS],
        taking_effect=[
            d for d in dated if d.what == "takes effect" and d.days_away <= ACTION_HORIZON_DAYS
        ],
        calendar=dated,
        themes=dict(Counter(theme for e in entries for theme in _themes(e.item)).most_common()),
        trend=_trend(state, week, chosen),
        coverage=coverage,
        applies_soon=applies_within(
            context.obligations if context else obligations, today, APPLIES_SOON_DAYS
        ),
    )


def late_discoveries(state: StateDB, week: Week) -> list[StoredItem]:
    """Items published before the week (up to LATE_DISCOVERY_DAYS) that Horizon first saw
    only after their own week's digest was written, so they would otherwise never be shown.

    A digest is written on the morning after its week, so the window of first sightings is
    shifted by a day: an item first seen by that Monday-morning run is in its own week's digest
    already. Nothing counts as late before the installation's first run, whose catch-up of
    older items is not news.
    """
    seen_from = week.start + DIGEST_GRACE
    seen_until = week.end + DIGEST_GRACE
    with state.connect() as connection:
        first_run = connection.execute("SELECT MIN(as_of) FROM runs").fetchone()[0]
        if first_run is None or datetime.fromisoformat(first_run) >= seen_from:
            return []
        ids = [
            row["id"]
            for row in connection.execute(
                "SELECT id FROM items WHERE first_seen >= ? AND first_seen < ? "
                "AND published >= ? AND published < ? ORDER BY published DESC",
                (
                    seen_from.isoformat(),
                    seen_until.isoformat(),
                    (week.start - timedelta(days=LATE_DISCOVERY_DAYS)).isoformat(),
                    week.start.isoformat(),
                ),
            )
        ]
    stored = state.get_items(ids)
    return [stored[item_id] for item_id in ids]


def _entry(stored: StoredItem, today: date, profile: Profile, late: bool = False) -> DigestEntry:
    tags = stored.item.tags
    wanted = set(profile.controls)
    interesting = [c for c in (tags.controls if tags else []) if not wanted or c.id in wanted]
    primary = max(interesting, key=lambda control: control.score).id if interesting else NO_CONTROL
    return DigestEntry(
        stored=stored,
        rank_score=rank_score(stored, today, profile),
        also_reported_by=stored.other_reports,
        action=action_for(stored.item, today),
        primary_control=primary,
        first_seen_late=late,
    )


def _themes(item: Item) -> list[str]:
    return list(item.tags.themes) if item.tags else []


def _published_before(stored: StoredItem, start: datetime) -> bool:
    published = stored.item.published
    return published is not None and published < start


def _top_changes(entries: list[DigestEntry]) -> list[DigestEntry]:
    """Pinned items and everything that needs action, then the strongest of the rest, up to
    TOP_LIMIT; within each, higher impact first where it is known, then relevance."""
    top = [entry for entry in entries if entry.action or entry.pinned_by]
    for entry in entries:
        if len(top) >= TOP_LIMIT:
            break
        if not entry.action and entry.rank_score >= TOP_MIN_SCORE:
            top.append(entry)
    return sorted(
        top,
        key=lambda entry: (
            entry.pinned_by is None,
            entry.action is None,
            -(entry.readiness.rank if entry.readiness else 0),
            -entry.rank_score,
        ),
    )


def _dated(state: StateDB, today: date, profile: Profile) -> list[DatedEntry]:
    """Known deadlines and effective dates in the coming year for items the profile keeps."""
    lines: list[DatedEntry] = []
    for stored in state.items_with_dates_between(today, today + timedelta(days=CALENDAR_DAYS)):
        tags = stored.item.tags
        if tags is None or not matches(stored, profile):
            continue
        entry = _entry(stored, today, profile)
        for when, what in ((tags.deadline, "closes"), (tags.effective, "takes effect")):
            if when is not None and today <= when <= today + timedelta(days=CALENDAR_DAYS):
                lines.append(DatedEntry(when, what, entry, (when - today).days))
    return sorted(lines, key=lambda line: (line.when, line.entry.item.title))


def _trend(state: StateDB, week: Week, profile: Profile) -> Trend:
    weeks = [week.previous(back) for back in range(TREND_WEEKS - 1, -1, -1)]
    position = {each: index for index, each in enumerate(weeks)}
    totals = [0] * len(weeks)
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(weeks))
    for stored in state.items_in_window(weeks[0].start, week.end):
        published = stored.item.published
        tags = stored.item.tags
        if published is None or tags is None or not matches(stored, profile):
            continue
        index = position.get(Week.containing(published))
        if index is None:
            continue
        totals[index] += 1
        for theme in tags.themes:
            series[theme][index] += 1
    return Trend(weeks=[each.label for each in weeks], totals=totals, series=dict(series))


def _coverage(checks: list[SourceCheck], sources: list[Source], excluded: list[str]) -> Coverage:
    names = {source.id: source.name for source in sources}
    checked = {check.source: check for check in checks if check.source in names}
    coverage = Coverage(checked=len(checked), excluded=excluded)
    for source_id, check in sorted(checked.items()):
        if check.outcome == "failed":
            streak = (
                f" ({_ordinal(check.consecutive_failures)} failure in a row)"
                if check.consecutive_failures > 1
                else ""
            )
            coverage.failed.append(
                CoverageLine(source_id, names[source_id], "failed", f"{check.error}{streak}")
            )
        elif check.outcome == "unchanged":
            coverage.unchanged += 1
        else:
            coverage.ok += 1
    coverage.never_checked = sorted(set(names) - set(checked))
    return coverage


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# ----- rendering -------------------------------------------------------------------------

_HTML_TAGS = {
    "a", "br", "code", "div", "em", "h1", "h2", "h3", "hr", "img", "li", "ol", "p", "q",
    "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_HTML_ATTRIBUTES = {
    "*": {"style"},
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan"},
    "th": {"colspan"},
}
_CSS_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-top", "color",
    "display", "font-family", "font-size", "font-style", "font-weight", "height",
    "line-height", "list-style", "margin", "margin-bottom", "margin-left", "margin-right",
    "margin-top", "max-width", "padding", "padding-bottom", "padding-left", "padding-right",
    "padding-top", "text-align", "text-decoration", "vertical-align", "width",
}  # fmt: skip
_URL_SCHEMES = {"http", "https", "mailto", "cid"}


def sanitise_html(fragment: str) -> str:
    """The digest body through nh3 (ammonia): only the tags, attributes, CSS properties and
    URL schemes the digest itself uses survive, whatever a scraped string tried to smuggle in."""
    return nh3.clean(
        fragment,
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        filter_style_properties=_CSS_PROPERTIES,
        strip_comments=True,
    )


@cache
def _environment(autoescape: bool) -> Environment:
    """The template environment, built (and its templates compiled) once per process."""
    environment = Environment(
        loader=PackageLoader("horizon", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["day"] = lambda value: f"{value:%-d %b %Y}" if value else "undated"
    environment.filters["md"] = escape_markdown
    environment.filters["line"] = one_line
    environment.filters["url"] = web_url
    environment.filters["away"] = _days_away
    environment.filters["evidence"] = lambda text: shorten(text or "", EVIDENCE_CHARS)
    environment.filters["count"] = _count
    environment.filters["scores"] = _scores
    environment.filters["tally"] = lambda counts: " · ".join(f"{k} {v}" for k, v in counts.items())
    environment.filters["theme_totals"] = lambda series: " · ".join(
        f"{theme} {sum(counts)}" for theme, counts in sorted(series.items())
    )
    environment.filters["reporters_md"] = _reporters_markdown
    environment.filters["reporters_text"] = _reporters_text
    environment.globals["type_label"] = TYPE_LABEL
    return environment


def _scores(controls: list[ControlTag]) -> str:
    return ", ".join(f"{control.id} {control.score:.2f}" for control in controls) or "none"


def _reporters_markdown(reports: list[Report]) -> str:
    return "; ".join(
        escape_markdown(report.publisher)
        + (f" ({escape_markdown(report.source)})" if report.source else "")
        + (f" <{web_url(report.url)}>" if web_url(report.url) else "")
        for report in reports
    )


def _reporters_text(reports: list[Report]) -> str:
    return "; ".join(
        one_line(report.publisher)
        + (f" ({one_line(report.source)})" if report.source else "")
        + (f" {web_url(report.url)}" if web_url(report.url) else "")
        for report in reports
    )


def render_markdown(digest: Digest, chart_src: str | None = None) -> str:
    return (
        _environment(autoescape=False)
        .get_template("digest.md.j2")
        .render(d=digest, chart_src=chart_src)
    )


def render_text(digest: Digest) -> str:
    """Plain text, for the email's text part and for reading in a terminal."""
    return _environment(autoescape=False).get_template("digest.txt.j2").render(d=digest)


def render_html(digest: Digest, chart_src: str | None = None) -> str:
    """A complete, email-safe HTML page; `chart_src` is the chart's file name or `cid:` URL."""
    environment = _environment(autoescape=True)
    body = environment.get_template("digest_body.html.j2").render(d=digest, chart_src=chart_src)
    return environment.get_template("digest.html.j2").render(
        d=digest, body=Markup(sanitise_html(body))
    )


def digest_record(digest: Digest, files: dict[str, str] | None = None) -> dict[str, Any]:
    """The digest as plain data (the JSON format), also what the Atom feed is built from."""
    environment = _environment(autoescape=True)
    overview = environment.get_template("digest_overview.html.j2").render(d=digest)
    return {
        "title": digest.title,
        "week": digest.week.label,
        "period": digest.period,
        "profile": {"name": digest.profile_name, "title": digest.profile},
        "generated_at": digest.as_of.isoformat(),
        "summary": digest.headline,
        "overview_html": sanitise_html(overview),
        "counts": {
            "items_this_week": digest.scanned,
            "relevant": digest.relevant_count,
            "need_action": len(digest.need_action),
        },
        "top_changes": [_entry_record(entry) for entry in digest.top],
        "by_control": {
            control: [_entry_record(entry) for entry in entries]
            for control, entries in digest.by_control.items()
        },
        "themes": digest.themes,
        "closing_soon": [_dated_record(line) for line in digest.closing],
        "taking_effect": [_dated_record(line) for line in digest.taking_effect],
        "applies_soon": [row_json(row) for row in digest.applies_soon],
        "at_a_glance": {
            "actions": [
                {"control": control, "when": when, "what": what}
                for control, lines in digest.glance_actions.items()
                for when, what in lines
            ],
            "stage_changes": [
                {
                    "instrument": change.instrument_id,
                    "stage": change.stage,
                    "date": change.date.isoformat() if change.date else None,
                    "item_id": entry.item.id,
                    "evidence": change.evidence,
                }
                for change, entry in digest.stage_changes
            ],
            "supplier_hits": [hit.summary() for hit in digest.supplier_hits],
        },
        "trend": digest.trend.as_dict(),
        "coverage": {
            "statement": digest.coverage.statement,
            "checked": digest.coverage.checked,
            "ok": digest.coverage.ok,
            "unchanged": digest.coverage.unchanged,
            "failed": [
                {"source": line.source, "name": line.name, "reason": line.detail}
                for line in digest.coverage.failed
            ],
            "never_checked": digest.coverage.never_checked,
            "excluded": digest.coverage.excluded,
        },
        "rules": {
            "muted": digest.coverage.muted,
            "pinned": sum(1 for entry in digest.entries if entry.pinned_by),
        },
        "files": files or {},
    }


def render_json(digest: Digest, files: dict[str, str] | None = None) -> str:
    return json.dumps(digest_record(digest, files), indent=2, ensure_ascii=False) + "\n"


def _entry_record(entry: DigestEntry) -> dict[str, Any]:
    item = entry.item
    tags = item.tags
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "publisher": item.publisher,
        "published": item.published.isoformat() if item.published else None,
        "first_seen_late": entry.first_seen_late,
        "type": tags.type if tags else None,
        "jurisdiction": tags.jurisdiction if tags else None,
        "controls": [control.model_dump() for control in tags.controls] if tags else [],
        "themes": list(tags.themes) if tags else [],
        "deadline": tags.deadline.isoformat() if tags and tags.deadline else None,
        "effective": tags.effective.isoformat() if tags and tags.effective else None,
        "action": entry.action,
        "pinned_by": entry.pinned_by,
        "rank_score": entry.rank_score,
        "impact": {
            "level": entry.readiness.impact.level,
            "reasons": list(entry.readiness.impact.reasons),
        }
        if entry.readiness
        else None,
        "also_reported_by": [
            {"publisher": report.publisher, "source": report.source, "url": report.url}
            for report in entry.also_reported_by
        ],
    }


def _dated_record(line: DatedEntry) -> dict[str, Any]:
    return {
        "date": line.when.isoformat(),
        "what": line.what,
        "days_away": line.days_away,
        "item": _entry_record(line.entry),
    }


def calendar_events(digest: Digest) -> list[CalendarEvent]:
    """The digest's upcoming dates as calendar events, one per item and kind of date."""
    events = []
    for line in digest.calendar:
        item, tags = line.entry.item, line.entry.item.tags
        heading = "Consultation closes" if line.what == "closes" else "Takes effect"
        controls = ", ".join(tags.control_ids()) if tags else ""
        description = "\n".join(
            part
            for part in (
                f"{item.publisher}, published {item.published:%-d %b %Y}"
                if item.published
                else item.publisher,
                f"Controls: {controls}" if controls else "",
                item.url or "",
                f"From the Horizon digest {digest.week.label} ({digest.profile}).",
            )
            if part
        )
        events.append(
            CalendarEvent(
                uid=f"{item.id}-{line.kind}@horizon",
                day=line.when,
                summary=f"{heading}: {item.title}",
                description=description,
                url=web_url(item.url) or None,
                categories=tuple(
                    [TYPE_LABEL.get(tags.type, tags.type), *tags.control_ids()] if tags else []
                ),
            )
        )
    return events


@dataclass(frozen=True)
class RenderedDigest:
    """Every format of one digest, as written to disk."""

    markdown: str
    html: str
    text: str
    json: str
    chart_png: bytes
    calendar_ics: bytes


def render_all(digest: Digest) -> RenderedDigest:
    label = digest.week.label
    chart_name = f"{label}.png"
    files = {suffix: f"{label}.{suffix}" for suffix in ("md", "html", "txt", "json", "png", "ics")}
    return RenderedDigest(
        markdown=render_markdown(digest, chart_src=chart_name),
        html=render_html(digest, chart_src=chart_name),
        text=render_text(digest),
        json=render_json(digest, files),
        chart_png=render_trend_png(digest.trend),
        calendar_ics=build_calendar(
            calendar_events(digest),
            f"Horizon — {digest.profile}",
            digest.as_of,
        ),
    )


def write_digest(digest: Digest, directory: Path) -> list[Path]:
    """Write `YYYY-Www.md` and `.html`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("md", render_markdown(digest)), ("html", render_html(digest))):
        path = directory / f"{digest.week.label}.{suffix}"
        _write_atomically(path, text.encode("utf-8"))
        written.append(path)
    return written


def write_formats(digest: Digest, directory: Path) -> tuple[RenderedDigest, list[Path]]:
    """Write every format (md, html, txt, json, png, ics) as `YYYY-Www.*` in `directory`."""
    rendered = render_all(digest)
    directory.mkdir(parents=True, exist_ok=True)
    contents = (
        ("md", rendered.markdown.encode("utf-8")),
        ("html", rendered.html.encode("utf-8")),
        ("txt", rendered.text.encode("utf-8")),
        ("json", rendered.json.encode("utf-8")),
        ("png", rendered.chart_png),
        ("ics", rendered.calendar_ics),
    )
    written = []
    for suffix, data in contents:
        path = directory / f"{digest.week.label}.{suffix}"
        _write_atomically(path, data)
        written.append(path)
    return rendered, written


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


# ----- publishing ------------------------------------------------------------------------


class PublishReport(BaseModel):
    """What `publish_week` wrote and sent; `to_dict()` goes into the run summary."""

    week: str
    paths: list[str] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def publish_week(
    state: StateDB,
    week: Week,
    sources: list[Source],
    settings: Settings,
    as_of: datetime,
    send: bool = True,
    resend: bool = False,
    profile: str | None = None,
    transport: Transport | None = None,
    to_outbox: bool = False,
) -> PublishReport:
    """Write every format of the all-items digest and of each profile's (only `profile`'s when
    given), rebuild the feeds and, with `send`, deliver each profile's digest once by email and
    to each of its channels.

    Mail goes through the SMTP server in HORIZON_SMTP_*, else to digests/outbox/; `transport`
    overrides both. `to_outbox` (a replayed snapshot) writes channel messages to the outbox too.
    When every source failed, a profile gets a coverage alert instead of an empty digest, and
    its digest waits for a run in which sources answer. Raises ConfigError (profiles.yaml or the
    SMTP settings are wrong) before anything is written.
    """
    profiles = load_profiles(profiles_path(settings))
    catalogue = load_instruments(instruments_path(settings))
    context = ReadinessContext(
        instruments=catalogue.instruments,
        systems=load_inventory(inventory_path(settings)).systems,
        obligations=organisation_readiness(settings, state),
    )
    chosen = [profiles.named(profile)] if profile else list(profiles.profiles)
    smtp = load_smtp_settings() if send else SmtpSettings()
    carrier = transport or _transport(smtp, settings)
    ledger = DeliveryLedger(state) if send else None
    outbox = settings.digests_dir / "outbox"
    report = PublishReport(week=week.label)
    targets: list[tuple[Profile, Path]] = [] if profile else [(ALL_ITEMS, settings.digests_dir)]
    targets += [(each, settings.digests_dir / each.name) for each in chosen]
    for each, directory in targets:
        digest = build_digest(
            state,
            week,
            sources,
            as_of=as_of,
            profile=each,
            rules=profiles.rules,
            context=context,
        )
        rendered, written = write_formats(digest, directory)
        report.paths.extend(str(path) for path in written)
        if ledger is None or each is ALL_ITEMS:
            continue
        if digest.coverage.all_failed:
            report.deliveries.append(_held_back(digest, each))
            alert = _coverage_alert(digest, each, rendered)
            report.deliveries.append(deliver(ledger, carrier, alert, smtp.sender, resend=resend))
            continue
        mail = _mail(digest, each, rendered)
        report.deliveries.append(deliver(ledger, carrier, mail, smtp.sender, resend=resend))
        report.deliveries.extend(
            publish_channels(
                ledger,
                each,
                json.loads(rendered.json),
                outbox if to_outbox else None,
                public_url=settings.public_url,
                resend=resend,
            )
        )
    report.paths.extend(str(path) for path in write_profile_feeds(settings.digests_dir))
    feed_path, problems = write_feed(settings.digests_dir)
    report.paths.append(str(feed_path))
    report.problems.extend(problems)
    return report


def _held_back(digest: Digest, profile: Profile) -> Delivery:
    return Delivery(
        week=digest.week.label,
        profile=profile.name,
        status="skipped",
        recipients=list(profile.recipients),
        detail=(
            f"not sent: every one of the {digest.coverage.checked} sources failed, so the digest "
            "would say nothing true; a coverage alert went instead, and the digest is sent by "
            "the next run in which sources answer"
        ),
    )


def _coverage_alert(digest: Digest, profile: Profile, rendered: RenderedDigest) -> DigestMail:
    """A short email that says no source could be checked, and why, source by source."""
    failures = [f"- {line.name} ({line.source}): {line.detail}" for line in digest.coverage.failed]
    text = "\n".join(
        [
            f"Horizon could not check any source for week {digest.week.label}.",
            f"All {digest.coverage.checked} sources failed, so no digest was sent: an empty one "
            "would wrongly say that nothing changed.",
            "",
            *failures,
            "",
            "Fix the causes above (network, moved feeds, blocked requests), then run "
            "`horizon run`; the digest is sent by the next run in which sources answer.",
        ]
    )
    html = "<pre>" + escape(text) + "</pre>"
    return DigestMail(
        week=digest.week.label,
        profile=f"{profile.name}.coverage-alert",
        subject=(
            f"Horizon {digest.week.label} — {profile.label}: ALERT, no source could be checked"
        ),
        recipients=tuple(profile.recipients),
        text=text,
        html=html,
        chart_png=None,
        chart_cid=chart_content_id(digest.week.label, profile.name),
        calendar_ics=rendered.calendar_ics,
        calendar_filename=f"horizon-{digest.week.label}-{profile.name}.ics",
    )


def _transport(smtp: SmtpSettings, settings: Settings) -> Transport:
    if smtp.configured:
        return SmtpTransport(smtp)
    return OutboxTransport(settings.digests_dir / "outbox")


def _mail(digest: Digest, profile: Profile, rendered: RenderedDigest) -> DigestMail:
    cid = chart_content_id(digest.week.label, profile.name)
    return DigestMail(
        week=digest.week.label,
        profile=profile.name,
        subject=f"Horizon {digest.week.label} — {profile.label}: {digest.headline}",
        recipients=tuple(profile.recipients),
        text=rendered.text,
        html=render_html(digest, chart_src=f"cid:{cid}"),
        chart_png=rendered.chart_png,
        chart_cid=cid,
        calendar_ics=rendered.calendar_ics,
        calendar_filename=f"horizon-{digest.week.label}-{profile.name}.ics",
    )
