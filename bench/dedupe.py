"""What de-duplicating a batch costs as it grows.

The fold stage (`fold_near_duplicates`) over a batch of entries of the same day that are all new,
against a store holding the 1,000 real documents, with vectors already computed (the embedding
is measured elsewhere). Two shapes: one source's feed (the case of a 20,000-entry feed: its
entries cannot be duplicates of each other, so the batch search skips them), and the same number
of entries from four sources (each block of a source compared with the other sources' entries
of those days: the dearest case).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench.corpus import synthetic_items
from horizon.ingest import fold_near_duplicates, plan_batch
from horizon.item import Item
from horizon.store import Store

SIZES = (5000, 20000)
# Each batch is folded this many times and the median kept: one fold of 5,000 entries takes about
# a second, and single timings that short moved the growth ratio by up to 1.0 between runs.
RUNS = 3
DAY = datetime(2025, 9, 15, 9, tzinfo=UTC)


@dataclass(frozen=True)
class DedupeCost:
    items: int
    sources: int
    seconds: float
    folded: int
    runs: tuple[float, ...]


def same_day_batch(
    base: Sequence[dict[str, Any]], vectors: np.ndarray, count: int, sources: int, seed: int
) -> tuple[list[Item], np.ndarray]:
    """`count` recombined entries of one day, the first quarter (or whole) from each source."""
    items, mixed = synthetic_items(base, vectors, count, 0, seed)
    dated = [
        item.model_copy(
            update={
                "id": f"feed-entry-{number:06d}",
                "source": f"bulk-feed-{number * sources // count}",
                "published": DAY,
                "tags": None,
            }
        )
        for number, item in enumerate(items)
    ]
    return dated, mixed


def measure_dedupe(
    store: Store,
    base: Sequence[dict[str, Any]],
    vectors: np.ndarray,
    count: int,
    sources: int,
    runs: int = RUNS,
) -> DedupeCost:
    """Seconds the fold stage takes over one such batch, the median of `runs` folds of it, each
    from a fresh plan (nothing is committed)."""
    items, mixed = same_day_batch(base, vectors, count, sources, seed=count + sources)
    timings = []
    for _ in range(runs):
        plan = plan_batch(items, store)
        plan.embeddings.update(enumerate(mixed))
        started = time.perf_counter()
        folded = fold_near_duplicates(plan, store)
        timings.append(time.perf_counter() - started)
    return DedupeCost(count, sources, statistics.median(timings), folded, tuple(timings))
