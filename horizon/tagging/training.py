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

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from horizon.item import ITEM_TYPES, Item
from horizon.normalise import item_from_record
from horizon.tagging.decision import CONTROL_THRESHOLD, decide, resolve_jurisdiction
from horizon.tagging.features import (
    GROUPS,
    JURISDICTIONS,
    FeatureBuilder,
    Reading,
    jurisdiction_class,
)
from horizon.tagging.metrics import Scores, prf, set_scores
from horizon.tagging.model import Heads, Predictions, TaggerModel, TrainingRows
from horizon.tagging.words import WordVocabulary

FOLDS = 5
SEED = 0
RECALL_TARGET = 0.97
# The control threshold is chosen on out-of-fold calibrated probabilities among these, for the
# best micro-F1 (cross-validation: 0.5 left recall at 0.64 with precision 0.82).
CONTROL_THRESHOLDS = tuple(round(0.2 + 0.025 * step, 3) for step in range(17))
# Each analyst verdict counts as this many labelled examples when a home retrains. Chosen by the
# simulated analysts of `make eval` (cross-validation folds): at 5, another fold's corrections
# lowered controls micro-F1 on the next fold (0.694 -> 0.681); at 1 they raised it (-> 0.702).
FEEDBACK_WEIGHT = 1.0
# Embedding and similarity alone were worse than all groups on every head in earlier
# cross-validation runs (docs/tagging.md), so only these two are still compared.
CANDIDATE_GROUPS: dict[str, tuple[str, ...]] = {
    "all": GROUPS,
    "rules-only": ("similarity", "lexical", "publisher", "cues"),
}
CANDIDATE_C = (0.01, 0.03, 0.1)
HEADS = ("relevance", "controls", "type", "jurisdiction")
# How strongly a head sees a feature group: its standardised columns are multiplied by this
# before fitting (and the fitted weights by it after), so the penalty on their weights is
# lighter; at 0 the head does not see the group. Chosen by 5-fold cross-validation
# (docs/tagging.md): the controls gain from leaning on the catalogue's phrases and examples,
# type and jurisdiction on the rules' cues and the publisher; the type head reads the `words`
# (damped: there are thousands of columns), which gained the controls and jurisdiction too
# little to keep (round 4); relevance (already at its target) stays as it was.
GROUP_STRENGTH: dict[str, dict[str, float]] = {
    "relevance": {"words": 0.0},
    "controls": {"lexical": 2.0, "similarity": 2.0, "words": 0.25},
    "type": {"cues": 2.0, "publisher": 2.0, "words": 0.5},
    "jurisdiction": {"cues": 2.0, "publisher": 2.0, "words": 0.0},
}


@dataclass(frozen=True)
class Example:
    """A labelled item as the trainer sees it."""

    item: Item
    relevant: bool
    controls: frozenset[str]
    type: str
    jurisdiction: str


def example_from_record(row: dict[str, Any]) -> Example:
    """A line of a labelled JSON Lines file: the item's fields and `labels`."""
    labels = row["labels"]
    fields = {key: value for key, value in row.items() if key != "labels"}
    return Example(
        item=item_from_record(fields),
        relevant=bool(labels["relevant"]),
        controls=frozenset(labels["controls"]),
        type=labels["type"],
        jurisdiction=labels["jurisdiction"],
    )


def data_hash(rows: Iterable[dict[str, Any]]) -> str:
    """A hash of labelled records independent of their order and key order."""
    lines = sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Choice:
    """One head's candidate: which feature groups it sees and its inverse regularisation."""

    groups: str
    c: float

    def as_json(self) -> dict[str, Any]:
        return {"groups": self.groups, "c": self.c}


CANDIDATES = tuple(Choice(groups, c) for groups in CANDIDATE_GROUPS for c in CANDIDATE_C)


@dataclass(frozen=True)
class Targets:
    relevant: np.ndarray
    controls: np.ndarray
    types: np.ndarray
    jurisdictions: np.ndarray

    @classmethod
    def of(cls, examples: Sequence[Example], control_ids: Sequence[str]) -> Targets:
        return cls(
            relevant=np.array([e.relevant for e in examples], dtype=np.int8),
            controls=np.array(
                [[cid in e.controls for cid in control_ids] for e in examples], dtype=np.int8
            ).reshape(len(examples), len(control_ids)),
            types=np.array([ITEM_TYPES.index(e.type) for e in examples], dtype=np.int16),
            jurisdictions=np.array(
                [JURISDICTIONS.index(jurisdiction_class(e.jurisdiction)) for e in examples],
                dtype=np.int16,
            ),
        )

    def take(self, rows: np.ndarray) -> Targets:
        return Targets(
            self.relevant[rows], self.controls[rows], self.types[rows], self.jurisdictions[rows]
        )


@dataclass(frozen=True)
class Featurised:
    """Examples turned into feature rows, with what the rules read of each."""

    examples: list[Example]
    readings: list[Reading]
    features: np.ndarray
    targets: Targets
    builder: FeatureBuilder


def featurise(
    examples: Sequence[Example], vectors: np.ndarray, builder: FeatureBuilder
) -> Featurised:
    readings = [builder.read(example.item) for example in examples]
    features = builder.matrix([e.item for e in examples], vectors, readings)
    return Featurised(
        list(examples), readings, features, Targets.of(examples, builder.control_ids), builder
    )


def with_words(data: Featurised, rows: np.ndarray) -> Featurised:
    """`data` with the `words` group of a vocabulary learned from the examples `rows` alone
    (in cross-validation, the training part of a fold), for every example."""
    texts = [example.item.text() for example in data.examples]
    vocabulary = WordVocabulary.fit([texts[row] for row in rows])
    words_start, _ = data.builder.groups["words"]
    features = np.hstack([data.features[:, :words_start], vocabulary.matrix(texts)])
    return replace(data, features=features, builder=data.builder.with_words(vocabulary))


# ---- fitting one head ----------------------------------------------------------------------


def _scaler(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def _logistic(c: float, balanced: bool, dual: bool = False) -> LogisticRegression:
    """Binary heads are balanced and fitted with liblinear (several times faster than lbfgs
    at this size), in its dual form when there are more columns than rows (the controls with
    the `words`: the same fit, three times faster), with a fixed seed for its coordinate
    order, so a fit does not depend on what ran before it; multiclass heads are multinomial
    (lbfgs)."""
    if balanced:
        return LogisticRegression(
            C=c,
            solver="liblinear",
            class_weight="balanced",
            tol=1e-4,
            dual=dual,
            random_state=SEED,
        )
    return LogisticRegression(C=c, max_iter=2000, tol=1e-4)


class Design:
    """The columns one head is fitted on, in the form cheapest for the solver.

    With more columns than rows (the controls' and the type head's thousands of `words`
    columns) the solver gets instead the rows' Cholesky factor of their Gram matrix: an n × n
    matrix whose rows have the same inner products. An L2-penalised logistic fit (its intercept
    included) sees the rows only through those inner products and its weights lie in their
    span, so it is the same fit on far fewer columns (a fold's 15 control heads: 18.8 s →
    1.3 s, scores equal to 1e-5), and `weights` maps the solution back to the columns."""

    def __init__(self, columns: np.ndarray) -> None:
        self.columns = columns
        self.width = columns.shape[1]
        self.wide = self.width > len(columns)
        self.matrix = columns
        self._factor: np.ndarray | None = None
        if self.wide:
            rows = columns.astype(np.float64)
            gram = rows @ rows.T
            # a tiny ridge keeps repeated rows from making the factor singular
            jitter = 1e-10 * max(float(np.trace(gram)) / len(gram), 1e-12)
            try:
                self._factor = np.linalg.cholesky(gram + jitter * np.eye(len(gram)))
            except np.linalg.LinAlgError:
                return
            self.matrix = self._factor

    def weights(self, coef: np.ndarray) -> np.ndarray:
        """Weights over the columns (k × width) from the solver's (k × its columns)."""
        if self._factor is None:
            return coef
        # the factor's weights are factorᵀ c for the rows' dual coefficients c (the columns
        # are widened to float64 exactly, as for the Gram matrix)
        dual = solve_triangular(self._factor.T, coef.T, lower=False)
        return (self.columns.T @ dual).T


def _fit_binary(
    design: Design,
    target: np.ndarray,
    c: float,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """A balanced logistic head on the design's columns. With one class only, a constant head
    that says so."""
    if target.min() == target.max():
        return np.zeros(design.width, np.float32), 8.0 if target.max() else -8.0
    model = _logistic(c, balanced=True, dual=design.wide)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(design.matrix, target, sample_weight=weights)
    return design.weights(model.coef_)[0].astype(np.float32), float(model.intercept_[0])


def _fit_multiclass(
    design: Design, target: np.ndarray, classes: int, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """A multinomial head; classes absent from `target` get a bias that keeps them unchosen."""
    weights = np.zeros((classes, design.width), dtype=np.float32)
    bias = np.full(classes, -30.0, dtype=np.float32)
    present = np.unique(target)
    if len(present) == 1:
        bias[present[0]] = 0.0
        return weights, bias
    model = _logistic(c, balanced=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(design.matrix, target)
    coef, intercept = design.weights(model.coef_), model.intercept_
    if len(present) == 2:  # sklearn gives one row for two classes
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    for row, label in enumerate(model.classes_):
        weights[label] = coef[row]
        bias[label] = intercept[row]
    return weights, bias


def _spread(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weights over the masked columns placed over every column (zero elsewhere)."""
    full = np.zeros((*masked.shape[:-1], len(mask)), dtype=np.float32)
    full[..., mask] = masked
    return full


@dataclass(frozen=True)
class RawHeads:
    """Uncalibrated heads: what one fit produces before Platt scaling and the threshold."""

    mean: np.ndarray
    scale: np.ndarray
    relevance: tuple[np.ndarray, float]
    controls: tuple[np.ndarray, np.ndarray]
    types: tuple[np.ndarray, np.ndarray]
    jurisdictions: tuple[np.ndarray, np.ndarray]

    def raw_scores(self, features: np.ndarray) -> dict[str, np.ndarray]:
        scaled = (features - self.mean) / self.scale
        return {
            "relevance": scaled @ self.relevance[0] + self.relevance[1],
            "controls": scaled @ self.controls[0].T + self.controls[1],
            "type": scaled @ self.types[0].T + self.types[1],
            "jurisdiction": scaled @ self.jurisdictions[0].T + self.jurisdictions[1],
        }


def fit_heads(
    features: np.ndarray,
    targets: Targets,
    choices: dict[str, Choice],
    builder: FeatureBuilder,
    heads: Sequence[str] = HEADS,
) -> RawHeads:
    """Fit the named heads with their chosen groups and strength (others left at zero)."""
    mean, scale = _scaler(features)
    scaled = (features - mean) / scale
    width = features.shape[1]
    controls = targets.controls.shape[1]

    def mask(head: str) -> np.ndarray:
        return head_mask(head, choices[head], builder.groups, width)

    def strength(head: str) -> np.ndarray:
        return group_strength(head, builder.groups, width)

    relevance = (np.zeros(width, np.float32), 0.0)
    control_w = np.zeros((controls, width), np.float32)
    control_b = np.zeros(controls, np.float32)
    types = (np.zeros((len(ITEM_TYPES), width), np.float32), np.zeros(len(ITEM_TYPES)))
    jurisdictions = (
        np.zeros((len(JURISDICTIONS), width), np.float32),
        np.zeros(len(JURISDICTIONS)),
    )

    def design(head: str) -> tuple[Design, np.ndarray, np.ndarray]:
        s, m = strength(head), mask(head)
        return Design(scaled[:, m] * s[m]), s, m

    if "relevance" in heads:
        columns, s, m = design("relevance")
        relevance_w, relevance_b = _fit_binary(columns, targets.relevant, choices["relevance"].c)
        relevance = (_spread(relevance_w, m) * s, relevance_b)
    if "controls" in heads:
        columns, s, m = design("controls")
        for index in range(controls):
            weights, control_b[index] = _fit_binary(
                columns, targets.controls[:, index], choices["controls"].c
            )
            control_w[index] = _spread(weights, m) * s
    if "type" in heads:
        columns, s, m = design("type")
        type_w, type_b = _fit_multiclass(columns, targets.types, len(ITEM_TYPES), choices["type"].c)
        types = (_spread(type_w, m) * s, type_b)
    if "jurisdiction" in heads:
        columns, s, m = design("jurisdiction")
        jurisdiction_w, jurisdiction_b = _fit_multiclass(
            columns, targets.jurisdictions, len(JURISDICTIONS), choices["jurisdiction"].c
        )
        jurisdictions = (_spread(jurisdiction_w, m) * s, jurisdiction_b)
    return RawHeads(mean, scale, relevance, (control_w, control_b), types, jurisdictions)


def head_mask(
    head: str, choice: Choice, groups: Mapping[str, Sequence[int]], width: int
) -> np.ndarray:
    """The columns a head is fitted on: its candidate's groups, less those at strength 0."""
    selected = np.zeros(width, dtype=bool)
    for group in CANDIDATE_GROUPS[choice.groups]:
        if GROUP_STRENGTH.get(head, {}).get(group, 1.0) > 0:
            start, stop = groups[group]
            selected[start:stop] = True
    return selected


def group_strength(head: str, groups: Mapping[str, Sequence[int]], width: int) -> np.ndarray:
    """One multiplier per column: `GROUP_STRENGTH` of the head's groups, 1 elsewhere."""
    strength = np.ones(width, dtype=np.float32)
    for group, value in GROUP_STRENGTH.get(head, {}).items():
        start, stop = groups[group]
        strength[start:stop] = value
    return strength


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


# ---- calibration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    platt_a: np.ndarray
    platt_b: np.ndarray
    relevance_threshold: float
    control_threshold: float


def platt(raw: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Platt scaling of one control's raw scores; identity where there is too little to fit."""
    if target.sum() < 2 or target.sum() == len(target):
        return 1.0, 0.0
    model = LogisticRegression(C=100.0, max_iter=1000)
    model.fit(raw.reshape(-1, 1), target)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def recall_first_threshold(probabilities: np.ndarray, relevant: np.ndarray) -> float:
    """The highest threshold whose recall is still at least `RECALL_TARGET`."""
    positives = np.sort(probabilities[relevant.astype(bool)])
    if len(positives) == 0:
        return 0.5
    allowed_misses = int(np.floor(len(positives) * (1 - RECALL_TARGET)))
    return float(positives[allowed_misses])


def best_control_threshold(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The threshold of `CONTROL_THRESHOLDS` with the best micro-F1 over every control (the
    lowest of equals)."""
    positive = gold.astype(bool)
    best, chosen = -1.0, CONTROL_THRESHOLD
    for threshold in CONTROL_THRESHOLDS:
        said = probabilities >= threshold
        hits = int((said & positive).sum())
        wrong = int((said & ~positive).sum()) + int((~said & positive).sum())
        f1 = 2 * hits / max(2 * hits + wrong, 1)
        if f1 > best + 1e-12:
            best, chosen = f1, threshold
    return chosen


def calibrate(raw: dict[str, np.ndarray], targets: Targets) -> Calibration:
    """Platt scaling per control and both thresholds, from out-of-fold raw scores."""
    pairs = [
        platt(raw["controls"][:, index], targets.controls[:, index])
        for index in range(targets.controls.shape[1])
    ]
    platt_a = np.array([a for a, _ in pairs], np.float32)
    platt_b = np.array([b for _, b in pairs], np.float32)
    return Calibration(
        platt_a=platt_a,
        platt_b=platt_b,
        relevance_threshold=recall_first_threshold(_sigmoid(raw["relevance"]), targets.relevant),
        control_threshold=best_control_threshold(
            _sigmoid(raw["controls"] * platt_a + platt_b), targets.controls
        ),
    )


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
        probabilities = _sigmoid(raw["controls"][rows] * calibration.platt_a + calibration.platt_b)
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
    return _assemble(fitted, calibration, everything, choices, metadata)


def _assemble(
    fitted: RawHeads,
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
        type_b=np.asarray(fitted.types[1], np.float32),
        jurisdiction_w=fitted.jurisdictions[0],
        jurisdiction_b=np.asarray(fitted.jurisdictions[1], np.float32),
    )
    rows = TrainingRows(
        features=data.features,
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
    return CrossValidated(results, _sigmoid(raw["relevance"]), thresholds)


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
        relevance=_sigmoid(raw["relevance"][held]),
        controls=_sigmoid(raw["controls"][held] * calibration.platt_a + calibration.platt_b),
        types=raw["type"][held],
        jurisdictions=raw["jurisdiction"][held],
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
    base = (model.rows.features - h.mean) / h.scale

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
        w, control_b[index] = _fit_binary(
            Design(np.vstack([base, extra])[:, control_mask] * control_strength[control_mask]),
            np.concatenate([model.rows.controls[:, index], [int(v.confirmed) for v in mine]]),
            choices["controls"].c,
            np.concatenate([np.ones(len(base)), np.full(len(mine), FEEDBACK_WEIGHT)]),
        )
        control_w[index] = _spread(w, control_mask) * control_strength
    confirmed = [v for v in usable if v.confirmed]
    relevance_w, relevance_b = h.relevance_w, h.relevance_b
    if confirmed:
        extra = (np.vstack([v.features for v in confirmed]) - h.mean) / h.scale
        relevance_strength = group_strength("relevance", groups, base.shape[1])
        relevance_mask = mask("relevance")
        w, relevance_b = _fit_binary(
            Design(
                np.vstack([base, extra])[:, relevance_mask] * relevance_strength[relevance_mask]
            ),
            np.concatenate([model.rows.relevant, np.ones(len(confirmed), np.int8)]),
            choices["relevance"].c,
            np.concatenate([np.ones(len(base)), np.full(len(confirmed), FEEDBACK_WEIGHT)]),
        )
        relevance_w = _spread(w, relevance_mask) * relevance_strength
    heads = replace(
        h,
        control_w=control_w,
        control_b=control_b,
        relevance_w=relevance_w,
        relevance_b=relevance_b,
    )
    return replace(model, heads=heads)


# ---- helpers -------------------------------------------------------------------------------


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -40, 40)))


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
