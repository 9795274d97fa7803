"""Two annotators per item: how far they agree, what they disagree on, and the adjudicated set.

The labelled data is written in parts (`evaluation/data/parts/items-*.jsonl`, no labels) and
labelled independently by two annotators per part (`evaluation/data/annotations/*.jsonl`, one
`{"id", "labels"}` per line): the writer of the part, and a second annotator who never saw the
writer's labels. This module

    report      prints agreement (Cohen's kappa for relevance, each control and type; exact
                agreement for jurisdiction and dates; micro-F1 of one annotator's controls
                against the other's) and writes the disagreements for adjudication;
    pools       writes, for each query, a pool of candidate items (the writer's relevant items
                and the top hits of two different rankers, shuffled) for a second, blind
                relevance judgement; with `--round N` (N > 1), a pool of that round's items
                only (rounds 2 and 3 added parts after the queries were written and judged),
                so that a new item a query should find is judged rather than counted as a miss;
    build       writes `evaluation/data/items.jsonl` and `queries.jsonl`: agreed labels as they
                are, disputed fields as adjudicated (disputed themes: the union), queries'
                relevant items the union of the writer's and the blind judges' (every
                `query-judgements*.jsonl`).

    python -m evaluation.agreement report|pools|build [--round N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.common import read_jsonl
from horizon.tagging.examples import Example
from horizon.tagging.training import grouped_folds

DATA = Path(__file__).resolve().parent / "data"
PARTS = DATA / "parts"
ANNOTATIONS = DATA / "annotations"
# Which annotation files label which part: (first annotator, second annotator).
# The parts each labelling round added (an item's id starts with its part's letters: one letter
# up to round 5, then "za", "zb"…). The queries were written and judged over round 1's items;
# later rounds' items are judged for them in a pool of their own.
ROUNDS: dict[int, tuple[str, ...]] = {
    1: tuple("ab"),
    2: tuple("cdefghi"),
    3: tuple("jklmn"),
    4: tuple("opqrs"),
    5: tuple("tuvwxy"),
    6: ("za", "zb", "zc", "zd", "ze", "zf"),
    7: ("zg", "zh", "zi", "zj", "zk", "zl"),
    8: ("zm", "zn", "zo", "zp", "zq", "zr"),
}
ANNOTATORS = {
    part: (f"writer-{part}", f"blind-{part}") for parts in ROUNDS.values() for part in parts
}


def round_of(item_id: str) -> int:
    """The labelling round that added an item (by its part's letter)."""
    return next((number for number, parts in ROUNDS.items() if part_of(item_id) in parts), 1)


def part_of(item_id: str) -> str:
    """The labelled part an item belongs to (its id's leading letters): one writer's items."""
    return item_id.rstrip("0123456789")


def folds_by_writer(examples: Sequence[Example]) -> list[np.ndarray]:
    """Cross-validation folds that keep each labelled part (one writer's items) together."""
    return grouped_folds(examples, [part_of(example.item.id) for example in examples])


FIELDS = ("relevant", "controls", "themes", "type", "jurisdiction", "deadline", "effective")
POOL_DEPTH = 6


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float:
    """Agreement beyond chance between two labellings of the same items."""
    total = len(first)
    if total == 0:
        return float("nan")
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / total
    left, right = Counter(first), Counter(second)
    expected = sum(left[label] * right[label] for label in left) / (total * total)
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def _labels(name: str) -> dict[str, dict[str, Any]]:
    path = ANNOTATIONS / f"{name}.jsonl"
    return {row["id"]: row["labels"] for row in read_jsonl(path)} if path.is_file() else {}


def paired_labels() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(id, first annotator's labels, second's) for every item both have labelled."""
    pairs = []
    for part, (first_name, second_name) in sorted(ANNOTATORS.items()):
        items = PARTS / f"items-{part}.jsonl"
        if not items.is_file():
            continue
        first, second = _labels(first_name), _labels(second_name)
        for row in read_jsonl(items):
            if row["id"] in first and row["id"] in second:
                pairs.append((row["id"], first[row["id"]], second[row["id"]]))
    return pairs


def agreement(pairs: Sequence[tuple[str, dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Every agreement figure the README quotes, from paired labellings."""
    firsts = [first for _, first, _ in pairs]
    seconds = [second for _, _, second in pairs]
    controls = sorted({c for labels in firsts + seconds for c in labels["controls"]})
    per_control = {
        control: round(
            cohen_kappa(
                [control in labels["controls"] for labels in firsts],
                [control in labels["controls"] for labels in seconds],
            ),
            3,
        )
        for control in controls
    }
    both = sum(
        len(set(a["controls"]) & set(b["controls"])) for a, b in zip(firsts, seconds, strict=True)
    )
    either = sum(
        len(a["controls"]) + len(b["controls"]) for a, b in zip(firsts, seconds, strict=True)
    )
    return {
        "items": len(pairs),
        "relevant_kappa": round(
            cohen_kappa([a["relevant"] for a in firsts], [b["relevant"] for b in seconds]), 3
        ),
        "controls_micro_f1": round(2 * both / either, 3) if either else None,
        "controls_kappa_mean": round(sum(per_control.values()) / len(per_control), 3)
        if per_control
        else None,
        "controls_kappa": per_control,
        "type_kappa": round(
            cohen_kappa([a["type"] for a in firsts], [b["type"] for b in seconds]), 3
        ),
        "type_agreement": _share(
            a["type"] == b["type"] for a, b in zip(firsts, seconds, strict=True)
        ),
        "jurisdiction_agreement": _share(
            a["jurisdiction"] == b["jurisdiction"] for a, b in zip(firsts, seconds, strict=True)
        ),
        "deadline_agreement": _share(
            a.get("deadline") == b.get("deadline") for a, b in zip(firsts, seconds, strict=True)
        ),
        "effective_agreement": _share(
            a.get("effective") == b.get("effective") for a, b in zip(firsts, seconds, strict=True)
        ),
        "items_fully_agreed": _share(
            _disputed(a, b) == {} for a, b in zip(firsts, seconds, strict=True)
        ),
    }


def query_agreement() -> dict[str, Any]:
    """Over every pooled (query, candidate) pair: the writer's relevant list against the blind
    judge's, as Cohen's kappa and the share of writer-relevant items the judge also found."""
    judged_path = ANNOTATIONS / "query-judgements.jsonl"
    pools_path = ANNOTATIONS / "query-pools.jsonl"
    if not (judged_path.is_file() and pools_path.is_file()):
        return {}
    judged = {row["qid"]: set(row["relevant"]) for row in read_jsonl(judged_path)}
    written = {
        row["qid"]: set(row["relevant"])
        for part in sorted(ANNOTATORS)
        if (PARTS / f"queries-{part}.jsonl").is_file()
        for row in read_jsonl(PARTS / f"queries-{part}.jsonl")
    }
    pools = [pool for pool in read_jsonl(pools_path) if pool["qid"] in judged]
    writer_says, judge_says = _pooled_votes(pools, written, judged)
    confirmed = sum(w and j for w, j in zip(writer_says, judge_says, strict=True))
    return {
        "query_pairs_judged": len(writer_says),
        "query_relevance_kappa": round(cohen_kappa(writer_says, judge_says), 3),
        "writer_relevant_confirmed": round(confirmed / max(1, sum(writer_says)), 3),
        "judge_added": sum(j and not w for w, j in zip(writer_says, judge_says, strict=True)),
    }


def later_query_agreement(round_number: int) -> dict[str, Any]:
    """A later round's pool judged twice, independently (`query-judgements-N.jsonl` and
    `query-judgements-N-second.jsonl`): Cohen's kappa over its (query, candidate) pairs and
    how many each judge found relevant. `build` takes the union of the two."""
    paths = [
        ANNOTATIONS / f"query-judgements-{round_number}.jsonl",
        ANNOTATIONS / f"query-judgements-{round_number}-second.jsonl",
        ANNOTATIONS / f"query-pools-{round_number}.jsonl",
    ]
    if not all(path.is_file() for path in paths):
        return {}
    first, second = (
        {row["qid"]: set(row["relevant"]) for row in read_jsonl(path)} for path in paths[:2]
    )
    first_says, second_says = _pooled_votes(read_jsonl(paths[2]), first, second)
    return {
        "pairs": len(first_says),
        "kappa": round(cohen_kappa(first_says, second_says), 3),
        "first_relevant": sum(first_says),
        "second_relevant": sum(second_says),
        "both_relevant": sum(a and b for a, b in zip(first_says, second_says, strict=True)),
    }


def _pooled_votes(
    pools: Iterable[dict[str, Any]], first: dict[str, set[str]], second: dict[str, set[str]]
) -> tuple[list[bool], list[bool]]:
    """For every (query, candidate) pair of the pools, whether each of two judgements (qid ->
    relevant ids) counts the candidate relevant."""
    first_says, second_says = [], []
    for pool in pools:
        for candidate in pool["candidates"]:
            first_says.append(candidate in first.get(pool["qid"], set()))
            second_says.append(candidate in second.get(pool["qid"], set()))
    return first_says, second_says


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 3) if values else float("nan")


def _disputed(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The fields two labellings disagree on, each as (first's value, second's value); for
    controls and themes only the ids one gave and the other did not."""
    disputed: dict[str, Any] = {}
    for field in FIELDS:
        a, b = first.get(field), second.get(field)
        if field in ("controls", "themes"):
            only = sorted(set(a or []) ^ set(b or []))
            if only:
                disputed[field] = {"agreed": sorted(set(a or []) & set(b or [])), "disputed": only}
        elif a != b:
            disputed[field] = [a, b]
    return disputed


def write_disagreements(path: Path) -> int:
    """One line per item with any disagreement: its text and the disputed fields, for the
    adjudicator (who decides each disputed field by the labelling guide)."""
    texts = {row["id"]: row for part in ANNOTATORS for row in _part_items(part)}
    lines = []
    for item_id, first, second in paired_labels():
        disputed = _disputed(first, second)
        if disputed:
            item = texts[item_id]
            lines.append(
                json.dumps(
                    {
                        "id": item_id,
                        "title": item["title"],
                        "summary": item.get("summary", ""),
                        "publisher": item.get("publisher", ""),
                        "published": item.get("published"),
                        "url": item.get("url"),
                        "disputed": disputed,
                    },
                    ensure_ascii=False,
                )
            )
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def _part_items(part: str) -> list[dict[str, Any]]:
    path = PARTS / f"items-{part}.jsonl"
    return read_jsonl(path) if path.is_file() else []


def final_labels() -> dict[str, dict[str, Any]]:
    """Agreed fields as labelled; disputed fields as the adjudicator decided
    (`annotations/adjudicated.jsonl`: `{"id", "labels": {field: value}}` for disputed fields),
    except themes, a secondary filing aid, which take the union of both annotators' when the
    adjudicator did not rule on them."""
    decided = _labels("adjudicated")
    final: dict[str, dict[str, Any]] = {}
    missing = []
    for item_id, first, second in paired_labels():
        labels = dict(first)
        disputed = _disputed(first, second)
        ruling = decided.get(item_id, {})
        for field in disputed:
            if field in ruling:
                labels[field] = ruling[field]
            elif field == "themes":
                labels["themes"] = sorted(set(first["themes"]) | set(second["themes"]))
            else:
                missing.append(f"{item_id}.{field}")
        for field in ("controls", "themes"):
            labels[field] = sorted(set(labels[field]))
        labels["relevant"] = bool(labels["controls"])
        if not labels["relevant"]:
            labels["themes"] = []
        final[item_id] = labels
    if missing:
        raise SystemExit(
            f"{len(missing)} disputed fields have no adjudication yet, "
            f"e.g. {', '.join(missing[:5])}"
        )
    return final


def build() -> None:
    labels = final_labels()
    rows = []
    for part in sorted(ANNOTATORS):
        for item in _part_items(part):
            if item["id"] in labels:
                rows.append({**item, "labels": labels[item["id"]]})
    (DATA / "items.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    queries = []
    known = {row["id"] for row in rows}
    judged: dict[str, set[str]] = {}
    for judged_path in sorted(ANNOTATIONS.glob("query-judgements*.jsonl")):
        for row in read_jsonl(judged_path):
            judged.setdefault(row["qid"], set()).update(row["relevant"])
    for part in sorted(ANNOTATORS):
        path = PARTS / f"queries-{part}.jsonl"
        for query in read_jsonl(path) if path.is_file() else []:
            relevant = sorted((set(query["relevant"]) | judged.get(query["qid"], set())) & known)
            if relevant:
                queries.append({**query, "relevant": relevant})
    (DATA / "queries.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in queries), encoding="utf-8"
    )
    print(f"wrote {len(rows)} items and {len(queries)} queries")


def pools(round_number: int = 1) -> None:
    """Candidate pools for a blind second judgement of each query's relevant items: the
    writer's relevant items, the top BM25-style (TF-IDF) hits and the top MiniLM hits over
    every item, shuffled so the writer's choices cannot be told apart. A later round: the top
    hits among that round's items only, none of which a writer of the queries saw."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from horizon.embed import default_embedder

    later = round_number > 1
    parts = ROUNDS[round_number]
    items = [row for part in parts for row in _part_items(part)]
    texts = [f"{row['title']}. {row.get('summary', '')}" for row in items]
    tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1).fit(texts)
    matrix = tfidf.transform(texts)
    embedder = default_embedder()
    vectors = embedder.embed(texts)
    generator = random.Random(20261206)
    out = []
    for part in sorted(ANNOTATORS):
        path = PARTS / f"queries-{part}.jsonl"
        for query in read_jsonl(path) if path.is_file() else []:
            lexical = (matrix @ tfidf.transform([query["query"]]).T).toarray().ravel()
            dense = vectors @ embedder.embed([query["query"]])[0]
            chosen = [] if later else list(query["relevant"])
            for scores in (lexical, dense):
                chosen += [items[i]["id"] for i in scores.argsort()[::-1][:POOL_DEPTH]]
            candidates = list(dict.fromkeys(chosen))
            generator.shuffle(candidates)
            out.append(
                {
                    "qid": query["qid"],
                    "query": query["query"],
                    "kind": query.get("kind"),
                    "candidates": candidates,
                }
            )
    path = ANNOTATIONS / (f"query-pools-{round_number}.jsonl" if later else "query-pools.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in out), encoding="utf-8")
    print(f"wrote {len(out)} pools ({sum(len(r['candidates']) for r in out)} judgements) to {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["report", "pools", "build"])
    parser.add_argument("--json", action="store_true", help="print the agreement as JSON")
    parser.add_argument(
        "--round",
        type=int,
        choices=sorted(ROUNDS),
        default=1,
        help="pools: a later round pools its own items for the existing queries",
    )
    options = parser.parse_args(argv)
    if options.command == "pools":
        pools(options.round)
    elif options.command == "build":
        build()
    else:
        pairs = paired_labels()
        figures = agreement(pairs)
        figures["disagreeing_items"] = write_disagreements(ANNOTATIONS / "disagreements.jsonl")
        figures.update(query_agreement())
        for number in ROUNDS:
            in_round = [pair for pair in pairs if round_of(pair[0]) == number]
            if in_round:
                figures[f"round {number}"] = agreement(in_round)
            if number > 1 and (judged := later_query_agreement(number)):
                figures[f"round {number} query judgements"] = judged
        if options.json:
            print(json.dumps(figures, indent=2))
        else:
            for key, value in figures.items():
                print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
