"""Shared fixtures: where ../shared is, a fresh home, and small working fakes for unit tests."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from horizon.config import Settings, load_settings
from horizon.embed import HashingEmbedder
from horizon.item import ControlTag, Item, Tags
from horizon.store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

# Prefect reads its settings when first imported: keep its data out of the user's home, and
# keep it quiet and offline, before any test module imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="horizon-tests-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture
def shared() -> Path:
    """../shared, or a clean skip where a checkout does not have it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present in this checkout")
    return SHARED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", env={})


@pytest.fixture
def store(settings: Settings) -> Store:
    return open_store(settings)


class KeywordTagger:
    """A working stand-in for the classifier in unit tests: 'AI' in the text makes an item
    relevant to AI-POLICY, with the first sentence as evidence."""

    def classify(self, items: Sequence[Item], embeddings: np.ndarray | None = None) -> list[Tags]:
        tags = []
        for item in items:
            relevant = " AI " in f" {item.text()} ".replace(".", " ")
            controls = (
                [ControlTag(id="AI-POLICY", score=0.9, evidence=item.title)] if relevant else []
            )
            tags.append(
                Tags(
                    relevant=relevant,
                    controls=controls,
                    themes=["governance"] if relevant else [],
                    type="guidance",
                    jurisdiction=item.source_jurisdiction or "GLOBAL",
                )
            )
        return tags


@pytest.fixture
def tagger() -> KeywordTagger:
    return KeywordTagger()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()
