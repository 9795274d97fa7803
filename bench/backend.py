"""The ONNX Runtime embedding backends (HORIZON_EMBED_BACKEND=onnx, onnx-int8) against torch,
side by side in one process, runs alternating (so that load from other work falls on all alike).

Throughput: `embed` of each backend (the embed stage itself, length sorting included) on the
same texts, torch fp32 time over the backend's time (target ≥ 2). torch and ONNX Runtime get
the same number of threads (torch's default, `torch.get_num_threads()`; ONNX Runtime's
intra-op pool set to it, inter-op 1). Agreement: mean and min cosine of each backend's vector
to torch's on those texts (target mean ≥ 0.99). Recall kept: the queries of
evaluation/data/queries.jsonl ranked by cosine against the items of evaluation/data/items.jsonl
(dense retrieval alone, so the fusion's lexical side cannot hide a difference), recall@10 as
`evaluation.search.score_rankings` computes it, recall(backend) ÷ recall(torch) (target ≥ 0.99).

    python -m bench.backend --texts 200 --rounds 2 --json backend.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evaluation.common import SharedDataMissing, shared_file
from evaluation.search import (
    FEDERAL_REGISTER,
    ITEMS,
    QUERIES,
    TOP,
    Query,
    federal_register_records,
    labelled_records,
    load_queries,
    score_rankings,
)
from horizon.config import load_embedding_settings
from horizon.embed import Embedder, MiniLMEmbedder, torch_embedder
from horizon.normalise import item_from_record
from horizon.onnx_backend.embedder import OnnxEmbedder
from horizon.onnx_backend.export import Variant

ROUNDS = 3
TEXTS = 400
THROUGHPUT_TARGET = 2.0
COSINE_TARGET = 0.99
RECALL_TARGET = 0.99
BACKENDS: dict[str, Variant] = {"onnx": "fp32", "onnx-int8": "int8"}


@dataclass(frozen=True)
class BackendFigures:
    backend: str
    texts: int
    rounds: int
    threads: int
    torch_s: float
    backend_s: float
    mean_cosine: float
    min_cosine: float
    queries: int
    recall_torch: float
    recall_backend: float

    @property
    def throughput_ratio(self) -> float:
        return self.torch_s / self.backend_s

    @property
    def recall_kept(self) -> float:
        return self.recall_backend / self.recall_torch if self.recall_torch else 0.0

    def lines(self) -> list[str]:
        def verdict(value: float, target: float) -> str:
            return "met" if value >= target else "NOT met"

        name = f"HORIZON_EMBED_BACKEND={self.backend}"
        return [
            f"{name}: throughput ÷ torch fp32 {self.throughput_ratio:.2f} (target ≥ "
            f"{THROUGHPUT_TARGET:.2f}, {verdict(self.throughput_ratio, THROUGHPUT_TARGET)}; "
            f"torch {self.torch_s:.1f} s, {self.backend} {self.backend_s:.1f} s for "
            f"{self.texts} texts × {self.rounds} rounds, {self.threads} threads each)",
            f"{name}: cosine to torch fp32 mean {self.mean_cosine:.4f} (target ≥ "
            f"{COSINE_TARGET:.2f}, {verdict(self.mean_cosine, COSINE_TARGET)}), "
            f"min {self.min_cosine:.4f}",
            f"{name}: dense recall@{TOP} kept {self.recall_kept:.3f} (target ≥ "
            f"{RECALL_TARGET:.2f}, {verdict(self.recall_kept, RECALL_TARGET)}; "
            f"{self.recall_backend:.3f} against torch {self.recall_torch:.3f}, "
            f"{self.queries} queries)",
        ]

    def as_json(self) -> dict[str, object]:
        return {
            **asdict(self),
            "throughput_ratio": self.throughput_ratio,
            "recall_kept": self.recall_kept,
            "met": {
                "throughput": self.throughput_ratio >= THROUGHPUT_TARGET,
                "cosine": self.mean_cosine >= COSINE_TARGET,
                "recall": self.recall_kept >= RECALL_TARGET,
            },
        }


def bench_texts() -> tuple[str, list[str]]:
    """What Horizon embeds for the real Federal Register documents of ../shared, or, without
    it, for the labelled items of evaluation/data/items.jsonl; with a word saying which."""
    try:
        records = federal_register_records(shared_file(FEDERAL_REGISTER))
        where = "Federal Register"
    except SharedDataMissing:
        records, where = labelled_records(ITEMS), "labelled"
    return where, [item_from_record(record).text() for record in records]


def dense_recall(embedder: Embedder, item_texts: Sequence[str], ids: Sequence[str]) -> float:
    """Mean recall@10 of the labelled queries, items ranked by cosine alone."""
    queries: list[Query] = load_queries(QUERIES, {})
    items = embedder.embed(item_texts)
    scores = embedder.embed([query.text for query in queries]) @ items.T
    rankings = [
        (query, [ids[i] for i in np.argsort(-row, kind="stable")[:TOP]])
        for query, row in zip(queries, scores, strict=True)
    ]
    return score_rankings(rankings).recall


def measure_backends(
    texts: Sequence[str], rounds: int = ROUNDS, cache_dir: Path | None = None
) -> list[BackendFigures]:
    """Each ONNX backend against torch on `texts`, and on the labelled queries."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    cache_dir = cache_dir or load_embedding_settings().cache_dir
    reference: MiniLMEmbedder = torch_embedder()
    contenders = {
        name: OnnxEmbedder(cache_dir, variant, threads=threads)
        for name, variant in BACKENDS.items()
    }
    runners: dict[str, Embedder] = {"torch": reference, **contenders}
    for embedder in runners.values():  # warm up: first-call allocations are not throughput
        embedder.embed(texts[:8])
    seconds = dict.fromkeys(runners, 0.0)
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, embedder in runners.items():
            started = time.perf_counter()
            vectors[name] = embedder.embed(texts)
            seconds[name] += time.perf_counter() - started
    records = labelled_records(ITEMS)
    item_texts = [item_from_record(record).text() for record in records]
    ids = [str(record["id"]) for record in records]
    recall = {name: dense_recall(embedder, item_texts, ids) for name, embedder in runners.items()}
    queries = len(load_queries(QUERIES, {}))
    figures = []
    for name in contenders:
        cosines = (vectors[name] * vectors["torch"]).sum(axis=1)
        figures.append(
            BackendFigures(
                backend=name,
                texts=len(texts),
                rounds=rounds,
                threads=threads,
                torch_s=seconds["torch"],
                backend_s=seconds[name],
                mean_cosine=float(cosines.mean()),
                min_cosine=float(cosines.min()),
                queries=queries,
                recall_torch=recall["torch"],
                recall_backend=recall[name],
            )
        )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backend", description=__doc__)
    parser.add_argument("--texts", type=int, default=TEXTS, help="how many texts to time")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating runs of each")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    where, texts = bench_texts()
    texts = texts[: arguments.texts]
    print(f"Timing the embedding backends on {len(texts)} {where} texts …", file=sys.stderr)
    figures = measure_backends(texts, arguments.rounds)
    for figure in figures:
        for line in figure.lines():
            print(line)
    if arguments.json:
        rows = [figure.as_json() for figure in figures]
        arguments.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
