"""`PassageIndex`: the stored passages of long items (`horizon.passages`) and BM25 over them, in
the run-state database. `passages` holds each passage's text under its item's id and number,
and `passage_text` is an FTS5 table over it kept in step by triggers; deleting an item deletes
its passages. The store writes an item's passages before the item itself
(`Store.save_items`), so a stored item always has them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from horizon.lexical.expressions import LexicalQuery
from horizon.lexical.index import (
    OVERFETCH,
    SNIPPET_CLOSE,
    SNIPPET_ELLIPSIS,
    SNIPPET_OPEN,
    SNIPPET_WORDS,
    ItemCondition,
    admitted,
    connection_for,
)
from horizon.state import StateDB, chunks

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    docid INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (item_id, number)
);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_text USING fts5(
    text, content = 'passages', content_rowid = 'docid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS passage_added AFTER INSERT ON passages BEGIN
    INSERT INTO passage_text (rowid, text) VALUES (new.docid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passage_removed AFTER DELETE ON passages BEGIN
    INSERT INTO passage_text (passage_text, rowid, text) VALUES ('delete', old.docid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_of_removed_item AFTER DELETE ON items BEGIN
    DELETE FROM passages WHERE item_id = old.id;
END;
"""


@dataclass(frozen=True)
class PassageMatch:
    """The best-matching passage of an item, by number, with its BM25 score."""

    item_id: str
    number: int
    score: float


class PassageIndex:
    """Full-text search over the passages in one state database, kept in step by triggers."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(SCHEMA)

    def counts(self, item_ids: Sequence[str]) -> dict[str, int]:
        """How many passages each of these items has stored (items without any are absent)."""
        counts: dict[str, int] = {}
        with self.state.connect() as connection:
            for chunk in chunks(item_ids, 500):
                marks = ",".join("?" * len(chunk))
                counts.update(
                    connection.execute(
                        f"SELECT item_id, COUNT(*) FROM passages WHERE item_id IN ({marks})"
                        " GROUP BY item_id",
                        chunk,
                    ).fetchall()
                )
        return counts

    def stored(self, item_ids: Sequence[str]) -> dict[str, list[str]]:
        """Each of these items' stored passage texts, in order (items without any are absent)."""
        found: dict[str, list[str]] = {}
        with self.state.connect() as connection:
            for chunk in chunks(item_ids, 500):
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT item_id, text FROM passages WHERE item_id IN ({marks})"
                    " ORDER BY item_id, number",
                    chunk,
                ).fetchall()
                for row in rows:
                    found.setdefault(row[0], []).append(row[1])
        return found

    def replace(self, passages: dict[str, list[str]]) -> None:
        """Make these items' stored passages exactly the given ones, in one transaction
        (idempotent: writing the same passages again changes nothing)."""
        with self.state.writing() as connection:
            for item_id, texts in passages.items():
                stored = connection.execute(
                    "SELECT text FROM passages WHERE item_id = ? ORDER BY number", (item_id,)
                ).fetchall()
                if [row[0] for row in stored] == texts:
                    continue
                connection.execute("DELETE FROM passages WHERE item_id = ?", (item_id,))
                connection.executemany(
                    "INSERT INTO passages (item_id, number, text) VALUES (?, ?, ?)",
                    [(item_id, number, text) for number, text in enumerate(texts)],
                )

    def search(
        self,
        query: LexicalQuery,
        limit: int,
        conditions: Sequence[ItemCondition] = (),
        connection: sqlite3.Connection | None = None,
    ) -> list[PassageMatch]:
        """The best-matching passage of each of up to `limit` items, best first, among items
        meeting every condition."""
        if query.expression is None or limit < 1:
            return []
        with connection_for(self.state, connection) as reading:
            rows = reading.execute(
                "SELECT p.item_id, p.number, best.rank FROM (SELECT rowid, bm25(passage_text)"
                " AS rank FROM passage_text WHERE passage_text MATCH ? ORDER BY rank LIMIT ?)"
                " best JOIN passages p ON p.docid = best.rowid ORDER BY best.rank",
                (query.expression, limit * (OVERFETCH if conditions else 3)),
            ).fetchall()
            best: dict[str, PassageMatch] = {}
            for item_id, number, rank in rows:
                best.setdefault(item_id, PassageMatch(item_id, int(number), -float(rank)))
            if conditions:
                passing = admitted(reading, list(best), conditions)
                best = {item_id: match for item_id, match in best.items() if item_id in passing}
        return list(best.values())[:limit]

    def texts(
        self, keys: Sequence[tuple[str, int]], connection: sqlite3.Connection | None = None
    ) -> dict[tuple[str, int], str]:
        """The stored text of each (item id, passage number) that exists, each looked up by
        its key (not every passage of the items)."""
        wanted = list(dict.fromkeys(keys))
        texts: dict[tuple[str, int], str] = {}
        with connection_for(self.state, connection) as reading:
            for chunk in chunks(wanted, 500):
                rows = reading.execute(
                    "WITH wanted (item_id, number) AS"
                    f" (VALUES {','.join(['(?, ?)'] * len(chunk))})"
                    " SELECT p.item_id, p.number, p.text FROM wanted w"
                    " JOIN passages p ON p.item_id = w.item_id AND p.number = w.number",
                    [value for key in chunk for value in key],
                )
                texts.update(((item_id, number), str(text)) for item_id, number, text in rows)
        return texts

    def snippets(
        self,
        query: LexicalQuery,
        keys: Sequence[tuple[str, int]],
        connection: sqlite3.Connection | None = None,
    ) -> dict[tuple[str, int], str]:
        """For each of these passages that matches the query, its matched words between
        `SNIPPET_OPEN` and `SNIPPET_CLOSE`."""
        if query.expression is None or not keys:
            return {}
        snippets: dict[tuple[str, int], str] = {}
        with connection_for(self.state, connection) as reading:
            for item_id, number in keys:
                row = reading.execute(
                    "SELECT snippet(passage_text, 0, ?, ?, ?, ?) FROM passage_text"
                    " WHERE passage_text MATCH ? AND rowid ="
                    " (SELECT docid FROM passages WHERE item_id = ? AND number = ?)",
                    (
                        SNIPPET_OPEN,
                        SNIPPET_CLOSE,
                        SNIPPET_ELLIPSIS,
                        SNIPPET_WORDS,
                        query.expression,
                        item_id,
                        number,
                    ),
                ).fetchone()
                if row is not None:
                    snippets[(item_id, number)] = str(row[0])
        return snippets
