"""Annotator agreement and adjudication of the labelled evaluation data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import agreement


def test_kappa_is_one_for_identical_labels_and_zero_for_chance_agreement() -> None:
    assert agreement.cohen_kappa([True, False, True], [True, False, True]) == 1.0
    assert agreement.cohen_kappa([True, True, False, False], [True, False, True, False]) == 0.0


def test_only_the_controls_one_annotator_gave_and_the_other_did_not_are_disputed() -> None:
    first = {"relevant": True, "controls": ["AI-POLICY", "FAIRNESS"], "type": "guidance"}
    second = {"relevant": True, "controls": ["AI-POLICY"], "type": "report"}
    disputed = agreement._disputed(first, second)
    assert disputed["controls"] == {"agreed": ["AI-POLICY"], "disputed": ["FAIRNESS"]}
    assert disputed["type"] == ["guidance", "report"]
    assert "relevant" not in disputed


def write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_build_keeps_agreed_labels_and_takes_the_adjudicators_ruling_on_disputes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agreement, "DATA", tmp_path)
    monkeypatch.setattr(agreement, "PARTS", tmp_path / "parts")
    monkeypatch.setattr(agreement, "ANNOTATIONS", tmp_path / "annotations")
    monkeypatch.setattr(agreement, "ANNOTATORS", {"a": ("writer-a", "blind-a")})
    base = {"themes": [], "jurisdiction": "UK", "deadline": None, "effective": None}
    write(
        tmp_path / "parts/items-a.jsonl", [{"id": "a1", "title": "x"}, {"id": "a2", "title": "y"}]
    )
    write(
        tmp_path / "annotations/writer-a.jsonl",
        [
            {
                "id": "a1",
                "labels": {**base, "relevant": True, "controls": ["AI-POLICY"], "type": "report"},
            },
            {"id": "a2", "labels": {**base, "relevant": False, "controls": [], "type": "report"}},
        ],
    )
    write(
        tmp_path / "annotations/blind-a.jsonl",
        [
            {
                "id": "a1",
                "labels": {
                    **base,
                    "relevant": True,
                    "controls": ["AI-POLICY"],
                    "type": "guidance",
                    "themes": ["risk"],
                },
            },
            {"id": "a2", "labels": {**base, "relevant": False, "controls": [], "type": "report"}},
        ],
    )
    with pytest.raises(SystemExit, match="1 disputed fields have no adjudication"):
        agreement.build()
    write(
        tmp_path / "annotations/adjudicated.jsonl", [{"id": "a1", "labels": {"type": "guidance"}}]
    )
    write(tmp_path / "parts/queries-a.jsonl", [{"qid": "q1", "query": "x", "relevant": ["a1"]}])
    write(tmp_path / "annotations/query-judgements.jsonl", [{"qid": "q1", "relevant": ["a2"]}])
    agreement.build()
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert [item["labels"]["type"] for item in items] == ["guidance", "report"]
    assert items[0]["labels"]["themes"] == ["risk"], "disputed themes take the union"
    queries = [json.loads(line) for line in (tmp_path / "queries.jsonl").read_text().splitlines()]
    assert queries[0]["relevant"] == ["a1", "a2"]
    figures = agreement.agreement(agreement.paired_labels())
    assert figures["items"] == 2 and figures["relevant_kappa"] == 1.0
    assert figures["type_agreement"] == 0.5
