"""The weekly digest: what a compliance lead must read this week, and proof of what was checked.

`build_digest` gathers the week's relevant items from the state, folds in every source that
reported each one, ranks them (action first: upcoming deadlines and effective dates; then by tag
strength, item type, independent sources and recency), groups the rest by control, lists what is
coming up, and states the coverage — which sources were checked, unchanged or failed and why —
so "nothing else this week" is a claim backed by evidence. `render_markdown` and `render_html`
write it out; `write_digest` puts both under the home's `digests/`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from horizon.config import Source
from horizon.item import Item
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
COMING_UP_DAYS = 30
ACTION_HORIZON_DAYS = 120
SUMMARY_CHARS = 280


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
            raise WeekError(f"'{text}' is not an ISO week; write it as YYYY-Www, e.g. 2025-W37")
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

    @property
    def item(self) -> Item:
        return self.stored.item

    @property
    def short_summary(self) -> str:
        return shorten(self.item.summary, SUMMARY_CHARS)

    @property
    def primary_control(self) -> str:
        tags = self.item.tags
        if tags is None or not tags.controls:
            return "Other relevant items"
        return max(tags.controls, key=lambda control: control.score).id


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

    @property
    def statement(self) -> str:
        if self.checked == 0:
            return "No source was checked for this week: run `horizon run` first."
        parts = [f"{self.checked} sources checked: {self.ok + self.unchanged} OK"]
        if self.unchanged:
            parts[0] += f" ({self.unchanged} unchanged since the last check)"
        parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts) + "."


@dataclass
class Digest:
    week: Week
    as_of: datetime
    profile: str
    scanned: int
    act_on: list[DigestEntry]
    by_control: dict[str, list[DigestEntry]]
    coming_up: list[tuple[date, str, DigestEntry]]
    coverage: Coverage

    @property
    def relevant_count(self) -> int:
        return len(self.act_on) + sum(len(entries) for entries in self.by_control.values())

    @property
    def title(self) -> str:
        return f"Horizon — AI regulatory horizon scan, week {self.week.label}"

    @property
    def period(self) -> str:
        first, last = self.week.monday, self.week.monday + timedelta(days=6)
        return f"{first:%-d %b %Y} – {last:%-d %b %Y}"


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a sentence or word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("; "))
    if sentence_end > limit // 2:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(",;:") + "…"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def escape_markdown(text: str | None) -> str:
    """Scraped text shown literally in Markdown: no links, emphasis or HTML of its own."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text or "")


def rank_score(stored: StoredItem, as_of: date) -> float:
    """Higher first: tag strength, item type, independent sources, an upcoming date, recency."""
    item, tags = stored.item, stored.item.tags
    if tags is None:
        return 0.0
    score = max((control.score for control in tags.controls), default=0.0)
    score += TYPE_WEIGHT.get(tags.type, 0.0)
    score += min(0.3, 0.1 * (len(stored.sources) - 1)) if stored.sources else 0.0
    upcoming = [when for when in (tags.deadline, tags.effective) if when and when >= as_of]
    if upcoming and (min(upcoming) - as_of).days <= ACTION_HORIZON_DAYS:
        score += 0.3
    if item.published is not None:
        score += 0.05 * max(0.0, 1.0 - (as_of - item.published.date()).days / 7)
    return round(score, 4)


def action_for(item: Item, as_of: date) -> str | None:
    """Why a reader must act, if they must: a deadline or an effective date coming up."""
    tags = item.tags
    if tags is None:
        return None
    if tags.deadline and tags.deadline >= as_of:
        days = (tags.deadline - as_of).days
        return f"closes {tags.deadline:%-d %b %Y} (in {days} days)"
    if tags.effective and as_of <= tags.effective <= as_of + timedelta(days=ACTION_HORIZON_DAYS):
        days = (tags.effective - as_of).days
        return f"effective {tags.effective:%-d %b %Y} (in {days} days)"
    return None


def build_digest(
    state: StateDB,
    week: Week,
    sources: list[Source],
    as_of: datetime | None = None,
    profile: str = "AI governance (all controls)",
) -> Digest:
    """Everything the digest of `week` shows, read from the state as of `as_of` (default: the
    end of the week)."""
    moment = as_of or week.end
    today = moment.date()
    in_week = state.items_in_window(week.start, week.end)
    relevant = [s for s in in_week if s.item.tags is not None and s.item.tags.relevant]
    entries = sorted(
        (
            DigestEntry(
                stored=stored,
                rank_score=rank_score(stored, today),
                also_reported_by=stored.other_reports,
                action=action_for(stored.item, today),
            )
            for stored in relevant
        ),
        key=lambda entry: (-entry.rank_score, entry.item.title),
    )
    act_on = [entry for entry in entries if entry.action]
    by_control: dict[str, list[DigestEntry]] = defaultdict(list)
    for entry in entries:
        if not entry.action:
            by_control[entry.primary_control].append(entry)
    return Digest(
        week=week,
        as_of=moment,
        profile=profile,
        scanned=len(in_week),
        act_on=act_on,
        by_control=dict(sorted(by_control.items(), key=lambda kv: -kv[1][0].rank_score)),
        coming_up=_coming_up(state, today),
        coverage=_coverage(state.latest_checks(before=moment + timedelta(days=1)), sources),
    )


def _coming_up(state: StateDB, today: date) -> list[tuple[date, str, DigestEntry]]:
    horizon_end = today + timedelta(days=ACTION_HORIZON_DAYS)
    lines: list[tuple[date, str, DigestEntry]] = []
    for stored in state.items_with_dates_between(today, horizon_end):
        tags = stored.item.tags
        if tags is None:
            continue
        entry = DigestEntry(stored, 0.0, stored.other_reports)
        if tags.deadline and today <= tags.deadline <= today + timedelta(days=COMING_UP_DAYS):
            lines.append((tags.deadline, "closes", entry))
        if tags.effective and today <= tags.effective <= horizon_end:
            lines.append((tags.effective, "takes effect", entry))
    return sorted(lines, key=lambda line: (line[0], line[2].item.title))


def _coverage(checks: list[SourceCheck], sources: list[Source]) -> Coverage:
    names = {source.id: source.name for source in sources}
    checked = {check.source: check for check in checks if check.source in names}
    coverage = Coverage(checked=len(checked))
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


def _environment(autoescape: bool) -> Environment:
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
    environment.filters["count"] = lambda number, noun: (
        f"{number} {noun}" + ("" if number == 1 else "s")
    )
    environment.globals["type_label"] = TYPE_LABEL
    return environment


def render_markdown(digest: Digest) -> str:
    return _environment(autoescape=False).get_template("digest.md.j2").render(d=digest)


def render_html(digest: Digest) -> str:
    return _environment(autoescape=True).get_template("digest.html.j2").render(d=digest)


def write_digest(digest: Digest, directory: Path) -> list[Path]:
    """Write `YYYY-Www.md` and `.html`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("md", render_markdown(digest)), ("html", render_html(digest))):
        path = directory / f"{digest.week.label}.{suffix}"
        temporary = path.with_suffix(f".{suffix}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        written.append(path)
    return written
