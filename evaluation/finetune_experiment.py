"""Does fine-tuning MiniLM help the tagger's heads? `python -m evaluation.finetune_experiment`.

An experiment by cross-validation only (issue 9, docs/tagging.md, round 5). The frozen test
split is never used: its items are dropped by id before anything else, and the rest are split
into the same 5 folds as `python -m evaluation.tagging`. In each fold a copy of the packaged
MiniLM is fine-tuned on the fold's training part, every item (and the catalogue's examples, for
the `similarity` group) is embedded again with it, and the tagger's heads are fitted,
calibrated and scored with `horizon.tagging.training`'s functions as `evaluation.tagging`'s
cross-validation does, with those vectors in place of the stock ones (how the calibration's
out-of-fold scores are made: `run_fold`, `--calibration`). The stock vectors go through the
same code in the same run, as the baseline.

Variants (the first tuned layer's input is computed once by the frozen lower part and kept):

- `last-layer`: only the last transformer layer is trained, with a multi-label BCE head on the
  15 controls and relevance over the mean-pooled, normalised vector;
- `last-layer-all`: the same, with the type and the jurisdiction as two more targets
  (cross-entropy), so the tuned vector keeps what the type and jurisdiction heads read;
- `full`: all six transformer layers (the word embeddings stay frozen), same loss;
- `setfit`: the last layer, with SetFit's cosine-similarity loss on every pair of a batch
  (target 1 when the two items share a control, or are both not relevant, else 0).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.common import LABELLED, is_frozen_test, labelled_rows
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import DIMENSIONS, ProgressCallback
from horizon.item import ITEM_TYPES
from horizon.tagging.examples import Example, Featurised, Targets, example_from_record, with_words
from horizon.tagging.features import JURISDICTIONS, FeatureBuilder, Reading, jurisdiction_class
from horizon.tagging.heads import Choice, fit_heads
from horizon.tagging.training import (
    FIGURES,
    FoldFigures,
    average_precision,
    fold_figures,
    folds,
    out_of_fold,
    summarise,
)

VARIANTS = ("last-layer", "last-layer-all", "full", "setfit")
LAYERS = 6
FIRST_TUNED = {
    "last-layer": LAYERS - 1,
    "last-layer-all": LAYERS - 1,
    "full": 0,
    "setfit": LAYERS - 1,
}
LEARNING_RATE = {"last-layer": 1e-4, "last-layer-all": 1e-4, "full": 3e-5, "setfit": 1e-4}
HEAD_LEARNING_RATE = 1e-2
BATCH = 16
MAX_LENGTH = 256  # what the packaged SentenceTransformer reads of a text
SEED = 0


# ---- the data: labelled items outside the frozen test split, in evaluation.tagging's folds --


def training_examples(rows: Sequence[dict[str, Any]]) -> list[Example]:
    """The labelled items the tagger may learn from: never one of the frozen test split."""
    return [example_from_record(row) for row in rows if not is_frozen_test(row["id"])]


def label_matrix(examples: Sequence[Example], control_ids: Sequence[str]) -> np.ndarray:
    """One row per item: its controls (in `control_ids` order), then relevance, as 0/1."""
    return np.array(
        [[cid in e.controls for cid in control_ids] + [e.relevant] for e in examples],
        dtype=np.float32,
    ).reshape(len(examples), len(control_ids) + 1)


def class_targets(examples: Sequence[Example]) -> np.ndarray:
    """One row per item: the index of its type in `ITEM_TYPES` and of its jurisdiction's class
    in `JURISDICTIONS` (the `last-layer-all` variant's extra targets)."""
    return np.array(
        [
            [ITEM_TYPES.index(e.type), JURISDICTIONS.index(jurisdiction_class(e.jurisdiction))]
            for e in examples
        ],
        dtype=np.int64,
    ).reshape(len(examples), 2)


def share_a_label(labels: np.ndarray) -> np.ndarray:
    """SetFit's pair targets: 1 where two items share a control or are both not relevant."""
    relevant = labels[:, -1] > 0
    shared = (labels[:, :-1] @ labels[:, :-1].T) > 0
    both_noise = ~relevant[:, None] & ~relevant[None, :]
    return (shared | both_noise).astype(np.float32)


# ---- the encoder: frozen lower part computed once, tuned upper part per fold ----------------


class LowerStates:
    """The hidden states entering layer `first_tuned` for each text, computed once by the
    packaged model's frozen lower part (the word embeddings for `first_tuned` 0)."""

    def __init__(self, first_tuned: int, max_length: int = MAX_LENGTH) -> None:
        import torch

        from horizon.embed import torch_embedder

        model = torch_embedder().model
        self.tokenizer = model.tokenizer
        self.bert = model[0].auto_model
        self.first_tuned = first_tuned
        self.max_length = max_length
        self._states: dict[str, Any] = {}
        self._torch = torch

    def of(self, texts: Sequence[str]) -> list[Any]:
        """Each text's states, a (tokens, 384) tensor, computed for the texts not yet seen."""
        torch = self._torch
        missing = sorted({t for t in texts if t not in self._states}, key=len, reverse=True)
        for start in range(0, len(missing), 32):
            batch = missing[start : start + 32]
            encoded = self.tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with torch.no_grad():
                output = self.bert(**encoded, output_hidden_states=True)
            states = output.hidden_states[self.first_tuned]
            for row, text in enumerate(batch):
                length = int(encoded["attention_mask"][row].sum())
                self._states[text] = states[row, :length].clone()
        return [self._states[t] for t in texts]


class TunedUpper:
    """A copy of the packaged model's layers from `first_tuned` up, trainable, with mean
    pooling and normalisation as the stock pipeline pools."""

    def __init__(self, lower: LowerStates) -> None:
        import torch

        self._torch = torch
        self.lower = lower
        self.config = lower.bert.config
        self.layers = torch.nn.ModuleList(
            copy.deepcopy(layer) for layer in lower.bert.encoder.layer[lower.first_tuned :]
        )

    def pooled(self, states: Sequence[Any]) -> Any:
        """Normalised mean-pooled vectors of a batch of lower states (padded here)."""
        from transformers.masking_utils import create_bidirectional_mask

        torch = self._torch
        lengths = [len(s) for s in states]
        hidden = torch.nn.utils.rnn.pad_sequence(list(states), batch_first=True)
        mask = (torch.arange(hidden.shape[1])[None, :] < torch.tensor(lengths)[:, None]).long()
        attention = create_bidirectional_mask(
            config=self.config, inputs_embeds=hidden, attention_mask=mask
        )
        for layer in self.layers:
            output = layer(hidden, attention_mask=attention)
            hidden = output[0] if isinstance(output, tuple) else output
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1)
        return torch.nn.functional.normalize(mean, dim=-1)

    def embed(self, texts: Sequence[str], batch: int = 64) -> np.ndarray:
        """Vectors of `texts`, batched by length (as the stock embedder batches)."""
        torch = self._torch
        states = self.lower.of(texts)
        order = np.argsort([-len(s) for s in states], kind="stable")
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        self.layers.eval()
        with torch.no_grad():
            for start in range(0, len(texts), batch):
                rows = order[start : start + batch]
                vectors[rows] = self.pooled([states[r] for r in rows]).numpy()
        return vectors


class TunedEmbedder:
    """`TunedUpper` as the tagger's `Embedder`, so the catalogue's examples are embedded by the
    same encoder as the items."""

    dimensions = DIMENSIONS

    def __init__(self, upper: TunedUpper, name: str) -> None:
        self.upper = upper
        self.name = name

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        vectors = self.upper.embed(texts)
        if on_progress is not None:
            on_progress(len(texts))
        return vectors


def fine_tune(
    upper: TunedUpper,
    texts: Sequence[str],
    labels: np.ndarray,
    variant: str,
    epochs: int,
    seed: int,
    learning_rate: float | None = None,
    classes: np.ndarray | None = None,
) -> list[float]:
    """Train `upper` in place on `texts` and their `labels` (`label_matrix`), and with
    `classes` (`class_targets`) their type and jurisdiction too; the mean loss of each epoch.
    Batches of similar length, in a seeded random order."""
    torch = upper._torch
    torch.manual_seed(seed)
    shuffler = random.Random(seed)
    states = upper.lower.of(texts)
    head = torch.nn.Linear(DIMENSIONS, labels.shape[1])
    class_heads = torch.nn.ModuleList(
        torch.nn.Linear(DIMENSIONS, count) for count in (len(ITEM_TYPES), len(JURISDICTIONS))
    )
    optimiser = torch.optim.AdamW(
        [
            {"params": upper.layers.parameters(), "lr": learning_rate or LEARNING_RATE[variant]},
            {"params": [*head.parameters(), *class_heads.parameters()], "lr": HEAD_LEARNING_RATE},
        ],
        weight_decay=0.01,
    )
    targets = torch.tensor(labels)
    losses = []
    upper.layers.train()
    for _ in range(epochs):
        batches = _length_batches([len(s) for s in states], shuffler)
        total = 0.0
        for rows in batches:
            vectors = upper.pooled([states[r] for r in rows])
            if variant == "setfit":
                pairs = torch.tensor(share_a_label(labels[rows]))
                upper_pairs = torch.triu(torch.ones_like(pairs), diagonal=1) > 0
                cosines = vectors @ vectors.T
                loss = torch.nn.functional.mse_loss(cosines[upper_pairs], pairs[upper_pairs])
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    head(vectors), targets[rows]
                )
            if classes is not None:
                for column, class_head in enumerate(class_heads):
                    loss = loss + torch.nn.functional.cross_entropy(
                        class_head(vectors), torch.tensor(classes[rows, column])
                    )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(rows)
        losses.append(total / len(states))
    upper.layers.eval()
    return losses


def _length_batches(lengths: Sequence[int], shuffler: random.Random) -> list[list[int]]:
    """Batches of `BATCH` items of similar length: shuffled, sorted by length within windows
    of eight batches, the batches shuffled again."""
    order = list(range(len(lengths)))
    shuffler.shuffle(order)
    batches = []
    window = BATCH * 8
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=lambda row: lengths[row])
        batches += [part[i : i + BATCH] for i in range(0, len(part), BATCH)]
    shuffler.shuffle(batches)
    return batches


# ---- the heads: evaluation.tagging's cross-validation, fold by fold ------------------------


@dataclass(frozen=True)
class FoldResult:
    figures: FoldFigures
    control_average_precision: float


class Trial:
    """The items, their folds and the heads' choices, with what every encoder shares: the
    rules' readings of each item and the catalogue."""

    def __init__(self, examples: Sequence[Example], choices: dict[str, Choice]) -> None:
        self.catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
        self.control_ids = self.catalogue.control_ids()
        self.examples = list(examples)
        self.texts = [e.item.text() for e in examples]
        self.choices = choices
        self.fold_rows = folds(self.examples)
        self.everything = np.arange(len(self.examples))
        self._readings: list[Reading] | None = None

    def featurised(self, embedder: TunedEmbedder) -> Featurised:
        """Every item's feature row with `embedder`'s vectors (and its `similarity` to the
        catalogue's examples embedded by the same encoder)."""
        builder = FeatureBuilder(self.catalogue, embedder, self.control_ids)
        if self._readings is None:
            self._readings = [builder.read(e.item) for e in self.examples]
        items = [e.item for e in self.examples]
        features = builder.matrix(items, embedder.embed(self.texts), self._readings)
        targets = Targets.of(self.examples, self.control_ids)
        return Featurised(self.examples, self._readings, features, targets, builder)

    def held_scores(
        self, data: Featurised, train: np.ndarray, held: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Raw scores of the `held` items from heads fitted on `train` alone (with a words
        vocabulary learned from `train`), as `training.out_of_fold` fits each fold."""
        fold = with_words(data, train)
        fitted = fit_heads(
            fold.features[train], fold.targets.take(train), self.choices, fold.builder
        )
        return fitted.raw_scores(fold.features[held])

    def score(self, data: Featurised, raw: dict[str, np.ndarray], held: int) -> FoldResult:
        """Fold `held` as `training.cross_validated` scores it: calibrated on the other folds'
        out-of-fold raw scores, decided and measured by `training.fold_figures`; and the mean
        average precision of its raw control scores over the controls it has (a measure that
        needs no calibration)."""
        rows = self.fold_rows[held]
        result, _ = fold_figures(data, raw, rows)
        gold = data.targets.controls[rows]
        precisions = [
            average_precision(raw["controls"][rows, c], gold[:, c])
            for c in range(gold.shape[1])
            if gold[:, c].any()
        ]
        return FoldResult(result, float(np.mean(precisions)))


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Timer:
    """Seconds spent per part of one fold."""

    seconds: dict[str, float]

    def add(self, part: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - since
        return now


class Encoders:
    """The encoder fitted on a set of training rows: the stock one (never trained), or a copy
    fine-tuned by `variant` on those rows."""

    def __init__(
        self, trial: Trial, lower: LowerStates, variant: str, epochs: int, lr: float | None
    ) -> None:
        self.trial = trial
        self.lower = lower
        self.variant = variant
        self.epochs = epochs
        self.lr = lr
        self.labels = label_matrix(trial.examples, trial.control_ids)
        self.classes = class_targets(trial.examples) if variant.endswith("-all") else None
        self._stock: Featurised | None = None
        self.losses: list[list[float]] = []

    def featurised(self, train: np.ndarray, seed: int, timer: Timer) -> Featurised:
        clock = time.perf_counter()
        if self.variant == "stock":
            if self._stock is None:
                stock = TunedEmbedder(TunedUpper(self.lower), "stock")
                self._stock = self.trial.featurised(stock)
            timer.add("embed", clock)
            return self._stock
        upper = TunedUpper(self.lower)
        texts = self.trial.texts
        self.losses.append(
            fine_tune(
                upper,
                [texts[r] for r in train],
                self.labels[train],
                self.variant,
                self.epochs,
                seed,
                self.lr,
                None if self.classes is None else self.classes[train],
            )
        )
        clock = timer.add("fine-tune", clock)
        data = self.trial.featurised(TunedEmbedder(upper, f"{self.variant}-{seed}"))
        timer.add("embed", clock)
        return data


def run_fold(encoders: Encoders, held: int, nested: bool) -> tuple[FoldResult, dict[str, float]]:
    """One held-out fold. The encoder that tags it is fitted on the other folds. Calibration
    needs out-of-fold scores of those other folds: `nested` scores each other fold g with an
    encoder and heads fitted without g and without the held fold (so no score comes from an
    encoder that was trained on its item); otherwise they come from the heads of
    `training.out_of_fold` over the held fold's encoder, which has seen those items."""
    trial = encoders.trial
    timer = Timer({})
    everything, fold_rows = trial.everything, trial.fold_rows
    others = np.setdiff1d(everything, fold_rows[held])
    data = encoders.featurised(others, SEED + 10 * held, timer)
    clock = time.perf_counter()
    if not nested:
        raw = out_of_fold(data, trial.choices, fold_rows)
        timer.add("heads", clock)
        return trial.score(data, raw, held), timer.seconds
    parts = {held: trial.held_scores(data, others, fold_rows[held])}
    timer.add("heads", clock)
    for other in range(len(fold_rows)):
        if other == held:
            continue
        train = np.setdiff1d(others, fold_rows[other])
        inner = encoders.featurised(train, SEED + 10 * held + other, timer)
        clock = time.perf_counter()
        parts[other] = trial.held_scores(inner, train, fold_rows[other])
        timer.add("heads", clock)
    merged: dict[str, np.ndarray] = {}
    for fold, scores in parts.items():
        for head, values in scores.items():
            merged.setdefault(head, np.zeros((len(everything), *values.shape[1:])))
            merged[head][fold_rows[fold]] = values
    return trial.score(data, merged, held), timer.seconds


def summary(results: Sequence[FoldResult]) -> dict[str, list[float]]:
    figures = summarise([r.figures for r in results])
    precisions = [r.control_average_precision for r in results]
    figures["controls mean average precision"] = [
        round(float(np.mean(precisions)), 4),
        round(float(np.std(precisions)), 4),
    ]
    return figures


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(arguments.threads)
    threadpool_limits(arguments.threads)
    trial = Trial(training_examples(labelled_rows(arguments.data)), _packaged_choices())
    nested = arguments.calibration == "nested"
    lower = LowerStates(FIRST_TUNED[arguments.variant])
    report: dict[str, Any] = {
        "items": len(trial.examples),
        "folds": arguments.folds,
        "variant": arguments.variant,
        "epochs": arguments.epochs,
        "learning_rate": arguments.lr or LEARNING_RATE[arguments.variant],
        "first_tuned_layer": lower.first_tuned,
        "calibration": arguments.calibration,
        "results": {},
        "per_fold": [],
    }
    results: dict[str, list[FoldResult]] = {"stock": [], arguments.variant: []}
    for name in results:
        encoders = Encoders(trial, lower, name, arguments.epochs, arguments.lr)
        for held in arguments.folds:
            result, seconds = run_fold(encoders, held, nested)
            results[name].append(result)
            line = {
                "variant": name,
                "fold": held,
                **{figure: round(read(result.figures), 4) for figure, read in FIGURES},
                "controls mean average precision": round(result.control_average_precision, 4),
                "seconds": {part: round(value, 1) for part, value in seconds.items()},
                "losses": [[round(x, 4) for x in epoch] for epoch in encoders.losses],
            }
            encoders.losses = []
            report["per_fold"].append(line)
            _say(
                arguments,
                f"{name} fold {held}: controls micro-F1 {result.figures.micro.f1:.3f}, macro "
                f"{result.figures.macro_f1:.3f}, type {result.figures.type_accuracy:.3f}, "
                f"jurisdiction {result.figures.jurisdiction_accuracy:.3f}, controls mAP "
                f"{result.control_average_precision:.3f}; "
                + ", ".join(f"{part} {value:.0f} s" for part, value in seconds.items())
                + (f"; losses {line['losses']}" if line["losses"] else ""),
            )
        report["results"][name] = summary(results[name])
    return report


def _packaged_choices() -> dict[str, Choice]:
    """The heads' feature groups and strengths the packaged model chose by cross-validation."""
    metadata = json.loads((PROJECT_ROOT / "horizon" / "tagging" / "model.json").read_text())
    return {head: Choice(**value) for head, value in metadata["choices"].items()}


def _say(arguments: argparse.Namespace, line: str) -> None:
    print(line, file=sys.stderr if arguments.json else sys.stdout, flush=True)


def print_table(report: dict[str, Any]) -> None:
    results = report["results"]
    print(
        f"\n{report['items']} items, folds {report['folds']} of 5, {report['calibration']} "
        "calibration (mean ± sd over folds)"
    )
    print(f"{'':<34}" + "".join(f"{name:>20}" for name in results))
    for figure in results["stock"]:
        cells = [f"{r[figure][0]:.3f} ± {r[figure][1]:.3f}" for r in results.values()]
        print(f"{figure:<34}" + "".join(f"{cell:>20}" for cell in cells))


def parse_folds(value: str) -> list[int]:
    """`--folds`: fold numbers 0-4, comma-separated."""
    numbers = sorted({int(part) for part in value.split(",") if part.strip()})
    if not numbers or any(not 0 <= n < 5 for n in numbers):
        raise argparse.ArgumentTypeError(f"folds must be numbers 0-4, comma-separated: {value!r}")
    return numbers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.finetune_experiment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, default=LABELLED, help="labelled JSON Lines")
    parser.add_argument(
        "--folds", type=parse_folds, default=[0, 1, 2, 3, 4], help="folds to run, e.g. 0,1"
    )
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (default 3)")
    parser.add_argument("--variant", choices=VARIANTS, default="last-layer")
    parser.add_argument("--lr", type=float, default=None, help="encoder learning rate")
    parser.add_argument(
        "--calibration",
        choices=("nested", "single-encoder"),
        default="nested",
        help="how the other folds' out-of-fold scores are made for calibration (see run_fold)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args(argv)
    if not arguments.data.is_file():
        print(f"fine-tuning experiment skipped: {arguments.data} is not present")
        return 0
    report = run(arguments)
    if arguments.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
