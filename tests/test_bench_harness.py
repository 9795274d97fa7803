"""The benchmark's harness does what its figures claim: the same feed bodies reach both sides
of the parse ratio, a weekly run's batch is new items plus stored ones that stay unchanged, and
a stage's memory is read from a process of its own. No timings are checked."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import numpy as np
import pytest

import bench.raw
from bench.__main__ import describe_dedupe
from bench.dedupe import measure_dedupe
from bench.incremental import NEW_ITEMS, UNCHANGED_ITEMS, run_weekly_batch, weekly_batch
from bench.memory import main as memory_main
from bench.raw import FEED_SUFFIXES, feed_bodies
from horizon.embed import HashingEmbedder
from horizon.item import Item
from horizon.parse import parse_feed
from horizon.store import Store
from tests.conftest import KeywordTagger

STORED = 600
TABLE_SCAN = re.compile(r"SCAN (items|reports)\b")  # SEARCH is a lookup by key or index


def stored_items() -> list[Item]:
    words = ["rule", "consultation", "guidance", "model", "risk", "audit", "notice", "report"]
    return [
        Item(
            id=f"doc-{number:04d}",
            title=f"{words[number % 8].title()} {number} on {words[(number * 3) % 8]} duties",
            summary=(
                f"The agency issued {words[number % 8]} number {number}. "
                f"It concerns {words[(number * 5) % 8]} and {words[(number * 7) % 8]} duties."
            ),
            url=f"https://agency.example/doc/{number}",
            publisher="Agency",
            content_hash=f"hash-{number}",
        )
        for number in range(STORED)
    ]


def test_without_shared_the_parse_ratio_reads_the_demo_snapshot_feeds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(bench.raw, "SHARED_FEEDS", tmp_path / "absent")
    bodies = feed_bodies()
    assert len(bodies) >= 10
    assert all(Path(feed.name).suffix in FEED_SUFFIXES for feed in bodies)
    assert all(feed.content_type and feed.url.startswith("https://") for feed in bodies)
    for feed in bodies:
        raw = feedparser.parse(feed.body, response_headers={"content-type": feed.content_type})
        assert len(parse_feed(feed.body, feed.content_type, feed.url)) == len(raw.entries) > 0


def test_weekly_run_stores_the_new_items_and_leaves_the_stored_ones_unchanged(
    store: Store, embedder: HashingEmbedder
) -> None:
    items = stored_items()
    vectors = embedder.embed([item.text() for item in items])
    store.save_items(items, vectors, datetime(2025, 1, 1, tzinfo=UTC), None)
    base = [item.model_dump() for item in items]
    batch = weekly_batch(items, base, vectors, "test", seed=3)
    assert len(batch) == NEW_ITEMS + UNCHANGED_ITEMS
    run = run_weekly_batch(store, embedder, KeywordTagger(), batch)
    assert run.stored == STORED
    assert run.outcomes["unchanged"] == UNCHANGED_ITEMS
    assert run.outcomes.get("new", 0) + run.outcomes.get("duplicate", 0) == NEW_ITEMS
    assert store.index.count() == STORED + run.outcomes.get("new", 0)
    assert set(run.stages) == {"plan", "embed", "dedupe", "tag", "commit"}


def test_a_stage_reports_its_memory_from_its_own_process(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert memory_main(["parse", str(tmp_path), str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stage"] == "parse"
    assert report["items"] == len(feed_bodies())
    assert report["peak_of"] in ("stage", "process")
    assert report["peak_mb"] > 0 and report["start_mb"] > 0


def test_weekly_batches_of_different_runs_share_no_new_ids() -> None:
    items = stored_items()
    vectors = HashingEmbedder().embed([item.text() for item in items])
    base = [item.model_dump() for item in items]
    first = weekly_batch(items, base, vectors, "a", seed=1)[:NEW_ITEMS]
    second = weekly_batch(items, base, vectors, "b", seed=2)[:NEW_ITEMS]
    assert not {item.id for item in first} & {item.id for item in second}
    assert np.all([item.tags is None for item in first])


def test_a_weekly_run_reads_stored_rows_by_index_never_by_scanning_a_table(
    store: Store, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a weekly run's time flat as the store grows (bench/README.md): every
    statement the ingest stages send to SQLite finds items and reports by key or index."""
    items = stored_items()
    vectors = embedder.embed([item.text() for item in items])
    store.save_items(items, vectors, datetime(2025, 1, 1, tzinfo=UTC), None)
    batch = weekly_batch(items, [item.model_dump() for item in items], vectors, "scan", seed=4)
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", traced)
    run_weekly_batch(store, embedder, KeywordTagger(), batch)
    monkeypatch.undo()
    reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))]
    assert reads
    scans = []
    with closing(sqlite3.connect(store.state.path)) as connection:
        for statement in reads:
            plan = connection.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
            scans += [(statement, row[-1]) for row in plan if TABLE_SCAN.match(row[-1])]
    assert not scans


def test_each_dedupe_batch_is_folded_from_a_fresh_plan_and_its_median_kept(
    store: Store, embedder: HashingEmbedder
) -> None:
    """A fold marks its plan; each repeat must start unmarked, or later runs would skip the
    items the first one folded and time less work."""
    items = stored_items()[:50]
    vectors = embedder.embed([item.text() for item in items])
    store.save_items(items, vectors, datetime(2025, 1, 1, tzinfo=UTC), None)
    base = [item.model_dump() for item in items]
    cost = measure_dedupe(store, base, vectors, 200, 4, runs=3)
    assert (cost.items, cost.sources, len(cost.runs)) == (200, 4, 3)
    assert cost.seconds == sorted(cost.runs)[1]
    again = measure_dedupe(store, base, vectors, 200, 4, runs=1)
    assert again.folded == cost.folded > 0
    smaller = measure_dedupe(store, base, vectors, 100, 4, runs=3)
    line = describe_dedupe([smaller, cost])
    assert "median of 3 folds each" in line[0]
