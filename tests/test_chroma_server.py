"""The vector index on a real Chroma server (`chroma run` on a loopback port, see conftest) as
well as embedded: the index operations Horizon relies on, and two Horizon processes sharing one
server — a writer ingesting batch after batch while another process searches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ChromaServer, stop_process

from horizon.config import PROJECT_ROOT, Settings
from horizon.embed import HashingEmbedder
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.search import SearchFilters, search
from horizon.store import Store, open_store

pytestmark = pytest.mark.chroma_modes

WRITER_BATCHES, WRITER_BATCH_SIZE = 6, 40
BACKSTOP_S = 180.0


def items(count: int, start: int = 0) -> list[Item]:
    return [
        item_from_record(
            {
                "id": f"it-{number}",
                "title": f"Notice {number} on model risk topic{number}",
                "summary": f"Guidance number {number} for providers of AI systems.",
                "publisher": "Example Regulator",
                "source": "example",
                "published": f"2025-{1 + number % 12:02d}-{1 + number % 28:02d}",
            }
        )
        for number in range(start, start + count)
    ]


def test_upsert_nearest_embeddings_and_metadata_updates_round_trip(store: Store) -> None:
    batch = items(5)
    vectors = HashingEmbedder().embed([item.text() for item in batch])
    store.index.upsert(batch, vectors)
    store.index.upsert(batch[:2], vectors[:2])  # idempotent by id
    assert store.index.count() == 5
    assert sorted(store.index.ids()) == sorted(item.id for item in batch)
    (nearest,) = store.index.nearest(vectors[3:4], limit=2)
    assert nearest[0].item_id == "it-3"
    assert nearest[0].similarity == pytest.approx(1.0, abs=1e-5)
    stored = store.index.embeddings(["it-1", "missing"])
    assert list(stored) == ["it-1"]
    np.testing.assert_allclose(stored["it-1"], vectors[1], atol=1e-6)
    renamed = batch[4].model_copy(update={"publisher": "Another Body"})
    store.index.update_metadata([renamed])
    (filtered,) = store.index.nearest(vectors[:1], limit=5, where={"publisher": "Another Body"})
    assert [neighbour.item_id for neighbour in filtered] == ["it-4"]


WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path

from horizon.config import load_settings
from horizon.embed import HashingEmbedder
from horizon.ingest import Ingestor
from horizon.item import Tags
from test_chroma_server import WRITER_BATCHES, WRITER_BATCH_SIZE, items


class Irrelevant:
    def classify(self, batch, embeddings=None):
        return [Tags(relevant=False) for _ in batch]


store = __import__("horizon.store", fromlist=["open_store"]).open_store(
    load_settings(Path(sys.argv[1]), env={"HORIZON_CHROMA_URL": sys.argv[2]})
)
ingestor = Ingestor(store, HashingEmbedder(), Irrelevant())
for batch in range(WRITER_BATCHES):
    chunk = items(WRITER_BATCH_SIZE, batch * WRITER_BATCH_SIZE)
    results = ingestor.ingest(chunk, datetime(2025, 9, 15, tzinfo=UTC))
    assert [r.status for r in results] == ["new"] * len(chunk), results
"""


def test_a_second_process_searches_safely_while_another_writes_to_the_server(
    chroma_server: ChromaServer, settings: Settings, tmp_path: Path
) -> None:
    server_settings = chroma_server.empty(settings)
    home = server_settings.home
    total = WRITER_BATCHES * WRITER_BATCH_SIZE
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(PROJECT_ROOT), str(Path(__file__).parent), environment.get("PYTHONPATH", "")]
    )
    log_path = tmp_path / "writer.log"
    with log_path.open("wb") as log:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(home), chroma_server.url],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            reader = open_store(server_settings)
            deadline = time.monotonic() + BACKSTOP_S
            while reader.state.count_items() == 0 and writer.poll() is None:
                assert time.monotonic() < deadline, "the writer stored nothing"
                time.sleep(0.05)
            searches, counts = 0, []
            while True:
                writing = writer.poll() is None
                hits = search(reader, HashingEmbedder(), "guidance for providers", limit=10)
                counts.append(reader.index.count())
                searches += 1
                assert hits, "a search while the other process writes found nothing"
                assert all(hit.id.startswith("it-") and hit.title for hit in hits)
                if not writing:
                    break
                assert time.monotonic() < deadline, "the writer did not finish"
            assert writer.wait() == 0, log_path.read_text(errors="replace")
        finally:
            stop_process(writer)
    assert searches >= 1
    assert counts == sorted(counts)  # the reader never sees the index shrink
    assert reader.index.count() == reader.state.count_items() == total
    last = search(
        reader,
        HashingEmbedder(),
        f"topic{total - 1}",
        SearchFilters(publishers=("Example Regulator",)),
    )
    assert last[0].id == f"it-{total - 1}"
