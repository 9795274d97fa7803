"""How well Horizon finds things, measured honestly: `python -m evaluation.search` (in `make eval`).

Corpus: the labelled items of `evaluation/data/items.jsonl` plus, when ../shared is there, the
1,000 real Federal Register documents of ../shared/data/feeds as distractors, ingested in a
temporary home through the same stages as `horizon ingest --jsonl` (embed, de-duplicate, tag,
store with passages). Queries: `evaluation/data/queries.jsonl` (`{"qid", "query", "relevant",
"kind"}`); a relevant item that ingest folded into another is looked for under that one's id.

Split: a query is in the frozen test split when sha256("horizon-frozen-test:" + qid) mod 5 == 0.
The frozen split is never used for a choice. On the other queries, 5-fold cross-validation
(folds by a hash of the qid) scores each configuration of the fusion model (feature set x
regularisation); the best mean is chosen, refitted on all of them, and measured once on the
frozen split. `--write-model` saves that model as horizon/search_model.json. Today's fusion
(fixed weights on item cosine and item BM25) is scored on the same candidates as the baseline.

Recall@10 is the share of a query's relevant items in its top 10 (shown beside it: the same
capped at 10 relevant, since a query with 16 cannot reach 1); MRR@10 the mean reciprocal rank of
the first relevant one (0 when none is in the top 10). Figures are given per query
kind. When ../shared/eval/queries-dev.jsonl is present, the shipped model is also measured end
to end (`horizon.search.search`) on it over its own corpus: an external test set, never tuned on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.common import SharedDataMissing, read_jsonl, shared_file
from horizon.config import load_settings
from horizon.fusion import FEATURES, MODEL_FILE, FusionModel, baseline_scores, shipped_model
from horizon.ingest import Ingestor
from horizon.lexical import identifier_phrases
from horizon.normalise import item_from_record
from horizon.runtime import Runtime
from horizon.search import Candidates, Scope, candidates, search

DATA = Path(__file__).resolve().parent / "data"
ITEMS = DATA / "items.jsonl"
QUERIES = DATA / "queries.jsonl"
DEV_ITEMS = "eval/dev.jsonl"
DEV_QUERIES = "eval/queries-dev.jsonl"
FEDERAL_REGISTER = "data/feeds/us-federal-register-api-documents-2024.json"
TOP = 10
DEPTH = 50
FOLDS = 5
FROZEN_SALT = "horizon-frozen-test:"
FOLD_SALT = "horizon-search-fold:"

# Feature sets tried by cross-validation (names of `horizon.fusion.FEATURES`).
_ITEM_ONLY = (
    "item_cosine",
    "item_bm25",
    "dense_reciprocal_rank",
    "lexical_reciprocal_rank",
    "identifier_query_x_item_bm25",
)
_SCORES = (
    *_ITEM_ONLY,
    "best_cosine",
    "passage_bm25",
    "best_bm25",
    "question_x_best_cosine",
    "question_x_best_bm25",
    "identifier_query_x_best_cosine",
)
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "item scores only": _ITEM_ONLY,
    "item + passage scores": _SCORES,
    "all features": FEATURES,
}
REGULARISATION = (0.1, 1.0, 10.0)


def _hashed(salt: str, qid: str) -> int:
    return int(hashlib.sha256(f"{salt}{qid}".encode()).hexdigest(), 16)


def is_frozen(qid: str) -> bool:
    """Whether a query belongs to the frozen test split (one in five, by a hash of its id)."""
    return _hashed(FROZEN_SALT, qid) % 5 == 0


def fold_of(qid: str) -> int:
    return _hashed(FOLD_SALT, qid) % FOLDS


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
    """`recall` is the figure reported; `capped_recall` divides by min(relevant, 10) instead,
    the most a top 10 can hold, and is shown beside it for queries with over 10 relevant."""

    recall: float
    mrr: float
    count: int
    capped_recall: float = 0.0


def score_rankings(rankings: Sequence[tuple[Query, list[str]]]) -> Scores:
    """Mean recall@10, MRR@10 and capped recall@10 over (query, ranked item ids) pairs."""
    recalls, capped, reciprocal_ranks = [], [], []
    for query, ranked in rankings:
        top = ranked[:TOP]
        found = len(query.relevant & set(top))
        recalls.append(found / len(query.relevant))
        capped.append(found / min(len(query.relevant), TOP))
        first = next((rank for rank, i in enumerate(top, start=1) if i in query.relevant), 0)
        reciprocal_ranks.append(1.0 / first if first else 0.0)
    count = len(rankings)
    return Scores(
        float(np.mean(recalls)) if count else 0.0,
        float(np.mean(reciprocal_ranks)) if count else 0.0,
        count,
        float(np.mean(capped)) if count else 0.0,
    )


def build_corpus(home: Path, records: Sequence[dict[str, Any]]) -> tuple[Runtime, dict[str, str]]:
    """Ingest the records into a fresh home; returns the runtime and, for every input id, the
    id of the stored item it became (itself, or the item it was folded into)."""
    runtime = Runtime(load_settings(home=home, env={}))
    items = [item_from_record(record) for record in records]
    ingestor = Ingestor(runtime.store, runtime.embedder, runtime.tagger)
    results = ingestor.ingest(items, datetime.now(UTC))
    return runtime, {result.id: result.duplicate_of or result.id for result in results}


def corpus_in(home: Path, records: Sequence[dict[str, Any]]) -> tuple[Runtime, dict[str, str]]:
    """`build_corpus` in `home`, or the corpus an earlier run built there from the same records
    (`--home`, to try feature code without ingesting again)."""
    saved = home / "stored_as.json"
    fingerprint = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    if saved.is_file():
        kept = json.loads(saved.read_text(encoding="utf-8"))
        if kept["records"] == fingerprint:
            return Runtime(load_settings(home=home, env={})), dict(kept["stored_as"])
        raise SystemExit(f"{home} holds a corpus built from other records; give an empty --home")
    runtime, stored_as = build_corpus(home, records)
    saved.write_text(json.dumps({"records": fingerprint, "stored_as": stored_as}), encoding="utf-8")
    return runtime, stored_as


def load_queries(path: Path, stored_as: dict[str, str]) -> list[Query]:
    return [
        Query(
            qid=str(row.get("qid", number)),
            text=row["query"],
            relevant=frozenset(stored_as.get(item_id, item_id) for item_id in row["relevant"]),
            kind=str(row.get("kind", "all")),
        )
        for number, row in enumerate(read_jsonl(path), start=1)
        if row.get("relevant")
    ]


@dataclass(frozen=True)
class Found:
    """One query's candidates: ids, feature rows and which are relevant."""

    query: Query
    ids: list[str]
    rows: np.ndarray
    labels: np.ndarray

    def ranked(self, scores: np.ndarray) -> list[str]:
        order = sorted(range(len(self.ids)), key=lambda i: (-scores[i], self.ids[i]))
        return [self.ids[i] for i in order]


def gather(runtime: Runtime, queries: Sequence[Query], depth: int = DEPTH) -> list[Found]:
    """Every query's candidates and features, `depth` from each list, found once (model fits
    reuse them)."""
    vectors = runtime.embedder.embed([query.text for query in queries])
    found = []
    for query, vector in zip(queries, vectors, strict=True):
        result: Candidates = candidates(runtime.store, vector, query.text, Scope((), None), depth)
        ids = [c.item_id for c in result.candidates]
        labels = np.asarray([item_id in query.relevant for item_id in ids], dtype=int)
        found.append(Found(query, ids, result.matrix(), labels))
    return found


def fit(found: Sequence[Found], feature_names: Sequence[str], regularisation: float) -> FusionModel:
    """A logistic model on the candidates of these queries, using only `feature_names`."""
    from sklearn.linear_model import LogisticRegression

    columns = [FEATURES.index(name) for name in feature_names]
    rows = np.vstack([f.rows for f in found])[:, columns]
    labels = np.concatenate([f.labels for f in found])
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=regularisation, max_iter=2000, class_weight="balanced")
    model.fit((rows - mean) / scale, labels)
    full_mean, full_scale, weights = (
        np.zeros(len(FEATURES)),
        np.ones(len(FEATURES)),
        np.zeros(len(FEATURES)),
    )
    full_mean[columns], full_scale[columns], weights[columns] = mean, scale, model.coef_[0]
    return FusionModel(full_mean, full_scale, weights, float(model.intercept_[0]), {})


Ranker = Callable[[Found], list[str]]


def model_ranker(model: FusionModel) -> Ranker:
    return lambda f: f.ranked(model.scores(f.rows))


def baseline_ranker(f: Found) -> list[str]:
    return f.ranked(baseline_scores(f.rows, bool(identifier_phrases(f.query.text))))


@dataclass(frozen=True)
class CrossValidation:
    folds: list[Scores]
    pooled: list[tuple[Query, list[str]]]

    def summary(self) -> str:
        recalls = [s.recall for s in self.folds]
        mrrs = [s.mrr for s in self.folds]
        return (
            f"recall@10 {np.mean(recalls):.3f} ± {np.std(recalls):.3f}  "
            f"MRR@10 {np.mean(mrrs):.3f} ± {np.std(mrrs):.3f}"
        )

    def capped_recall(self) -> float:
        return float(np.mean([s.capped_recall for s in self.folds]))

    @property
    def objective(self) -> float:
        return float(np.mean([s.recall + s.mrr for s in self.folds]))


def cross_validate(
    found: Sequence[Found], make_ranker: Callable[[Sequence[Found]], Ranker]
) -> CrossValidation:
    folds, pooled = [], []
    for fold in range(FOLDS):
        train = [f for f in found if fold_of(f.query.qid) != fold]
        test = [f for f in found if fold_of(f.query.qid) == fold]
        if not test:
            continue
        ranker = make_ranker(train)
        rankings = [(f.query, ranker(f)) for f in test]
        folds.append(score_rankings(rankings))
        pooled += rankings
    return CrossValidation(folds, pooled)


def per_kind(rankings: Sequence[tuple[Query, list[str]]]) -> str:
    kinds = sorted({query.kind for query, _ in rankings})
    parts = []
    for kind in kinds:
        part = score_rankings([(q, r) for q, r in rankings if q.kind == kind])
        parts.append(f"{kind} ({part.count}) {part.recall:.3f}/{part.mrr:.3f}")
    return "  ".join(parts)


def choose(
    found: Sequence[Found], incumbent: tuple[str, float] | None = None
) -> tuple[str, float, CrossValidation, CrossValidation]:
    """The feature set and regularisation with the best cross-validated recall + MRR, with
    its cross-validation and that of today's fusion. The `incumbent` (the configuration the
    shipped model uses) is kept unless the best beats it fold by fold by more than the spread
    of that difference: the rule every ranking idea had to pass, so that a refit on new data
    does not swap configurations on noise."""
    baseline = cross_validate(found, lambda train: baseline_ranker)
    print(f"  {'today fusion (fixed weights)':40} {baseline.summary()}")
    results: dict[tuple[str, float], CrossValidation] = {}
    for name, names in FEATURE_SETS.items():
        for regularisation in REGULARISATION:
            result = cross_validate(
                found,
                lambda train, n=names, c=regularisation: model_ranker(fit(train, n, c)),  # type: ignore[misc]
            )
            print(f"  {name + f', C={regularisation:g}':40} {result.summary()}")
            results[(name, regularisation)] = result
    best: tuple[str, float] | None = None
    for key, result in results.items():  # the first of equals, in the grid's order
        if best is None or result.objective > results[best].objective + 1e-9:
            best = key
    assert best is not None
    if incumbent in results and incumbent != best:
        gain = paired_gain(results[best], results[incumbent])
        print(
            f"  best {best[0]}, C={best[1]:g} against the shipped {incumbent[0]}, "
            f"C={incumbent[1]:g}: recall + MRR {gain[0]:+.3f} ± {gain[1]:.3f} a fold"
        )
        if gain[0] <= gain[1]:
            best = incumbent
    return best[0], best[1], results[best], baseline


def paired_gain(candidate: CrossValidation, incumbent: CrossValidation) -> tuple[float, float]:
    """Mean and standard deviation over folds of the candidate's recall + MRR minus the
    incumbent's on the same fold."""
    differences = [
        (a.recall + a.mrr) - (b.recall + b.mrr)
        for a, b in zip(candidate.folds, incumbent.folds, strict=True)
    ]
    return float(np.mean(differences)), float(np.std(differences))


def shipped_configuration() -> tuple[str, float] | None:
    """The feature set and regularisation of the shipped fusion model, when it is one of the
    grid's."""
    about = shipped_model().about
    used = set(about.get("features_used", ()))
    for name, names in FEATURE_SETS.items():
        if set(names) == used:
            return name, float(about.get("regularisation_C", 0.0))
    return None


def _records(arguments: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    item_files = arguments.items or [ITEMS]
    records = [record for path in item_files for record in labelled_records(path)]
    try:
        distractors = federal_register_records(shared_file(FEDERAL_REGISTER))
    except SharedDataMissing:
        distractors = []
    return records, distractors


def evaluate_labelled(arguments: argparse.Namespace) -> int:
    query_files = arguments.queries or [QUERIES]
    missing = [path for path in [*query_files, *(arguments.items or [ITEMS])] if not path.is_file()]
    if missing:
        print(f"search evaluation skipped: {', '.join(map(str, missing))} not present")
        return 0
    records, distractors = _records(arguments)
    with tempfile.TemporaryDirectory(prefix="horizon-eval-search-") as scratch:
        started = time.perf_counter()
        runtime, stored_as = corpus_in(arguments.home or Path(scratch), records + distractors)
        queries = [q for path in query_files for q in load_queries(path, stored_as)]
        store = runtime.store
        folded = sum(
            1 for record in records if stored_as.get(record["id"], record["id"]) != record["id"]
        )
        print(
            f"Search: {len(queries)} queries over {len(records)} labelled items + "
            f"{len(distractors)} Federal Register distractors ({store.index.count()} items, "
            f"{folded} labelled items folded as duplicates, "
            f"{store.index.passage_count()} passages stored; built in "
            f"{time.perf_counter() - started:.0f} s)"
        )
        found = gather(runtime, queries)
    development = [f for f in found if not is_frozen(f.query.qid)]
    frozen = [f for f in found if is_frozen(f.query.qid)]
    print(
        f"{len(development)} queries for {FOLDS}-fold cross-validation, {len(frozen)} frozen "
        f"for the final test; candidates per query: top {DEPTH} of each of four lists"
    )
    reachable = np.mean([len(f.query.relevant & set(f.ids)) / len(f.query.relevant) for f in found])
    print(f"share of relevant items among the candidates (ceiling on recall): {reachable:.3f}")
    name, regularisation, chosen, baseline = choose(development, shipped_configuration())
    print(
        f"chosen by cross-validation: {name}, C={regularisation:g} (recall@10 capped at 10 "
        f"relevant: {chosen.capped_recall():.3f})"
    )
    print(f"  cross-validation, per kind (recall/MRR): {per_kind(chosen.pooled)}")
    print(f"  today's fusion, per kind:                 {per_kind(baseline.pooled)}")
    model = fit(development, FEATURE_SETS[name], regularisation)
    if frozen and not arguments.no_frozen:
        final = [(f.query, model_ranker(model)(f)) for f in frozen]
        old = [(f.query, baseline_ranker(f)) for f in frozen]
        result, before = score_rankings(final), score_rankings(old)
        print(
            f"FROZEN TEST ({len(frozen)} queries, measured once): learned fusion recall@10 "
            f"{result.recall:.3f} MRR@10 {result.mrr:.3f} (capped recall "
            f"{result.capped_recall:.3f}); today's fusion {before.recall:.3f} / {before.mrr:.3f}"
        )
        print(f"  frozen test, per kind: {per_kind(final)}")
    if arguments.write_model:
        about = {
            "trained_on": f"{len(development)} queries of {', '.join(p.name for p in query_files)}"
            " (frozen test split excluded)",
            "features_used": list(FEATURE_SETS[name]),
            "regularisation_C": regularisation,
            "cross_validation": chosen.summary(),
        }
        shipped = FusionModel(model.mean, model.scale, model.weights, model.bias, about)
        MODEL_FILE.write_text(json.dumps(shipped.as_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE}")
    return 0


def evaluate_external() -> int:
    """The shipped search, end to end, on ../shared/eval/queries-dev.jsonl over its corpus."""
    try:
        queries_file = shared_file(DEV_QUERIES)
        dev_records = labelled_records(shared_file(DEV_ITEMS))
        distractors = federal_register_records(shared_file(FEDERAL_REGISTER))
    except SharedDataMissing as missing:
        print(f"external search test {missing}")
        return 0
    with tempfile.TemporaryDirectory(prefix="horizon-eval-search-dev-") as home:
        runtime, stored_as = build_corpus(Path(home), dev_records + distractors)
        queries = load_queries(queries_file, stored_as)
        rankings = [
            (query, [hit.id for hit in search(runtime.store, runtime.embedder, query.text)])
            for query in queries
        ]
    result = score_rankings(rankings)
    print(
        f"EXTERNAL ../shared/{DEV_QUERIES} ({len(queries)} queries, never tuned on), shipped "
        f"model end to end: recall@10 {result.recall:.3f} MRR@10 {result.mrr:.3f}; per kind: "
        f"{per_kind(rankings)}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.search", description=__doc__)
    parser.add_argument(
        "--queries", type=Path, action="append", help=f"labelled queries (default {QUERIES})"
    )
    parser.add_argument(
        "--items", type=Path, action="append", help=f"labelled items, repeatable (default {ITEMS})"
    )
    parser.add_argument(
        "--write-model", action="store_true", help=f"save the chosen model to {MODEL_FILE}"
    )
    parser.add_argument("--no-external", action="store_true", help="skip queries-dev")
    parser.add_argument(
        "--no-frozen",
        action="store_true",
        help="do not measure the frozen test split (for development runs: it is measured once)",
    )
    parser.add_argument("--home", type=Path, help="build the labelled corpus here, or reuse it")
    arguments = parser.parse_args(argv)
    status = evaluate_labelled(arguments)
    if not arguments.no_external:
        status |= evaluate_external()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
