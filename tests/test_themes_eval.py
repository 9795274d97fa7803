"""The strategy themes measured against the labels (`evaluation.themes`), and the shipped
catalogue's control themes kept to the rule they were revised by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluation.common import is_frozen_test, labelled_rows
from evaluation.themes import best, main, theme_shares, themes_from_shares
from horizon.catalogue import Catalogue
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import HashingEmbedder
from horizon.normalise import item_from_record

CHOSEN_SHARE = 0.75  # by 5-fold CV in `python -m evaluation.themes` (docs/tagging.md, round 13)


def _row(relevant: bool, controls: list[str], themes: list[str]) -> dict[str, Any]:
    return {"labels": {"relevant": relevant, "controls": controls, "themes": themes}}


def test_theme_shares_count_each_controls_relevant_items_only() -> None:
    rows = [
        _row(True, ["TRANSPARENCY"], ["governance", "communication"]),
        _row(True, ["TRANSPARENCY", "FAIRNESS"], ["governance"]),
        _row(True, ["TRANSPARENCY"], ["communication"]),
        _row(True, ["TRANSPARENCY"], ["communication", "risk"]),
        _row(False, ["TRANSPARENCY"], ["strategy"]),
    ]

    shares = theme_shares(rows)

    assert shares["TRANSPARENCY"] == {"governance": 0.5, "communication": 0.75, "risk": 0.25}
    assert shares["FAIRNESS"] == {"governance": 1.0}
    assert themes_from_shares(shares, 0.75) == {
        "TRANSPARENCY": {"communication"},
        "FAIRNESS": {"governance"},
    }


def test_the_best_candidate_has_the_best_mean_of_micro_and_macro_and_ties_go_to_the_first() -> None:
    results = {
        (0.003, 0.8): ([0.835, 0.835], [0.715, 0.715]),
        (0.03, 0.8): ([0.840, 0.840], [0.710, 0.710]),
        (0.01, 0.7): ([0.850, 0.850], [0.690, 0.690]),
    }

    assert best(results) == (0.003, 0.8)
    assert best({**results, (0.1, 0.9): ([0.9], [0.7])}) == (0.1, 0.9)


def test_the_themes_evaluation_skips_with_a_plain_message_without_the_labelled_items(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "items.jsonl"

    assert main(["--data", str(missing)]) == 0

    printed = capsys.readouterr().out
    assert printed.startswith("themes evaluation skipped: ") and str(missing) in printed


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([PROJECT_ROOT / "controls.yaml"])


def test_the_shipped_control_themes_are_those_most_of_their_training_items_carry(
    catalogue: Catalogue,
) -> None:
    training = [row for row in labelled_rows() if not is_frozen_test(row["id"])]

    expected = themes_from_shares(theme_shares(training), CHOSEN_SHARE)

    assert {c.id: set(c.themes) for c in catalogue.controls} == expected


def test_themes_can_be_tried_with_other_control_themes_than_the_catalogues(
    catalogue: Catalogue,
) -> None:
    classifier = Classifier(catalogue, HashingEmbedder())
    item = item_from_record({"title": "Regulator issues guidance", "url": "https://example.org"})

    shipped = classifier.themes_of(item, "guidance", ["TRANSPARENCY"])
    tried = classifier.themes_of(item, "guidance", ["TRANSPARENCY"], {"TRANSPARENCY": {"risk"}})
    vendor = classifier.themes_of(item, "vendor-change", ["TRANSPARENCY"])

    learned = classifier.themes_of(item, "vendor-change", ["TRANSPARENCY"], learned=["delivery"])

    assert shipped == ["governance", "communication"]
    assert tried == ["risk"]
    assert vendor == ["procurement"]
    assert learned == ["procurement", "delivery"]  # the heads' themes outlive the vendor rule
