"""Which entries a reader sees first: the rank score, the action line and the top changes."""

from __future__ import annotations

from datetime import date, timedelta

from horizon.config import (
    Profile,
)
from horizon.digest.model import DigestEntry
from horizon.digest.text import days_away
from horizon.item import Item
from horizon.profiles import ALL_ITEMS, interest_score
from horizon.state import StoredItem

TYPE_WEIGHT = {
    "legislation": 0.30,
    "enforcement": 0.25,
    "consultation": 0.25,
    "guidance": 0.20,
    "standard": 0.15,
    "vendor-change": 0.15,
    "report": 0.0,
}
SOURCE_WEIGHT = 0.1
SOURCE_WEIGHT_CAP = 0.3
UPCOMING_WEIGHT = 0.3
RECENCY_WEIGHT = 0.1
RECENCY_DAYS = 14
ACTION_HORIZON_DAYS = 120
TOP_LIMIT = 5
TOP_MIN_SCORE = 0.8


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
        return f"closes {tags.deadline:%-d %b %Y} ({days_away((tags.deadline - as_of).days)})"
    if tags.effective and as_of <= tags.effective <= as_of + timedelta(days=ACTION_HORIZON_DAYS):
        days = (tags.effective - as_of).days
        return f"effective {tags.effective:%-d %b %Y} ({days_away(days)})"
    return None


def top_changes(entries: list[DigestEntry]) -> list[DigestEntry]:
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
