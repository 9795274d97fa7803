"""`python -m bench` (what `make bench` runs): search latency at 1k, 10k and 100k items against a
raw Chroma query plus one query embedding, the cost of indexing during ingest, tagging
throughput once items are embedded, de-duplication of 5,000 and 20,000 same-day entries, the
parse stage, embed stage and Chroma writes against the raw libraries, a weekly run into the
largest store against the same run into 1,000 items, each ingest stage's peak memory, the
cost of following each new item's link for its full text (crawl time with enrichment ÷ without),
and a warm `make demo` against a cold one (`bench/warm.py`).

    python -m bench                      # sizes 1000,10000,100000, 3 rounds of 50 queries
    python -m bench --sizes 1000,10000 --rounds 2 --json bench.json
    python -m bench --sizes 1000,100000,1000000   # a million items: hours on 2 cores

The enrichment and demo figures need nothing else; the rest needs ../shared (the Federal
Register page gives the real texts) and is skipped plainly without it.
Runs on the CPU with the packaged MiniLM model, in a temporary home unless --home is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.backend import TEXTS as BACKEND_TEXTS
from bench.backend import bench_texts, measure_backends
from bench.corpus import synthetic_items
from bench.dedupe import SIZES, DedupeCost, measure_dedupe
from bench.enrich import measure_enrichment
from bench.incremental import RUN_DAY, measure_incremental
from bench.ingest import IngestOverhead, measure_ingest
from bench.latency import (
    TARGET_RATIO,
    Latency,
    add_synthetic_passages,
    latency_rows,
)
from bench.memory import STAGES, StageMemory, describe, measure_stage, write_batch
from bench.raw import embed_ratio, feed_bodies, parse_ratio, write_ratio
from bench.tagging import measure_tagging
from bench.warm import measure_warm_cold
from evaluation.common import SharedDataMissing, read_jsonl, shared_file
from evaluation.search import DEV_QUERIES, FEDERAL_REGISTER, federal_register_records
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue, load_settings
from horizon.embed import torch_embedder
from horizon.normalise import item_from_record
from horizon.store import open_store

ADD_CHUNK = 5000
SEED = 20240102
TITLE_QUERIES = 25
TITLE_QUERY_WORDS = 6
DEDUPE_SOURCES = (1, 4)
MEMORY_BATCH = 1000


def bench_queries(titles: Sequence[str]) -> list[str]:
    """The dev queries when present, and the opening words of some real titles."""
    try:
        written = [row["query"] for row in read_jsonl(shared_file(DEV_QUERIES))]
    except SharedDataMissing:
        written = []
    picked = random.Random(SEED).sample(list(titles), TITLE_QUERIES)
    return written + [" ".join(title.split()[:TITLE_QUERY_WORDS]) for title in picked]


def describe_ingest(overhead: IngestOverhead) -> list[str]:
    return [
        f"Ingest of {overhead.items} real documents: embedding {overhead.embed_s:.1f} s; "
        f"indexing into Chroma + SQLite/FTS5 {overhead.index_s:.2f} s "
        f"= {overhead.index_share:.1%} of the embedding time "
        f"(FTS5 alone {overhead.fulltext_s:.3f} s = {overhead.fulltext_share:.2%})",
    ]


def describe_dedupe(costs: Sequence[DedupeCost]) -> list[str]:
    """Each shape's times and how the time grew with the batch, beside n log n's growth."""
    small, large = min(cost.items for cost in costs), max(cost.items for cost in costs)
    n_log_n = (large * math.log(large)) / (small * math.log(small))
    lines = []
    for sources in sorted({cost.sources for cost in costs}):
        by_size = {cost.items: cost for cost in costs if cost.sources == sources}
        growth = by_size[large].seconds / by_size[small].seconds
        verdict = "met" if growth <= n_log_n else "NOT met"
        lines.append(
            f"De-duplication of one day's entries from {sources} source(s): {small:,} in "
            f"{by_size[small].seconds:.2f} s, {large:,} in {by_size[large].seconds:.2f} s; "
            f"ratio {growth:.1f} (target ≤ {n_log_n:.1f}, n log n; {verdict}; median of "
            f"{len(by_size[small].runs)} folds each)"
        )
    return lines


def describe_latency(rows: Sequence[Latency]) -> list[str]:
    """The latency table (ms): the ratio beside its target, and what search adds beyond the
    query embedding beside the budget the target leaves it (see `Latency.beyond_budget_ms`)."""
    lines = [
        "| items | embedding | queries | embed p50 | Chroma p50 | embed+Chroma p50 / p95 "
        "| hybrid p50 / p95 "
        f"| ratio p50 (target ≤ {TARGET_RATIO}) | beyond embed p50 (budget) "
        "| raw encode + Chroma p50, ratio | filtered p50 / p95 | FTS5 p50 / p95 |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        verdict = "met" if row.ratio <= TARGET_RATIO else "NOT met"
        raw = (
            f"{row.raw_baseline.p50_ms:.1f}, {row.raw_ratio:.2f} "
            + ("met" if row.raw_ratio <= TARGET_RATIO else "NOT met")
            if row.raw_baseline is not None and row.raw_ratio is not None
            else "not measured"
        )
        lines.append(
            f"| {row.items:,} | {row.embedding} | {row.queries} | {row.embed.p50_ms:.1f} "
            f"| {row.chroma.p50_ms:.1f} "
            f"| {row.baseline.p50_ms:.1f} / {row.baseline.p95_ms:.1f} "
            f"| {row.hybrid.p50_ms:.1f} / {row.hybrid.p95_ms:.1f} | {row.ratio:.2f} {verdict} "
            f"| {row.beyond_embedding_ms:.1f} ({row.beyond_budget_ms:.1f}) | {raw} "
            f"| {row.filtered.p50_ms:.1f} / {row.filtered.p95_ms:.1f} "
            f"| {row.fulltext.p50_ms:.1f} / {row.fulltext.p95_ms:.1f} |"
        )
    return lines


def run(home: Path, sizes: Sequence[int], rounds: int) -> dict[str, object]:
    records = federal_register_records(shared_file(FEDERAL_REGISTER))
    items = [item_from_record(record) for record in records]
    store = open_store(load_settings(home=home, env={}))
    if store.state.count_items():
        raise SystemExit(f"bench: {home} already holds items; give a new or empty --home")
    embedder = torch_embedder()
    print(f"Embedding and indexing {len(items)} Federal Register documents …", file=sys.stderr)
    overhead, vectors = measure_ingest(store, embedder, items)
    for line in describe_ingest(overhead):
        print(line)
    tagging = measure_tagging(embedder, items, vectors)
    print(
        f"Tagging {tagging.items} embedded documents: {tagging.seconds:.2f} s "
        f"= {tagging.per_minute:,.0f} items a minute on one process"
    )
    base = [item.model_dump() for item in items]
    print("Timing de-duplication of same-day batches …", file=sys.stderr)
    dedupe = [
        measure_dedupe(store, base, vectors, size, sources)
        for sources in DEDUPE_SOURCES
        for size in SIZES
    ]
    for line in describe_dedupe(dedupe):
        print(line)
    print(
        "Timing the parse and embed stages and Chroma writes against the raw libraries …",
        file=sys.stderr,
    )
    ratios = [
        parse_ratio(feed_bodies()),
        embed_ratio(embedder, [item.text() for item in items]),
        write_ratio(items, vectors),
    ]
    for ratio in ratios:
        print(ratio.line())
    backends = compare_backends()
    queries = bench_queries([item.title for item in items])
    abstracts = [item.summary for item in items if item.summary]
    rows = []
    for size in sorted(sizes):
        started = time.perf_counter()
        while (stored := store.index.count()) < size:
            count = min(ADD_CHUNK, size - stored)
            extra, extra_vectors = synthetic_items(base, vectors, count, stored, SEED + stored)
            store.index.upsert(extra, extra_vectors)
            add_synthetic_passages(store, extra, extra_vectors, abstracts, SEED + stored)
            store.state.save_new_items(extra, datetime.now(UTC))
        print(
            f"{store.index.count():,} items, {store.index.passage_count():,} passages stored "
            f"({time.perf_counter() - started:.0f} s); "
            f"timing {len(queries)} queries × {rounds} rounds …",
            file=sys.stderr,
        )
        measured = latency_rows(store, queries, rounds)
        rows.extend(measured)
        for line in describe_latency(measured)[2:]:
            print(line)
    print()
    for line in describe_latency(rows):
        print(line)
    incremental = None
    if rows:
        print("Timing weekly runs into 1,000 items and into the largest store …", file=sys.stderr)
        small = open_store(load_settings(home=home / "store-1k", env={}))
        small.save_items(items, vectors, datetime.now(UTC), None)
        tagger = Classifier(load_catalogue([PROJECT_ROOT / "controls.yaml"]), embedder)
        incremental = measure_incremental(
            small, store, embedder, tagger, items, base, vectors, SEED
        )
        for line in incremental.lines():
            print(line)
    print(
        f"Measuring each ingest stage's peak memory, {MEMORY_BATCH:,} new items into "
        f"{store.index.count():,} …",
        file=sys.stderr,
    )
    memory = measure_memory(home, store.index.count(), base, vectors)
    for line in describe_memory(memory):
        print(line)
    return {
        "cpus": os.cpu_count(),
        "ingest": {**asdict(overhead), "index_share": overhead.index_share},
        "tagging": {**asdict(tagging), "per_minute": tagging.per_minute},
        "dedupe": [asdict(cost) for cost in dedupe],
        "raw_ratios": [
            {**asdict(ratio), "ratio": ratio.ratio, "met": ratio.ratio >= ratio.target}
            for ratio in ratios
        ],
        "latency": [row.as_json() for row in rows],
        "incremental": incremental.as_json() if incremental else None,
        "memory": [{**asdict(row), "rise_mb": row.rise_mb} for row in memory],
        "backends": backends,
    }


def measure_memory(
    home: Path, stored: int, base: Sequence[dict[str, object]], vectors: np.ndarray
) -> list[StageMemory]:
    """Each stage's peak memory in a process of its own (bench.memory), over a batch of
    `MEMORY_BATCH` new items into the benchmark store; commit last, as it adds them."""
    extra, extra_vectors = synthetic_items(base, vectors, MEMORY_BATCH, stored, SEED - 1)
    batch = [
        item.model_copy(
            update={
                "id": f"memory-{n:05d}",
                "source": "memory-feed",
                "published": RUN_DAY,
                "tags": None,
            }
        )
        for n, item in enumerate(extra)
    ]
    folder = write_batch(home / "memory-batch", batch, extra_vectors)
    return [measure_stage(stage, home, folder) for stage in STAGES]


def describe_memory(rows: Sequence[StageMemory]) -> list[str]:
    return [
        f"Peak memory per ingest stage, each in its own process ({rows[0].items} feeds "
        "parsed; the other stages: the batch of new items):",
        *describe(rows),
    ]


def compare_backends() -> list[dict[str, object]]:
    """The ONNX Runtime embedding backends against torch (bench/backend.py), printed."""
    where, texts = bench_texts()
    print(
        f"Timing the ONNX Runtime embedding backends against torch on {BACKEND_TEXTS} {where} "
        "texts …",
        file=sys.stderr,
    )
    figures = measure_backends(texts[:BACKEND_TEXTS])
    for figure in figures:
        for line in figure.lines():
            print(line)
    return [figure.as_json() for figure in figures]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes, ascending")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the query set")
    parser.add_argument("--home", type=Path, help="keep the benchmark home here")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    sizes = [int(size) for size in arguments.sizes.split(",") if size.strip()]
    print("Timing the crawl with and without full-text enrichment …", file=sys.stderr)
    enrichment = measure_enrichment()
    for cost in enrichment:
        print(cost.line())
    print("Timing make demo cold, then warm twice …", file=sys.stderr)
    demo = measure_warm_cold()
    print(demo.line())
    figures: dict[str, object] = {
        "cpus": os.cpu_count(),
        "enrichment": [
            {**asdict(cost), "ratio": cost.ratio, "per_item_ms": cost.per_item_ms}
            for cost in enrichment
        ],
        "demo_warm_cold": demo.as_json(),
    }
    try:
        shared_file(FEDERAL_REGISTER)
    except SharedDataMissing as missing:
        print(f"bench {missing}; only enrichment, the demo and the embedding backends are measured")
        figures["backends"] = compare_backends()
    else:
        if arguments.home:
            figures |= run(arguments.home, sizes, arguments.rounds)
        else:
            with tempfile.TemporaryDirectory(prefix="horizon-bench-") as home:
                figures |= run(Path(home), sizes, arguments.rounds)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
