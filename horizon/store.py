"""The store: the Chroma vector index and the SQLite run state, reached through one module.

`open_store(settings)` gives a `Store` whose index is a Chroma `PersistentClient` under the
home's `index/`, or a Chroma server (`HttpClient`) when `HORIZON_CHROMA_URL` is set. Nothing
else in Horizon talks to Chroma directly.

Writes go to Chroma first and SQLite second: upserts are idempotent by item id, so a run killed
between the two leaves an item the state does not know yet, which the next run processes again
and upserts over itself — never a duplicate, never a loss.

A long item, and an item with a full text (the linked page or PDF, at most
`MAX_FULL_TEXT_PASSAGES` of it), is also stored as passages (`horizon.passages`): their
vectors in a second Chroma collection, `passages` (ids `ITEM#N`, metadata `item_id` and
`passage`), and their text in the state's full-text index. `Store.save_items` writes, in
this order, the item vectors, the passage vectors (and removes those of passages the item no
longer has), the passage text, and last the item rows: a run killed anywhere before the last
step leaves an item the state does not know (or knows with its old content hash), which the
next run writes again, over itself.

`Store.retag_items` re-tags stored items whose text is unchanged but whose full text was read
after they were stored: their tags (rows and vector metadata), then the passage vectors, and
last the passage text — the step by which the next run tells the work is done, so a run killed
before it re-tags the same items again (every step is idempotent). Item vectors stay as they
are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from horizon.config import Settings
from horizon.embed import Embedder
from horizon.item import Item
from horizon.lexical import LexicalIndex, PassageIndex
from horizon.passages import full_text_passages, split_passages
from horizon.state import StateDB

COLLECTION = "items"
PASSAGE_COLLECTION = "passages"


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


@dataclass(frozen=True)
class PassageNeighbour:
    item_id: str
    number: int
    similarity: float


def passage_id(item_id: str, number: int) -> str:
    return f"{item_id}#{number}"


def passage_key(stored_id: str) -> tuple[str, int]:
    """(item id, number) of a passage id made by `passage_id` (the number follows the last
    "#", so an item id may contain one)."""
    item_id, _, number = stored_id.rpartition("#")
    return item_id, int(number)


def item_passages(item: Item) -> list[str]:
    """The passages an item is searched by: its long summary's, then its full text's."""
    return split_passages(item.summary) + full_text_passages(item.full_text)


def passage_text_to_embed(title: str, passage: str) -> str:
    """A passage is embedded under its item's title, which says what the passage is part of."""
    return f"{title}. {passage}"


@dataclass(frozen=True)
class _Opened:
    client: Any
    items: Any
    passages: Any


class VectorIndex:
    """Item embeddings, documents and filterable metadata in one Chroma collection (and the
    passages' in a second).

    Chroma is reached through `connect` on first use, not when the store opens: a weekly run
    that finds nothing new, and every command that reads only the state, never imports it
    (about 0.9 s here)."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._opening = threading.Lock()
        self._opened: _Opened | None = None

    def _open(self) -> _Opened:
        with self._opening:
            if self._opened is None:
                client = self._connect()
                self._opened = _Opened(
                    client,
                    client.get_or_create_collection(
                        COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
                    ),
                    client.get_or_create_collection(
                        PASSAGE_COLLECTION,
                        metadata={"hnsw:space": "cosine"},
                        embedding_function=None,
                    ),
                )
            return self._opened

    @property
    def _client(self) -> Any:
        return (self._opened or self._open()).client

    @property
    def _collection(self) -> Any:
        return (self._opened or self._open()).items

    @property
    def _passages(self) -> Any:
        return (self._opened or self._open()).passages

    def _batch(self) -> int:
        return max(1, min(1000, int(self._client.get_max_batch_size())))

    @property
    def collection(self) -> Any:
        """The Chroma collection itself, for benchmarks that compare against raw queries."""
        return self._collection

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(self, items: Sequence[Item], embeddings: np.ndarray) -> None:
        batch = self._batch()
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

    def passage_vectors(self) -> dict[str, np.ndarray]:
        """Every passage vector by passage id (`ITEM#N`), for checks after re-indexing."""
        result = self._passages.get(include=["embeddings"])
        vectors = result["embeddings"]
        if vectors is None:
            return {}
        return {
            key: np.asarray(vector, dtype=np.float32)
            for key, vector in zip(result["ids"], vectors, strict=True)
        }

    def passage_count(self) -> int:
        return int(self._passages.count())

    def upsert_passages(
        self,
        keys: Sequence[tuple[str, int]],
        embeddings: np.ndarray,
        stale: Sequence[tuple[str, int]] = (),
    ) -> None:
        """Store passage vectors under (item id, number), then remove the `stale` ones
        (passages a changed item no longer has); both idempotent."""
        batch = self._batch()
        for start in range(0, len(keys), batch):
            chunk = keys[start : start + batch]
            self._passages.upsert(
                ids=[passage_id(item_id, number) for item_id, number in chunk],
                embeddings=embeddings[start : start + batch].tolist(),
                metadatas=[{"item_id": item_id, "passage": number} for item_id, number in chunk],
            )
        for start in range(0, len(stale), batch):
            chunk = stale[start : start + batch]
            self._passages.delete(ids=[passage_id(item_id, number) for item_id, number in chunk])

    def nearest_passages(self, embedding: np.ndarray, limit: int) -> list[PassageNeighbour]:
        """The `limit` passages most similar to one query vector, best first. (No count
        first: Chroma answers an empty collection with no results, and a count costs every
        search a call.) Item and number are read from the passage's id: asking Chroma for the
        metadata too made the query 3.5x slower (8.2 against 2.3 ms at 79k passages)."""
        if limit < 1:
            return []
        result = self._passages.query(
            query_embeddings=embedding.reshape(1, -1).tolist(),
            n_results=limit,
            include=["distances"],
        )
        return [
            PassageNeighbour(*passage_key(stored_id), 1.0 - float(distance))
            for stored_id, distance in zip(
                result["ids"][0], (result["distances"] or [[]])[0], strict=True
            )
        ]


@dataclass
class Store:
    """The one way into stored data: vectors in `index`, run state in `state`, and the
    full-text index over the state's items in `lexical` (kept in step with them by SQLite)."""

    index: VectorIndex
    state: StateDB
    lexical: LexicalIndex = field(init=False)
    lexical_passages: PassageIndex = field(init=False)

    def __post_init__(self) -> None:
        self.lexical = LexicalIndex(self.state)
        self.lexical_passages = PassageIndex(self.state)

    def save_items(
        self,
        items: Sequence[Item],
        embeddings: np.ndarray,
        seen_at: datetime,
        embedder: Embedder | None,
    ) -> None:
        """Store new or changed items with their passages, in the crash-safe order of the
        module docstring. `embedder` embeds the passages (the model that embedded the items);
        without one, passages are indexed for their words only."""
        if not items:
            return
        passages = {item.id: item_passages(item) for item in items}
        stale = self._stale_passages(passages)
        self.index.upsert(items, embeddings)
        if embedder is not None:
            self._embed_passages(items, passages, embedder, stale)
        self.lexical_passages.replace(passages)
        self.state.save_new_items(items, seen_at)

    def retag_items(self, items: Sequence[Item], embedder: Embedder | None) -> None:
        """Store new tags and passages for items whose text is unchanged (a full text read
        after they were stored), in the order of the module docstring; vectors untouched."""
        if not items:
            return
        passages = {item.id: item_passages(item) for item in items}
        stale = self._stale_passages(passages)
        self.state.set_tags([(item.id, item.tags) for item in items if item.tags is not None])
        self.index.update_metadata(items)
        if embedder is not None:
            self._embed_passages(items, passages, embedder, stale)
        self.lexical_passages.replace(passages)

    def _stale_passages(self, passages: dict[str, list[str]]) -> list[tuple[str, int]]:
        """Stored passages these items no longer have (their numbers past the new count)."""
        before = self.lexical_passages.counts(list(passages))
        return [
            (item_id, number)
            for item_id, texts in passages.items()
            for number in range(len(texts), before.get(item_id, 0))
        ]

    def replace_vectors(
        self, items: Sequence[Item], embeddings: np.ndarray, embedder: Embedder
    ) -> int:
        """Rewrite stored items' vectors and their passages' vectors (after a model change),
        leaving their rows alone; returns how many passages were embedded. The passages are
        the stored ones, full text's included (a stored item no longer carries its full text,
        so splitting it again would re-embed the summary's alone and leave the rest in the old
        model's space)."""
        if not items:
            return 0
        self.index.upsert(items, embeddings)
        stored = self.lexical_passages.stored([item.id for item in items])
        passages = {item.id: stored.get(item.id, []) for item in items}
        return self._embed_passages(items, passages, embedder, ())

    def _embed_passages(
        self,
        items: Sequence[Item],
        passages: dict[str, list[str]],
        embedder: Embedder,
        stale: Sequence[tuple[str, int]],
    ) -> int:
        keys = [(item.id, n) for item in items for n in range(len(passages[item.id]))]
        texts = [
            passage_text_to_embed(item.title, text) for item in items for text in passages[item.id]
        ]
        self.index.upsert_passages(keys, embedder.embed(texts), stale)
        return len(keys)


def open_store(settings: Settings) -> Store:
    settings.home.mkdir(parents=True, exist_ok=True)
    return Store(index=VectorIndex(lambda: open_chroma(settings)), state=StateDB(settings.state_db))
