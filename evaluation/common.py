"""Helpers every evaluation shares: where ../shared is, reading JSON Lines, the held-out split of
../shared, and the repository's labelled data with its frozen test split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from horizon.embed import Embedder, ProgressCallback

SHARED = Path(__file__).resolve().parents[2] / "shared"
CACHE = Path(__file__).resolve().parents[1] / ".cache"
LABELLED = Path(__file__).resolve().parent / "data" / "items.jsonl"
_FROZEN_SALT = "horizon-frozen-test:"
_FROZEN_ONE_IN = 5
_SPLIT_SALT = "horizon-split:"
_HELD_OUT_ONE_IN = 3


class SharedDataMissing(Exception):
    """../shared (or a file in it) is not there; the evaluation cannot run in this checkout."""


def shared_file(relative: str) -> Path:
    """A file under ../shared, or SharedDataMissing with a plain message."""
    path = SHARED / relative
    if not path.is_file():
        raise SharedDataMissing(
            f"skipped: {path} is not present (the labelled data lives in ../shared beside the "
            "repository; check it out there to run the evaluation)"
        )
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def is_held_out(key: str) -> bool:
    """Whether a labelled record belongs to the held-out part: one in three, chosen by a hash
    of its id so the split never changes and never depends on the content or labels."""
    digest = hashlib.sha256(f"{_SPLIT_SALT}{key}".encode()).hexdigest()
    return int(digest, 16) % _HELD_OUT_ONE_IN == 0


def is_frozen_test(item_id: str) -> bool:
    """Whether a labelled item is in the frozen test split: one in five, by a hash of its id.
    Nothing is tuned or chosen on these items; `make eval` measures them once, at the end."""
    digest = hashlib.sha256(f"{_FROZEN_SALT}{item_id}".encode()).hexdigest()
    return int(digest, 16) % _FROZEN_ONE_IN == 0


def labelled_rows(path: Path = LABELLED) -> list[dict[str, Any]]:
    """The adjudicated labelled items (`evaluation/data/items.jsonl`), each with `labels`."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is not present: the labelled items (see docs/labelling.md) are needed to "
            "train or evaluate the tagger"
        )
    return read_jsonl(path)


class VectorCache:
    """Embeddings of labelled texts kept in `.cache/` between runs (keyed by the model and a
    hash of each text), so training and evaluation embed each text once on a slow machine."""

    def __init__(self, embedder: Embedder, directory: Path = CACHE) -> None:
        self.embedder = embedder
        self.name = embedder.name
        self.dimensions = embedder.dimensions
        self._path = directory / f"vectors-{embedder.name}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self._path.is_file():
            with np.load(self._path) as stored:
                self._vectors = {key: stored[key] for key in stored.files}

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        keys = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        missing = {key: text for key, text in zip(keys, texts, strict=True)}
        missing = {key: text for key, text in missing.items() if key not in self._vectors}
        if missing:
            computed = self.embedder.embed(list(missing.values()), on_progress)
            self._vectors.update(zip(missing, computed, strict=True))
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("wb") as handle:
                np.savez(handle, **self._vectors)  # type: ignore[arg-type]
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.vstack([self._vectors[key] for key in keys]).astype(np.float32)
