"""Tagging throughput: items a minute through the classifier once their vectors exist (the
embedding is the pipeline's separate, measured cost). The goal is at least `GOAL_PER_MINUTE`;
`cpu_seconds` is the process's own CPU time, which a machine shared with other work does not
inflate the way it inflates the wall-clock `seconds`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import Embedder
from horizon.item import Item

GOAL_PER_MINUTE = 5000


@dataclass(frozen=True)
class TaggingSpeed:
    items: int
    seconds: float
    cpu_seconds: float

    @property
    def per_minute(self) -> float:
        return self.items / self.seconds * 60

    @property
    def per_cpu_minute(self) -> float:
        return self.items / self.cpu_seconds * 60


def measure_tagging(embedder: Embedder, items: Sequence[Item], vectors: np.ndarray) -> TaggingSpeed:
    classifier = Classifier(load_catalogue([PROJECT_ROOT / "controls.yaml"]), embedder)
    started, cpu_started = time.perf_counter(), time.process_time()
    classifier.classify(items, vectors)
    return TaggingSpeed(
        len(items), time.perf_counter() - started, time.process_time() - cpu_started
    )
