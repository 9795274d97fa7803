"""Labelled examples as the trainer sees them: the item and its labels, their feature rows and
targets, and the `words` group learned from a chosen part of them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from horizon.item import ITEM_TYPES, THEMES, Item
from horizon.normalise import item_from_record
from horizon.tagging.features import JURISDICTIONS, FeatureBuilder, Reading, jurisdiction_class
from horizon.tagging.words import WordVocabulary


@dataclass(frozen=True)
class Example:
    """A labelled item as the trainer sees it."""

    item: Item
    relevant: bool
    controls: frozenset[str]
    type: str
    jurisdiction: str
    themes: frozenset[str] = frozenset()


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
        themes=frozenset(labels.get("themes") or ()),
    )


def data_hash(rows: Iterable[dict[str, Any]]) -> str:
    """A hash of labelled records independent of their order and key order."""
    lines = sorted(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Targets:
    relevant: np.ndarray
    controls: np.ndarray
    types: np.ndarray
    jurisdictions: np.ndarray
    themes: np.ndarray

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
            themes=np.array(
                [[theme in e.themes for theme in THEMES] for e in examples], dtype=np.int8
            ).reshape(len(examples), len(THEMES)),
        )

    def take(self, rows: np.ndarray) -> Targets:
        return Targets(
            self.relevant[rows],
            self.controls[rows],
            self.types[rows],
            self.jurisdictions[rows],
            self.themes[rows],
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
