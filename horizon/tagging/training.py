"""Training the tagger, with every choice made by k-fold cross-validation.

For each head (relevance, controls, type, jurisdiction) the feature groups and the
regularisation strength are chosen among a few candidates by their out-of-fold score on the
training examples (stratified folds, fixed seed). The chosen heads' out-of-fold scores then
calibrate what is left: Platt scaling per control and the relevance threshold, set to the
highest that keeps recall at `RECALL_TARGET`. The final heads are refitted on all examples.

`cross_validated` reports the same procedure fold by fold (calibrated on the other folds'
out-of-fold scores), which is what `make eval` prints as the cross-validation figures.
Analysts' verdicts retrain the control and relevance heads of a home's copy of the model
(`retrain_with_feedback`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from horizon.item import ITEM_TYPES, THEMES
from horizon.tagging.calibration import Calibration, calibrate
from horizon.tagging.decision import CONTROL_THRESHOLD, decide, resolve_jurisdiction
from horizon.tagging.examples import Example, Featurised, Targets, with_words
from horizon.tagging.features import JURISDICTIONS, Reading
from horizon.tagging.heads import (
    CANDIDATES,
    HEADS,
    SEED,
    THEME_THRESHOLD,
    Choice,
    Design,
    RawHeads,
    fit_binary,
    fit_heads,
    fit_theme_heads,
    group_strength,
    head_mask,
    spread,
)
from horizon.tagging.metrics import Scores, prf, set_scores
from horizon.tagging.model import (
    Heads,
    Predictions,
    SparseRows,
    TaggerModel,
    TrainingRows,
    sigmoid,
)

FOLDS = 5
# Each analyst verdict counts as this many labelled examples when a home retrains. Chosen by the
# simulated analysts of `make eval` (cross-validation folds): at 5, another fold's corrections
# lowered controls micro-F1 on the next fold (0.694 -> 0.681); at 1 they raised it (-> 0.702).
FEEDBACK_WEIGHT = 1.0


# ---- folds and out-of-fold scores ----------------------------------------------------------


def folds(examples: Sequence[Example], k: int = FOLDS, seed: int = SEED) -> list[np.ndarray]:
    """The held-out rows of each of k folds, stratified by relevance and type where each such
    stratum has at least k members (by relevance alone otherwise)."""
    keys = _strata(examples, k)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(keys)), keys)]


def folds_by_publisher(
    examples: Sequence[Example], k: int = FOLDS, seed: int = SEED
) -> list[np.ndarray]:
    """Folds as `folds`, but every publisher's items in one fold: each fold is tagged by a
    model that never saw its publishers, as items from new publishers will be."""
    return grouped_folds(examples, [e.item.publisher.strip().lower() for e in examples], k, seed)


def grouped_folds(
    examples: Sequence[Example], groups: Sequence[str], k: int = FOLDS, seed: int = SEED
) -> list[np.ndarray]:
    """Folds as `folds` (stratified as far as the groups allow), but all the examples of a
    group (a publisher, the writer of a labelled part) in one fold."""
    keys = _strata(examples, k)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(keys)), keys, list(groups))]


def _strata(examples: Sequence[Example], k: int) -> list[str]:
    keys = [f"{e.relevant}-{e.type}" for e in examples]
    counts = Counter(keys)
    keys = [key if counts[key] >= k else key.split("-")[0] for key in keys]
    if min(Counter(keys).values()) < k:
        keys = ["all"] * len(keys)
    return keys


def out_of_fold(
    data: Featurised,
    choices: dict[str, Choice],
    fold_rows: Sequence[np.ndarray],
    heads: Sequence[str] = HEADS,
) -> dict[str, np.ndarray]:
    """Each example's raw scores from heads fitted without its fold (and with a vocabulary
    learned without it)."""
    scores: dict[str, np.ndarray] = {}
    everything = np.arange(len(data.examples))
    for held in fold_rows:
        train = np.setdiff1d(everything, held)
        fold = with_words(data, train)
        fitted = fit_heads(
            fold.features[train], fold.targets.take(train), choices, fold.builder, heads
        )
        for head, values in fitted.raw_scores(fold.features[held]).items():
            if head in heads:
                scores.setdefault(head, np.zeros((len(everything), *values.shape[1:])))
                scores[head][held] = values
    return scores


# ---- choosing and training -----------------------------------------------------------------


@dataclass(frozen=True)
class HeadScore:
    choice: Choice
    score: float


def _head_score(
    head: str, raw: dict[str, np.ndarray], data: Featurised, held: Sequence[np.ndarray]
) -> float:
    """The selection criterion of one head on out-of-fold scores: controls (micro + macro F1)
    / 2 after per-fold calibration; relevance average precision; type and jurisdiction
    accuracy."""
    t = data.targets
    if head == "relevance":
        return average_precision(raw["relevance"], t.relevant)
    if head == "type":
        return float((raw["type"].argmax(axis=1) == t.types).mean())
    if head == "jurisdiction":
        predicted = raw["jurisdiction"].argmax(axis=1)
        return float(
            np.mean(
                [
                    resolve_jurisdiction(JURISDICTIONS[p], reading) == example.jurisdiction
                    for p, reading, example in zip(
                        predicted, data.readings, data.examples, strict=True
                    )
                ]
            )
        )
    said = _tagged_controls_per_fold(raw, t, held)
    gold = [{int(i) for i in np.flatnonzero(row)} for row in t.controls]
    predicted_sets = [{int(i) for i in np.flatnonzero(row)} for row in said]
    micro, macro, _ = set_scores(gold, predicted_sets, list(range(t.controls.shape[1])))
    return (micro.f1 + macro) / 2


def _tagged_controls_per_fold(
    raw: dict[str, np.ndarray], targets: Targets, held: Sequence[np.ndarray]
) -> np.ndarray:
    """Which controls each fold's items get: scores Platt-scaled, and the control threshold
    chosen, on the other folds' out-of-fold scores."""
    said = np.zeros(raw["controls"].shape, dtype=bool)
    everything = np.arange(len(targets.relevant))
    for rows in held:
        others = np.setdiff1d(everything, rows)
        calibration = calibrate(
            {head: values[others] for head, values in raw.items()}, targets.take(others)
        )
        probabilities = sigmoid(raw["controls"][rows] * calibration.platt_a + calibration.platt_b)
        said[rows] = probabilities >= calibration.control_threshold
    return said


@dataclass(frozen=True)
class Chosen:
    """What `choose` found: each head's best candidate, every candidate's score, and the
    chosen heads' out-of-fold raw scores (a head's scores depend only on its own choice)."""

    choices: dict[str, Choice]
    table: dict[str, list[HeadScore]]
    out_of_fold: dict[str, np.ndarray]


def choose(
    data: Featurised,
    fold_rows: Sequence[np.ndarray],
    candidates: Sequence[Choice] = CANDIDATES,
    on_progress: Callable[[str], None] | None = None,
) -> Chosen:
    """Each head's best candidate by its cross-validated criterion, and every candidate's
    score (ties go to the earlier, simpler-listed candidate)."""
    table: dict[str, list[HeadScore]] = {head: [] for head in HEADS}
    raws = []
    for candidate in candidates:
        raw = out_of_fold(data, dict.fromkeys(HEADS, candidate), fold_rows)
        raws.append(raw)
        for head in HEADS:
            table[head].append(HeadScore(candidate, _head_score(head, raw, data, fold_rows)))
        if on_progress is not None:
            scores = ", ".join(f"{h} {table[h][-1].score:.3f}" for h in HEADS)
            on_progress(f"{candidate.groups} C={candidate.c}: {scores}")
    # the first of equal scores: the earlier, simpler-listed candidate
    best = {head: int(np.argmax([s.score for s in table[head]])) for head in HEADS}
    return Chosen(
        {head: candidates[i] for head, i in best.items()},
        table,
        {head: raws[i][head] for head, i in best.items()},
    )


def train(
    data: Featurised,
    choices: dict[str, Choice],
    fold_rows: Sequence[np.ndarray],
    metadata: dict[str, Any],
) -> TaggerModel:
    """The final model: heads fitted on every example (with a vocabulary learned from them
    all), calibrated on out-of-fold scores."""
    calibration = calibrate(out_of_fold(data, choices, fold_rows), data.targets)
    everything = with_words(data, np.arange(len(data.examples)))
    fitted = fit_heads(everything.features, everything.targets, choices, everything.builder)
    themes = fit_theme_heads(
        everything.features,
        fitted.mean,
        fitted.scale,
        everything.targets,
        everything.builder.groups,
    )
    return _assemble(fitted, themes, calibration, everything, choices, metadata)


def _assemble(
    fitted: RawHeads,
    themes: tuple[np.ndarray, np.ndarray],
    calibration: Calibration,
    data: Featurised,
    choices: dict[str, Choice],
    metadata: dict[str, Any],
) -> TaggerModel:
    heads = Heads(
        mean=fitted.mean,
        scale=fitted.scale,
        relevance_w=fitted.relevance[0],
        relevance_b=fitted.relevance[1],
        control_w=fitted.controls[0],
        control_b=fitted.controls[1],
        platt_a=calibration.platt_a,
        platt_b=calibration.platt_b,
        type_w=fitted.types[0],
        type_b=np.asarray(fitted.types[1] + calibration.type_bias, np.float32),
        jurisdiction_w=fitted.jurisdictions[0],
        jurisdiction_b=np.asarray(fitted.jurisdictions[1], np.float32),
        theme_w=themes[0],
        theme_b=themes[1],
    )
    rows = TrainingRows(
        features=SparseRows.of(data.features),
        relevant=data.targets.relevant,
        controls=data.targets.controls,
        types=data.targets.types,
        jurisdictions=data.targets.jurisdictions,
    )
    return TaggerModel(
        controls=tuple(data.builder.control_ids),
        types=ITEM_TYPES,
        jurisdictions=JURISDICTIONS,
        heads=heads,
        rows=rows,
        relevance_threshold=calibration.relevance_threshold,
        control_threshold=calibration.control_threshold,
        themes=THEMES,
        theme_threshold=THEME_THRESHOLD,
        words=data.builder.words,
        metadata={
            "choices": {head: choice.as_json() for head, choice in choices.items()},
            "feature_groups": {g: list(s) for g, s in data.builder.groups.items()},
            "examples": len(data.examples),
            **metadata,
        },
    )


# ---- cross-validated figures ---------------------------------------------------------------


@dataclass(frozen=True)
class FoldFigures:
    """The figures of one fold, or of a test set."""

    micro: Scores
    macro_f1: float
    relevance: Scores
    type_accuracy: float
    jurisdiction_accuracy: float
    per_control: dict[str, Scores]


def figures(
    examples: Sequence[Example],
    relevant: Sequence[bool],
    controls: Sequence[set[str]],
    types: Sequence[str],
    jurisdictions: Sequence[str],
    control_ids: Sequence[str],
) -> FoldFigures:
    micro, macro, per_control = set_scores(
        [set(e.controls) for e in examples], controls, control_ids
    )
    pairs = list(zip([e.relevant for e in examples], relevant, strict=True))
    relevance = prf(
        sum(g and p for g, p in pairs),
        sum(p and not g for g, p in pairs),
        sum(g and not p for g, p in pairs),
    )
    return FoldFigures(
        micro=micro,
        macro_f1=macro,
        relevance=relevance,
        type_accuracy=float(np.mean([e.type == t for e, t in zip(examples, types, strict=True)])),
        jurisdiction_accuracy=float(
            np.mean([e.jurisdiction == j for e, j in zip(examples, jurisdictions, strict=True)])
        ),
        per_control=per_control,
    )


@dataclass(frozen=True)
class CrossValidated:
    folds: list[FoldFigures]
    relevance_probabilities: np.ndarray
    relevance_thresholds: list[float]


def cross_validated(
    data: Featurised,
    choices: dict[str, Choice],
    fold_rows: Sequence[np.ndarray],
    raw: dict[str, np.ndarray] | None = None,
) -> CrossValidated:
    """The whole tagger fold by fold: each fold tagged by heads fitted on the other folds and
    calibrated on the other folds' out-of-fold scores (a nested split, so nothing about a
    fold, not even its threshold, is learned from it). `raw`: those out-of-fold scores when
    already computed for these choices and folds (`Chosen.out_of_fold`)."""
    raw = raw if raw is not None else out_of_fold(data, choices, fold_rows)
    results = []
    thresholds = []
    for held in fold_rows:
        result, calibration = fold_figures(data, raw, held)
        results.append(result)
        thresholds.append(calibration.relevance_threshold)
    return CrossValidated(results, sigmoid(raw["relevance"]), thresholds)


def fold_figures(
    data: Featurised, raw: dict[str, np.ndarray], held: np.ndarray
) -> tuple[FoldFigures, Calibration]:
    """Fold `held` tagged from its out-of-fold raw scores, calibrated on the other rows'
    (so nothing about the fold, not even its thresholds, is learned from it), and measured;
    with that calibration."""
    others = np.setdiff1d(np.arange(len(data.examples)), held)
    calibration = calibrate(
        {head: values[others] for head, values in raw.items()}, data.targets.take(others)
    )
    predictions = Predictions(
        relevance=sigmoid(raw["relevance"][held]),
        controls=sigmoid(raw["controls"][held] * calibration.platt_a + calibration.platt_b),
        types=raw["type"][held] + calibration.type_bias,
        jurisdictions=raw["jurisdiction"][held],
        themes=np.zeros((len(held), 0)),
    )
    result = evaluate(
        [data.examples[i] for i in held],
        [data.readings[i] for i in held],
        predictions,
        calibration.relevance_threshold,
        data.builder.control_ids,
        calibration.control_threshold,
    )
    return result, calibration


def evaluate(
    examples: Sequence[Example],
    readings: Sequence[Reading],
    predictions: Predictions,
    threshold: float,
    control_ids: Sequence[str],
    control_threshold: float = CONTROL_THRESHOLD,
) -> FoldFigures:
    decisions = [
        decide(
            float(predictions.relevance[row]),
            predictions.controls[row],
            predictions.types[row],
            predictions.jurisdictions[row],
            threshold,
            control_threshold,
        )
        for row in range(len(examples))
    ]
    return figures(
        examples,
        [d.relevant for d in decisions],
        [{control_ids[i] for i, _ in d.controls} for d in decisions],
        [ITEM_TYPES[d.type] for d in decisions],
        [
            resolve_jurisdiction(JURISDICTIONS[d.jurisdiction], reading)
            for d, reading in zip(decisions, readings, strict=True)
        ],
        control_ids,
    )


# ---- analysts' verdicts --------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """An analyst's verdict as training data: the item's feature row, the control, the call."""

    features: np.ndarray
    control: str
    confirmed: bool


def retrain_with_feedback(model: TaggerModel, verdicts: Sequence[Verdict]) -> TaggerModel:
    """The model with the control heads that analysts gave verdicts on, and the relevance
    head, refitted on the training rows plus the verdicts (each weighing `FEEDBACK_WEIGHT`).
    Calibration and threshold stay those of the base model."""
    usable = [v for v in verdicts if v.control in model.controls]
    if not usable:
        return model
    h = model.heads
    choices = {head: Choice(**model.metadata["choices"][head]) for head in HEADS}
    groups = model.metadata["feature_groups"]
    base = (model.rows.features.dense() - h.mean) / h.scale

    def mask(head: str) -> np.ndarray:
        return head_mask(head, choices[head], groups, base.shape[1])

    control_w = h.control_w.copy()
    control_b = h.control_b.copy()
    control_strength = group_strength("controls", groups, base.shape[1])
    control_mask = mask("controls")
    for control in sorted({v.control for v in usable}):
        index = model.controls.index(control)
        mine = [v for v in usable if v.control == control]
        extra = (np.vstack([v.features for v in mine]) - h.mean) / h.scale
        w, control_b[index] = fit_binary(
            Design(np.vstack([base, extra])[:, control_mask] * control_strength[control_mask]),
            np.concatenate([model.rows.controls[:, index], [int(v.confirmed) for v in mine]]),
            choices["controls"].c,
            np.concatenate([np.ones(len(base)), np.full(len(mine), FEEDBACK_WEIGHT)]),
        )
        control_w[index] = spread(w, control_mask) * control_strength
    confirmed = [v for v in usable if v.confirmed]
    relevance_w, relevance_b = h.relevance_w, h.relevance_b
    if confirmed:
        extra = (np.vstack([v.features for v in confirmed]) - h.mean) / h.scale
        relevance_strength = group_strength("relevance", groups, base.shape[1])
        relevance_mask = mask("relevance")
        w, relevance_b = fit_binary(
            Design(
                np.vstack([base, extra])[:, relevance_mask] * relevance_strength[relevance_mask]
            ),
            np.concatenate([model.rows.relevant, np.ones(len(confirmed), np.int8)]),
            choices["relevance"].c,
            np.concatenate([np.ones(len(base)), np.full(len(confirmed), FEEDBACK_WEIGHT)]),
        )
        relevance_w = spread(w, relevance_mask) * relevance_strength
    heads = replace(
        h,
        control_w=control_w,
        control_b=control_b,
        relevance_w=relevance_w,
        relevance_b=relevance_b,
    )
    return replace(model, heads=heads)


# ---- helpers -------------------------------------------------------------------------------


def average_precision(scores: np.ndarray, target: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    hits = target[order].astype(float)
    if hits.sum() == 0:
        return 0.0
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at * hits).sum() / hits.sum())


FIGURES = (
    ("controls micro-F1", lambda f: f.micro.f1),
    ("controls macro-F1", lambda f: f.macro_f1),
    ("controls precision", lambda f: f.micro.precision),
    ("controls recall", lambda f: f.micro.recall),
    ("relevance F1", lambda f: f.relevance.f1),
    ("relevance precision", lambda f: f.relevance.precision),
    ("relevance recall", lambda f: f.relevance.recall),
    ("type accuracy", lambda f: f.type_accuracy),
    ("jurisdiction accuracy", lambda f: f.jurisdiction_accuracy),
)


def summarise(fold_figures: Sequence[FoldFigures]) -> dict[str, list[float]]:
    """Mean and standard deviation over folds of each headline figure."""
    return {
        name: [
            round(float(np.mean([read(f) for f in fold_figures])), 4),
            round(float(np.std([read(f) for f in fold_figures])), 4),
        ]
        for name, read in FIGURES
    }
