"""Getting a batch of normalised items into the store: the stages after normalisation.

    plan   what is new, what is a known report (unchanged or changed), what repeats a URL
    embed  only new items and items whose content changed — never an unchanged one
    dedupe fold near-duplicates from other sources into the item they report
    tag    classify each item that will be stored (reading its full text, when the crawl
           fetched one, for dates and evidence; see `Item.full_text`), and each unchanged item
           whose full text was read after it was stored (`BatchPlan.late_text`)
    commit write vectors to Chroma, then state to SQLite; say what happened to each input

Each stage is a function on a `BatchPlan`, so the Prefect flow can run and time them as tasks,
and `ingest_items` runs them in order for the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import numpy as np

from horizon.dedupe import DEFAULT_POLICY, BatchIndex, DedupePolicy, best_duplicate, distinct_items
from horizon.embed import Embedder
from horizon.enrich.store import FullTextStore
from horizon.item import Item, Tags
from horizon.state import Report
from horizon.store import Store, item_passages

Status = Literal["new", "duplicate", "unchanged", "error"]
NEIGHBOURS = 8
DEDUPE_BLOCK = 256
INGEST_CHUNK = 500  # items committed together by `horizon ingest` and `horizon backfill`


class Tagger(Protocol):
    def classify(
        self, items: Sequence[Item], embeddings: np.ndarray | None = None
    ) -> list[Tags]: ...


@dataclass(frozen=True)
class IngestResult:
    """What happened to one input item. `duplicate_of` names the stored item it was folded
    into; `updated` marks a known item whose text changed (re-embedded and re-tagged);
    `retagged` an unchanged item re-tagged and re-indexed with a full text read since it was
    stored (not re-embedded, not updated)."""

    id: str
    source: str | None
    status: Status
    duplicate_of: str | None = None
    error: str | None = None
    updated: bool = False
    retagged: bool = False

    def as_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "duplicate_of": self.duplicate_of,
        }
        if self.error is not None:
            result["error"] = self.error
        if self.updated:
            result["updated"] = True
        if self.retagged:
            result["retagged_with_full_text"] = True
        return result


@dataclass
class BatchPlan:
    """A batch on its way through the stages; positions index into `items`. `late_text`
    holds the unchanged items to re-tag with a full text read after they were stored (their
    stored vectors are in `embeddings`)."""

    items: list[Item]
    fresh: list[int] = field(default_factory=list)
    changed: list[tuple[int, Report]] = field(default_factory=list)
    unchanged: list[tuple[int, Report]] = field(default_factory=list)
    folded: dict[int, tuple[str, str]] = field(default_factory=dict)
    repeats: dict[int, int] = field(default_factory=dict)
    embeddings: dict[int, np.ndarray] = field(default_factory=dict)
    tags: dict[int, Tags] = field(default_factory=dict)
    late_text: list[int] = field(default_factory=list)

    def to_embed(self) -> list[int]:
        """Positions whose text needs a vector: new items and changed originals (a changed
        duplicate report is never stored in the index, so never embedded)."""
        return self.fresh + [p for p, report in self.changed if report.how == "original"]

    def to_store(self) -> list[int]:
        """Positions that become (or replace) stored items: fresh ones not folded, changed
        originals."""
        stored = [position for position in self.fresh if position not in self.folded]
        stored += [position for position, report in self.changed if report.how == "original"]
        return sorted(stored)


def plan_batch(items: Sequence[Item], store: Store) -> BatchPlan:
    """Sort the batch against what is stored: known reports, URLs already stored, new items.

    A URL shared with a stored item, or with an earlier item of the batch, makes a report of
    that item, unless the two are distinct provisions or passages of one document
    (`horizon.dedupe.distinct_items`): those are new items.
    """
    plan = BatchPlan(items=list(items))
    known = store.state.known_reports(plan.items)
    stored_urls = store.state.items_by_url(item.url for item in plan.items if item.url)
    stored = store.state.get_items(set(stored_urls.values()))
    first_by_key: dict[tuple[str, str], int] = {}
    first_by_url: dict[str, int] = {}
    for position, item in enumerate(plan.items):
        key = (item.id, item.source or "")
        if key in first_by_key:
            plan.repeats[position] = first_by_key[key]
            continue
        first_by_key[key] = position
        report = known.get(key)
        stored_match = stored.get(stored_urls.get(item.url or "", ""))
        batch_match = first_by_url.get(item.url or "")
        if report is not None:
            target = plan.unchanged if report.content_hash == item.content_hash else plan.changed
            target.append((position, report))
        elif stored_match is not None and not distinct_items(item, stored_match.item):
            plan.folded[position] = (stored_match.item.id, "same-url")
        elif batch_match is not None and not distinct_items(item, plan.items[batch_match]):
            plan.repeats[position] = batch_match
        else:
            plan.fresh.append(position)
        if item.url:
            first_by_url.setdefault(item.url, position)
    _plan_late_full_texts(plan, store)
    return plan


def _plan_late_full_texts(plan: BatchPlan, store: Store) -> None:
    """Find the unchanged items whose full text was read after they were stored (a link left
    over by the crawl budget, followed later) and load their stored vectors for tagging.

    The signal is the item's stored passages: an item stored with its full text has the
    body's passages indexed, one stored before it has only its summary's. Re-indexing them is
    the last step of `Store.retag_items`, so once done the item is not picked again."""
    candidates = [
        position
        for position, report in plan.unchanged
        if report.how == "original"
        and report.item_id == plan.items[position].id
        and plan.items[position].full_text
    ]
    if not candidates:
        return
    stored = store.lexical_passages.stored([plan.items[p].id for p in candidates])
    late = [
        position
        for position in candidates
        if stored.get(plan.items[position].id, []) != item_passages(plan.items[position])
    ]
    vectors = store.index.embeddings([plan.items[p].id for p in late])
    plan.late_text = [p for p in late if plan.items[p].id in vectors]
    plan.embeddings.update((p, vectors[plan.items[p].id]) for p in plan.late_text)


def embed_batch(
    plan: BatchPlan, embedder: Embedder, on_progress: Callable[[int], None] | None = None
) -> int:
    """Embed new items and changed originals; returns how many texts were embedded."""
    positions = plan.to_embed()
    vectors = embedder.embed([plan.items[p].text() for p in positions], on_progress)
    plan.embeddings.update(zip(positions, vectors, strict=True))
    return len(positions)


def fold_near_duplicates(
    plan: BatchPlan, store: Store, policy: DedupePolicy = DEFAULT_POLICY
) -> int:
    """Fold each new item that reports an announcement already stored, or already accepted
    earlier in this batch, into that item. Returns how many were folded.

    Stored candidates come from the vector index (its nearest neighbours); candidates within
    the batch from a `BatchIndex`, which compares an item only with items it could duplicate,
    so the stage grows with the batch, not with its square.
    """
    fresh = [position for position in plan.fresh if position not in plan.folded]
    if not fresh:
        return 0
    vectors = np.vstack([plan.embeddings[position] for position in fresh])
    stored_neighbours = store.index.nearest(vectors, NEIGHBOURS)
    stored_items = store.state.get_items({n.item_id for row in stored_neighbours for n in row})
    accepted = BatchIndex(vectors.shape[1], policy)
    folded = 0
    for start in range(0, len(fresh), DEDUPE_BLOCK):
        block = fresh[start : start + DEDUPE_BLOCK]
        block_items = [plan.items[position] for position in block]
        block_vectors = vectors[start : start + DEDUPE_BLOCK]
        earlier = accepted.candidates(block_items, block_vectors)
        within = block_vectors @ block_vectors.T
        accepted_in_block: list[int] = []
        for offset, (position, candidate) in enumerate(zip(block, block_items, strict=True)):
            neighbours = [
                (stored_items[n.item_id].item, n.similarity)
                for n in stored_neighbours[start + offset]
                if n.item_id in stored_items
            ]
            neighbours += earlier[offset]
            neighbours += [
                (block_items[k], float(within[offset, k]))
                for k in accepted_in_block
                if within[offset, k] >= accepted.lowest
            ]
            match = best_duplicate(candidate, neighbours, policy)
            if match is None:
                accepted_in_block.append(offset)
            else:
                plan.folded[position] = (match.id, "near-duplicate")
                folded += 1
        for offset in accepted_in_block:
            accepted.add(block_items[offset], block_vectors[offset])
    return folded


def tag_batch(plan: BatchPlan, tagger: Tagger) -> int:
    """Classify every item that will be stored, and every unchanged one to re-tag with its
    late full text (with its stored vector); returns how many."""
    positions = plan.to_store() + plan.late_text
    if not positions:
        return 0
    vectors = np.vstack([plan.embeddings[p] for p in positions])
    tags = tagger.classify([plan.items[p] for p in positions], vectors)
    plan.tags.update(zip(positions, tags, strict=True))
    return len(positions)


def commit_batch(
    plan: BatchPlan, store: Store, seen_at: datetime, embedder: Embedder | None = None
) -> list[IngestResult]:
    """Write vectors first, then state (`Store.save_items`; `embedder` embeds long items'
    passages), re-tag the items with a late full text (`Store.retag_items`), and report one
    result per input item, in order."""
    positions = plan.to_store()
    stored = [plan.items[p].model_copy(update={"tags": plan.tags.get(p)}) for p in positions]
    if stored:
        store.save_items(
            stored, np.vstack([plan.embeddings[p] for p in positions]), seen_at, embedder
        )
    store.retag_items(
        [plan.items[p].model_copy(update={"tags": plan.tags.get(p)}) for p in plan.late_text],
        embedder,
    )
    for how in ("same-url", "near-duplicate"):
        store.state.save_reports(
            [(plan.items[p], target) for p, (target, kind) in plan.folded.items() if kind == how],
            how,
            seen_at,
        )
    changed_reports = [
        (plan.items[p], report.item_id) for p, report in plan.changed if report.how != "original"
    ]
    store.state.save_reports(changed_reports, "changed-report", seen_at)
    store.state.touch([report.item_id for _, report in plan.unchanged], seen_at)
    results = _results(plan)
    same_url_in_batch = [
        (plan.items[position], results[position].duplicate_of or "")
        for position in plan.repeats
        if results[position].status == "duplicate"
    ]
    store.state.save_reports(same_url_in_batch, "same-url", seen_at)
    return results


def _results(plan: BatchPlan) -> list[IngestResult]:
    results: dict[int, IngestResult] = {}
    for position in plan.fresh:
        item = plan.items[position]
        if position in plan.folded:
            results[position] = IngestResult(
                item.id, item.source, "duplicate", plan.folded[position][0]
            )
        else:
            results[position] = IngestResult(item.id, item.source, "new")
    for position, (target, _) in plan.folded.items():
        if position not in results:
            item = plan.items[position]
            results[position] = IngestResult(item.id, item.source, "duplicate", target)
    for position, report in plan.changed:
        item = plan.items[position]
        if report.how == "original":
            results[position] = IngestResult(item.id, item.source, "new", updated=True)
        else:
            results[position] = IngestResult(
                item.id, item.source, "duplicate", report.item_id, updated=True
            )
    late_text = set(plan.late_text)
    for position, report in plan.unchanged:
        item = plan.items[position]
        duplicate_of = report.item_id if report.how != "original" else None
        results[position] = IngestResult(
            item.id, item.source, "unchanged", duplicate_of, retagged=position in late_text
        )
    for position, first in sorted(plan.repeats.items()):
        item = plan.items[position]
        earlier = results[first]
        target = earlier.duplicate_of or earlier.id
        same_report = (earlier.id, earlier.source or "") == (item.id, item.source or "")
        status: Status = "unchanged" if same_report else "duplicate"
        results[position] = IngestResult(item.id, item.source, status, target)
    return [results[position] for position in range(len(plan.items))]


@dataclass
class Ingestor:
    """Runs the stages in order over one batch, for callers outside a Prefect flow."""

    store: Store
    embedder: Embedder
    tagger: Tagger
    policy: DedupePolicy = DEFAULT_POLICY

    def ingest(
        self,
        items: Sequence[Item],
        seen_at: datetime,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[IngestResult]:
        plan = plan_batch(FullTextStore(self.store.state).attach(items), self.store)
        embed_batch(plan, self.embedder, on_progress)
        fold_near_duplicates(plan, self.store, self.policy)
        tag_batch(plan, self.tagger)
        return commit_batch(plan, self.store, seen_at, self.embedder)
