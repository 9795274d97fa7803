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


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The labelled data's folders, pointed at an empty temporary one."""
    monkeypatch.setattr(agreement, "DATA", tmp_path)
    monkeypatch.setattr(agreement, "PARTS", tmp_path / "parts")
    monkeypatch.setattr(agreement, "ANNOTATIONS", tmp_path / "annotations")
    return tmp_path


def write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_build_keeps_agreed_labels_and_takes_the_adjudicators_ruling_on_disputes(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = data_dir
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
    # a later round's judgement of an item the query's writer never saw, and of an unknown id
    write(
        tmp_path / "annotations/query-judgements-2.jsonl", [{"qid": "q1", "relevant": ["a3", "zz"]}]
    )
    write(tmp_path / "parts/items-a.jsonl", [{"id": f"a{n}", "title": str(n)} for n in (1, 2, 3)])
    write(
        tmp_path / "annotations/writer-a.jsonl",
        [
            {
                "id": "a1",
                "labels": {**base, "relevant": True, "controls": ["AI-POLICY"], "type": "report"},
            },
            *[
                {
                    "id": f"a{n}",
                    "labels": {**base, "relevant": False, "controls": [], "type": "report"},
                }
                for n in (2, 3)
            ],
        ],
    )
    with (tmp_path / "annotations/blind-a.jsonl").open("a", encoding="utf-8") as blind:
        blind.write(
            json.dumps(
                {
                    "id": "a3",
                    "labels": {**base, "relevant": False, "controls": [], "type": "report"},
                }
            )
            + "\n"
        )
    agreement.build()
    items = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert [item["labels"]["type"] for item in items] == ["guidance", "report", "report"]
    assert items[0]["labels"]["themes"] == ["risk"], "disputed themes take the union"
    queries = [json.loads(line) for line in (tmp_path / "queries.jsonl").read_text().splitlines()]
    assert queries[0]["relevant"] == ["a1", "a2", "a3"], "every round's judgements count"
    figures = agreement.agreement(agreement.paired_labels())
    assert figures["items"] == 3 and figures["relevant_kappa"] == 1.0
    assert figures["type_agreement"] == 0.667


def test_the_second_round_pool_offers_only_the_later_parts_items_and_none_of_the_writers(
    data_dir: Path,
) -> None:
    tmp_path = data_dir
    write(
        tmp_path / "parts/items-a.jsonl",
        [{"id": "a1", "title": "ICO fines Clearview AI", "summary": "facial recognition fine"}],
    )
    write(
        tmp_path / "parts/items-c.jsonl",
        [
            {"id": "c1", "title": "Garante fines Clearview AI", "summary": "facial recognition"},
            {
                "id": "c2",
                "title": "FCA fines a bank for AML failings",
                "summary": "money laundering",
            },
        ],
    )
    write(
        tmp_path / "parts/queries-a.jsonl",
        [{"qid": "q1", "query": "Clearview AI fines", "relevant": ["a1"]}],
    )
    agreement.pools(2)
    pools = agreement.read_jsonl(tmp_path / "annotations/query-pools-2.jsonl")
    assert [pool["qid"] for pool in pools] == ["q1"]
    assert sorted(pools[0]["candidates"]) == ["c1", "c2"]
    assert not (tmp_path / "annotations/query-pools.jsonl").exists()


def test_the_report_gives_each_labelling_round_its_own_agreement(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = data_dir
    labels = {"relevant": True, "controls": ["AI-POLICY"], "themes": [], "type": "report"}
    labels |= {"jurisdiction": "UK", "deadline": None, "effective": None}
    for part, other_type in (("a", "report"), ("c", "guidance")):
        write(tmp_path / f"parts/items-{part}.jsonl", [{"id": f"{part}1", "title": "x"}])
        write(tmp_path / f"annotations/writer-{part}.jsonl", [{"id": f"{part}1", "labels": labels}])
        write(
            tmp_path / f"annotations/blind-{part}.jsonl",
            [{"id": f"{part}1", "labels": {**labels, "type": other_type}}],
        )
    assert agreement.main(["report", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["items"] == 2 and figures["type_agreement"] == 0.5
    assert figures["round 1"]["type_agreement"] == 1.0
    assert figures["round 2"]["type_agreement"] == 0.0


def test_a_later_rounds_two_query_judgements_are_compared_and_both_count(
    data_dir: Path,
) -> None:
    tmp_path = data_dir
    pool = {"qid": "q1", "query": "x", "candidates": ["c1", "c2", "c3", "c4"]}
    write(tmp_path / "annotations/query-pools-2.jsonl", [pool])
    write(tmp_path / "annotations/query-judgements-2.jsonl", [{"qid": "q1", "relevant": ["c1"]}])
    write(
        tmp_path / "annotations/query-judgements-2-second.jsonl",
        [{"qid": "q1", "relevant": ["c1", "c2"]}],
    )
    judged = agreement.later_query_agreement(2)
    assert judged["pairs"] == 4 and judged["both_relevant"] == 1
    assert judged["first_relevant"] == 1 and judged["second_relevant"] == 2
    assert judged["kappa"] == 0.5
    assert agreement.later_query_agreement(3) == {}


def test_an_item_s_part_and_round_come_from_its_id_s_letters() -> None:
    assert [agreement.part_of(i) for i in ("a001", "o017", "y060", "zc012")] == [
        "a",
        "o",
        "y",
        "zc",
    ]
    assert [agreement.round_of(i) for i in ("b413", "c001", "n073", "s058", "t001", "zf060")] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
