"""`horizon reindex`: every stored item and passage re-embedded with the new model, in
recorded chunks; a real kill -9 mid-pass is continued by a rerun without re-embedding the
finished chunks; a pass for another model starts over; the same vectors on a Dask cluster."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from horizon.bulk.cluster import ClusterEmbedder
from horizon.bulk.ledger import Ledger
from horizon.bulk.reindex import run_reindex
from horizon.config import Settings
from horizon.embed import HashingEmbedder, ProgressCallback
from horizon.ingest import Ingestor
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.store import Store, item_passages, open_store, passage_id, passage_text_to_embed
from tests.conftest import KeywordTagger

REPO = Path(__file__).resolve().parent.parent
ITEMS = 60
BACKSTOP_S = 300


class SaltedEmbedder(HashingEmbedder):
    """Another 'model': every text gets a word of its own, so every vector moves."""

    name = "salted-test-embedder"

    def embed(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> Any:
        return super().embed([f"salt {text}" for text in texts], on_progress)


class FailingAfter(SaltedEmbedder):
    name = "failing-test-embedder"

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def embed(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> Any:
        self.calls -= 1
        if self.calls < 0:
            raise RuntimeError("the model stopped")
        return super().embed(texts, on_progress)


def original_items() -> list[Item]:
    """ITEMS items: every fifth with a summary long enough for passages, every seventh (from
    the fourth) with a full text read from its link, which gives passages of its own."""
    items = []
    for number in range(ITEMS):
        tag = f"r{number:03d}"
        long_text = (
            " ".join(f"{tag}w{k} sentence{k}." for k in range(90)) if number % 5 == 0 else ""
        )
        item = item_from_record(
            {
                "id": f"item-{number:03d}",
                "title": f"{tag} {tag}b {tag}c",
                "summary": f"{tag}d {tag}e. {long_text}",
                "published": f"2025-{1 + number % 12:02d}-{1 + number % 27:02d}",
            }
        )
        if number % 7 == 3:
            body = " ".join(f"{tag}f{k} clause{k} of the linked page." for k in range(150))
            item = item.model_copy(update={"full_text": body})
        items.append(item)
    return items


def filled_store(settings: Settings) -> Store:
    """`original_items` embedded with the hashing embedder."""
    store = open_store(settings)
    Ingestor(store, HashingEmbedder(), KeywordTagger()).ingest(original_items(), datetime.now(UTC))
    Ledger(store.state).record_index_model(HashingEmbedder.name)
    assert store.state.count_items() == store.index.count() == ITEMS
    return store


def passage_texts(store: Store) -> dict[str, str]:
    """What each passage vector should embed, by passage id: the passages of the items as they
    were ingested, full text's included."""
    assert sorted(store.state.item_ids()) == sorted(item.id for item in original_items())
    return {
        passage_id(item.id, number): passage_text_to_embed(item.title, text)
        for item in original_items()
        for number, text in enumerate(item_passages(item))
    }


def assert_all_embedded_with(store: Store, embedder: HashingEmbedder) -> None:
    ids = store.state.item_ids()
    stored = store.state.get_items(ids)
    vectors = store.index.embeddings(ids)
    expected = embedder.embed([stored[item_id].item.text() for item_id in ids])
    for item_id, want in zip(ids, expected, strict=True):
        np.testing.assert_allclose(vectors[item_id], want, atol=1e-6)
    texts = passage_texts(store)
    passages = store.index.passage_vectors()
    assert sorted(passages) == sorted(texts) and texts
    wanted = embedder.embed(list(texts.values()))
    for key, want in zip(texts, wanted, strict=True):
        np.testing.assert_allclose(passages[key], want, atol=1e-6)


def test_reindex_rewrites_every_item_and_passage_vector_and_records_the_new_model(
    settings: Settings,
) -> None:
    store = filled_store(settings)
    before_rows = store.state.get_items(store.state.item_ids())
    before = store.index.embeddings(store.state.item_ids())
    before_passages = store.index.passage_vectors()

    summary = run_reindex(store, SaltedEmbedder(), chunk=16)

    assert (summary.previous_model, summary.model) == (HashingEmbedder.name, SaltedEmbedder.name)
    assert (summary.embedded_items, summary.chunks, summary.resumed_after) == (ITEMS, 4, 0)
    assert summary.embedded_passages == len(before_passages) > 0
    assert Ledger(store.state).index_model() == SaltedEmbedder.name
    assert_all_embedded_with(store, SaltedEmbedder())
    after = store.index.embeddings(store.state.item_ids())
    assert all(not np.allclose(after[key], before[key]) for key in before)
    after_passages = store.index.passage_vectors()
    assert all(not np.allclose(after_passages[k], before_passages[k]) for k in before_passages)
    assert store.index.count() == store.state.count_items() == ITEMS
    assert store.state.get_items(store.state.item_ids()) == before_rows


def test_an_interrupted_pass_for_another_model_is_started_over_not_continued(
    settings: Settings,
) -> None:
    store = filled_store(settings)
    with pytest.raises(RuntimeError, match="the model stopped"):
        run_reindex(store, FailingAfter(calls=4), chunk=10)
    assert Ledger(store.state).index_model() == HashingEmbedder.name

    summary = run_reindex(store, SaltedEmbedder(), chunk=10)
    assert (summary.resumed_after, summary.embedded_items) == (0, ITEMS)
    assert_all_embedded_with(store, SaltedEmbedder())


DRIVER = """
import sys, threading
from pathlib import Path
from horizon.bulk.reindex import run_reindex
from horizon.config import load_settings
from horizon.runtime import exclusive_home
from horizon.store import open_store
from tests.test_reindex import SaltedEmbedder

class StallsAfter(SaltedEmbedder):
    calls = int(sys.argv[2])
    def embed(self, texts, on_progress=None):
        type(self).calls -= 1
        if type(self).calls < 0:
            threading.Event().wait()  # until killed
        return super().embed(texts, on_progress)

settings = load_settings(home=Path(sys.argv[1]), env={})
with exclusive_home(settings):
    run_reindex(open_store(settings), StallsAfter(), chunk=10)
"""


def reindexed_so_far(home: Path) -> int:
    with sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True) as connection:
        row = connection.execute("SELECT MAX(done) FROM reindex_passes").fetchone()
    return int(row[0] or 0)


def test_a_reindex_killed_mid_pass_continues_after_its_last_committed_chunk(
    settings: Settings,
) -> None:
    store = filled_store(settings)
    # two embedding calls per chunk (items, passages): stalls in the third chunk
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(settings.home), "4"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + BACKSTOP_S
        while reindexed_so_far(settings.home) < 20:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no chunk was ever recorded"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=BACKSTOP_S)
    assert process.returncode == -signal.SIGKILL
    assert Ledger(store.state).index_model() == HashingEmbedder.name

    summary = run_reindex(store, SaltedEmbedder(), chunk=10)
    assert (summary.resumed_after, summary.embedded_items, summary.chunks) == (20, 40, 4)
    assert Ledger(store.state).index_model() == SaltedEmbedder.name
    assert store.index.count() == store.state.count_items() == ITEMS
    assert sorted(store.index.ids()) == store.state.item_ids()
    assert_all_embedded_with(store, SaltedEmbedder())


def test_reindex_on_a_two_worker_dask_cluster_writes_the_vectors_a_local_pass_writes(
    settings: Settings, tmp_path: Path
) -> None:
    from distributed import Client, LocalCluster

    store = filled_store(settings)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster.scheduler_address) as client,
    ):
        summary = run_reindex(store, ClusterEmbedder(client, SaltedEmbedder(), chunk=8), chunk=25)
        assert "embed_on_worker" in set(cluster.scheduler.task_prefixes)
    assert summary.model == SaltedEmbedder.name and summary.embedded_items == ITEMS
    assert_all_embedded_with(store, SaltedEmbedder())
