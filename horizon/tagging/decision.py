"""The classifier's decisions from a model's probabilities: kept apart from training so that
tagging never imports scikit-learn (the weekly run and the CLI start faster)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from horizon.tagging.features import Reading, jurisdiction_class

CONTROL_THRESHOLD = 0.5


@dataclass(frozen=True)
class Decision:
    relevant: bool
    controls: list[tuple[int, float]]
    type: int
    jurisdiction: int


def decide(
    relevance: float,
    controls: np.ndarray,
    types: np.ndarray,
    jurisdictions: np.ndarray,
    threshold: float,
    control_threshold: float = CONTROL_THRESHOLD,
) -> Decision:
    """Relevant when the relevance probability reaches `threshold`; then every control whose
    probability reaches `control_threshold`, or the likeliest one when none does (a relevant
    item has a control)."""
    relevant = relevance >= threshold
    chosen: list[tuple[int, float]] = []
    if relevant:
        order = np.argsort(-controls, kind="stable")
        chosen = [(int(i), float(controls[i])) for i in order if controls[i] >= control_threshold]
        if not chosen:
            chosen = [(int(order[0]), float(controls[order[0]]))]
    return Decision(bool(relevant), chosen, int(np.argmax(types)), int(np.argmax(jurisdictions)))


def resolve_jurisdiction(predicted: str, reading: Reading) -> str:
    """`OTHER` means a single country the head does not know by name: the rules name it (the
    jurisdiction rules' answer, else the first such country the text or publisher names, else
    the country whose own domain hosts the item, `Reading.national_host`).

    `INT` is overruled by what the item is about, as the labelling guide says: the one
    jurisdiction the title of an international body's or an unplaced publisher's item names
    (`Reading.subject_jurisdiction`), else the country whose own domain hosts an item with no
    international mark (the head learned INT from the international bodies, and has seen too
    few national bodies of other countries, China's TC260 or France's competition authority,
    to tell them apart)."""
    if predicted == "INT":
        predicted = reading.subject_jurisdiction or reading.national_host or predicted
    if predicted != "OTHER":
        return predicted
    rule = reading.rule_jurisdiction
    if jurisdiction_class(rule) == "OTHER":
        return rule
    return reading.other_country or reading.national_host or "INT"
