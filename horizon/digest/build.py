"""Gathering one profile's digest for a week from the state: entries, dates, trend, coverage."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from horizon.chart import Trend
from horizon.config import (
    Profile,
    Rules,
    Source,
)
from horizon.digest.model import (
    NO_CONTROL,
    Coverage,
    CoverageLine,
    DatedEntry,
    Digest,
    DigestEntry,
    Week,
)
from horizon.digest.rank import ACTION_HORIZON_DAYS, action_for, rank_score, top_changes
from horizon.digest.text import ordinal
from horizon.item import Item
from horizon.profiles import ALL_ITEMS, matches
from horizon.provenance import provenance_of
from horizon.readiness.glance import ReadinessContext, assess_item
from horizon.readiness.tracker import ReadinessRow, applies_within
from horizon.rules import combined, judge
from horizon.state import SourceCheck, StateDB, StoredItem

COMING_UP_DAYS = 30
APPLIES_SOON_DAYS = 90
CALENDAR_DAYS = 365
TREND_WEEKS = 12
LATE_DISCOVERY_DAYS = 60
DIGEST_GRACE = timedelta(days=1)


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
    top = top_changes(entries)
    top_ids = {entry.item.id for entry in top}
    by_control: dict[str, list[DigestEntry]] = defaultdict(list)
    for entry in entries:
        if entry.item.id not in top_ids:
            by_control[entry.primary_control].append(entry)
    dated = _dated(state, today, chosen)
    shown = [*entries, *(line.entry for line in dated)]
    provenance = provenance_of(state, [entry.item for entry in shown])
    for entry in shown:
        entry.provenance = provenance.get(entry.item.id)
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
                f" ({ordinal(check.consecutive_failures)} failure in a row)"
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
        if check.outcome != "failed" and check.warning:
            coverage.warned.append(
                CoverageLine(source_id, names[source_id], check.outcome, check.warning)
            )
    coverage.never_checked = sorted(set(names) - set(checked))
    return coverage
