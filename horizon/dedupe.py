"""De-duplicate: one entry per real-world announcement, however many sources reported it.

Two stages. The same canonical URL is the same item (handled by the store's URL index). Beyond
that, two reports from different sources are the same announcement when their texts are close in
embedding space *and* their publication dates agree. Similarity alone cannot separate "the
Commission's GPAI guidelines" from "the GPAI obligations start to apply", which are equally
similar; the date is what tells a second report of one event from a related event
(measured on ../shared/eval/dedupe-dev.jsonl by `make eval`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from horizon.item import Item


@dataclass(frozen=True)
class DedupePolicy:
    """Similarity a pair needs, by how far apart its publication dates are.

    Reports of one announcement usually appear within a few days of each other; a week later
    they need to read much more alike (a second report of the same thing, not a related
    follow-up); further apart they are different events however alike they read.
    """

    similarity_within_days: float = 0.72
    close_days: int = 3
    similarity_within_near_days: float = 0.84
    near_days: int = 10
    similarity_when_undated: float = 0.92


DEFAULT_POLICY = DedupePolicy()


def days_apart(first: Item, second: Item) -> float | None:
    """Days between two publication dates; None when either date says too little to tell.

    A month-precise date ("2025-05") is 0 days from any day of that month and infinitely far
    from any other month; a year-only date counts as unknown.
    """
    if first.published is None or second.published is None:
        return None
    if "year" in (first.published_precision, second.published_precision):
        return None
    if "month" in (first.published_precision, second.published_precision):
        return 0.0 if _same_month(first.published, second.published) else math.inf
    return abs((first.published - second.published).total_seconds()) / 86400


def _same_month(first: datetime, second: datetime) -> bool:
    return (first.year, first.month) == (second.year, second.month)


def needed_similarity(gap: float | None, policy: DedupePolicy = DEFAULT_POLICY) -> float | None:
    """The similarity two reports this far apart need to be one announcement; None: never."""
    if gap is None:
        return policy.similarity_when_undated
    if gap <= policy.close_days:
        return policy.similarity_within_days
    if gap <= policy.near_days:
        return policy.similarity_within_near_days
    return None


def is_near_duplicate(
    candidate: Item, existing: Item, similarity: float, policy: DedupePolicy = DEFAULT_POLICY
) -> bool:
    """Whether `candidate` reports the same announcement as `existing`.

    A source does not report one announcement twice in its own feed: two entries from the same
    source are distinct (SDK releases v1.2.3 and v1.2.4 read alike but are different changes).
    """
    if candidate.source and existing.source and candidate.source == existing.source:
        return False
    needed = needed_similarity(days_apart(candidate, existing), policy)
    return needed is not None and similarity >= needed


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
