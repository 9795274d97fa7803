"""De-duplication quality: no distinct provision folded, and news-style precision and recall.

Provisions: evaluation/data/dedupe-provisions.jsonl holds undated passages of rulebooks and
regulations, written for Horizon, that read alike but say different things (consecutive numbered
paragraphs, neighbouring definitions, templates one number or word apart), and a few true
duplicates (a passage re-ingested under another id, with `duplicate_of` naming the original).
It is ingested in file order through the same path as `horizon ingest --jsonl`; the target is
0 wrong folds with every true duplicate folded. It needs nothing from ../shared.

News: ../shared/eval/dedupe-dev.jsonl, when present.

The corpus is every item of dev.jsonl plus both sides of every labelled pair (differently worded
reports of one real event). It is ingested through the same path as `horizon ingest --jsonl`
(real model, real Chroma, a temporary home), in file order and again in reverse order. A reported
duplicate is correct when both items belong to the same labelled event (pairs sharing an item
are one event); a labelled pair is found when both of its items end up folded into the same
stored item. For contrast, the same corpus is scored with a similarity threshold alone.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from horizon.config import load_settings
from horizon.embed import Embedder, default_embedder
from horizon.ingest import Ingestor, IngestResult
from horizon.normalise import item_from_record
from horizon.runtime import Runtime

SHARED = Path(__file__).resolve().parents[2] / "shared"
PROVISIONS = Path(__file__).resolve().parent / "data" / "dedupe-provisions.jsonl"


@dataclass(frozen=True)
class ProvisionFolds:
    """How ingesting the provisions corpus went: folds of distinct passages (target 0) and true
    duplicates folded into their original (target all)."""

    passages: int
    wrong_folds: list[tuple[str, str]]
    duplicates: int
    duplicates_found: int

    def line(self) -> str:
        return (
            f"Provisions ({self.passages} undated passages): {len(self.wrong_folds)} distinct "
            f"passages folded (target 0); {self.duplicates_found}/{self.duplicates} true "
            "duplicates folded (target all)"
        )


def provision_folds(embedder: Embedder, corpus: Path = PROVISIONS) -> ProvisionFolds:
    """Ingest the provisions corpus into a fresh home and check every fold against its labels."""
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    expected = {row["id"]: row["duplicate_of"] for row in rows}
    records = [{key: row[key] for key in ("id", "title", "summary")} for row in rows]
    results = ingest_in_order(records, embedder)
    wrong = [
        (r.id, r.duplicate_of or "")
        for r in results
        if r.status == "duplicate" and expected[r.id] != r.duplicate_of
    ]
    found = sum(
        1
        for r in results
        if expected[r.id] is not None
        and r.status == "duplicate"
        and r.duplicate_of == expected[r.id]
    )
    return ProvisionFolds(
        passages=len(rows),
        wrong_folds=wrong,
        duplicates=sum(1 for target in expected.values() if target is not None),
        duplicates_found=found,
    )


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    predicted: int
    correct: int
    found: int
    pairs: int

    def line(self, label: str) -> str:
        return (
            f"{label:<38} precision {self.precision:.3f} ({self.correct}/{self.predicted})"
            f"   recall {self.recall:.3f} ({self.found}/{self.pairs})"
        )


class Events:
    """Labelled pairs closed under transitivity: items that report one event."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = list(pairs)
        self._parent: dict[str, str] = {}
        for first, second in self.pairs:
            self._parent[self.event(first)] = self.event(second)

    def event(self, item_id: str) -> str:
        self._parent.setdefault(item_id, item_id)
        while self._parent[item_id] != item_id:
            item_id = self._parent[item_id]
        return item_id


def load_corpus(shared: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    records: dict[str, dict[str, Any]] = {}
    for line in (shared / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        records.setdefault(record["id"], record)
    pairs = []
    for line in (shared / "eval" / "dedupe-dev.jsonl").read_text(encoding="utf-8").splitlines():
        pair = json.loads(line)
        for side in ("a", "b"):
            records.setdefault(pair[side]["id"], pair[side])
        pairs.append((pair["a"]["id"], pair["b"]["id"]))
    return list(records.values()), pairs


def score(results: Sequence[IngestResult], events: Events) -> Score:
    canonical = {r.id: (r.duplicate_of or r.id) for r in results}
    predicted = [(r.id, r.duplicate_of) for r in results if r.status == "duplicate"]
    correct = sum(1 for a, b in predicted if b and events.event(a) == events.event(b))
    found = sum(1 for a, b in events.pairs if canonical[a] == canonical[b])
    return Score(
        precision=correct / len(predicted) if predicted else 1.0,
        recall=found / len(events.pairs),
        predicted=len(predicted),
        correct=correct,
        found=found,
        pairs=len(events.pairs),
    )


def ingest_in_order(records: Sequence[dict[str, Any]], embedder: Embedder) -> list[IngestResult]:
    with tempfile.TemporaryDirectory(prefix="horizon-dedupe-eval-") as home:
        runtime = Runtime(load_settings(Path(home), env={}), embedder_override=embedder)
        ingestor = Ingestor(runtime.store, runtime.embedder, runtime.tagger)
        items = [item_from_record(record) for record in records]
        return ingestor.ingest(items, datetime.now(UTC))


def threshold_only(
    records: Sequence[dict[str, Any]], embedder: Embedder, events: Events, threshold: float
) -> Score:
    """Greedy folding by cosine similarity alone, in file order: the naive baseline."""
    items = [item_from_record(record) for record in records]
    vectors = embedder.embed([item.text() for item in items])
    accepted: list[int] = []
    results = []
    for position, item in enumerate(items):
        best = None
        if accepted:
            similarities = vectors[accepted] @ vectors[position]
            top = int(np.argmax(similarities))
            if similarities[top] >= threshold:
                best = items[accepted[top]].id
        if best is None:
            accepted.append(position)
            results.append(IngestResult(item.id, None, "new"))
        else:
            results.append(IngestResult(item.id, None, "duplicate", best))
    return score(results, events)


def main() -> int:
    embedder = default_embedder()
    provisions = provision_folds(embedder)
    print(provisions.line())
    for reported, folded_into in provisions.wrong_folds:
        print(f"  wrongly folded: {reported} into {folded_into}")
    if not (SHARED / "eval" / "dedupe-dev.jsonl").exists():
        print("De-duplication of news: skipped — ../shared/eval/dedupe-dev.jsonl is not present.")
        return 0
    records, pairs = load_corpus(SHARED)
    events = Events(pairs)
    print(f"De-duplication on {len(records)} items with {len(pairs)} labelled duplicate pairs")
    forward = score(ingest_in_order(records, embedder), events)
    backward = score(ingest_in_order(list(reversed(records)), embedder), events)
    print(forward.line("Horizon (similarity + dates), file order"))
    print(backward.line("Horizon, reverse order"))
    for threshold in (0.72, 0.80, 0.85):
        print(
            threshold_only(records, embedder, events, threshold).line(
                f"similarity ≥ {threshold:.2f} alone"
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
