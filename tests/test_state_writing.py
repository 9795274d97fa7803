"""Writes to the tables with full-text triggers while another connection creates tables, as
when `horizon web` first uses a module in a new home while a run stores items."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from horizon.lexical import LexicalIndex, PassageIndex
from horizon.normalise import item_from_record
from horizon.state import StateDB

RACE_S = 1.5


def test_items_and_passages_are_stored_while_another_connection_creates_tables(
    tmp_path: Path,
) -> None:
    state = StateDB(tmp_path / "state.db")
    lexical, passages = LexicalIndex(state), PassageIndex(state)
    errors: list[BaseException] = []
    racing = True

    def create_tables() -> None:
        number = 0
        while racing:
            state.ensure_schema(f"CREATE TABLE IF NOT EXISTS module_{number} (value TEXT);")
            number += 1

    creator = threading.Thread(target=create_tables)
    creator.start()
    stored = 0
    try:
        deadline = time.monotonic() + RACE_S
        while time.monotonic() < deadline:
            item = item_from_record({"id": f"i{stored}", "title": f"AI rule {stored}"})
            try:
                state.save_new_items([item], datetime.now(UTC))
                passages.replace({item.id: [f"first part {stored}", f"second part {stored}"]})
            except Exception as error:  # what the race raised: "vtable constructor failed"
                errors.append(error)
            stored += 1
    finally:
        racing = False
        creator.join()

    assert errors == []
    assert stored > 20 and lexical.count() == state.count_items() == stored
