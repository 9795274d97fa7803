"""The tagging evaluation: its metrics, its splits, its vector cache, the relevance curve, and a
plain skip without the labelled data or ../shared."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from evaluation.common import VectorCache, is_held_out
from evaluation.tagging import date_matches, federal_register_dates, main, relevance_curve
from horizon.embed import HashingEmbedder, ProgressCallback
from horizon.tagging.metrics import set_scores


def test_the_evaluation_skips_with_a_plain_message_without_the_labelled_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "items.jsonl"

    assert main(["--data", str(missing)]) == 0

    printed = capsys.readouterr().out
    assert printed.startswith("tagging evaluation skipped: ")
    assert str(missing) in printed


def test_micro_and_macro_scores_count_every_decision() -> None:
    gold = [{"A", "B"}, {"A"}, set()]
    predicted = [{"A"}, {"A", "C"}, {"C"}]

    micro, macro, per_label = set_scores(gold, predicted, ["A", "B", "C"])

    assert (micro.precision, micro.recall, micro.support) == (0.5, 2 / 3, 3)
    assert per_label["A"].f1 == 1.0 and per_label["B"].f1 == 0.0
    assert per_label["C"].support == 0
    assert macro == 0.5  # over A and B, the labels the gold set uses


def test_the_relevance_curve_trades_recall_for_precision_and_includes_the_chosen_threshold() -> (
    None
):
    probabilities = np.array([0.95, 0.85, 0.45, 0.35, 0.15, 0.05])
    relevant = [True, True, True, False, True, False]

    curve = dict(relevance_curve(probabilities, relevant, chosen=0.123))

    assert 0.123 in curve
    assert (curve[0.1].recall, curve[0.1].precision) == (1.0, 0.8)
    assert (curve[0.5].recall, curve[0.5].precision) == (0.5, 1.0)
    recalls = [scores.recall for _, scores in sorted(curve.items())]
    assert recalls == sorted(recalls, reverse=True)


def test_date_matches_count_all_items_those_with_a_labelled_date_and_dates_given_unasked() -> None:
    matches = date_matches(
        ["2026-01-01", None, "2025-06-30", None, "2024-01-01"],
        [date(2026, 1, 1), None, None, date(2024, 5, 1), date(2024, 1, 2)],
    )

    assert (matches.right, matches.total, matches.stated_right, matches.stated) == (2, 5, 1, 3)
    assert matches.spurious == 1
    assert (
        matches.line() == "1/3 = 0.333 labelled dates read exactly, 1 given where none is labelled"
    )


def test_the_held_out_split_of_shared_is_fixed_and_about_one_in_three() -> None:
    ids = [f"item-{n}" for n in range(3000)]

    held_out = [is_held_out(item_id) for item_id in ids]

    assert held_out == [is_held_out(item_id) for item_id in ids]
    assert 0.3 < sum(held_out) / len(ids) < 0.37


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


def test_the_vector_cache_embeds_each_text_once_and_keeps_it_between_runs(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    cached = VectorCache(inner, tmp_path)

    first = cached.embed(["a b", "c d", "a b"])
    second = cached.embed(["c d", "e f"])
    reopened = VectorCache(inner, tmp_path).embed(["e f", "a b"])

    assert inner.calls == [2, 1]
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second[0], first[1])
    np.testing.assert_array_equal(reopened[1], first[0])
    assert cached.embed([]).shape == (0, inner.dimensions)
