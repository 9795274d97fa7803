"""Shared fixtures: where ../shared is, a fresh home, and small working fakes for unit tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import pytest

from horizon.config import Settings, load_settings
from horizon.embed import HashingEmbedder
from horizon.item import ControlTag, Item, Tags
from horizon.store import COLLECTION, Store, open_store

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

# Prefect reads its settings when first imported: keep its data out of the user's home, and
# keep it quiet and offline, before any test module imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="horizon-tests-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture
def shared() -> Path:
    """../shared, or a clean skip where a checkout does not have it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present in this checkout")
    return SHARED


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", env={})


CHROMA_MODES = ("embedded", "chroma-server")
SERVER_START_BACKSTOP_S = 90.0


def free_port() -> int:
    """A port nothing listens on now: the system picks it when we bind port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a child we started, and kill it if it does not stop."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class ChromaServer:
    url: str
    path: Path

    def empty(self, settings: Settings) -> Settings:
        """`settings` pointed at this server, whose collection is dropped for a fresh test."""
        response = httpx.delete(
            f"{self.url}/api/v2/tenants/default_tenant/databases/default_database/"
            f"collections/{COLLECTION}",
            timeout=30.0,
        )
        assert response.status_code in (200, 404), response.text
        return replace(settings, chroma_url=self.url)


def close_chroma_connections() -> None:
    """Chroma's HTTP client keeps one connection pool per server for the life of the process
    (closing a client does not close it); close them before the server goes."""
    from chromadb.api.fastapi import FastAPI
    from chromadb.api.shared_system_client import SharedSystemClient

    for system in SharedSystemClient._identifier_to_system.values():
        for component in system._instances.values():
            if isinstance(component, FastAPI):
                component._session.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A real `chroma run` on a free loopback port for the whole session, stopped at the end."""
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        pytest.skip(f"the chroma server script is not next to {sys.executable}")
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = path.parent / f"{path.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + SERVER_START_BACKSTOP_S
            while True:
                assert process.poll() is None, log_path.read_text(errors="replace")
                try:
                    if httpx.get(f"{url}/api/v2/heartbeat", timeout=2.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)
            yield ChromaServer(url=url, path=path)
        finally:
            close_chroma_connections()
            stop_process(process)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `chroma_modes` run twice: on the embedded index and on a Chroma server."""
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("chroma_modes"):
        metafunc.parametrize("store", CHROMA_MODES, indirect=True)


@pytest.fixture
def store(settings: Settings, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A store in a fresh home: embedded Chroma, or a real Chroma server where parametrised."""
    if getattr(request, "param", "embedded") != "chroma-server":
        yield open_store(settings)
        return
    server: ChromaServer = request.getfixturevalue("chroma_server")
    yield open_store(server.empty(settings))


class KeywordTagger:
    """A working stand-in for the classifier in unit tests: 'AI' in the text makes an item
    relevant to AI-POLICY, with the first sentence as evidence."""

    def classify(self, items: Sequence[Item], embeddings: np.ndarray | None = None) -> list[Tags]:
        tags = []
        for item in items:
            relevant = " AI " in f" {item.text()} ".replace(".", " ")
            controls = (
                [ControlTag(id="AI-POLICY", score=0.9, evidence=item.title)] if relevant else []
            )
            tags.append(
                Tags(
                    relevant=relevant,
                    controls=controls,
                    themes=["governance"] if relevant else [],
                    type="guidance",
                    jurisdiction=item.source_jurisdiction or "GLOBAL",
                )
            )
        return tags


@pytest.fixture
def tagger() -> KeywordTagger:
    return KeywordTagger()


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()
