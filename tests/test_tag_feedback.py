"""Analysts' tag verdicts: stored from the command line, handed to the classifier by
`load_feedback`, and changing what the classifier says about the same item."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from horizon.classify import Classifier, Feedback
from horizon.cli import app
from horizon.config import Settings, load_catalogue
from horizon.embed import HashingEmbedder
from horizon.ingest import Ingestor
from horizon.normalise import item_from_record
from horizon.runtime import Runtime
from horizon.store import Store
from horizon.tagging.home import home_model_path
from horizon.workspace import load_feedback

SEEN = datetime(2025, 9, 15, 6, tzinfo=UTC)
STORY = {
    "id": "ico-frt",
    "title": "ICO fines retailer over facial recognition AI used on staff",
    "summary": "The regulator found the AI system processed biometric personal data without a "
    "lawful basis.",
    "publisher": "ICO",
    "published": "2025-09-11",
}


@pytest.fixture
def classifier(settings: Settings, embedder: HashingEmbedder) -> Classifier:
    return Classifier(load_catalogue([settings.controls_file]), embedder)


@pytest.fixture
def home(
    settings: Settings, store: Store, embedder: HashingEmbedder, classifier: Classifier
) -> Path:
    """A home holding one classified item (real Chroma, real classifier) and two users."""
    Ingestor(store, embedder, classifier).ingest([item_from_record(STORY)], SEEN)
    for name, role in (("ann", "analyst"), ("vic", "viewer")):
        added = invoke(
            settings.home,
            "users",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            stdin="a long enough password\n",
        )
        assert added.exit_code == 0, added.output
    return settings.home


def invoke(home: Path, *arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, [*arguments, "--home", str(home)], input=stdin)


def top_control(store: Store) -> str:
    stored = store.state.get_items(["ico-frt"])["ico-frt"].item
    assert stored.tags is not None and stored.tags.controls
    return max(stored.tags.controls, key=lambda control: control.score).id


def test_a_rejected_tag_becomes_classifier_feedback_with_the_item_text_and_vector(
    home: Path, store: Store, classifier: Classifier
) -> None:
    rejected = top_control(store)
    result = invoke(home, "tag", "reject", "ico-frt", rejected, "--as", "ann")
    assert result.exit_code == 0, result.output
    [feedback] = load_feedback(store.state, store.index)
    assert isinstance(feedback, Feedback)
    assert (feedback.control, feedback.confirmed) == (rejected, False)
    assert feedback.text == item_from_record(STORY).text()
    stored_vector = store.index.embeddings(["ico-frt"])["ico-frt"]
    assert feedback.embedding is not None
    assert np.allclose(feedback.embedding, stored_vector)
    [without_index] = load_feedback(store.state)
    assert without_index.embedding is None and without_index.text == feedback.text


def test_the_classifier_given_the_feedback_drops_a_rejected_tag_and_adds_a_confirmed_one(
    home: Path, store: Store, classifier: Classifier, embedder: HashingEmbedder
) -> None:
    rejected = top_control(store)
    assert invoke(home, "tag", "reject", "ico-frt", rejected, "--as", "ann").exit_code == 0
    assert invoke(home, "tag", "confirm", "ico-frt", "RECORDS-DOCS", "--as", "ann").exit_code == 0
    item = item_from_record(STORY)
    before = classifier.classify([item])[0].control_ids()
    assert rejected in before and "RECORDS-DOCS" not in before
    taught = Classifier(
        classifier.catalogue, embedder, feedback=load_feedback(store.state, store.index)
    )
    after = taught.classify([item])[0].control_ids()
    assert rejected not in after
    assert "RECORDS-DOCS" in after


def test_the_latest_verdict_on_a_tag_is_the_one_the_classifier_gets(
    home: Path, store: Store
) -> None:
    invoke(home, "tag", "confirm", "ico-frt", "DATA-PRIVACY", "--as", "ann")
    invoke(home, "tag", "reject", "ico-frt", "DATA-PRIVACY", "--as", "ann")
    assert [(f.control, f.confirmed) for f in load_feedback(store.state)] == [
        ("DATA-PRIVACY", False)
    ]


def test_a_viewer_or_an_unknown_control_is_refused_plainly_and_nothing_is_stored(
    home: Path, store: Store
) -> None:
    by_viewer = invoke(home, "tag", "confirm", "ico-frt", "DATA-PRIVACY", "--as", "vic")
    assert by_viewer.exit_code == 2
    assert "vic is a viewer" in by_viewer.output
    unknown = invoke(home, "tag", "reject", "ico-frt", "NOT-A-CONTROL", "--as", "ann")
    assert unknown.exit_code == 2
    assert "control: 'NOT-A-CONTROL' is not a control in the catalogue" in unknown.output
    missing = invoke(home, "tag", "reject", "no-such-item", "DATA-PRIVACY", "--as", "ann")
    assert missing.exit_code == 2 and "no item 'no-such-item'" in missing.output
    assert load_feedback(store.state) == []


def test_load_feedback_on_a_fresh_database_is_empty(settings: Settings, store: Store) -> None:
    assert load_feedback(store.state, store.index) == []


def test_horizon_train_learns_the_homes_verdicts_and_tag_list_shows_which(
    home: Path, store: Store
) -> None:
    assert invoke(home, "tag", "confirm", "ico-frt", "RECORDS-DOCS", "--as", "ann").exit_code == 0
    [unlearned] = json.loads(invoke(home, "tag", "list", "--json").stdout)
    assert (unlearned["control"], unlearned["learned"]) == ("RECORDS-DOCS", False)

    trained = invoke(home, "train", "--json")

    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout)["verdicts"] == 1
    assert home_model_path(home).is_file()
    [learned] = json.loads(invoke(home, "tag", "list", "--json").stdout)
    assert learned["learned"] is True
    assert invoke(home, "tag", "reject", "ico-frt", "DATA-PRIVACY", "--as", "ann").exit_code == 0
    listed = invoke(home, "tag", "list").stdout
    assert "RECORDS-DOCS  confirmed by ann  (learned)" in listed
    assert "DATA-PRIVACY  rejected by ann  (not learned yet)" in listed


def test_the_next_run_retrains_the_home_model_when_the_verdicts_changed(
    home: Path, settings: Settings, embedder: HashingEmbedder
) -> None:
    assert invoke(home, "tag", "confirm", "ico-frt", "RECORDS-DOCS", "--as", "ann").exit_code == 0
    first = Runtime(settings, embedder_override=embedder).tagger.model
    assert [v["control"] for v in first.metadata["learned_from"]] == ["RECORDS-DOCS"]
    again = Runtime(settings, embedder_override=embedder).tagger.model
    assert again.metadata["weights_sha256"] == first.metadata["weights_sha256"]

    assert invoke(home, "tag", "reject", "ico-frt", "DATA-PRIVACY", "--as", "ann").exit_code == 0
    later = Runtime(settings, embedder_override=embedder).tagger.model

    assert {v["control"] for v in later.metadata["learned_from"]} == {
        "RECORDS-DOCS",
        "DATA-PRIVACY",
    }
    assert later.metadata["weights_sha256"] != first.metadata["weights_sha256"]
    [row] = [i for i, c in enumerate(later.controls) if c == "DATA-PRIVACY"]
    assert not np.array_equal(later.heads.control_w[row], first.heads.control_w[row])


def test_train_in_a_home_without_verdicts_keeps_the_packaged_model(tmp_path: Path) -> None:
    result = invoke(tmp_path / "fresh", "train", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"verdicts": 0, "model": None}
    assert not home_model_path(tmp_path / "fresh").exists()
