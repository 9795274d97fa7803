"""De-duplicate: one entry per real-world announcement, however many sources reported it, and
never one entry for two different provisions.

Folding an item hides it from search, so it needs strong evidence. The same canonical URL is the
same item (handled in `horizon.ingest.plan_batch`, unless the two are passages of one document).
Beyond that, two reports from different sources are the same announcement when their texts are
close in embedding space *and* their publication dates agree. Similarity alone cannot separate
"the Commission's GPAI guidelines" from "the GPAI obligations start to apply", which are equally
similar; the date is what tells a second report of one event from a related event (measured on
../shared/eval/dedupe-dev.jsonl by `make eval`). Without dates nothing tells two neighbouring
provisions of a rulebook from two reports of one event, so undated items fold only when their
wording is the same once case, punctuation and spacing are set aside. Whatever the similarity,
two provisions with different numbers ("4.3.3.(1)" and "4.3.3.(2)") and two passages of one
document are never folded (docs/deduplication.md).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from horizon.item import Item


@dataclass(frozen=True)
class DedupePolicy:
    """Similarity a pair needs, by how far apart its publication dates are.

    Reports of one announcement usually appear within a few days of each other; a week later
    they need to read much more alike (a second report of the same thing, not a related
    follow-up); further apart they are different events however alike they read. Undated pairs
    need the same wording as well as this similarity.
    """

    similarity_within_days: float = 0.72
    close_days: int = 3
    similarity_within_near_days: float = 0.84
    near_days: int = 10
    similarity_when_undated: float = 0.92


DEFAULT_POLICY = DedupePolicy()

_KEYWORDS = {
    "section": "section",
    "sec": "section",
    "article": "article",
    "art": "article",
    "rule": "rule",
    "regulation": "regulation",
    "reg": "regulation",
    "paragraph": "paragraph",
    "para": "paragraph",
    "clause": "clause",
    "part": "part",
    "chapter": "chapter",
    "schedule": "schedule",
    "annex": "annex",
    "appendix": "appendix",
    "recital": "recital",
    "§": "section",
    "§§": "section",
}
_SUBDIVISIONS = r"(?:\s?\((?:[0-9]{1,3}[a-z]?|[a-z]{1,2}|[ivxlc]{1,6})\))*"
_PROVISION = re.compile(
    r"""^\W{0,3}(?:
        (?P<keyword>section|sec|article|art|rule|regulation|reg|paragraph|para|clause|part
            |chapter|schedule|annex|appendix|recital|§§?)\.?\s*
        (?P<number>[0-9]+[a-z]?(?:[.\-][0-9a-z]+)*\.?"""
    + _SUBDIVISIONS
    + r"""
            |(?-i:[A-Z]{1,2}|[IVXLC]{1,7})\b)
      | (?P<dotted>[0-9]+(?:\.[0-9a-z]+)+\.?"""
    + _SUBDIVISIONS
    + r"""
            |[0-9]+(?:\((?:[0-9]{1,3}|[a-z]{1,2})\))+"""
    + _SUBDIVISIONS
    + r"""
            |[0-9]+\.(?=\s))
      | (?P<bracketed>\((?:[0-9]{1,3}[a-z]?|[a-z]{1,2}|[ivxlc]{1,6})\)"""
    + _SUBDIVISIONS
    + r""")
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD = re.compile(r"\w+")
_ID_PARTS = re.compile(r"[-_:/.#\s]+")


def provision_number(item: Item) -> str | None:
    """The number a provision's text opens with ("4.3.3.(1)", "Article 5(1)(a)", "Rule 2.1",
    "§ 12", "(2)"), normalised so that spelling variants compare equal; None when it has none.
    """
    match = _PROVISION.match(item.title)
    if match is None:
        return None
    keyword = _KEYWORDS.get((match["keyword"] or "").lower(), "")
    number = match["number"] or match["dotted"] or match["bracketed"] or ""
    number = re.sub(r"\s|\.(?=\()", "", number.lower()).rstrip(".")
    return f"{keyword} {number}".strip()


def different_provisions(first: Item, second: Item) -> bool:
    """Two texts that open with different provision numbers are two provisions."""
    first_number, second_number = provision_number(first), provision_number(second)
    return first_number is not None and second_number is not None and first_number != second_number


def same_document(first: Item, second: Item) -> bool:
    """Whether two different items are passages of one document: from the same source (or both
    from none) and sharing the URL or the leading part of their ids ("coll-4.3.3-1" and
    "coll-4.3.3-2")."""
    if first.id == second.id or (first.source or "") != (second.source or ""):
        return False
    if first.url and first.url == second.url:
        return True
    first_parts, second_parts = _ID_PARTS.split(first.id), _ID_PARTS.split(second.id)
    return len(first_parts) > 1 and len(second_parts) > 1 and first_parts[0] == second_parts[0]


def wording_key(item: Item) -> str:
    """Equal for two items whose text is the same words in the same order, whatever the case,
    punctuation, spacing or split between title and summary."""
    words = _WORD.findall(unicodedata.normalize("NFKC", item.text()).casefold())
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


def distinct_items(first: Item, second: Item) -> bool:
    """Never one item, whatever the evidence: different provisions or passages of one document
    whose texts differ."""
    if different_provisions(first, second):
        return True
    return same_document(first, second) and first.content_hash != second.content_hash


def days_apart(first: Item, second: Item) -> float | None:
    """Days between two publication dates; None when either date says too little to tell.

    A month-precise date ("2025-05") is 0 days from any day of that month and infinitely far
    from any other month; a year-only date counts as unknown.
    """
    if not _dated(first) or not _dated(second):
        return None
    assert first.published is not None and second.published is not None
    if "month" in (first.published_precision, second.published_precision):
        return 0.0 if _same_month(first.published, second.published) else math.inf
    return abs((first.published - second.published).total_seconds()) / 86400


def _dated(item: Item) -> bool:
    return item.published is not None and item.published_precision != "year"


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
    if different_provisions(candidate, existing) or same_document(candidate, existing):
        return False
    gap = days_apart(candidate, existing)
    if gap is None and wording_key(candidate) != wording_key(existing):
        return False
    needed = needed_similarity(gap, policy)
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


class BatchIndex:
    """The items of one batch accepted so far, searched only where a duplicate can be.

    A candidate can fold only into an item from another source whose date is at most
    `near_days` away, or (without dates) one with the same wording. So accepted items are kept
    by day and source, and by wording; a candidate is compared with those buckets alone, never
    with the whole batch. The cost of a batch grows with the number of items times the items
    other sources published within `near_days` of each, not with the square of the batch: a
    feed of 20,000 same-day entries from one source costs one lookup per entry.
    """

    def __init__(self, dimensions: int, policy: DedupePolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self._vectors = np.zeros((1024, dimensions), dtype=np.float32)
        self._items: list[Item] = []
        self._by_day: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._by_month: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._by_wording: dict[str, list[int]] = defaultdict(list)

    def add(self, item: Item, vector: np.ndarray) -> None:
        row = len(self._items)
        if row == len(self._vectors):
            self._vectors = np.vstack([self._vectors, np.zeros_like(self._vectors)])
        self._vectors[row] = vector
        self._items.append(item)
        self._by_wording[wording_key(item)].append(row)
        if _dated(item):
            assert item.published is not None
            buckets = self._by_month if item.published_precision == "month" else self._by_day
            key = _month_number(item.published) if buckets is self._by_month else _day(item)
            buckets[key][item.source or ""].append(row)

    def neighbours(self, candidate: Item, vector: np.ndarray) -> list[tuple[Item, float]]:
        """Accepted items that could be `candidate`'s duplicate, with their similarity."""
        rows = set(self._by_wording.get(wording_key(candidate), ()))
        if _dated(candidate):
            for bucket in self._date_buckets(candidate):
                for source, members in bucket.items():
                    if not (candidate.source and source == candidate.source):
                        rows.update(members)
        if not rows:
            return []
        ordered = sorted(rows)
        similarities = self._vectors[ordered] @ vector
        return [
            (self._items[row], float(similarity))
            for row, similarity in zip(ordered, similarities, strict=True)
        ]

    def _date_buckets(self, candidate: Item) -> list[dict[str, list[int]]]:
        assert candidate.published is not None
        month = _month_number(candidate.published)
        if candidate.published_precision == "month":
            days = [day for day in self._by_day if _month_of_day(day) == month]
        else:
            day = _day(candidate)
            days = list(range(day - self.policy.near_days, day + self.policy.near_days + 1))
        found = [self._by_day[day] for day in days if day in self._by_day]
        if month in self._by_month:
            found.append(self._by_month[month])
        return found


def _day(item: Item) -> int:
    assert item.published is not None
    return item.published.toordinal()


def _month_number(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


def _month_of_day(day: int) -> int:
    moment = datetime.fromordinal(day)
    return moment.year * 12 + moment.month - 1
