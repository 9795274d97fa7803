"""The trained tagger: linear heads over feature rows, their calibration, and how they are
stored (`model.npz` for the numbers, `model.json` for what they mean and how they were made).

- relevance: one logistic head; an item is relevant when its probability reaches
  `relevance_threshold`, chosen by cross-validation for recall first;
- controls: one logistic head per control, Platt-calibrated on out-of-fold scores; a control is
  tagged where its calibrated probability reaches `control_threshold`, chosen by
  cross-validation for the best micro-F1;
- type and jurisdiction: one multinomial logistic head each.

The vocabulary of the `words` feature group is stored with the weights. The artefact also
keeps the rows it was trained on (as sparse rows: `SparseRows`), so a home can retrain the heads
with its analysts' verdicts added (`horizon.tagging.training.retrain_with_feedback`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from horizon.tagging.words import WordVocabulary

PACKAGED = Path(__file__).with_name("model.npz")
FORMAT = 5


class ModelError(Exception):
    """A model file is missing, unreadable or does not fit this catalogue or embedder."""


@dataclass(frozen=True)
class Heads:
    """Every weight of the tagger. Rows are in `TaggerModel` label order; features are
    standardised with `mean` and `scale` before the heads see them."""

    mean: np.ndarray
    scale: np.ndarray
    relevance_w: np.ndarray
    relevance_b: float
    control_w: np.ndarray
    control_b: np.ndarray
    platt_a: np.ndarray
    platt_b: np.ndarray
    type_w: np.ndarray
    type_b: np.ndarray
    jurisdiction_w: np.ndarray
    jurisdiction_b: np.ndarray
    theme_w: np.ndarray
    theme_b: np.ndarray


@dataclass(frozen=True)
class SparseRows:
    """A matrix that is mostly zeros, as compressed sparse rows: the training rows' `words`
    columns make them 98 % zeros. Kept this way, the packaged model's rows take 9 MB of memory
    instead of 341 MB, and loading the tagger (which only a retrain needs them for) no longer
    unpacks a dense copy."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    columns: int

    @classmethod
    def of(cls, matrix: np.ndarray) -> SparseRows:
        rows, columns = np.nonzero(matrix)
        ends = np.cumsum(np.bincount(rows, minlength=matrix.shape[0]))
        return cls(
            data=matrix[rows, columns],
            indices=columns.astype(np.int32),
            indptr=np.concatenate([[0], ends]).astype(np.int64),
            columns=int(matrix.shape[1]),
        )

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.columns

    def dense(self) -> np.ndarray:
        matrix = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        matrix[rows, self.indices] = self.data
        return matrix


@dataclass(frozen=True)
class TrainingRows:
    """The labelled rows the heads were fitted on (features unscaled)."""

    features: SparseRows
    relevant: np.ndarray
    controls: np.ndarray
    types: np.ndarray
    jurisdictions: np.ndarray


@dataclass(frozen=True)
class Predictions:
    """The heads' outputs for a batch: probabilities per item (and per label). `themes` has no
    columns where no theme heads ran (the out-of-fold figures of training)."""

    relevance: np.ndarray
    controls: np.ndarray
    types: np.ndarray
    jurisdictions: np.ndarray
    themes: np.ndarray


@dataclass(frozen=True)
class TaggerModel:
    controls: tuple[str, ...]
    types: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    heads: Heads
    rows: TrainingRows
    relevance_threshold: float
    control_threshold: float
    themes: tuple[str, ...]
    theme_threshold: float
    metadata: dict[str, Any] = field(default_factory=dict)
    words: WordVocabulary = field(default_factory=WordVocabulary.empty)

    def predict(self, features: np.ndarray) -> Predictions:
        h = self.heads
        scaled = (features - h.mean) / h.scale
        relevance = sigmoid(scaled @ h.relevance_w + h.relevance_b)
        raw = scaled @ h.control_w.T + h.control_b
        controls = sigmoid(raw * h.platt_a + h.platt_b)
        types = _softmax(scaled @ h.type_w.T + h.type_b)
        jurisdictions = _softmax(scaled @ h.jurisdiction_w.T + h.jurisdiction_b)
        themes = sigmoid(scaled @ h.theme_w.T + h.theme_b)
        return Predictions(relevance, controls, types, jurisdictions, themes)

    def learned_themes(self, predictions: Predictions) -> list[list[str]]:
        """The themes each item's theme heads give (probability at least `theme_threshold`),
        whether or not it is relevant: `Classifier` adds them to the rules' themes of the
        relevant ones."""
        return themes_at(predictions.themes, self.themes, self.theme_threshold)

    def with_metadata(self, **changes: Any) -> TaggerModel:
        return replace(self, metadata={**self.metadata, **changes})

    def save(self, path: Path) -> None:
        """Write `path` (.npz) and its `.json` beside it; the JSON records the weights' hash."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"heads_{k}": np.asarray(v) for k, v in vars(self.heads).items()}
        arrays |= {f"rows_{k}": v for k, v in vars(self.rows).items() if k != "features"}
        features = self.rows.features
        arrays["rows_features_data"] = features.data.astype(np.float16)
        arrays["rows_features_indices"] = features.indices
        arrays["rows_features_indptr"] = features.indptr
        arrays["rows_features_columns"] = np.asarray(features.columns)
        arrays["words_terms"] = np.array(self.words.terms, dtype=str)
        arrays["words_idf"] = self.words.idf.astype(np.float32)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
        meta = {
            "format": FORMAT,
            "controls": list(self.controls),
            "types": list(self.types),
            "jurisdictions": list(self.jurisdictions),
            "relevance_threshold": self.relevance_threshold,
            "control_threshold": self.control_threshold,
            "themes": list(self.themes),
            "theme_threshold": self.theme_threshold,
            **self.metadata,
            "weights_sha256": _file_hash(path),
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_model(path: Path = PACKAGED) -> TaggerModel:
    """The model stored at `path`; ModelError says plainly what is wrong and what to do."""
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise ModelError(
            f"no trained tagger at {path} (and {meta_path.name}); run `make train` to build it"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT or meta.get("weights_sha256") != _file_hash(path):
        raise ModelError(
            f"{path} does not match {meta_path.name} (another format or a changed file); "
            "run `make train` (or `horizon train` for a home) to rebuild it"
        )
    with np.load(path) as stored:
        heads = Heads(
            **{
                name: _scalar_or_array(stored[f"heads_{name}"])
                for name in Heads.__dataclass_fields__
            }
        )
        features = SparseRows(
            data=stored["rows_features_data"].astype(np.float32),
            indices=stored["rows_features_indices"],
            indptr=stored["rows_features_indptr"],
            columns=int(stored["rows_features_columns"]),
        )
        rows = TrainingRows(
            features=features,
            **{
                name: stored[f"rows_{name}"]
                for name in TrainingRows.__dataclass_fields__
                if name != "features"
            },
        )
        words = WordVocabulary(
            tuple(str(term) for term in stored["words_terms"]), stored["words_idf"]
        )
    known = {
        "format",
        "controls",
        "types",
        "jurisdictions",
        "relevance_threshold",
        "control_threshold",
        "themes",
        "theme_threshold",
    }
    return TaggerModel(
        controls=tuple(meta["controls"]),
        types=tuple(meta["types"]),
        jurisdictions=tuple(meta["jurisdictions"]),
        heads=heads,
        rows=rows,
        relevance_threshold=float(meta["relevance_threshold"]),
        control_threshold=float(meta["control_threshold"]),
        themes=tuple(meta["themes"]),
        theme_threshold=float(meta["theme_threshold"]),
        metadata={k: v for k, v in meta.items() if k not in known},
        words=words,
    )


def _scalar_or_array(value: np.ndarray) -> Any:
    return float(value) if value.ndim == 0 else value


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def themes_at(
    probabilities: np.ndarray, themes: Sequence[str], threshold: float
) -> list[list[str]]:
    """For each row of theme probabilities (columns in `themes` order), the themes at or above
    `threshold`."""
    return [
        [theme for theme, p in zip(themes, row, strict=True) if p >= threshold]
        for row in probabilities
    ]


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -40, 40)))


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
