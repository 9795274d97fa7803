"""Horizon's stages against the raw libraries they wrap, on the same input in one process,
runs alternating (so that load from other work falls on both sides alike).

Embedding: `MiniLMEmbedder.embed` against `SentenceTransformer.encode(texts, batch_size=64)`.
Chroma writes: `VectorIndex.upsert` (ids, vectors, documents and metadata built from items)
against `collection.upsert` with those same lists prepared beforehand, each into an empty
collection. A ratio is the raw time over Horizon's: 1.0 means no overhead.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from horizon.config import load_settings
from horizon.embed import BATCH_SIZE, MiniLMEmbedder
from horizon.item import Item
from horizon.store import COLLECTION, VectorIndex, item_metadata, open_chroma

ROUNDS = 3
EMBED_TEXTS = 400
EMBED_TARGET = 0.95
WRITE_TARGET = 0.9


@dataclass(frozen=True)
class Ratio:
    what: str
    horizon_s: float
    raw_s: float
    target: float

    @property
    def ratio(self) -> float:
        return self.raw_s / self.horizon_s

    def line(self) -> str:
        verdict = "met" if self.ratio >= self.target else "NOT met"
        return (
            f"{self.what}: {self.ratio:.2f} (target ≥ {self.target:.2f}, {verdict}; "
            f"Horizon {self.horizon_s:.2f} s, raw {self.raw_s:.2f} s, {ROUNDS} rounds each)"
        )


def alternate(
    horizon: Callable[[], object],
    raw: Callable[[], object],
    prepare: Callable[[], object] = lambda: None,
) -> tuple[float, float]:
    """Total seconds of each side over ROUNDS alternating runs (`prepare`, untimed, before
    each run)."""
    totals = [0.0, 0.0]
    for _ in range(ROUNDS):
        for side, run in enumerate((horizon, raw)):
            prepare()
            started = time.perf_counter()
            run()
            totals[side] += time.perf_counter() - started
    return totals[0], totals[1]


def embed_ratio(embedder: MiniLMEmbedder, texts: Sequence[str]) -> Ratio:
    """The embed stage against raw `encode(batch_size=64)` on the same texts."""
    texts = list(texts[:EMBED_TEXTS])

    def raw() -> None:
        embedder.model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    embedder.embed(texts[:BATCH_SIZE])
    horizon_s, raw_s = alternate(lambda: embedder.embed(texts, lambda done: None), raw)
    return Ratio(
        f"Embed stage ÷ raw SentenceTransformer.encode(batch_size=64), {len(texts)} texts",
        horizon_s,
        raw_s,
        EMBED_TARGET,
    )


def write_ratio(items: Sequence[Item], vectors: np.ndarray) -> Ratio:
    """`VectorIndex.upsert` against raw `collection.upsert`, each into an empty collection."""
    with tempfile.TemporaryDirectory(prefix="horizon-bench-chroma-") as home:
        client = open_chroma(load_settings(home=Path(home), env={}))
        batch = max(1, min(1000, int(client.get_max_batch_size())))
        ids = [item.id for item in items]
        embeddings = vectors.tolist()
        documents = [item.text() for item in items]
        metadatas = [item_metadata(item) for item in items]

        def fresh() -> None:
            if COLLECTION in [collection.name for collection in client.list_collections()]:
                client.delete_collection(COLLECTION)

        def horizon() -> None:
            VectorIndex(client).upsert(items, vectors)

        def raw() -> None:
            collection = client.get_or_create_collection(
                COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
            for start in range(0, len(ids), batch):
                collection.upsert(
                    ids=ids[start : start + batch],
                    embeddings=embeddings[start : start + batch],
                    documents=documents[start : start + batch],
                    metadatas=metadatas[start : start + batch],
                )

        horizon_s, raw_s = alternate(horizon, raw, prepare=fresh)
    return Ratio(
        f"Chroma writes ÷ raw collection.upsert, {len(items)} items",
        horizon_s,
        raw_s,
        WRITE_TARGET,
    )
