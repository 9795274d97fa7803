"""Search latency next to what a plain vector search costs on the same data, in the same run.

Baseline: one query embedding plus one raw Chroma query for the top 10 (no filters, no
full-text search, no fusion, no item rows read). Measured: `horizon.search.search` for the top
10, end to end (the query embedding, item and passage vectors, item and passage BM25, features,
the fusion model, item rows, passages, snippets); the same with two filters
(a date range and two types); and the FTS5 query alone (its 50 candidates). Baseline and search
alternate query by query, in alternating order, so a busy machine slows both alike. The report
also gives what search adds beyond the embedding (search p50 less the baseline's embedding
p50) beside the budget the target leaves it.

The baseline embeds the query as search does, with Horizon's embedder (one text goes through
the model's modules without `encode`'s batching: the same vector, about a millisecond sooner).
Given `raw_encode` (`SentenceTransformer.encode` as the library runs it), a second baseline
times that plus the same raw Chroma query, and the report gives the ratio against the raw
library as well.

On a benchmark home kept from an earlier run (`python -m bench --home DIR`), this part alone:

    python -m bench.latency DIR --rounds 2

Long items: one synthetic item in `PASSAGE_SHARE` gets `PASSAGES_PER_ITEM` passages (text
from other real abstracts, vectors near the item's own), so the passage collection and the
passage full-text index grow with the corpus as they would with rulebooks and papers in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from horizon.config import load_settings
from horizon.embed import Embedder, MiniLMEmbedder, torch_embedder
from horizon.item import Item
from horizon.lexical import LexicalIndex
from horizon.search import CANDIDATES, SearchFilters, search
from horizon.store import Store, open_store

TOP = 10
TARGET_RATIO = 1.5
WARM_UP = 5
FILTERED = SearchFilters(since=date(2024, 1, 1), types=("guidance", "legislation"))
PASSAGE_SHARE = 5
PASSAGES_PER_ITEM = 4
PASSAGE_NOISE = 0.05


def add_synthetic_passages(
    store: Store, items: Sequence[Item], vectors: np.ndarray, texts: Sequence[str], seed: int
) -> int:
    """Give one item in `PASSAGE_SHARE` passages (see the module docstring); returns how many
    passages were added."""
    rng = np.random.default_rng(seed)
    keys: list[tuple[str, int]] = []
    rows = []
    passages: dict[str, list[str]] = {}
    for position in range(0, len(items), PASSAGE_SHARE):
        item_id = items[position].id
        picks = rng.choice(len(texts), size=PASSAGES_PER_ITEM, replace=False)
        passages[item_id] = [texts[int(pick)] for pick in picks]
        for number in range(PASSAGES_PER_ITEM):
            keys.append((item_id, number))
            rows.append(vectors[position] + rng.normal(0.0, PASSAGE_NOISE, vectors.shape[1]))
    if not keys:
        return 0
    matrix = np.asarray(rows, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    store.index.upsert_passages(keys, matrix)
    store.lexical_passages.replace(passages)
    return len(keys)


@dataclass(frozen=True)
class Percentiles:
    p50_ms: float
    p95_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Percentiles:
        values = np.asarray(seconds) * 1000.0
        return cls(float(np.percentile(values, 50)), float(np.percentile(values, 95)))


@dataclass(frozen=True)
class Latency:
    items: int
    queries: int
    embed: Percentiles
    chroma: Percentiles
    baseline: Percentiles
    hybrid: Percentiles
    filtered: Percentiles
    fulltext: Percentiles
    raw_baseline: Percentiles | None = None
    embedding: str = "torch"

    @property
    def ratio(self) -> float:
        """Median hybrid search over median (embedding + raw Chroma query)."""
        return self.hybrid.p50_ms / self.baseline.p50_ms

    @property
    def raw_ratio(self) -> float | None:
        """Median hybrid search over median (raw library encode + raw Chroma query), when that
        baseline was measured."""
        if self.raw_baseline is None:
            return None
        return self.hybrid.p50_ms / self.raw_baseline.p50_ms

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "ratio": self.ratio,
            "raw_ratio": self.raw_ratio,
            "target": TARGET_RATIO,
            "beyond_embedding_ms": self.beyond_embedding_ms,
            "beyond_budget_ms": self.beyond_budget_ms,
        }

    @property
    def beyond_embedding_ms(self) -> float:
        """What search adds to the query embedding (medians): search less the embedding."""
        return self.hybrid.p50_ms - self.embed.p50_ms

    @property
    def beyond_budget_ms(self) -> float:
        """What search may add to the query embedding at the target ratio (median):
        TARGET_RATIO x (embedding + raw Chroma query) - embedding."""
        return TARGET_RATIO * self.baseline.p50_ms - self.embed.p50_ms


def measure_latency(
    store: Store,
    embedder: Embedder,
    queries: Sequence[str],
    rounds: int,
    raw_encode: Callable[[list[str]], Any] | None = None,
) -> Latency:
    collection = store.index.collection
    embed_times: list[float] = []
    chroma_times: list[float] = []

    def baseline(query: str) -> None:
        started = time.perf_counter()
        vector = embedder.embed([query])
        embedded = time.perf_counter()
        collection.query(query_embeddings=vector.tolist(), n_results=TOP)
        embed_times.append(embedded - started)
        chroma_times.append(time.perf_counter() - embedded)

    def raw_baseline(query: str) -> None:
        assert raw_encode is not None
        vector = np.asarray(raw_encode([query]), dtype=np.float32)
        collection.query(query_embeddings=vector.tolist(), n_results=TOP)

    def hybrid(query: str) -> None:
        search(store, embedder, query, limit=TOP)

    def filtered(query: str) -> None:
        search(store, embedder, query, FILTERED, limit=TOP)

    def fulltext(query: str) -> None:
        store.lexical.search(query, CANDIDATES)

    for query in queries[:WARM_UP]:
        baseline(query)
        hybrid(query)
    embed_times.clear()
    chroma_times.clear()
    timings: dict[str, list[float]] = {
        "baseline": [],
        "raw": [],
        "hybrid": [],
        "filtered": [],
        "fts": [],
    }
    runs: list[tuple[str, Callable[[str], None]]] = [
        ("baseline", baseline),
        ("hybrid", hybrid),
        ("filtered", filtered),
        ("fts", fulltext),
    ]
    if raw_encode is not None:
        runs.insert(1, ("raw", raw_baseline))
    for round_number in range(rounds):
        # A fresh full-text index object each round: the words' match counts it remembers
        # (see horizon.lexical.index) are counted again, as a process that just started would.
        store.lexical = LexicalIndex(store.state)
        order = runs if round_number % 2 == 0 else runs[::-1]
        for query in queries:
            for name, run in order:
                started = time.perf_counter()
                run(query)
                timings[name].append(time.perf_counter() - started)
    return Latency(
        items=store.index.count(),
        queries=len(queries) * rounds,
        embed=Percentiles.of(embed_times),
        chroma=Percentiles.of(chroma_times),
        baseline=Percentiles.of(timings["baseline"]),
        hybrid=Percentiles.of(timings["hybrid"]),
        filtered=Percentiles.of(timings["filtered"]),
        fulltext=Percentiles.of(timings["fts"]),
        raw_baseline=Percentiles.of(timings["raw"]) if timings["raw"] else None,
    )


def raw_library_encode(embedder: MiniLMEmbedder) -> Callable[[list[str]], Any]:
    """`SentenceTransformer.encode` as the library runs it."""

    def encode(texts: list[str]) -> Any:
        return embedder.model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    return encode


@cache
def onnx_query_embedder() -> Embedder | None:
    """The packaged model on ONNX Runtime, fp32 (`HORIZON_EMBED_BACKEND=onnx`: the same vectors
    as torch), on torch's number of threads, loaded once for every size `make bench` times;
    None when onnxruntime is not installed."""
    import torch

    from horizon.config import ConfigError, load_embedding_settings

    try:
        from horizon.onnx_backend.embedder import OnnxEmbedder

        return OnnxEmbedder(
            load_embedding_settings().cache_dir, "fp32", threads=torch.get_num_threads()
        )
    except ConfigError as missing:
        print(f"bench: search with ONNX Runtime not timed: {missing}", file=sys.stderr)
        return None


def latency_rows(store: Store, queries: Sequence[str], rounds: int) -> list[Latency]:
    """Search timed with the default torch embedder, then with ONNX Runtime fp32 when it is
    installed; both also against the raw library's `encode`."""
    embedder = torch_embedder()
    raw = raw_library_encode(embedder)
    rows = [measure_latency(store, embedder, queries, rounds, raw)]
    onnx = onnx_query_embedder()
    if onnx is not None:
        rows.append(replace(measure_latency(store, onnx, queries, rounds, raw), embedding="onnx"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """The latency table for a kept benchmark home, with the queries `python -m bench` uses."""
    from bench.__main__ import bench_queries, describe_latency
    from evaluation.common import SharedDataMissing, shared_file
    from evaluation.search import FEDERAL_REGISTER, federal_register_records

    parser = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description="Search latency on a benchmark home kept by `python -m bench --home DIR`.",
    )
    parser.add_argument("home", type=Path, help="the kept benchmark home")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query set")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    if not arguments.home.is_dir():
        raise SystemExit(f"bench.latency: {arguments.home} is not a folder; give a kept home")
    store = open_store(load_settings(home=arguments.home, env={}))
    if not store.index.count():
        raise SystemExit(
            f"bench.latency: {arguments.home} holds no items; fill it with "
            "`python -m bench --home DIR` first"
        )
    try:
        records = federal_register_records(shared_file(FEDERAL_REGISTER))
    except SharedDataMissing as missing:
        raise SystemExit(f"bench.latency {missing}") from None
    titles = [record["title"] for record in records]
    rows = latency_rows(store, bench_queries(titles), arguments.rounds)
    for line in describe_latency(rows):
        print(line)
    if arguments.json:
        figures = {
            "rows": [row.as_json() for row in rows],
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
        }
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
