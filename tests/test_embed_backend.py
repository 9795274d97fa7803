"""The ONNX Runtime embedding backends (HORIZON_EMBED_BACKEND): the same vectors as torch, chosen
by the setting, exported once into the cache and reused, and plain errors when misconfigured."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from horizon.config import (
    OPENMP_SPIN_COUNT,
    ConfigError,
    EmbeddingSettings,
    load_embedding_settings,
    load_settings,
    shorten_openmp_spin,
)
from horizon.embed import MiniLMEmbedder, default_embedder, embedder_for, torch_embedder
from horizon.onnx_backend.embedder import SPIN_SETTING, OnnxEmbedder
from horizon.onnx_backend.export import graph_path
from horizon.runtime import Runtime
from pipelines.cli import app

REPO = Path(__file__).resolve().parent.parent

TEXTS = [
    "ICO publishes guidance on AI and data protection",
    "The European Commission adopted the general-purpose AI code of practice, setting out how "
    "providers of models document training data, respect copyright and assess systemic risk.",
    "  Watchdog probes virtual friend apps for kids  ",
    "NIST AI RMF 1.0: govern, map, measure, manage",
    "Ünïcödé café – naïve résumé",
    "a very long notice " * 200,  # past max_seq_length: truncated the same way as torch
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with both graphs built, once per test session (the int8 build makes fp32 too)."""
    cache = tmp_path_factory.mktemp("horizon-cache")
    OnnxEmbedder(cache, "int8")
    return cache


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "floor"), [("fp32", 0.9999), ("int8", 0.97)])
def test_onnx_vectors_match_torch_text_by_text(
    onnx_cache: Path, variant: str, floor: float
) -> None:
    onnx = OnnxEmbedder(onnx_cache, "int8" if variant == "int8" else "fp32")
    reference = torch_embedder().embed(TEXTS)
    vectors = onnx.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), onnx.dimensions) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.mean() >= 0.99
    assert cosines.min() >= floor, cosines


@pytest.mark.slow
def test_onnx_embedder_reports_progress_per_batch_and_keeps_the_order(onnx_cache: Path) -> None:
    onnx = OnnxEmbedder(onnx_cache, "fp32", batch_size=3)
    done: list[int] = []
    texts = [*TEXTS, ""]
    together = onnx.embed(texts, done.append)
    one_by_one = np.vstack([onnx.embed([text]) for text in texts])
    assert done == [3, 3, 1]
    assert np.allclose(together, one_by_one, atol=1e-4)
    assert onnx.embed([]).shape == (0, onnx.dimensions)


@pytest.mark.slow
def test_onnx_runtimes_idle_threads_sleep_rather_than_spin(onnx_cache: Path) -> None:
    """A spinning intra-op pool takes the cores search's own threads run on beside it."""
    for variant in ("fp32", "int8"):
        embedder = OnnxEmbedder(onnx_cache, variant, threads=2)
        options = embedder._session.get_session_options()
        assert options.get_session_config_entry(SPIN_SETTING) == "0"


def test_the_setting_chooses_the_backend(onnx_cache: Path, tmp_path: Path) -> None:
    env = {"HORIZON_EMBED_BACKEND": "onnx-int8", "HORIZON_CACHE_DIR": str(onnx_cache)}
    chosen = Runtime(load_settings(home=tmp_path, env=env)).embedder
    assert isinstance(chosen, OnnxEmbedder) and chosen.variant == "int8"
    assert chosen.graph.parent == onnx_cache / "onnx"
    fp32 = embedder_for(load_embedding_settings({**env, "HORIZON_EMBED_BACKEND": "ONNX"}))
    assert isinstance(fp32, OnnxEmbedder) and fp32.variant == "fp32"
    assert isinstance(Runtime(load_settings(home=tmp_path, env={})).embedder, MiniLMEmbedder)


@pytest.mark.slow
def test_default_embedder_reads_the_environment(
    onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HORIZON_EMBED_BACKEND", "onnx")
    monkeypatch.setenv("HORIZON_CACHE_DIR", str(onnx_cache))
    chosen = default_embedder()
    assert isinstance(chosen, OnnxEmbedder) and chosen.variant == "fp32"
    monkeypatch.delenv("HORIZON_EMBED_BACKEND")
    assert default_embedder() is torch_embedder()


def test_an_unknown_backend_is_one_plain_config_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(home=tmp_path, env={"HORIZON_EMBED_BACKEND": "tensorrt"})
    assert raised.value.problems == [
        "HORIZON_EMBED_BACKEND: 'tensorrt' is not an embedding backend; use torch, onnx or "
        "onnx-int8 (or leave it unset for torch)"
    ]


def test_a_command_stops_on_an_unknown_backend_with_that_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["search", "AI Act", "--home", str(tmp_path)],
        env={"HORIZON_EMBED_BACKEND": "tensorrt"},
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HORIZON_EMBED_BACKEND: 'tensorrt'" in lines[0]


def test_horizon_stops_on_an_unknown_backend_with_that_line_in_any_command(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "HORIZON_EMBED_BACKEND": "tensorrt", "PYTHONPATH": str(REPO)}
    command = ["briefing", "--from", "2026-01-01", "--to", "2026-03-31", "--home", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "HORIZON_EMBED_BACKEND: 'tensorrt'" in lines[0], result.stderr


def test_torch_is_the_default_and_the_cache_follows_the_environment(tmp_path: Path) -> None:
    assert load_embedding_settings({}).backend == "torch"
    assert load_embedding_settings({"HORIZON_CACHE_DIR": str(tmp_path)}).cache_dir == tmp_path
    xdg = load_embedding_settings({"XDG_CACHE_HOME": str(tmp_path)})
    assert xdg == EmbeddingSettings("torch", tmp_path / "horizon")


@pytest.mark.slow
def test_the_export_is_cached_and_reused(
    onnx_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = OnnxEmbedder(onnx_cache, "int8")
    built_at = first.graph.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="horizon.embed"):
        second = OnnxEmbedder(onnx_cache, "int8")
    assert second.graph == first.graph
    assert second.graph.stat().st_mtime_ns == built_at
    assert not [record for record in caplog.records if "Building" in record.getMessage()]
    assert sorted(path.suffix for path in (onnx_cache / "onnx").glob("*.onnx")) == [".onnx"] * 2
    assert not list((onnx_cache / "onnx").glob("*.tmp"))


def test_a_graph_is_keyed_by_the_weights_and_the_onnxruntime_version(tmp_path: Path) -> None:
    names = {
        graph_path(tmp_path, digest, version, variant).name
        for digest in ("a" * 64, "b" * 64)
        for version in ("1.32.0", "1.33.0")
        for variant in ("fp32", "int8")
    }
    assert len(names) == 8


def test_a_missing_onnxruntime_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ConfigError) as raised:
        OnnxEmbedder(tmp_path, "fp32")
    [problem] = raised.value.problems
    assert "'onnxruntime', which is not installed" in problem
    assert "pip install 'horizon-scan[onnx]'" in problem
    assert not (tmp_path / "onnx").exists()


def test_torch_idle_threads_spin_briefly_unless_the_user_chose_otherwise() -> None:
    unset: dict[str, str] = {}
    shorten_openmp_spin(unset)
    assert unset == {"GOMP_SPINCOUNT": OPENMP_SPIN_COUNT}
    for chosen in ({"GOMP_SPINCOUNT": "300000"}, {"OMP_WAIT_POLICY": "ACTIVE"}):
        environ = dict(chosen)
        shorten_openmp_spin(environ)
        assert environ == chosen


def test_the_torch_embedder_shortens_the_spin_before_torch_loads() -> None:
    """libgomp reads the spin count once, when torch loads it: the setting must come first."""
    script = (
        "import os, sys\n"
        "from horizon.embed import MiniLMEmbedder\n"
        "loaded_before = 'torch' in sys.modules\n"
        "MiniLMEmbedder()\n"
        "print(loaded_before, 'torch' in sys.modules, os.environ.get('GOMP_SPINCOUNT'))\n"
    )
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    shown = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert shown.stdout.split() == ["False", "True", OPENMP_SPIN_COUNT]


def test_a_single_text_gets_the_vector_the_library_gives_it_in_a_batch_of_one() -> None:
    """`embed` of one text (a search query) skips `encode`'s batching: the same vector."""
    embedder = torch_embedder()
    for text in [*TEXTS, ""]:
        expected = embedder.model.encode(
            [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        vector = embedder.embed([text])
        assert vector.shape == (1, embedder.dimensions) and vector.dtype == np.float32
        assert np.allclose(vector, expected, atol=1e-6)
    counted: list[int] = []
    embedder.embed(TEXTS[:1], on_progress=counted.append)
    assert counted == [1]
