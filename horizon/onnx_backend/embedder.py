"""`OnnxEmbedder`: the packaged model's cached ONNX graph behind Horizon's `Embedder` interface."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from horizon.embed import BATCH_SIZE, DIMENSIONS, MODEL_NAME, ProgressCallback, embed_by_length
from horizon.onnx_backend.export import Variant, _import, cached_graph, model_dir

SPIN_SETTING = "session.intra_op.allow_spinning"


class OnnxEmbedder:
    """Same model, same vectors (to within the variant's rounding), run by ONNX Runtime.

    `name` is the torch model's: vectors from either backend can share an index and a tagger.
    Tokenisation is the model's own tokenizer.json with sentence-transformers' settings
    (truncation at max_seq_length, padding to the longest text of a batch).
    """

    name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(
        self,
        cache_dir: Path,
        variant: Variant = "fp32",
        batch_size: int = BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        runtime = _import("onnxruntime")
        from tokenizers import Tokenizer

        directory = model_dir()
        self.variant = variant
        self.batch_size = batch_size
        self.graph = cached_graph(cache_dir, variant, directory)
        options = runtime.SessionOptions()
        # Idle intra-op threads sleep instead of spinning: a spinning pool took the cores that
        # search's own threads (Chroma, SQLite) ran on beside it (search p50 19 ms against 14
        # with it off), and bulk throughput is the same either way (docs/scaling.md).
        options.add_session_config_entry(SPIN_SETTING, "0")
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = runtime.InferenceSession(
            str(self.graph), options, providers=["CPUExecutionProvider"]
        )
        settings = json.loads((directory / "sentence_bert_config.json").read_text("utf-8"))
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(settings["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        return embed_by_length(texts, self.batch_size, self._encode, on_progress)

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        input_ids = np.asarray([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)
