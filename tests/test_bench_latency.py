"""The latency benchmark's report: search is timed end to end, and what it adds beyond the
query embedding is printed beside the budget the 1.5x target leaves it. A small real store and
the hashing embedder; no timing is asserted, only how the figures relate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bench.__main__ import describe_latency
from bench.latency import TARGET_RATIO, measure_latency
from horizon.embed import HashingEmbedder
from horizon.normalise import item_from_record
from horizon.store import Store

SEEN = datetime(2025, 9, 15, tzinfo=UTC)


def test_latency_gives_search_beyond_the_embedding_beside_the_budget_of_the_target(
    store: Store, embedder: HashingEmbedder
) -> None:
    items = [
        item_from_record(
            {
                "id": f"note-{number}",
                "title": f"Note {number} on AI {topic}",
                "summary": f"What firms must do about {topic}, part {number}.",
                "publisher": "Example Supervisor",
                "published": "2025-04-01",
            }
        )
        for number, topic in enumerate(["transparency", "procurement", "logging"] * 5)
    ]
    store.save_items(items, embedder.embed([item.text() for item in items]), SEEN, embedder)
    queries = ["AI transparency", "procurement rules"]
    row = measure_latency(store, embedder, queries, rounds=1, raw_encode=embedder.embed)
    assert row.queries == 2
    assert row.raw_baseline is not None
    assert row.raw_ratio == pytest.approx(row.hybrid.p50_ms / row.raw_baseline.p50_ms)
    assert row.beyond_embedding_ms == pytest.approx(row.hybrid.p50_ms - row.embed.p50_ms)
    assert row.beyond_budget_ms == pytest.approx(
        TARGET_RATIO * row.baseline.p50_ms - row.embed.p50_ms
    )
    header, _, line = describe_latency([row])
    assert f"target ≤ {TARGET_RATIO}" in header
    assert f"{row.ratio:.2f} {'met' if row.ratio <= TARGET_RATIO else 'NOT met'}" in line
    assert f"{row.beyond_embedding_ms:.1f} ({row.beyond_budget_ms:.1f})" in line
    assert f"{row.raw_baseline.p50_ms:.1f}, {row.raw_ratio:.2f}" in line
    figures = json.loads(json.dumps(row.as_json()))  # what `--json` writes
    assert figures["ratio"] == pytest.approx(row.ratio) and figures["target"] == TARGET_RATIO
    assert figures["hybrid"]["p50_ms"] == row.hybrid.p50_ms
    assert figures["beyond_budget_ms"] == pytest.approx(row.beyond_budget_ms)
    assert figures["beyond_embedding_ms"] == pytest.approx(row.beyond_embedding_ms)
    assert figures["raw_ratio"] == pytest.approx(row.raw_ratio)


def test_latency_without_the_raw_library_baseline_says_it_was_not_measured(
    store: Store, embedder: HashingEmbedder
) -> None:
    item = item_from_record(
        {"id": "note-1", "title": "Note on AI logging", "summary": "Logs.", "publisher": "X"}
    )
    store.save_items([item], embedder.embed([item.text()]), SEEN, embedder)
    row = measure_latency(store, embedder, ["AI logging"], rounds=1)
    assert row.raw_baseline is None and row.raw_ratio is None
    assert "not measured" in describe_latency([row])[-1]
