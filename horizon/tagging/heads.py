"""Fitting the tagger's heads: which feature groups and regularisation each head may be given
(the candidates cross-validation chooses among), how strongly it sees each group, and one
logistic fit per head on the columns it sees (`Design`: on the rows' Cholesky factor when there
are more columns than rows)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from horizon.item import ITEM_TYPES, THEMES
from horizon.tagging.examples import Targets
from horizon.tagging.features import GROUPS, JURISDICTIONS, FeatureBuilder

SEED = 0
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
    "themes": {"words": 0.0},
}


@dataclass(frozen=True)
class Choice:
    """One head's candidate: which feature groups it sees and its inverse regularisation."""

    groups: str
    c: float

    def as_json(self) -> dict[str, Any]:
        return {"groups": self.groups, "c": self.c}


CANDIDATES = tuple(Choice(groups, c) for groups in CANDIDATE_GROUPS for c in CANDIDATE_C)
# The theme heads (one per strategy theme, fitted on the relevant items, not reading the
# `words`) and the probability at which a theme joins the rules' themes: chosen by 5-fold CV in
# `python -m evaluation.themes` (docs/tagging.md, round 13).
THEME_CHOICE = Choice("all", 0.003)
THEME_THRESHOLD = 0.8


def scaler(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and spread (1 where it is constant), to standardise it."""
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


def fit_binary(
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


def fit_multiclass(
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


def spread(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
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
    mean, scale = scaler(features)
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
        relevance_w, relevance_b = fit_binary(columns, targets.relevant, choices["relevance"].c)
        relevance = (spread(relevance_w, m) * s, relevance_b)
    if "controls" in heads:
        columns, s, m = design("controls")
        for index in range(controls):
            weights, control_b[index] = fit_binary(
                columns, targets.controls[:, index], choices["controls"].c
            )
            control_w[index] = spread(weights, m) * s
    if "type" in heads:
        columns, s, m = design("type")
        type_w, type_b = fit_multiclass(columns, targets.types, len(ITEM_TYPES), choices["type"].c)
        types = (spread(type_w, m) * s, type_b)
    if "jurisdiction" in heads:
        columns, s, m = design("jurisdiction")
        jurisdiction_w, jurisdiction_b = fit_multiclass(
            columns, targets.jurisdictions, len(JURISDICTIONS), choices["jurisdiction"].c
        )
        jurisdictions = (spread(jurisdiction_w, m) * s, jurisdiction_b)
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


def fit_theme_heads(
    features: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    targets: Targets,
    groups: Mapping[str, Sequence[int]],
    choice: Choice = THEME_CHOICE,
) -> tuple[np.ndarray, np.ndarray]:
    """One balanced logistic head per theme (`THEMES` order) on the relevant rows, on the
    columns standardised as the other heads' (`mean`, `scale`): themes are labelled on relevant
    items only."""
    relevant = targets.relevant.astype(bool)
    width = features.shape[1]
    strength = group_strength("themes", groups, width)
    mask = head_mask("themes", choice, groups, width)
    columns = Design(((features[relevant] - mean) / scale)[:, mask] * strength[mask])
    weights = np.zeros((len(THEMES), width), np.float32)
    bias = np.zeros(len(THEMES), np.float32)
    for index in range(len(THEMES)):
        w, bias[index] = fit_binary(columns, targets.themes[relevant, index], choice.c)
        weights[index] = spread(w, mask) * strength
    return weights, bias
