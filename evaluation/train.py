"""`make train`: rebuild the packaged tagger (`horizon/tagging/model.npz`) from the labelled
items outside the frozen test split, choosing every head's features and strength by 5-fold
cross-validation. The calibration (Platt scaling, the relevance and control thresholds) is fitted
on out-of-fold scores from folds that keep each labelled part (one writer's items) together, so
the thresholds are set on scores of items by writers the heads never saw, as the stream's items
will be (docs/tagging.md, round 10). Deterministic: the same data gives the same file."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evaluation.agreement import folds_by_writer
from evaluation.common import LABELLED, VectorCache, is_frozen_test, labelled_rows
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import default_embedder
from horizon.tagging.examples import data_hash, example_from_record, featurise
from horizon.tagging.features import FeatureBuilder
from horizon.tagging.model import PACKAGED
from horizon.tagging.training import choose, cross_validated, folds, summarise, train


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.train", description=__doc__)
    parser.add_argument("--data", type=Path, default=LABELLED, help="labelled JSON Lines")
    parser.add_argument("--output", type=Path, default=PACKAGED, help="where to write the model")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    rows = [row for row in labelled_rows(arguments.data) if not is_frozen_test(row["id"])]
    examples = [example_from_record(row) for row in rows]
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    embedder = VectorCache(default_embedder())
    builder = FeatureBuilder(catalogue, embedder, catalogue.control_ids())
    vectors = embedder.embed([example.item.text() for example in examples])
    data = featurise(examples, vectors, builder)
    fold_rows = folds(examples)
    print(f"training on {len(examples)} labelled items outside the frozen test split")
    chosen = choose(data, fold_rows, on_progress=lambda line: print(f"  cv: {line}"))
    choices = chosen.choices
    cv = cross_validated(data, choices, fold_rows, chosen.out_of_fold)
    model = train(
        data,
        choices,
        folds_by_writer(examples),
        {
            "data_sha256": data_hash(rows),
            "data_file": str(arguments.data.relative_to(PROJECT_ROOT))
            if arguments.data.is_relative_to(PROJECT_ROOT)
            else arguments.data.name,
            "embedder": embedder.name,
            "cross_validation": summarise(cv.folds),
            "calibrated_on": "out-of-fold scores, 5 folds by labelled part (writer)",
        },
    )
    model.save(arguments.output)
    print(f"chosen: {model.metadata['choices']}")
    print(f"relevance threshold {model.relevance_threshold:.3f}")
    print(f"control threshold {model.control_threshold:.3f}")
    print(f"wrote {arguments.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
