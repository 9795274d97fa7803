"""Precision, recall and F1 over sets of labels: what training selects by and evaluation
reports."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Label = TypeVar("Label", bound=Hashable)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int

    def __str__(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}"


def prf(true_positives: int, false_positives: int, false_negatives: int) -> Scores:
    precision = true_positives / (true_positives + false_positives) if true_positives else 0.0
    recall = true_positives / (true_positives + false_negatives) if true_positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, true_positives + false_negatives)


def set_scores(
    gold: Sequence[set[Label]], predicted: Sequence[set[Label]], labels: Iterable[Label]
) -> tuple[Scores, float, dict[Label, Scores]]:
    """Micro scores over every (item, label) decision, the macro F1 over the labels that occur
    in `gold`, and each label's own scores."""
    pairs = list(zip(gold, predicted, strict=True))
    per_label = {
        label: prf(
            sum(label in g and label in p for g, p in pairs),
            sum(label not in g and label in p for g, p in pairs),
            sum(label in g and label not in p for g, p in pairs),
        )
        for label in labels
    }
    micro = prf(
        sum(len(g & p) for g, p in pairs),
        sum(len(p - g) for g, p in pairs),
        sum(len(g - p) for g, p in pairs),
    )
    present = [scores.f1 for scores in per_label.values() if scores.support]
    return micro, (sum(present) / len(present) if present else 0.0), per_label
