"""Tagging throughput: items a minute through the classifier once their vectors exist (the
embedding is the pipeline's separate, measured cost)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import Embedder
from horizon.item import Item


@dataclass(frozen=True)
class TaggingSpeed:
    items: int
    seconds: float

    @property
    def per_minute(self) -> float:
        return self.items / self.seconds * 60


def measure_tagging(embedder: Embedder, items: Sequence[Item], vectors: np.ndarray) -> TaggingSpeed:
    classifier = Classifier(load_catalogue([PROJECT_ROOT / "controls.yaml"]), embedder)
    started = time.perf_counter()
    classifier.classify(items, vectors)
    return TaggingSpeed(len(items), time.perf_counter() - started)
