"""A home's own copy of the tagger, retrained with its analysts' verdicts.

The copy lives at HOME/tagger/model.npz (+ .json) and records which verdicts it learned from
and which packaged model it started from. `model_for_home` returns it while both still hold,
retrains it when the verdicts (or the packaged model) changed, and returns the packaged model
when a home has no verdicts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from horizon.catalogue import Catalogue
from horizon.embed import Embedder
from horizon.tagging.features import FeatureBuilder
from horizon.tagging.model import ModelError, TaggerModel, load_model

if TYPE_CHECKING:
    from horizon.classify import Feedback


def home_model_path(home: Path) -> Path:
    return home / "tagger" / "model.npz"


def learned_verdicts(feedback: Sequence[Feedback]) -> list[dict[str, Any]]:
    """The verdicts as the home model records them: item, control, confirmed."""
    return [
        {"item_id": f.item_id, "control": f.control, "confirmed": f.confirmed} for f in feedback
    ]


def verdicts_hash(feedback: Sequence[Feedback]) -> str:
    listed = sorted(json.dumps(v, sort_keys=True) for v in learned_verdicts(feedback))
    return hashlib.sha256("\n".join(listed).encode()).hexdigest()


def stored_home_model(home: Path) -> TaggerModel | None:
    """The home's retrained model, or None when it has none (or it cannot be read)."""
    try:
        return load_model(home_model_path(home))
    except ModelError:
        return None


def model_for_home(
    home: Path,
    base: TaggerModel,
    catalogue: Catalogue,
    embedder: Embedder,
    feedback: Sequence[Feedback],
) -> TaggerModel:
    """The model this home tags with: `base` without verdicts; the stored copy when it learned
    from exactly these verdicts on top of this base; otherwise a fresh retrain, stored."""
    if not feedback:
        return base
    stored = stored_home_model(home)
    if (
        stored is not None
        and stored.metadata.get("verdicts_sha256") == verdicts_hash(feedback)
        and stored.metadata.get("base_sha256") == base.metadata.get("weights_sha256")
    ):
        return stored
    return retrain_home(home, base, catalogue, embedder, feedback)


def retrain_home(
    home: Path,
    base: TaggerModel,
    catalogue: Catalogue,
    embedder: Embedder,
    feedback: Sequence[Feedback],
) -> TaggerModel:
    """Retrain `base` with these verdicts and store the result in the home."""
    from horizon.tagging.training import Verdict, retrain_with_feedback  # scikit-learn: only here

    builder = FeatureBuilder(catalogue, embedder, base.controls, words=base.words)
    items = [f.as_item() for f in feedback]
    missing = [index for index, f in enumerate(feedback) if f.embedding is None]
    computed = iter(embedder.embed([items[index].text() for index in missing]) if missing else [])
    vectors = [f.embedding if f.embedding is not None else next(computed) for f in feedback]
    matrix = builder.matrix(
        items, np.vstack(vectors).astype(np.float32), [builder.read(item) for item in items]
    )
    model = retrain_with_feedback(
        base,
        [Verdict(matrix[row], f.control, f.confirmed) for row, f in enumerate(feedback)],
    ).with_metadata(
        base_sha256=base.metadata.get("weights_sha256"),
        verdicts_sha256=verdicts_hash(feedback),
        learned_from=learned_verdicts(feedback),
    )
    path = home_model_path(home)
    model.save(path)
    return load_model(path)
