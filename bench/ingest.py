"""What indexing costs an ingest, next to the embedding it cannot avoid.

The batch goes through the real ingest stages: `plan_batch`, `embed_batch` (timed: the
embedding), `commit_batch` (timed: Chroma upsert plus the SQLite write whose triggers index the
text in FTS5, in the same transaction). The FTS5 share alone is the difference between saving
the same items into a fresh state database with and without the full-text index (median of a
few tries).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from horizon.embed import Embedder
from horizon.ingest import commit_batch, embed_batch, plan_batch
from horizon.item import Item
from horizon.lexical import LexicalIndex
from horizon.state import StateDB
from horizon.store import Store

TRIES = 3


@dataclass(frozen=True)
class IngestOverhead:
    items: int
    embed_s: float
    index_s: float
    fulltext_s: float

    @property
    def index_share(self) -> float:
        """Indexing into both engines as a share of the embedding time."""
        return self.index_s / self.embed_s

    @property
    def fulltext_share(self) -> float:
        return self.fulltext_s / self.embed_s


def measure_ingest(
    store: Store, embedder: Embedder, items: Sequence[Item]
) -> tuple[IngestOverhead, np.ndarray]:
    """Ingest `items` into `store` (empty), timing each part; returns the timings and the
    items' vectors, row for row."""
    seen_at = datetime.now(UTC)
    plan = plan_batch(items, store)
    started = time.perf_counter()
    embed_batch(plan, embedder)
    embedded = time.perf_counter()
    commit_batch(plan, store, seen_at)
    committed = time.perf_counter()
    vectors = np.vstack([plan.embeddings[position] for position in range(len(items))])
    overhead = IngestOverhead(
        items=len(items),
        embed_s=embedded - started,
        index_s=committed - embedded,
        fulltext_s=fulltext_cost(items, seen_at),
    )
    return overhead, vectors


def fulltext_cost(items: Sequence[Item], seen_at: datetime) -> float:
    """Seconds the FTS5 triggers add to saving `items` into the state database."""
    with_index, without = [], []
    for _ in range(TRIES):
        with tempfile.TemporaryDirectory(prefix="horizon-bench-state-") as folder:
            plain = StateDB(Path(folder) / "plain.db")
            indexed = StateDB(Path(folder) / "indexed.db")
            LexicalIndex(indexed)
            without.append(_timed_save(plain, items, seen_at))
            with_index.append(_timed_save(indexed, items, seen_at))
    return max(0.0, statistics.median(with_index) - statistics.median(without))


def _timed_save(state: StateDB, items: Sequence[Item], seen_at: datetime) -> float:
    started = time.perf_counter()
    state.save_new_items(items, seen_at)
    return time.perf_counter() - started
