"""The tagging evaluation: its metrics, its held-out split, and a plain skip without ../shared."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import evaluation.common
from evaluation.common import is_held_out
from evaluation.tagging import (
    CachedEmbedder,
    calibration_bands,
    date_matches,
    federal_register_dates,
    fit_weights,
    load_dev,
    main,
    set_scores,
)
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import HashingEmbedder, ProgressCallback


def test_the_evaluation_skips_with_a_plain_message_without_shared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(evaluation.common, "SHARED", tmp_path / "no-shared")

    assert main([]) == 0

    printed = capsys.readouterr().out
    assert printed.startswith("tagging evaluation skipped: ")
    assert str(tmp_path / "no-shared" / "eval" / "dev.jsonl") in printed


def test_micro_and_macro_scores_count_every_decision() -> None:
    gold = [{"A", "B"}, {"A"}, set()]
    predicted = [{"A"}, {"A", "C"}, {"C"}]

    micro, macro, per_label = set_scores(gold, predicted, ["A", "B", "C"])

    assert (micro.precision, micro.recall, micro.support) == (0.5, 2 / 3, 3)
    assert per_label["A"].f1 == 1.0 and per_label["B"].f1 == 0.0
    assert per_label["C"].support == 0
    assert macro == 0.5  # over A and B, the labels the gold set uses


def test_date_matches_count_all_items_and_those_with_a_labelled_date() -> None:
    matches = date_matches(
        ["2026-01-01", None, "2025-06-30", None],
        [date(2026, 1, 1), None, None, date(2024, 5, 1)],
    )

    assert (matches.right, matches.total, matches.stated_right, matches.stated) == (2, 4, 1, 2)


def test_calibration_bands_compare_mean_score_with_the_share_right() -> None:
    pairs = [(0.9, True), (0.8, False), (0.1, False), (0.01, True)]

    assert calibration_bands(pairs) == [(0.1, 0.0, 1), (pytest.approx(0.85), 0.5, 2)]


def test_the_held_out_split_is_fixed_and_about_one_in_three() -> None:
    ids = [f"item-{n}" for n in range(3000)]

    held_out = [is_held_out(item_id) for item_id in ids]

    assert held_out == [is_held_out(item_id) for item_id in ids]
    assert 0.3 < sum(held_out) / len(ids) < 0.37


def test_dev_is_split_forty_held_out_to_eighty_tuning(shared: Path) -> None:
    labelled = load_dev()

    assert sum(entry.held_out for entry in labelled) == 40
    assert len(labelled) == 120


def test_fitted_weights_reward_the_catalogues_phrases(shared: Path) -> None:
    labelled = [entry for entry in load_dev() if not entry.held_out]
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    explanations = Classifier(catalogue, HashingEmbedder()).explain(
        [entry.item for entry in labelled]
    )

    weights = fit_weights(explanations, labelled)
    phrases_only = fit_weights(explanations, labelled, use_similarity=False)

    title, body = weights.coefficients[:2]
    assert title > 1.0 and body > 1.0 and weights.bias < 0
    assert phrases_only.coefficients[3:] == (0.0, 0.0)


def test_federal_register_dates_are_counted_against_the_registers_fields(shared: Path) -> None:
    path = shared / "data" / "feeds" / "us-federal-register-api-documents-2024.json"
    documents = json.loads(path.read_text(encoding="utf-8"))["results"]
    closing = sum(bool(document.get("comments_close_on")) for document in documents)

    parts = [federal_register_dates(held_out, True) for held_out in (False, True)]
    without_dates_field = federal_register_dates(True, False)

    assert sum(part.documents for part in parts) == len(documents)
    assert sum(part.deadline_stated for part in parts) == closing
    for part in parts:
        assert part.deadline_right / part.deadline_stated >= 0.9
        assert part.effective_right / part.effective_stated >= 0.9
    assert without_dates_field.deadline_right < parts[1].deadline_right / 10


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        self.calls.append(len(texts))
        return super().embed(texts, on_progress)


def test_the_cached_embedder_embeds_each_text_once() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner)

    first = cached.embed(["a b", "c d", "a b"])
    second = cached.embed(["c d", "e f"])

    assert inner.calls == [2, 1]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[1])
    assert cached.embed([]).shape == (0, inner.dimensions)
