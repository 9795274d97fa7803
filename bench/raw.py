"""Horizon's stages against the raw libraries they wrap, on the same input in one process,
runs alternating (so that load from other work falls on both sides alike).

Parsing: `parse_feed` (what `parse_response` runs for an rss or atom source: encoding repair,
DTD defused, feedparser, entries made) against `feedparser.parse(body, response_headers=...)`
given the same headers (content type when known, the feed's address), over every RSS, Atom
and RDF body of `../shared/data/feeds`, or of the demo snapshot without `../shared`.
Embedding: `MiniLMEmbedder.embed` against `SentenceTransformer.encode(texts, batch_size=64)`.
Chroma writes: `VectorIndex.upsert` (ids, vectors, documents and metadata built from items)
against `collection.upsert` with those same lists prepared beforehand, each into an empty
collection. A ratio is the raw time over Horizon's: 1.0 means no overhead.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import feedparser
import numpy as np

from evaluation.common import SHARED
from horizon.config import PROJECT_ROOT, load_settings
from horizon.embed import BATCH_SIZE, MiniLMEmbedder
from horizon.item import Item
from horizon.parse import ParseError, parse_feed
from horizon.store import COLLECTION, VectorIndex, item_metadata, open_chroma

ROUNDS = 3
EMBED_TEXTS = 400
EMBED_TARGET = 0.95
WRITE_TARGET = 0.9
PARSE_TARGET = 0.9
SHARED_FEEDS = SHARED / "data" / "feeds"
DEMO_SNAPSHOT = PROJECT_ROOT / "demo" / "snapshot"
FEED_SUFFIXES = (".rss", ".atom", ".rdf", ".xml")


@dataclass(frozen=True)
class FeedBody:
    """One fetched feed: its bytes, the content type the server sent (None: not known) and
    its address."""

    name: str
    body: bytes
    content_type: str | None
    url: str


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
            VectorIndex(lambda: client).upsert(items, vectors)

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


def feed_bodies() -> list[FeedBody]:
    """The real feeds under ../shared/data/feeds when present, else the demo snapshot's."""
    if SHARED_FEEDS.is_dir():
        return [
            FeedBody(path.name, path.read_bytes(), None, f"https://publisher.example/{path.name}")
            for path in sorted(SHARED_FEEDS.iterdir())
            if path.suffix in FEED_SUFFIXES
        ]
    manifest = json.loads((DEMO_SNAPSHOT / "manifest.json").read_text(encoding="utf-8"))
    return [
        FeedBody(
            Path(response["body"]).name,
            (DEMO_SNAPSHOT / response["body"]).read_bytes(),
            response["headers"].get("Content-Type"),
            response["url"],
        )
        for response in manifest["responses"]
        if Path(response["body"]).suffix in FEED_SUFFIXES
    ]


def parse_ratio(bodies: Sequence[FeedBody]) -> Ratio:
    """The parse stage against raw `feedparser.parse` given the same headers."""

    def horizon() -> None:
        for feed in bodies:
            with contextlib.suppress(ParseError):  # a broken feed's output is its error
                parse_feed(feed.body, feed.content_type, feed.url)

    def raw() -> None:
        for feed in bodies:
            headers = {"content-location": feed.url}
            if feed.content_type:
                headers["content-type"] = feed.content_type
            feedparser.parse(feed.body, response_headers=headers)

    horizon()
    raw()  # warm-up: feedparser's and the parser's first-call set-up on neither side's clock
    horizon_s, raw_s = alternate(horizon, raw)
    size = sum(len(feed.body) for feed in bodies) / 1_048_576
    return Ratio(
        f"Parse stage ÷ raw feedparser.parse, {len(bodies)} feeds ({size:.1f} MB)",
        horizon_s,
        raw_s,
        PARSE_TARGET,
    )
