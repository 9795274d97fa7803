"""Calibrating the tagger from out-of-fold raw scores: Platt scaling per control, the relevance
threshold that keeps recall at `RECALL_TARGET`, the control threshold with the best
micro-F1, and a bias per type that corrects the type head's pull towards `report`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from horizon.tagging.decision import CONTROL_THRESHOLD
from horizon.tagging.examples import Targets
from horizon.tagging.model import sigmoid

RECALL_TARGET = 0.97
# The control threshold is chosen on out-of-fold calibrated probabilities among these, for the
# best micro-F1 (cross-validation: 0.5 left recall at 0.64 with precision 0.82).
CONTROL_THRESHOLDS = tuple(round(0.2 + 0.025 * step, 3) for step in range(17))


@dataclass(frozen=True)
class Calibration:
    platt_a: np.ndarray
    platt_b: np.ndarray
    relevance_threshold: float
    control_threshold: float
    type_bias: np.ndarray


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


def class_biases(logits: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """One additive bias per class on a multinomial head's logits, fitted by log-loss on
    out-of-fold scores (centred: the softmax ignores a common shift). The regularised type
    head leans towards its broadest class (`report`: guidance read as report 91 times out of
    fold); the biases move its decisions back, +0.005 ± 0.004 of accuracy over fifteen folds
    of three splits (docs/tagging.md, round 16)."""
    count = logits.shape[1]
    observed = np.bincount(classes, minlength=count).astype(np.float64)
    logits = logits.astype(np.float64)

    def loss(bias: np.ndarray) -> tuple[float, np.ndarray]:
        shifted = logits + bias
        shifted -= shifted.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        gradient = np.exp(log_p).sum(axis=0) - observed
        return float(-log_p[np.arange(len(classes)), classes].sum()), gradient

    bias = minimize(loss, np.zeros(count), jac=True, method="L-BFGS-B").x
    return np.asarray(bias - bias.mean(), np.float32)


def calibrate(raw: dict[str, np.ndarray], targets: Targets) -> Calibration:
    """Platt scaling per control, both thresholds and the type biases, from out-of-fold raw
    scores."""
    pairs = [
        platt(raw["controls"][:, index], targets.controls[:, index])
        for index in range(targets.controls.shape[1])
    ]
    platt_a = np.array([a for a, _ in pairs], np.float32)
    platt_b = np.array([b for _, b in pairs], np.float32)
    return Calibration(
        platt_a=platt_a,
        platt_b=platt_b,
        relevance_threshold=recall_first_threshold(sigmoid(raw["relevance"]), targets.relevant),
        control_threshold=best_control_threshold(
            sigmoid(raw["controls"] * platt_a + platt_b), targets.controls
        ),
        type_bias=class_biases(raw["type"], targets.types),
    )
