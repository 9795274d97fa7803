"""Embedding on a Dask cluster for `backfill` and `reindex`.

`ClusterEmbedder` is an `Embedder` whose texts are cut into chunks and embedded on the
cluster's workers (each loads the packaged model once, or uses the embedder it is given); the
vectors come back to the calling process, which alone writes SQLite and Chroma. Because it is an
ordinary embedder, every stage that embeds — items, passages — runs on the cluster unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from horizon.embed import DIMENSIONS, MODEL_NAME, Embedder, ProgressCallback, default_embedder
from horizon.parallel import DaskTarget, chunked

CLUSTER_CHUNK = 64


def embed_on_worker(texts: list[str], embedder: Embedder | None) -> np.ndarray:
    """One chunk's vectors, by the given embedder or the worker's own copy of the model."""
    return (embedder or default_embedder()).embed(texts)


class ClusterEmbedder:
    """Embeds on a Dask cluster through `client`; `embedder` (picklable) replaces the packaged
    model on the workers, e.g. a test's hashing embedder."""

    def __init__(
        self, client: Any, embedder: Embedder | None = None, chunk: int = CLUSTER_CHUNK
    ) -> None:
        self.client = client
        self.embedder = embedder
        self.chunk = chunk
        self.name = embedder.name if embedder else MODEL_NAME
        self.dimensions = embedder.dimensions if embedder else DIMENSIONS

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        batches = chunked(list(texts), self.chunk)
        futures = self.client.map(embed_on_worker, batches, embedder=self.embedder, pure=False)
        vectors = []
        for batch, future in zip(batches, futures, strict=True):
            vectors.append(future.result())
            if on_progress is not None:
                on_progress(len(batch))
        return np.vstack(vectors).astype(np.float32)


@contextmanager
def dask_client(target: DaskTarget) -> Iterator[Any]:
    """A client of an existing scheduler, or of a LocalCluster started for this command."""
    from distributed import Client, LocalCluster

    if target.address:
        with Client(target.address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=target.local_workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
