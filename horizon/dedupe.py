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
    """The items of one batch accepted so far, searched a block of candidates at a time.

    A block of candidates is compared with the accepted items in one matrix product, and only
    with those it could fold into: items of other sources (when the block comes from one
    source, as a feed's entries do) dated within `near_days` of the block, or undated. Only
    pairs at least as similar as the lowest threshold reach the rules. A feed of 20,000
    same-day entries from one source therefore costs one pass; entries of many sources within
    a few days of each other cost one matrix product over them (see docs/deduplication.md).
    """

    def __init__(self, dimensions: int, policy: DedupePolicy = DEFAULT_POLICY) -> None:
        self.policy = policy
        self.lowest = min(
            policy.similarity_within_days,
            policy.similarity_within_near_days,
            policy.similarity_when_undated,
        )
        self._vectors = np.zeros((1024, dimensions), dtype=np.float32)
        self._days = np.zeros(1024, dtype=np.int64)
        self._sources = np.zeros(1024, dtype=np.int64)
        self._source_codes: dict[str, int] = {}
        self._items: list[Item] = []

    def add(self, item: Item, vector: np.ndarray) -> None:
        row = len(self._items)
        if row == len(self._vectors):
            self._vectors = np.vstack([self._vectors, np.zeros_like(self._vectors)])
            self._days = np.concatenate([self._days, np.zeros_like(self._days)])
            self._sources = np.concatenate([self._sources, np.zeros_like(self._sources)])
        self._vectors[row] = vector
        self._days[row] = _day(item)
        code = self._source_codes.setdefault(item.source or "", len(self._source_codes))
        self._sources[row] = code
        self._items.append(item)

    def candidates(
        self, block: Sequence[Item], vectors: np.ndarray
    ) -> list[list[tuple[Item, float]]]:
        """For each item of `block`, the accepted items similar enough to be its duplicate."""
        rows = self._eligible_rows(block)
        if len(rows) == 0:
            return [[] for _ in block]
        similarities = vectors @ self._vectors[rows].T
        found: list[list[tuple[Item, float]]] = [[] for _ in block]
        for candidate, column in zip(*np.nonzero(similarities >= self.lowest), strict=True):
            found[candidate].append(
                (self._items[rows[column]], float(similarities[candidate, column]))
            )
        return found

    def _eligible_rows(self, block: Sequence[Item]) -> np.ndarray:
        count = len(self._items)
        eligible = np.ones(count, dtype=bool)
        block_sources = {item.source or "" for item in block}
        if len(block_sources) == 1 and "" not in block_sources:
            (source,) = block_sources
            if source in self._source_codes:
                eligible &= self._sources[:count] != self._source_codes[source]
        days = [_day(item) for item in block]
        if UNDATED not in days:
            known = self._days[:count]
            window = (known >= min(days) - self.policy.near_days - MONTH_DAYS) & (
                known <= max(days) + self.policy.near_days + MONTH_DAYS
            )
            eligible &= window | (known == UNDATED)
        return np.nonzero(eligible)[0]


UNDATED = -1
MONTH_DAYS = 31


def _day(item: Item) -> int:
    """The item's day number; a month-precise date counts as its month's first day (the date
    window is widened by a month to cover it); UNDATED without a usable date."""
    if not _dated(item):
        return UNDATED
    assert item.published is not None
    return item.published.toordinal()
