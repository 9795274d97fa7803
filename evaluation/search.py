"""How well Horizon finds things: `python -m evaluation.search` (part of `make eval`).

The corpus is what a user would have: the items of ../shared/eval/dev.jsonl plus the 1,000 real
Federal Register documents of ../shared/data/feeds/us-federal-register-api-documents-2024.json as
distractors, ingested in a temporary home through the same stages as `horizon ingest --jsonl`
(normalise, embed, de-duplicate, tag, store). Each query of ../shared/eval/queries-dev.jsonl
names its relevant item ids; a relevant item that ingest folded into another as a duplicate is
looked for under the id it was folded into.

Four rankings are scored on the top 10 results: dense only (the query's nearest item vectors in
Chroma), BM25 only (SQLite FTS5 with Horizon's query handling), their plain reciprocal rank
fusion (k = 60, the usual off-the-shelf hybrid), and Horizon's hybrid search (`horizon.search`).
Recall@10 is the share of a query's relevant items in its top 10; MRR@10 the mean reciprocal rank
of the first relevant item (0 when none is in the top 10). Figures are also given per query
kind. `--queries` and `--items` point at another labelled set of the same shape.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.common import SharedDataMissing, read_jsonl, shared_file
from horizon.config import load_settings
from horizon.ingest import Ingestor
from horizon.normalise import item_from_record
from horizon.runtime import Runtime
from horizon.search import search

DEV_ITEMS = "eval/dev.jsonl"
DEV_QUERIES = "eval/queries-dev.jsonl"
FEDERAL_REGISTER = "data/feeds/us-federal-register-api-documents-2024.json"
TOP = 10
RRF_K = 60

Ranker = Callable[[str], list[str]]


def federal_register_records(path: Path) -> list[dict[str, Any]]:
    """Federal Register API documents in the JSON Lines item format of `horizon ingest`."""
    documents = json.loads(path.read_text(encoding="utf-8"))["results"]
    return [
        {
            "id": document["document_number"],
            "title": document["title"],
            "summary": document.get("abstract") or "",
            "url": document.get("html_url"),
            "publisher": ", ".join(
                agency.get("name") or agency.get("raw_name") or ""
                for agency in document.get("agencies") or []
            ),
            "published": document.get("publication_date"),
        }
        for document in documents
    ]


def labelled_records(path: Path) -> list[dict[str, Any]]:
    """Items of a labelled file with their labels removed, as `horizon ingest` would read them."""
    return [
        {key: value for key, value in row.items() if key != "labels"} for row in read_jsonl(path)
    ]


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    relevant: frozenset[str]
    kind: str


@dataclass(frozen=True)
class Scores:
    recall: float
    mrr: float
    misses: tuple[str, ...]


def score(ranker: Ranker, queries: Sequence[Query]) -> Scores:
    """Mean recall@10 and MRR@10 of `ranker` over `queries`, with what each query missed."""
    recalls, reciprocal_ranks, misses = [], [], []
    for query in queries:
        ranked = ranker(query.text)[:TOP]
        found = query.relevant & set(ranked)
        recalls.append(len(found) / len(query.relevant))
        first = next((rank for rank, i in enumerate(ranked, start=1) if i in query.relevant), 0)
        reciprocal_ranks.append(1.0 / first if first else 0.0)
        if found != query.relevant:
            missing = ", ".join(sorted(query.relevant - found))
            misses.append(f"{query.qid} {query.text!r}: {missing} not in the top {TOP}")
    count = max(1, len(queries))
    return Scores(sum(recalls) / count, sum(reciprocal_ranks) / count, tuple(misses))


def reciprocal_rank_fusion(*rankings: list[str], k: int = RRF_K) -> list[str]:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item_id in enumerate(ranking, start=1):
            fused[item_id] = fused.get(item_id, 0.0) + 1.0 / (k + rank)
    return sorted(fused, key=lambda item_id: -fused[item_id])


def build_corpus(home: Path, records: Sequence[dict[str, Any]]) -> tuple[Runtime, dict[str, str]]:
    """Ingest the records into a fresh home; returns the runtime and, for every input id, the
    id of the stored item it became (itself, or the item it was folded into)."""
    runtime = Runtime(load_settings(home=home, env={}))
    items = [item_from_record(record) for record in records]
    ingestor = Ingestor(runtime.store, runtime.embedder, runtime.tagger)
    results = ingestor.ingest(items, datetime.now(UTC))
    return runtime, {result.id: result.duplicate_of or result.id for result in results}


def load_queries(path: Path, stored_as: dict[str, str]) -> list[Query]:
    return [
        Query(
            qid=str(row.get("qid", number)),
            text=row["query"],
            relevant=frozenset(stored_as.get(item_id, item_id) for item_id in row["relevant"]),
            kind=str(row.get("kind", "all")),
        )
        for number, row in enumerate(read_jsonl(path), start=1)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.search", description=__doc__)
    parser.add_argument(
        "--queries", type=Path, help=f"labelled queries (default ../shared/{DEV_QUERIES})"
    )
    parser.add_argument(
        "--items",
        type=Path,
        action="append",
        help=f"labelled items to search among, repeatable (default ../shared/{DEV_ITEMS})",
    )
    parser.add_argument("--misses", action="store_true", help="list what each ranking missed")
    arguments = parser.parse_args(argv)
    try:
        queries_file = arguments.queries or shared_file(DEV_QUERIES)
        item_files = arguments.items or [shared_file(DEV_ITEMS)]
        distractors = federal_register_records(shared_file(FEDERAL_REGISTER))
    except SharedDataMissing as missing:
        print(f"search evaluation {missing}")
        return 0
    records = [record for path in item_files for record in labelled_records(path)]
    with tempfile.TemporaryDirectory(prefix="horizon-eval-search-") as home:
        started = time.perf_counter()
        runtime, stored_as = build_corpus(Path(home), records + distractors)
        queries = load_queries(queries_file, stored_as)
        store, embedder = runtime.store, runtime.embedder
        folded = sum(1 for record in records if stored_as[record["id"]] != record["id"])
        print(
            f"Search on {queries_file.name}: {len(queries)} queries over {len(records)} labelled "
            f"items + {len(distractors)} Federal Register documents ({store.index.count()} stored "
            f"after de-duplication, {folded} labelled items folded; built in "
            f"{time.perf_counter() - started:.0f} s)"
        )

        def dense(text: str) -> list[str]:
            neighbours = store.index.nearest(embedder.embed([text]), TOP)[0]
            return [neighbour.item_id for neighbour in neighbours]

        def bm25(text: str) -> list[str]:
            return [match.item_id for match in store.lexical.search(text, TOP)]

        def fused(text: str) -> list[str]:
            return reciprocal_rank_fusion(dense(text), bm25(text))

        def hybrid(text: str) -> list[str]:
            return [hit.id for hit in search(store, embedder, text, limit=TOP)]

        rankers: dict[str, Ranker] = {
            "dense only (MiniLM, Chroma)": dense,
            "BM25 only (FTS5)": bm25,
            f"RRF of the two (k={RRF_K})": fused,
            "Horizon hybrid": hybrid,
        }
        kinds = sorted({query.kind for query in queries})
        header = f"{'ranking':30} {'recall@10':>9} {'MRR@10':>7}" + "".join(
            f" {kind + ' R/MRR':>16}" for kind in kinds
        )
        print(header)
        for name, ranker in rankers.items():
            overall = score(ranker, queries)
            by_kind = [score(ranker, [q for q in queries if q.kind == kind]) for kind in kinds]
            print(
                f"{name:30} {overall.recall:9.3f} {overall.mrr:7.3f}"
                + "".join(f" {part.recall:8.3f}/{part.mrr:.3f}" for part in by_kind)
            )
            if arguments.misses:
                for miss in overall.misses:
                    print(f"    {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
