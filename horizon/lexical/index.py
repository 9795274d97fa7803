"""`LexicalIndex`: BM25 over the stored items, in FTS5 tables of the run-state database kept in
step with the `items` table by triggers (see `horizon.lexical`), with filters applied as SQL
conditions and snippets that mark the matched words."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from horizon.lexical import expressions
from horizon.lexical.expressions import (
    LexicalQuery,
    budgeted_query,
    match_expression,
    optional_clauses,
)
from horizon.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_rows (
    docid INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL UNIQUE
);
CREATE VIEW IF NOT EXISTS search_documents AS
    SELECT r.docid AS docid, i.title AS title, i.summary AS summary, i.publisher AS publisher
    FROM search_rows r JOIN items i ON i.id = r.item_id;
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(
    title, summary, publisher,
    content = 'search_documents', content_rowid = 'docid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS search_item_added AFTER INSERT ON items BEGIN
    INSERT INTO search_rows (item_id) VALUES (new.id) ON CONFLICT (item_id) DO NOTHING;
    INSERT INTO search_text (rowid, title, summary, publisher)
        SELECT docid, new.title, new.summary, new.publisher
        FROM search_rows WHERE item_id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS search_item_changed AFTER UPDATE OF title, summary, publisher
ON items
WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary
    OR old.publisher IS NOT new.publisher
BEGIN
    INSERT INTO search_text (search_text, rowid, title, summary, publisher)
        SELECT 'delete', docid, old.title, old.summary, old.publisher
        FROM search_rows WHERE item_id = old.id;
    INSERT INTO search_text (rowid, title, summary, publisher)
        SELECT docid, new.title, new.summary, new.publisher
        FROM search_rows WHERE item_id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS search_item_removed AFTER DELETE ON items BEGIN
    INSERT INTO search_text (search_text, rowid, title, summary, publisher)
        SELECT 'delete', docid, old.title, old.summary, old.publisher
        FROM search_rows WHERE item_id = old.id;
    DELETE FROM search_rows WHERE item_id = old.id;
END;
"""

# BM25 weight of a match in each indexed column. The publisher's name counts half: it helps
# "ICO consultation …" find the ICO's items without every ICO item matching the word "ICO" as
# strongly as one that is about it. A heavier title (2x, 3x) measured no better on the dev
# queries (evaluation/search.py), so title and summary count alike.
TITLE_WEIGHT = 1.0
SUMMARY_WEIGHT = 1.0
PUBLISHER_WEIGHT = 0.5
WEIGHTS = (TITLE_WEIGHT, SUMMARY_WEIGHT, PUBLISHER_WEIGHT)

# How many clauses' match counts are remembered between two additions to the index.
COUNTS_KEPT = 20_000

# With filters, rank this many times the candidates wanted without them, then keep those that
# pass (see `LexicalIndex._search`; `horizon.search` does the same in Chroma).
OVERFETCH = 10

# Highlight markers FTS5 puts around matched words in snippets (see `horizon.search`).
SNIPPET_OPEN = "\u27e6"
SNIPPET_CLOSE = "\u27e7"
SNIPPET_ELLIPSIS = "…"
SNIPPET_WORDS = 24


@dataclass(frozen=True)
class LexicalMatch:
    """An item the full-text engine matched, with its BM25 score (higher is better)."""

    item_id: str
    score: float


@dataclass(frozen=True)
class ItemCondition:
    """A SQL condition on the `items` row aliased `i`, with its parameters; filters arrive as
    these so that the full-text engine applies them inside its own query."""

    sql: str
    parameters: tuple[Any, ...] = field(default_factory=tuple)


def admitted(
    connection: sqlite3.Connection, item_ids: Sequence[str], conditions: Sequence[ItemCondition]
) -> set[str]:
    """Which of these stored items meet every condition."""
    if not item_ids:
        return set()
    where, parameters = _condition_sql(conditions)
    marks = ",".join("?" * len(item_ids))
    rows = connection.execute(
        f"SELECT i.id FROM items i WHERE i.id IN ({marks}){where}", (*item_ids, *parameters)
    )
    return {row[0] for row in rows}


def _condition_sql(conditions: Sequence[ItemCondition]) -> tuple[str, list[Any]]:
    if not conditions:
        return "", []
    sql = "".join(f" AND ({condition.sql})" for condition in conditions)
    parameters = [value for condition in conditions for value in condition.parameters]
    return sql, parameters


@contextmanager
def connection_for(
    state: StateDB, connection: sqlite3.Connection | None
) -> Iterator[sqlite3.Connection]:
    """The caller's connection, or this thread's kept reader of `state` (`StateDB.reading`):
    opening a connection costs about a millisecond, and a search makes seven reads."""
    if connection is not None:
        yield connection
    else:
        with state.reading() as opened:
            yield opened


class LexicalIndex:
    """BM25 search over the items in one state database, kept in step by triggers."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        self._counts: dict[str, int] = {}
        self._counted_at: int | None = None
        state.ensure_schema(SCHEMA)
        self._catch_up()

    def _catch_up(self) -> None:
        """Index items written before the triggers existed (a database from an older version,
        or one another process created without this module). Counting both tables is cheap;
        the full comparison runs only when they differ."""
        with self.state.connect() as connection:
            items, indexed = connection.execute(
                "SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM search_rows)"
            ).fetchone()
        if items != indexed:
            self.rebuild()

    def rebuild(self) -> None:
        """Re-read every item's text into the index (after a restore from backup, say)."""
        with self.state.writing() as connection:
            connection.execute(
                "DELETE FROM search_rows WHERE item_id NOT IN (SELECT id FROM items)"
            )
            connection.execute(
                "INSERT INTO search_rows (item_id) SELECT id FROM items "
                "WHERE id NOT IN (SELECT item_id FROM search_rows)"
            )
            connection.execute("INSERT INTO search_text (search_text) VALUES ('rebuild')")

    def count(self) -> int:
        with self.state.connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM search_rows").fetchone()[0])

    def prepare(self, text: str, connection: sqlite3.Connection | None = None) -> LexicalQuery:
        """Free text as this index will run it (`expressions.budgeted_query`: the most common
        words left out when the index is large); prepare once to search and then make snippets
        with the same words."""
        clauses = optional_clauses(text)
        if not clauses:
            return LexicalQuery(text, None)
        with connection_for(self.state, connection) as reading:
            return budgeted_query(text, self._matching_counts(reading, clauses))

    def search(
        self,
        query: str | LexicalQuery,
        limit: int,
        conditions: Sequence[ItemCondition] = (),
        connection: sqlite3.Connection | None = None,
    ) -> list[LexicalMatch]:
        """The `limit` best BM25 matches for the query among items meeting every condition,
        best first."""
        with connection_for(self.state, connection) as reading:
            prepared = query if isinstance(query, LexicalQuery) else self.prepare(query, reading)
            if prepared.expression is None or limit < 1:
                return []
            return self._search(reading, prepared.expression, limit, conditions)

    def _matching_counts(
        self, connection: sqlite3.Connection, clauses: Sequence[str]
    ) -> dict[str, int]:
        """How many items each clause matches, counted up to just past the budget (so asking
        costs far less than scoring). Counts are kept until an item is added, as a search
        engine keeps document frequencies in its term dictionary; FTS5 has no such lookup."""
        highest = connection.execute("SELECT MAX(docid) FROM search_rows").fetchone()[0]
        if highest != self._counted_at or len(self._counts) > COUNTS_KEPT:
            self._counts, self._counted_at = {}, highest
        known = self._counts
        missing = [clause for clause in clauses if clause not in known]
        if missing:
            probes = ", ".join(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM search_text WHERE search_text MATCH ?"
                " LIMIT ?))"
                for _ in missing
            )
            found = connection.execute(
                f"SELECT {probes}",
                [
                    value
                    for clause in missing
                    for value in (clause, expressions.POSTINGS_BUDGET + 1)
                ],
            ).fetchone()
            known.update(zip(missing, found, strict=True))
        return {clause: known[clause] for clause in clauses}

    def _search(
        self,
        connection: sqlite3.Connection,
        expression: str,
        limit: int,
        conditions: Sequence[ItemCondition],
    ) -> list[LexicalMatch]:
        """Best first. With conditions, the best `OVERFETCH` times as many are ranked without
        them and then checked: when enough pass, they are exactly the best that meet the
        conditions, found without joining every match to its item; otherwise (a narrow
        filter) the conditions go into the full-text query itself."""
        if not conditions:
            return self._ranked(connection, expression, limit)
        wide = self._ranked(connection, expression, limit * OVERFETCH)
        passing = admitted(connection, [match.item_id for match in wide], conditions)
        kept = [match for match in wide if match.item_id in passing]
        if len(kept) >= limit or len(wide) < limit * OVERFETCH:
            return kept[:limit]
        where, parameters = _condition_sql(conditions)
        rows = connection.execute(
            "SELECT r.item_id, bm25(search_text, ?, ?, ?) AS rank"
            " FROM search_text JOIN search_rows r ON r.docid = search_text.rowid"
            " JOIN items i ON i.id = r.item_id"
            f" WHERE search_text MATCH ?{where} ORDER BY rank LIMIT ?",
            (*WEIGHTS, expression, *parameters, limit),
        )
        return [LexicalMatch(row[0], -float(row[1])) for row in rows]

    def _ranked(
        self, connection: sqlite3.Connection, expression: str, limit: int
    ) -> list[LexicalMatch]:
        # Rank inside the full-text table first, then look up ids for the few kept: a join
        # before the LIMIT would look up every matching item.
        rows = connection.execute(
            "SELECT r.item_id, best.rank FROM (SELECT rowid, bm25(search_text, ?, ?, ?) AS rank"
            " FROM search_text WHERE search_text MATCH ? ORDER BY rank LIMIT ?) best"
            " JOIN search_rows r ON r.docid = best.rowid ORDER BY best.rank",
            (*WEIGHTS, expression, limit),
        )
        return [LexicalMatch(row[0], -float(row[1])) for row in rows]

    def snippets(
        self,
        query: str | LexicalQuery,
        item_ids: Sequence[str],
        connection: sqlite3.Connection | None = None,
    ) -> dict[str, str]:
        """For each of these items that matches the query, the best passage of its summary
        (of its title when it has no summary) with the matched words between `SNIPPET_OPEN`
        and `SNIPPET_CLOSE`."""
        expression = (
            query.expression if isinstance(query, LexicalQuery) else match_expression(query)
        )
        if expression is None or not item_ids:
            return {}
        marks = ",".join("?" * len(item_ids))
        with connection_for(self.state, connection) as reading:
            documents = dict(
                reading.execute(
                    f"SELECT docid, item_id FROM search_rows WHERE item_id IN ({marks})", item_ids
                ).fetchall()
            )
            rows = reading.execute(
                "SELECT rowid, snippet(search_text,"
                " CASE WHEN search_text.summary = '' THEN 0 ELSE 1 END, ?, ?, ?, ?)"
                " FROM search_text WHERE search_text MATCH ?"
                f" AND rowid IN ({','.join('?' * len(documents))})",
                (
                    SNIPPET_OPEN,
                    SNIPPET_CLOSE,
                    SNIPPET_ELLIPSIS,
                    SNIPPET_WORDS,
                    expression,
                    *documents,
                ),
            )
            return {documents[row[0]]: row[1] for row in rows}
