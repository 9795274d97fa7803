"""The store: the Chroma vector index and the SQLite run state, reached through one module.

`open_store(settings)` gives a `Store` whose index is a Chroma `PersistentClient` under the
home's `index/`, or a Chroma server (`HttpClient`) when `HORIZON_CHROMA_URL` is set. Nothing
else in Horizon talks to Chroma directly.

Writes go to Chroma first and SQLite second: upserts are idempotent by item id, so a run killed
between the two leaves an item the state does not know yet, which the next run processes again
and upserts over itself — never a duplicate, never a loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from horizon.config import Settings
from horizon.item import Item
from horizon.lexical import LexicalIndex
from horizon.state import StateDB

COLLECTION = "items"


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def open_chroma(settings: Settings) -> Any:
    """A Chroma client: embedded and persistent by default, a server when one is configured."""
    import chromadb

    if settings.chroma_url:
        address = urlsplit(settings.chroma_url)
        return chromadb.HttpClient(
            host=address.hostname or "localhost",
            port=address.port or (443 if address.scheme == "https" else 8000),
            ssl=address.scheme == "https",
            settings=_chroma_settings(),
        )
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=_chroma_settings())


def item_metadata(item: Item) -> dict[str, Any]:
    """What search filters on. Chroma refuses None values and empty lists, so they are left out."""
    metadata: dict[str, Any] = {
        "title": item.title,
        "publisher": item.publisher,
        "content_hash": item.content_hash,
    }
    if item.url:
        metadata["url"] = item.url
    if item.source:
        metadata["source"] = item.source
    if item.source_category:
        metadata["category"] = item.source_category
    if item.published is not None:
        metadata["published_ts"] = int(item.published.timestamp())
    tags = item.tags
    if tags is not None:
        metadata["relevant"] = tags.relevant
        metadata["type"] = tags.type
        metadata["jurisdiction"] = tags.jurisdiction
        if tags.controls:
            metadata["controls"] = tags.control_ids()
        if tags.themes:
            metadata["themes"] = list(tags.themes)
        if tags.deadline:
            metadata["deadline"] = tags.deadline.isoformat()
        if tags.effective:
            metadata["effective"] = tags.effective.isoformat()
    return metadata


@dataclass(frozen=True)
class Neighbour:
    item_id: str
    similarity: float


class VectorIndex:
    """Item embeddings, documents and filterable metadata in one Chroma collection."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._collection = client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    @property
    def collection(self) -> Any:
        """The Chroma collection itself, for benchmarks that compare against raw queries."""
        return self._collection

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(self, items: Sequence[Item], embeddings: np.ndarray) -> None:
        batch = max(1, min(1000, int(self._client.get_max_batch_size())))
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            self._collection.upsert(
                ids=[item.id for item in chunk],
                embeddings=embeddings[start : start + batch].tolist(),
                documents=[item.text() for item in chunk],
                metadatas=[item_metadata(item) for item in chunk],
            )

    def update_metadata(self, items: Sequence[Item]) -> None:
        batch = max(1, min(1000, int(self._client.get_max_batch_size())))
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            self._collection.update(
                ids=[item.id for item in chunk], metadatas=[item_metadata(item) for item in chunk]
            )

    def nearest(
        self, embeddings: np.ndarray, limit: int, where: dict[str, Any] | None = None
    ) -> list[list[Neighbour]]:
        """The `limit` most similar stored items for each query vector (cosine similarity)."""
        if len(embeddings) == 0 or limit < 1:
            return [[] for _ in range(len(embeddings))]
        result = self._collection.query(
            query_embeddings=embeddings.tolist(),
            n_results=limit,
            where=where,
            include=["distances"],
        )
        return [
            [
                Neighbour(item_id, 1.0 - float(distance))
                for item_id, distance in zip(ids, distances, strict=True)
            ]
            for ids, distances in zip(result["ids"], result["distances"] or [], strict=True)
        ]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        result = self._collection.get(ids=list(ids), include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None:
            return {}
        return {
            item_id: np.asarray(vector, dtype=np.float32)
            for item_id, vector in zip(result["ids"], vectors, strict=True)
        }

    def ids(self) -> list[str]:
        return list(self._collection.get(include=[])["ids"])


@dataclass
class Store:
    """The one way into stored data: vectors in `index`, run state in `state`, and the
    full-text index over the state's items in `lexical` (kept in step with them by SQLite)."""

    index: VectorIndex
    state: StateDB
    lexical: LexicalIndex = field(init=False)

    def __post_init__(self) -> None:
        self.lexical = LexicalIndex(self.state)


def open_store(settings: Settings) -> Store:
    settings.home.mkdir(parents=True, exist_ok=True)
    return Store(index=VectorIndex(open_chroma(settings)), state=StateDB(settings.state_db))
