"""What a weekly run costs as the store grows: the same small batch into a store of 1,000
items and into the benchmark's largest store, runs alternating between the two.

A weekly batch is what a feed lists again: `NEW_ITEMS` items never seen (recombined as in
`bench.corpus`, so that their text and vectors look real) and `UNCHANGED_ITEMS` real documents
already stored, which the plan recognises and only touches. The batch goes through the real
ingest stages with the real model and classifier: plan, embed, dedupe (`fold_near_duplicates`),
tag, commit. Each run adds its new items, so every run gets a batch of its own.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench.corpus import synthetic_items
from horizon.embed import Embedder
from horizon.ingest import (
    Tagger,
    commit_batch,
    embed_batch,
    fold_near_duplicates,
    plan_batch,
    tag_batch,
)
from horizon.item import Item
from horizon.store import Store

NEW_ITEMS = 50
UNCHANGED_ITEMS = 450
RUNS = 3
TARGET = 1.3
STAGES = ("plan", "embed", "dedupe", "tag", "commit")
RUN_DAY = datetime(2026, 1, 5, 6, tzinfo=UTC)


@dataclass(frozen=True)
class IncrementalRun:
    """One weekly run into a store that held `stored` items: seconds per stage and what
    happened to the batch's items (`new`, `duplicate`, `unchanged`)."""

    stored: int
    stages: dict[str, float]
    outcomes: dict[str, int]

    @property
    def seconds(self) -> float:
        return sum(self.stages.values())


@dataclass(frozen=True)
class IncrementalCost:
    """The runs into the small and the large store, as stage-by-stage medians (a run's
    seconds are the sum of its stages' medians)."""

    small: IncrementalRun
    large: IncrementalRun
    runs: int

    @property
    def ratio(self) -> float:
        return self.large.seconds / self.small.seconds

    def lines(self) -> list[str]:
        verdict = "met" if self.ratio <= TARGET else "NOT met"
        lines = [
            f"Weekly run of {NEW_ITEMS} new + {UNCHANGED_ITEMS} unchanged items: "
            f"{self.large.seconds:.2f} s into {self.large.stored:,} items ÷ "
            f"{self.small.seconds:.2f} s into {self.small.stored:,} = {self.ratio:.2f} "
            f"(target ≤ {TARGET}, {verdict}; median of {self.runs} runs each, alternating)"
        ]
        for run in (self.small, self.large):
            stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in run.stages.items())
            outcomes = ", ".join(f"{count} {status}" for status, count in run.outcomes.items())
            lines.append(f"  into {run.stored:,}: {stages} s ({outcomes})")
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "new_items": NEW_ITEMS,
            "unchanged_items": UNCHANGED_ITEMS,
            "runs": self.runs,
            "small": {**asdict(self.small), "seconds": self.small.seconds},
            "large": {**asdict(self.large), "seconds": self.large.seconds},
            "ratio": self.ratio,
            "target": TARGET,
            "met": self.ratio <= TARGET,
        }


def weekly_batch(
    stored: Sequence[Item],
    base: Sequence[dict[str, Any]],
    vectors: np.ndarray,
    label: str,
    seed: int,
) -> list[Item]:
    """`NEW_ITEMS` unseen items of the run's day, then `UNCHANGED_ITEMS` of `stored` as they
    were stored (same id, source and content)."""
    recombined, _ = synthetic_items(base, vectors, NEW_ITEMS, 0, seed)
    new = [
        item.model_copy(
            update={
                "id": f"weekly-{label}-{number:03d}",
                "source": "weekly-feed",
                "published": RUN_DAY,
                "tags": None,
            }
        )
        for number, item in enumerate(recombined)
    ]
    return new + list(stored[:UNCHANGED_ITEMS])


def run_weekly_batch(
    store: Store, embedder: Embedder, tagger: Tagger, batch: Sequence[Item]
) -> IncrementalRun:
    """The batch through the ingest stages, each timed."""
    stored = store.index.count()
    clock = [time.perf_counter()]

    def lap() -> None:
        clock.append(time.perf_counter())

    plan = plan_batch(batch, store)
    lap()
    embed_batch(plan, embedder)
    lap()
    fold_near_duplicates(plan, store)
    lap()
    tag_batch(plan, tagger)
    lap()
    results = commit_batch(plan, store, RUN_DAY, embedder)
    lap()
    stages = {name: clock[n + 1] - clock[n] for n, name in enumerate(STAGES)}
    return IncrementalRun(stored, stages, dict(Counter(result.status for result in results)))


def measure_incremental(
    small: Store,
    large: Store,
    embedder: Embedder,
    tagger: Tagger,
    stored: Sequence[Item],
    base: Sequence[dict[str, Any]],
    vectors: np.ndarray,
    seed: int,
) -> IncrementalCost:
    """`RUNS` weekly runs into each store, alternating (one untimed run each first: the
    first query of a process loads the store's vector index from disk)."""
    runs: dict[str, list[IncrementalRun]] = {"small": [], "large": []}
    stores = [("small", small), ("large", large)]
    for round_number in range(RUNS + 1):
        order = stores if round_number % 2 == 0 else stores[::-1]
        for name, store in order:
            label = f"{name}-{round_number}"
            batch = weekly_batch(stored, base, vectors, label, seed + round_number)
            run = run_weekly_batch(store, embedder, tagger, batch)
            if round_number:
                runs[name].append(run)
    return IncrementalCost(_median_run(runs["small"]), _median_run(runs["large"]), RUNS)


def _median_run(runs: Sequence[IncrementalRun]) -> IncrementalRun:
    """Stage by stage medians; the store size and outcomes of the median-length run."""
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    stages = {name: statistics.median(run.stages[name] for run in runs) for name in STAGES}
    return IncrementalRun(middle.stored, stages, middle.outcomes)
