"""`horizon reindex`: re-embed every stored item (after a model change) and rewrite its vector
and its passages' vectors, chunk by chunk, recording progress after each chunk's write.

Items are walked in id order from the state database, the record of what is stored; their rows
(tags, dates, first-seen) are left as they are. A rerun with the same model continues after the
last recorded chunk; a chunk killed mid-write is simply written again (upserts by id).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from horizon.bulk.ledger import Ledger
from horizon.embed import Embedder
from horizon.progress import reporter
from horizon.store import Store

REINDEX_CHUNK = 256


@dataclass
class ReindexSummary:
    model: str
    previous_model: str | None
    items: int
    embedded_items: int = 0
    embedded_passages: int = 0
    resumed_after: int = 0
    chunks: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_reindex(store: Store, embedder: Embedder, chunk: int = REINDEX_CHUNK) -> ReindexSummary:
    """Re-embed every stored item with `embedder`, continuing an interrupted pass of the same
    model; the index's recorded model becomes `embedder.name` when the pass completes."""
    ledger = Ledger(store.state)
    total = store.state.count_items()
    current, resumed = ledger.open_pass(embedder.name, total)
    summary = ReindexSummary(embedder.name, ledger.index_model(), max(total, current.done))
    summary.resumed_after = current.done if resumed else 0
    reporter().start("Re-embedding", total=summary.items)
    reporter().advance(summary.resumed_after)
    while ids := ledger.item_ids_after(current.last_id, chunk):
        stored = store.state.get_items(ids)
        items = [stored[item_id].item for item_id in ids if item_id in stored]
        vectors = embedder.embed([item.text() for item in items])
        summary.embedded_passages += store.replace_vectors(items, vectors, embedder)
        current = ledger.advance_pass(current, ids[-1], current.done + len(ids))
        summary.embedded_items += len(items)
        summary.chunks += 1
        reporter().advance(len(ids))
    ledger.finish_pass(current)
    reporter().finish("Re-embedding", f"{summary.embedded_items} items")
    return summary
