"""Full-text search over stored items with SQLite FTS5 (BM25), inside the run-state database.

The index lives in `state.db` beside the `items` table and is kept in step with it by triggers:
every insert, text change or delete of an item, by any code that writes `items`, updates the
index in the same transaction, so the two can never disagree after a crash.

Layout: `search_rows` gives each item a stable integer document id (an `INTEGER PRIMARY KEY`,
which `VACUUM` never renumbers, unlike the implicit rowid of `items`); the view
`search_documents` joins it to the item's text; `search_text` is an external-content FTS5 table
over that view, so the text is stored once, in `items`. Title, summary (the extracted text) and
publisher are indexed as separate columns so that BM25 can weight them differently.

Long items are also indexed passage by passage (`horizon.passages`): `passages` holds each
passage's text under the item's id and its number, and `passage_text` is an FTS5 table over it,
kept in step by triggers; deleting an item deletes its passages. The store writes an item's
passages before the item itself (`Store.save_items`), so a stored item always has them.

Queries are written for people, not for FTS5 syntax: `match_expression` turns free text into
a safe FTS5 expression (stop words dropped, every other word optional, identifiers such as
"M-24-10", "SB 53" or "ISO/IEC 42005" also sought as exact phrases, the domain's abbreviations
also sought spelled out and the other way round).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from horizon.state import StateDB, chunks

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

# BM25 weight of a match in each indexed column. The publisher's name counts half: it helps
# "ICO consultation …" find the ICO's items without every ICO item matching the word "ICO" as
# strongly as one that is about it. A heavier title (2x, 3x) measured no better on the dev
# queries (evaluation/search.py), so title and summary count alike.
TITLE_WEIGHT = 1.0
SUMMARY_WEIGHT = 1.0
PUBLISHER_WEIGHT = 0.5
WEIGHTS = (TITLE_WEIGHT, SUMMARY_WEIGHT, PUBLISHER_WEIGHT)

# With filters, rank this many times the candidates wanted without them, then keep those that
# pass (see `LexicalIndex._search`; `horizon.search` does the same in Chroma).
OVERFETCH = 10

# Highlight markers FTS5 puts around matched words in snippets (see `horizon.search`).
SNIPPET_OPEN = "\u27e6"
SNIPPET_CLOSE = "\u27e7"
SNIPPET_ELLIPSIS = "…"
SNIPPET_WORDS = 24

# About how many items one query may have scored by BM25. Scoring is what a full-text query
# costs (about a microsecond an item, so 100k items matching "notice" cost 100 ms); the words
# that push a query past this are its most common ones, whose inverse document frequency, and
# so their part of any score, is the smallest. On an index of a few thousand items a query
# hardly ever reaches it (on the evaluation corpus it changed no result); on 100k items it
# keeps the median query within 1.5x of a plain vector search (bench/README.md). When even a
# query's rarest word matches more items than this ("Notice of Closed Meeting" on 1M Federal
# Register items), the query requires all its words instead: scoring every item with the
# rarest of them took half a second, the items with all of them a tenth of that.
POSTINGS_BUDGET = 3000
# How many clauses' match counts are remembered between two additions to the index.
COUNTS_KEPT = 20_000

STOP_WORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "something",
        "anything",
        "whether",
        "via",
        "per",
        "also",
        "get",
        "gets",
        "got",
    )
)

# Abbreviations the domain writes both ways; a query with either form also seeks the other.
ABBREVIATIONS: dict[str, str] = {
    "ai": "artificial intelligence",
    "gpai": "general purpose ai",
    "genai": "generative ai",
    "llm": "large language model",
    "llms": "large language models",
    "ml": "machine learning",
    "eo": "executive order",
    "gdpr": "general data protection regulation",
    "dpia": "data protection impact assessment",
}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# An identifier: a run of words and numbers joined by - / . or spaces that contains a digit,
# led by a word in capitals or a capitalised word ("SB 53", "Article 50", "M-24-10",
# "ISO/IEC 42005", "Opinion 28/2024", "NIST AI 800-1"), or a bare number with separators.
_IDENTIFIER = re.compile(
    r"(?:\b[A-Z]\w*(?:[ /-][A-Z]\w*)*[ /-]?)?\b\d\w*(?:[./-]\w+)*",
)


@dataclass(frozen=True)
class LexicalMatch:
    """An item the full-text engine matched, with its BM25 score (higher is better)."""

    item_id: str
    score: float


@dataclass(frozen=True)
class PassageMatch:
    """The best-matching passage of an item, by number, with its BM25 score."""

    item_id: str
    number: int
    score: float


@dataclass(frozen=True)
class LexicalQuery:
    """Free text and the FTS5 expression it runs as (None when it has no searchable word)."""

    text: str
    expression: str | None


@dataclass(frozen=True)
class ItemCondition:
    """A SQL condition on the `items` row aliased `i`, with its parameters; filters arrive as
    these so that the full-text engine applies them inside its own query."""

    sql: str
    parameters: tuple[Any, ...] = field(default_factory=tuple)


def query_words(query: str) -> list[str]:
    """The words of a query that carry meaning: lower-cased, stop words dropped, in order."""
    return [word for word in _WORD.findall(query.lower()) if word not in STOP_WORDS]


def identifier_phrases(query: str) -> list[list[str]]:
    """Identifiers in the query as word sequences, each to be found as an exact phrase."""
    phrases = []
    for found in _IDENTIFIER.finditer(query):
        words = _WORD.findall(found.group(0).lower())
        if len(words) > 1:
            phrases.append(words)
    return phrases


def _other_forms(query: str) -> list[str]:
    """The other written form of each domain abbreviation (or of its long form) in the query,
    added as one more optional phrase: query expansion, so an item that spells the name out in
    full ("artificial intelligence practices") is found by "AI" too."""
    words = _WORD.findall(query.lower())
    text = " " + " ".join(words) + " "
    forms = []
    for short, long in ABBREVIATIONS.items():
        if short in words:
            forms.append(_quoted(long.split()))
        elif f" {long} " in text:
            forms.append(_quoted([short]))
    return forms


def _quoted(words: Iterable[str]) -> str:
    return '"' + " ".join(word.replace('"', '""') for word in words) + '"'


def search_words(query: str) -> list[str]:
    """The distinct words a query is searched by: its meaningful words, or, when it has only
    stop words ("what is this"), those."""
    return list(dict.fromkeys(query_words(query) or _WORD.findall(query.lower())))


def optional_clauses(query: str) -> list[str]:
    """The query's words and the other forms of its abbreviations, each as an FTS5 phrase."""
    return list(
        dict.fromkeys([_quoted([word]) for word in search_words(query)] + _other_forms(query))
    )


def match_expression(
    query: str, left_out: Collection[str] = (), every_word: bool = False
) -> str | None:
    """A safe FTS5 expression for free text, or None when the query has no searchable word.

    Every word is optional (OR), so an item matching most of them ranks high without having to
    match all; each identifier is added again as a phrase, so an exact "SB 53" ranks above an
    item that merely mentions SB and 53 apart. Clauses in `left_out` (see
    `LexicalIndex.prepare`) are dropped, unless nothing else would be left. With `every_word`
    the words are required together instead (AND), their other forms left out.
    """
    optional = optional_clauses(query)
    if not optional:
        return None
    if every_word:
        kept = ["(" + " AND ".join(_quoted([word]) for word in search_words(query)) + ")"]
    else:
        kept = [clause for clause in optional if clause not in left_out] or optional
    identifiers = [_quoted(phrase) for phrase in identifier_phrases(query)]
    return " OR ".join(dict.fromkeys(kept + identifiers))


def _beyond_budget(clauses: Sequence[str], counts: Mapping[str, int]) -> set[str]:
    """The most common clauses, left out so that at most about `POSTINGS_BUDGET` items are
    scored: clauses are taken rarest first while the items they match add up to no more than
    the budget (the rarest is always kept). On a small index nothing is left out."""
    left_out: set[str] = set()
    scored = 0
    for rank, clause in enumerate(sorted(clauses, key=counts.__getitem__)):
        if rank > 0 and scored + counts[clause] > POSTINGS_BUDGET:
            left_out.add(clause)
        else:
            scored += counts[clause]
    return left_out


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
        with self.state.connect() as connection:
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

    @contextmanager
    def _reading(self, connection: sqlite3.Connection | None) -> Iterator[sqlite3.Connection]:
        """The caller's connection, or this thread's kept reader (`StateDB.reading`): opening a
        connection costs about a millisecond, and a search makes seven reads."""
        if connection is not None:
            yield connection
        else:
            with self.state.reading() as opened:
                yield opened

    def prepare(self, text: str, connection: sqlite3.Connection | None = None) -> LexicalQuery:
        """Free text as this index will run it, leaving out the most common words when the
        index is large (see `POSTINGS_BUDGET`), or requiring every word when even the rarest
        is common; prepare once to search and then make snippets with the same words."""
        clauses = optional_clauses(text)
        if not clauses:
            return LexicalQuery(text, None)
        with self._reading(connection) as reading:
            counts = self._matching_counts(reading, clauses)
        if min(counts.values()) > POSTINGS_BUDGET and len(search_words(text)) > 1:
            return LexicalQuery(text, match_expression(text, every_word=True))
        return LexicalQuery(text, match_expression(text, _beyond_budget(clauses, counts)))

    def search(
        self,
        query: str | LexicalQuery,
        limit: int,
        conditions: Sequence[ItemCondition] = (),
        connection: sqlite3.Connection | None = None,
    ) -> list[LexicalMatch]:
        """The `limit` best BM25 matches for the query among items meeting every condition,
        best first."""
        with self._reading(connection) as reading:
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
                [value for clause in missing for value in (clause, POSTINGS_BUDGET + 1)],
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
        with self._reading(connection) as reading:
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

    # ----- passages ----------------------------------------------------------------------

    def passage_counts(self, item_ids: Sequence[str]) -> dict[str, int]:
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

    def stored_passages(self, item_ids: Sequence[str]) -> dict[str, list[str]]:
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

    def replace_passages(self, passages: dict[str, list[str]]) -> None:
        """Make these items' stored passages exactly the given ones, in one transaction
        (idempotent: writing the same passages again changes nothing)."""
        with self.state.connect() as connection:
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

    def search_passages(
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
        with self._reading(connection) as reading:
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

    def passage_texts(
        self, keys: Sequence[tuple[str, int]], connection: sqlite3.Connection | None = None
    ) -> dict[tuple[str, int], str]:
        """The stored text of each (item id, passage number) that exists, each looked up by
        its key (not every passage of the items)."""
        wanted = list(dict.fromkeys(keys))
        texts: dict[tuple[str, int], str] = {}
        with self._reading(connection) as reading:
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

    def passage_snippets(
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
        with self._reading(connection) as reading:
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
