"""Item → instrument linking measured on the labelled links in
evaluation/data/instrument-links.jsonl (item texts from evaluation/data/items.jsonl).

Precision and recall count (item, instrument) pairs, on the held-out third (the frozen split of
evaluation.common) and on the rest. `python -m evaluation.instruments [--similarity]`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.common import is_held_out, read_jsonl
from horizon.config import PROJECT_ROOT, load_instruments
from horizon.embed import Embedder, default_embedder
from horizon.instruments.linking import DEFAULT_MIN_SIMILARITY, link_item

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Figures:
    items: int
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def measure(
    held_out: bool | None = None,
    embedder: Embedder | None = None,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> tuple[Figures, list[str]]:
    """Figures for the held-out part (True), the rest (False) or all (None), and each error;
    by names only, or with `embedder` also by similarity to each instrument's description."""
    catalogue = load_instruments(PROJECT_ROOT / "instruments.yaml")
    texts = {record["id"]: record for record in read_jsonl(DATA / "items.jsonl")}
    instrument_vectors: dict[str, np.ndarray] = {}
    if embedder is not None:
        descriptions = [f"{each.name}. {each.description}" for each in catalogue.instruments]
        vectors = embedder.embed(descriptions)
        instrument_vectors = {
            each.id: vector for each, vector in zip(catalogue.instruments, vectors, strict=True)
        }
    true_positives = false_positives = false_negatives = items = 0
    errors = []
    for label in read_jsonl(DATA / "instrument-links.jsonl"):
        if held_out is not None and is_held_out(label["id"]) != held_out:
            continue
        items += 1
        record = texts[label["id"]]
        summary = record.get("summary", "")
        item_vector = (
            embedder.embed([f"{record['title']}. {summary}"])[0] if embedder is not None else None
        )
        links = link_item(
            record["id"],
            record["title"],
            summary,
            catalogue.instruments,
            item_vector,
            instrument_vectors,
            min_similarity,
        )
        found = {link.instrument_id for link in links}
        wanted = set(label["instruments"])
        true_positives += len(found & wanted)
        false_positives += len(found - wanted)
        false_negatives += len(wanted - found)
        errors += [f"{label['id']}: linked {each} wrongly" for each in sorted(found - wanted)]
        errors += [f"{label['id']}: missed {each}" for each in sorted(wanted - found)]
    return Figures(items, true_positives, false_positives, false_negatives), errors


def main() -> int:
    """Names only; with `--similarity`, names plus the packaged MiniLM model's similarity."""
    embedder = default_embedder() if "--similarity" in sys.argv[1:] else None
    for name, part in (("held-out", True), ("rest", False)):
        figures, errors = measure(part, embedder)
        print(
            f"{name}: {figures.items} items, precision {figures.precision:.3f}, "
            f"recall {figures.recall:.3f} (tp {figures.true_positives}, "
            f"fp {figures.false_positives}, fn {figures.false_negatives})"
        )
        for error in errors:
            print(f"  {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
