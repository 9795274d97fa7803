"""What a digest holds: the week, its entries with why each is there, dated lines and the
coverage that backs "nothing else this week"."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from horizon.chart import Trend
from horizon.config import (
    shown,
)
from horizon.digest.text import counted, shorten
from horizon.instruments.stages import StageProposal
from horizon.item import Item, Quote
from horizon.profiles import ALL_ITEMS
from horizon.provenance import Provenance
from horizon.readiness.glance import ItemReadiness
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow
from horizon.state import Report, StoredItem

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
SUMMARY_CHARS = 280
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
    provenance: Provenance | None = None

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

    @property
    def quote(self) -> Quote | None:
        """The sentence the date was read from (None for a publisher's structured date)."""
        tags = self.entry.item.tags
        if tags is None:
            return None
        return tags.deadline_quote if self.kind == "deadline" else tags.effective_quote


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
    warned: list[CoverageLine] = field(default_factory=list)
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
        muted = f" {counted(self.muted, 'item')} muted by rules." if self.muted else ""
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
