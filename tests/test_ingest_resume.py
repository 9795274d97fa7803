"""`horizon ingest` of a large file commits in chunks: a kill loses at most the chunk in flight,
and a rerun completes the file without duplicates. Real processes, a real SIGKILL."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from horizon.cli.items import INGEST_CHUNK
from horizon.config import load_settings
from horizon.store import open_store

REPO = Path(__file__).resolve().parent.parent
HORIZON = [sys.executable, "-c", "from pipelines.cli import main; main()"]
BACKSTOP_S = 600
EXTRA = 40


def line(number: int) -> str:
    record = {
        "id": f"k{number:05d}",
        "title": f"Register entry {number}: incident report number {number * 7919 % 10007}",
        "summary": f"Filed under reference {number}.",
    }
    return json.dumps(record) + "\n"


def ingest(home: Path, jsonl: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*HORIZON, "ingest", "--jsonl", str(jsonl), "--json", "--home", str(home)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def open_writer(fifo: Path, process: subprocess.Popen[str]) -> int:
    """The write end of the pipe, once the ingest process has opened it for reading."""
    deadline = time.monotonic() + BACKSTOP_S
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "ingest never opened its input"
        time.sleep(0.05)


def stored_items(home: Path) -> int:
    database = home / "state.db"
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        try:
            return int(connection.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


@pytest.mark.slow
def test_a_killed_ingest_keeps_its_committed_chunk_and_a_rerun_completes_without_duplicates(
    tmp_path: Path,
) -> None:
    home, fifo, full = tmp_path / "home", tmp_path / "input.fifo", tmp_path / "all.jsonl"
    lines = [line(number) for number in range(INGEST_CHUNK + EXTRA)]
    full.write_text("".join(lines), encoding="utf-8")
    os.mkfifo(fifo)
    process = ingest(home, fifo)
    writer = open_writer(fifo, process)
    printed_lines: list[str] = []
    # The results are printed (and flushed) only after their chunk is committed: wait for
    # them, not for the rows, or the kill can land between the commit and the print.
    reader = threading.Thread(target=lambda: printed_lines.extend(process.stdout or []))
    reader.start()
    try:
        os.set_blocking(writer, True)
        # The first chunk and part of the second; the input stays open, so the second chunk
        # can never be complete: the process is killed while it waits for the rest.
        os.write(writer, "".join(lines).encode("utf-8"))
        deadline = time.monotonic() + BACKSTOP_S
        while len(printed_lines) < INGEST_CHUNK:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the first chunk's results were never printed"
            time.sleep(0.1)
        assert stored_items(home) == INGEST_CHUNK
        process.send_signal(signal.SIGKILL)
    finally:
        os.close(writer)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=BACKSTOP_S)
        reader.join(timeout=BACKSTOP_S)
        process.communicate(timeout=BACKSTOP_S)  # closes the pipes
    assert process.returncode == -signal.SIGKILL
    printed = [json.loads(row) for row in printed_lines]
    assert [row["status"] for row in printed] == ["new"] * INGEST_CHUNK
    store = open_store(load_settings(home=home, env={}))
    assert store.state.count_items() == store.index.count() == INGEST_CHUNK

    rerun = ingest(home, full)
    output, errors = rerun.communicate(timeout=BACKSTOP_S)
    assert rerun.returncode == 0, errors
    statuses = [json.loads(row)["status"] for row in output.splitlines()]
    assert statuses == ["unchanged"] * INGEST_CHUNK + ["new"] * EXTRA
    assert store.state.count_items() == store.index.count() == INGEST_CHUNK + EXTRA
    assert sorted(store.index.ids()) == [f"k{number:05d}" for number in range(len(lines))]
