"""Writes to and reads of the full-text tables while another connection creates tables, as
when `horizon web` first uses a module in a new home while a run stores items or searches."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from horizon.lexical import LexicalIndex, PassageIndex
from horizon.normalise import item_from_record
from horizon.state import StateDB

RACE_S = 1.5
LEAST_ROUNDS = 25  # however slow the machine: a loaded one made only 11 stores in RACE_S


class TableCreator:
    """Another connection creating tables back to back until stopped."""

    def __init__(self, state: StateDB) -> None:
        self.state, self.racing = state, True
        self.thread = threading.Thread(target=self._create)

    def _create(self) -> None:
        number = 0
        while self.racing:
            self.state.ensure_schema(f"CREATE TABLE IF NOT EXISTS module_{number} (value TEXT);")
            number += 1

    def __enter__(self) -> TableCreator:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.racing = False
        self.thread.join()


def test_items_and_passages_are_stored_while_another_connection_creates_tables(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    lexical, passages = LexicalIndex(state), PassageIndex(state)
    errors: list[BaseException] = []
    stored = 0
    with TableCreator(state):
        deadline = time.monotonic() + RACE_S
        while stored < LEAST_ROUNDS or time.monotonic() < deadline:
            item = item_from_record({"id": f"i{stored}", "title": f"AI rule {stored}"})
            try:
                state.save_new_items([item], datetime.now(UTC))
                passages.replace({item.id: [f"first part {stored}", f"second part {stored}"]})
            except Exception as error:  # what the race raised: "vtable constructor failed"
                errors.append(error)
            stored += 1

    assert errors == []
    assert lexical.count() == state.count_items() == stored


def test_items_and_passages_are_searched_while_another_connection_creates_tables(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    lexical, passages = LexicalIndex(state), PassageIndex(state)
    for number in range(30):
        item = item_from_record(
            {"id": f"i{number}", "title": f"AI rule {number}", "summary": "a rule on AI models"}
        )
        state.save_new_items([item], datetime.now(UTC))
        passages.replace({item.id: [f"first part {number}", f"records kept {number}"]})
    errors: list[BaseException] = []
    searched = 0
    with TableCreator(state):
        deadline = time.monotonic() + RACE_S
        while searched < LEAST_ROUNDS or time.monotonic() < deadline:
            try:  # this thread's kept reader, as a search uses it
                words = lexical.prepare("AI rule records")
                found = lexical.search(words, 10)
                snippets = lexical.snippets(words, [match.item_id for match in found])
                best = passages.search(words, 10)
                passages.snippets(words, [(match.item_id, match.number) for match in best])
                assert len(found) == len(snippets) == len(best) == 10
            except Exception as error:  # what the race raised: "vtable constructor failed"
                errors.append(error)
            searched += 1

    assert errors == []


def test_a_reading_block_sees_one_snapshot_and_the_next_block_sees_later_writes(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    first, second = (item_from_record({"id": name, "title": "AI rule"}) for name in "ab")
    state.save_new_items([first], datetime.now(UTC))
    with state.reading() as reading:
        assert state.count_items() == 1
        state.save_new_items([second], datetime.now(UTC))  # another connection's write
        assert reading.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1
        with state.reading() as nested:  # the same thread's block shares the outer snapshot
            assert nested.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1
    with state.reading() as reading:
        assert reading.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2
