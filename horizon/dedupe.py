"""De-duplicate: one entry per real-world announcement, however many sources reported it.

Two stages. The same canonical URL is the same item (handled by the store's URL index). Beyond
that, two reports from different sources are the same announcement when their texts are close in
embedding space *and* their publication dates agree. Similarity alone cannot separate "the
Commission's GPAI guidelines" from "the GPAI obligations start to apply", which are equally
similar; the date is what tells a second report of one event from a related event
(measured on ../shared/eval/dedupe-dev.jsonl by `make eval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from horizon.item import Item


@dataclass(frozen=True)
class DedupePolicy:
    """Similarity a pair needs, by how much its dates tell us."""

    similarity_when_dates_agree: float = 0.72
    similarity_when_undated: float = 0.92
    day_window: int = 3


DEFAULT_POLICY = DedupePolicy()


def dates_agree(first: Item, second: Item, window_days: int) -> bool | None:
    """True when both dates can be the same event's, False when they cannot, None when unknown.

    A month-precise date ("2025-05") agrees with any day of that month; a year-only date says
    too little and counts as unknown.
    """
    if first.published is None or second.published is None:
        return None
    if "year" in (first.published_precision, second.published_precision):
        return None
    if "month" in (first.published_precision, second.published_precision):
        return _same_month(first.published, second.published)
    return abs((first.published - second.published).total_seconds()) <= window_days * 86400


def _same_month(first: datetime, second: datetime) -> bool:
    return (first.year, first.month) == (second.year, second.month)


def is_near_duplicate(
    candidate: Item, existing: Item, similarity: float, policy: DedupePolicy = DEFAULT_POLICY
) -> bool:
    """Whether `candidate` reports the same announcement as `existing`.

    A source does not report one announcement twice in its own feed: two entries from the same
    source are distinct (SDK releases v1.2.3 and v1.2.4 read alike but are different changes).
    """
    if candidate.source and existing.source and candidate.source == existing.source:
        return False
    agree = dates_agree(candidate, existing, policy.day_window)
    if agree is False:
        return False
    needed = policy.similarity_when_dates_agree if agree else policy.similarity_when_undated
    return similarity >= needed


def best_duplicate(
    candidate: Item,
    neighbours: Sequence[tuple[Item, float]],
    policy: DedupePolicy = DEFAULT_POLICY,
) -> Item | None:
    """The most similar neighbour that is the same announcement, if any."""
    matches = [
        (similarity, item)
        for item, similarity in neighbours
        if item.id != candidate.id and is_near_duplicate(candidate, item, similarity, policy)
    ]
    if not matches:
        return None
    return max(matches, key=lambda match: match[0])[1]
