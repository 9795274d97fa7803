"""The state database's kept read connections (`StateDB.reading`)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from horizon.state import StateDB


def test_a_thread_reads_through_one_kept_connection_that_sees_later_writes(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    with state.connect() as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with state.reading() as first:
        assert first.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    with state.connect() as connection:
        connection.execute("INSERT INTO notes VALUES ('written after the reader opened')")
    with state.reading() as again:
        assert again is first
        assert again.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 1


def test_the_kept_reader_refuses_writes(tmp_path: Path) -> None:
    state = StateDB(tmp_path / "state.db")
    with state.reading() as reader, pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("CREATE TABLE notes (text TEXT)")


def test_each_thread_has_its_own_reader_and_an_ended_threads_reader_is_closed(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    seen: list[sqlite3.Connection] = []

    def read() -> None:
        with state.reading() as reader:
            reader.execute("SELECT 1").fetchone()
            seen.append(reader)

    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    with state.reading() as mine:
        assert mine is not seen[0]
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        seen[0].execute("SELECT 1")
