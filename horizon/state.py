"""Run state in one embedded SQLite database: items, who reported them, sources' health, runs.

The vector index (Chroma) holds embeddings for search; this database is the record of what was
seen, when, from where, and how each source fared. Every write is one transaction, and the
database runs in WAL mode with a busy timeout, so a reader (the web workspace, a digest) and a
running flow can work at the same time, and a run killed mid-way leaves it consistent.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from horizon.fetch import FetchOutcome, Validators
from horizon.item import Item, Tags

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    url TEXT,
    publisher TEXT NOT NULL,
    published TEXT,
    published_precision TEXT NOT NULL DEFAULT 'day',
    source TEXT,
    source_category TEXT,
    source_jurisdiction TEXT,
    content_hash TEXT NOT NULL,
    deadline_hint TEXT,
    effective_hint TEXT,
    tags TEXT,
    relevant INTEGER,
    type TEXT,
    jurisdiction TEXT,
    deadline TEXT,
    effective TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_published ON items(published);
CREATE INDEX IF NOT EXISTS items_first_seen ON items(first_seen);
CREATE INDEX IF NOT EXISTS items_url ON items(url);

CREATE TABLE IF NOT EXISTS reports (
    reported_id TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    item_id TEXT NOT NULL REFERENCES items(id),
    publisher TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    how TEXT NOT NULL,
    PRIMARY KEY (reported_id, source)
);
CREATE INDEX IF NOT EXISTS reports_item ON reports(item_id);
CREATE INDEX IF NOT EXISTS reports_url ON reports(url);

CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    last_checked TEXT,
    last_outcome TEXT,
    last_http_status INTEGER,
    last_error TEXT,
    last_ok TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT
);

CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mode TEXT NOT NULL,
    as_of TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    summary TEXT
);

CREATE TABLE IF NOT EXISTS source_checks (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    entries INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    elapsed_s REAL NOT NULL DEFAULT 0,
    checked_at TEXT NOT NULL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    warning TEXT,
    PRIMARY KEY (run_id, source)
);
"""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Report:
    """One source's report of an item; `item_id` is the canonical item it was folded into."""

    reported_id: str
    item_id: str
    source: str | None
    publisher: str
    url: str | None
    title: str
    content_hash: str
    how: str


@dataclass
class StoredItem:
    """An item as stored, with every report of it and when Horizon first and last saw it."""

    item: Item
    first_seen: datetime
    last_seen: datetime
    reports: list[Report] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted({report.source for report in self.reports if report.source})

    @property
    def other_reports(self) -> list[Report]:
        return [report for report in self.reports if report.how != "original"]


@dataclass(frozen=True)
class SourceHealth:
    source: str
    last_checked: datetime | None
    last_outcome: str | None
    last_http_status: int | None
    last_error: str | None
    last_ok: datetime | None
    consecutive_failures: int
    failing_since: datetime | None


@dataclass(frozen=True)
class SourceCheck:
    """How one source fared in one run."""

    run_id: int
    source: str
    outcome: str
    http_status: int | None
    error: str | None
    entries: int
    new: int
    duplicate: int
    unchanged: int
    elapsed_s: float
    checked_at: datetime
    consecutive_failures: int
    warning: str | None = None


@dataclass(frozen=True)
class IngestCounts:
    entries: int = 0
    new: int = 0
    duplicate: int = 0
    unchanged: int = 0


class StateDB:
    """Access to the state database; each method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._readers = threading.local()
        self._kept_readers: list[_KeptReader] = []
        self._kept_lock = threading.Lock()
        weakref.finalize(self, _close_all, self._kept_readers)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        self.ensure_schema(SCHEMA)
        self.add_missing_columns("source_checks", {"warning": "TEXT"})

    def add_missing_columns(self, table: str, columns: Mapping[str, str]) -> None:
        """Add the columns (name: SQL definition) that a home made by an older version lacks:
        `CREATE TABLE IF NOT EXISTS` leaves an existing table as it was."""
        with self.connect() as connection:
            present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
            for column, definition in columns.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def ensure_schema(self, script: str) -> None:
        """Create tables and indexes (idempotent `CREATE ... IF NOT EXISTS` statements)."""
        with self.connect() as connection:
            connection.executescript(script)

    def open_connection(self, check_same_thread: bool = True) -> sqlite3.Connection:
        """A connection set up like `connect`'s, for a caller that holds it and closes it."""
        connection = sqlite3.connect(self.path, timeout=30.0, check_same_thread=check_same_thread)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the shared database (WAL, 30 s busy timeout, foreign keys on).

        Other modules that keep their own tables in this database (search, workspace) use it
        too, so every writer waits politely instead of failing with "database is locked".
        """
        connection = self.open_connection()
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its start (`BEGIN
        IMMEDIATE`), for statements on tables with full-text triggers (items, passages).

        Preparing such a statement connects the FTS5 table its triggers write to; if another
        connection creates a table at that moment (a module's first use in a new home, say
        `horizon web` serving while a run stores items), SQLite fails the statement with
        "vtable constructor failed". Under the write lock no other connection can change the
        schema, so the statement is prepared against a schema that holds still."""
        connection = self.open_connection()
        connection.isolation_level = None  # the transaction is begun and ended here
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection kept open for this thread between uses, for read paths that
        run often (a search), with one snapshot of the database for the whole block.

        A new connection starts with its page cache empty and the schema unread, and opening,
        warming and closing one cost a search about a millisecond. Writes are refused
        (`query_only`). A forked child opens its own rather than use its parent's.

        The block reads inside one read transaction, begun here, so every statement in it sees
        the same committed data and the same schema. This is what lets full-text reads run
        while another connection creates tables (a module's first use in a home, say
        `horizon web` opening a page while a run searches): preparing a statement on an FTS5
        table connects that table with reads of its own, and outside a transaction a schema
        changed between the two makes SQLite fail it with "vtable constructor failed". A
        `reading` block nested in another on the same thread shares the outer snapshot."""
        kept: _KeptReader | None = getattr(self._readers, "kept", None)
        if kept is None or kept.pid != os.getpid():
            connection = self.open_connection(check_same_thread=False)
            connection.execute("PRAGMA query_only=ON")
            kept = self._readers.kept = _KeptReader(
                os.getpid(), threading.current_thread(), connection
            )
            with self._kept_lock:
                _close_all(self._kept_readers, only_finished_threads=True)
                self._kept_readers.append(kept)
        connection = kept.connection
        if connection.in_transaction:
            yield connection
            return
        connection.execute("BEGIN")
        try:
            connection.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()  # the snapshot
            yield connection
        finally:
            connection.execute("COMMIT")

    # ----- items and reports -------------------------------------------------------------

    def known_reports(self, items: Iterable[Item]) -> dict[tuple[str, str], Report]:
        """Reports already stored for these items, keyed by (reported id, source)."""
        ids = list({item.id for item in items})
        found: dict[tuple[str, str], Report] = {}
        with self.connect() as connection:
            for chunk in chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT * FROM reports WHERE reported_id IN ({marks})", chunk
                )
                found.update({(row["reported_id"], row["source"]): _report(row) for row in rows})
        return found

    def items_by_url(self, urls: Iterable[str]) -> dict[str, str]:
        """Canonical URL -> the item id any report with that URL was folded into."""
        wanted = [url for url in set(urls) if url]
        found: dict[str, str] = {}
        with self.connect() as connection:
            for chunk in chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT url, item_id FROM reports WHERE url IN ({marks})", chunk
                )
                found.update({row["url"]: row["item_id"] for row in rows})
        return found

    def get_items(self, ids: Iterable[str]) -> dict[str, StoredItem]:
        wanted = list(dict.fromkeys(ids))
        items: dict[str, StoredItem] = {}
        with self.connect() as connection:
            for chunk in chunks(wanted, 500):
                marks = ",".join("?" * len(chunk))
                for row in connection.execute(f"SELECT * FROM items WHERE id IN ({marks})", chunk):
                    items[row["id"]] = _stored_item(row)
                for row in connection.execute(
                    f"SELECT * FROM reports WHERE item_id IN ({marks}) ORDER BY first_seen",
                    chunk,
                ):
                    items[row["item_id"]].reports.append(_report(row))
        return items

    def count_items(self) -> int:
        with self.connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def item_ids(self) -> list[str]:
        with self.connect() as connection:
            return [row[0] for row in connection.execute("SELECT id FROM items ORDER BY id")]

    def save_new_items(self, items: Sequence[Item], seen_at: datetime) -> None:
        """Record new items (each also its own first report), or replace changed ones."""
        with self.writing() as connection:
            for item in items:
                _upsert_item(connection, item, seen_at)
                _upsert_report(connection, item, item.id, "original", seen_at)

    def save_reports(self, pairs: Sequence[tuple[Item, str]], how: str, seen_at: datetime) -> None:
        """Fold each reported item into the canonical item id it duplicates."""
        with self.connect() as connection:
            for reported, canonical_id in pairs:
                _upsert_report(connection, reported, canonical_id, how, seen_at)
                connection.execute(
                    "UPDATE items SET last_seen = ? WHERE id = ?", (_iso(seen_at), canonical_id)
                )

    def touch(self, item_ids: Sequence[str], seen_at: datetime) -> None:
        """Mark items as seen again, unchanged."""
        with self.connect() as connection:
            for chunk in chunks(list(dict.fromkeys(item_ids)), 500):
                marks = ",".join("?" * len(chunk))
                connection.execute(
                    f"UPDATE items SET last_seen = ? WHERE id IN ({marks})",
                    [_iso(seen_at), *chunk],
                )

    def set_tags(self, tagged: Sequence[tuple[str, Tags]]) -> None:
        with self.connect() as connection:
            for item_id, tags in tagged:
                connection.execute(
                    "UPDATE items SET tags = ?, relevant = ?, type = ?, jurisdiction = ?, "
                    "deadline = ?, effective = ? WHERE id = ?",
                    (
                        tags.model_dump_json(),
                        int(tags.relevant),
                        tags.type,
                        tags.jurisdiction,
                        _iso(tags.deadline),
                        _iso(tags.effective),
                        item_id,
                    ),
                )

    def items_in_window(
        self, start: datetime, end: datetime, first_seen_since: datetime | None = None
    ) -> list[StoredItem]:
        """Items published in [start, end), plus items published earlier but first seen in the
        window (late discoveries), newest first."""
        late_since = first_seen_since or start
        return self._items_where(
            "(published >= ? AND published < ?) OR (first_seen >= ? AND first_seen < ?"
            " AND published >= ? AND published < ?) ORDER BY published DESC",
            (_iso(start), _iso(end), _iso(start), _iso(end), _iso(late_since), _iso(start)),
        )

    def items_with_dates_between(self, start: date, end: date) -> list[StoredItem]:
        """Relevant items whose deadline or effective date falls in [start, end]."""
        return self._items_where(
            "relevant = 1 AND ((deadline >= ? AND deadline <= ?)"
            " OR (effective >= ? AND effective <= ?)) ORDER BY COALESCE(deadline, effective)",
            (_iso(start), _iso(end), _iso(start), _iso(end)),
        )

    def _items_where(self, condition: str, parameters: tuple[str | None, ...]) -> list[StoredItem]:
        """Stored items matching an SQL condition on `items`, in the condition's order."""
        with self.connect() as connection:
            ids = [
                row["id"]
                for row in connection.execute(f"SELECT id FROM items WHERE {condition}", parameters)
            ]
        stored = self.get_items(ids)
        return [stored[item_id] for item_id in ids]

    def latest_published(self) -> datetime | None:
        with self.connect() as connection:
            value = connection.execute("SELECT MAX(published) FROM items").fetchone()[0]
        return datetime.fromisoformat(value) if value else None

    # ----- sources -----------------------------------------------------------------------

    def validators(self, source_ids: Iterable[str]) -> dict[str, Validators]:
        ids = list(source_ids)
        with self.connect() as connection:
            marks = ",".join("?" * len(ids))
            rows = connection.execute(
                f"SELECT id, etag, last_modified FROM sources WHERE id IN ({marks})", ids
            )
            return {
                row["id"]: Validators(etag=row["etag"], last_modified=row["last_modified"])
                for row in rows
                if row["etag"] or row["last_modified"]
            }

    def record_check(
        self, run_id: int, outcome: FetchOutcome, counts: IngestCounts, checked_at: datetime
    ) -> int:
        """Record how a source fared, after its items are stored; returns failures in a row.

        Validators (ETag, Last-Modified) are saved only here, after the items they cover are
        safely stored, so a run killed in between fetches them again rather than losing them.
        """
        failed = outcome.outcome == "failed"
        with self.connect() as connection:
            previous = connection.execute(
                "SELECT consecutive_failures, failing_since FROM sources WHERE id = ?",
                (outcome.source,),
            ).fetchone()
            failures = (previous["consecutive_failures"] if previous else 0) + 1 if failed else 0
            failing_since = (
                (
                    previous["failing_since"]
                    if previous and previous["failing_since"]
                    else _iso(checked_at)
                )
                if failed
                else None
            )
            connection.execute(
                "INSERT INTO sources (id, etag, last_modified, last_checked, last_outcome, "
                "last_http_status, last_error, last_ok, consecutive_failures, failing_since) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "etag = COALESCE(excluded.etag, sources.etag), "
                "last_modified = COALESCE(excluded.last_modified, sources.last_modified), "
                "last_checked = excluded.last_checked, last_outcome = excluded.last_outcome, "
                "last_http_status = excluded.last_http_status, last_error = excluded.last_error,"
                " last_ok = COALESCE(excluded.last_ok, sources.last_ok), "
                "consecutive_failures = excluded.consecutive_failures, "
                "failing_since = excluded.failing_since",
                (
                    outcome.source,
                    None if failed else outcome.etag,
                    None if failed else outcome.last_modified,
                    _iso(checked_at),
                    outcome.outcome,
                    outcome.http_status,
                    outcome.error,
                    None if failed else _iso(checked_at),
                    failures,
                    failing_since,
                ),
            )
            connection.execute(
                "INSERT OR REPLACE INTO source_checks (run_id, source, outcome, http_status, "
                "error, entries, new, duplicate, unchanged, elapsed_s, checked_at, "
                "consecutive_failures, warning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    outcome.source,
                    outcome.outcome,
                    outcome.http_status,
                    outcome.error,
                    counts.entries,
                    counts.new,
                    counts.duplicate,
                    counts.unchanged,
                    outcome.elapsed_s,
                    _iso(checked_at),
                    failures,
                    outcome.warning,
                ),
            )
        return failures

    def source_health(self) -> dict[str, SourceHealth]:
        with self.connect() as connection:
            return {
                row["id"]: SourceHealth(
                    source=row["id"],
                    last_checked=_parse(row["last_checked"]),
                    last_outcome=row["last_outcome"],
                    last_http_status=row["last_http_status"],
                    last_error=row["last_error"],
                    last_ok=_parse(row["last_ok"]),
                    consecutive_failures=row["consecutive_failures"],
                    failing_since=_parse(row["failing_since"]),
                )
                for row in connection.execute("SELECT * FROM sources")
            }

    def latest_checks(self, before: datetime | None = None) -> list[SourceCheck]:
        """Each source's most recent check (in a finished or running run) up to `before`."""
        limit = _iso(before or utc_now())
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT c.* FROM source_checks c JOIN ("
                " SELECT source, MAX(run_id) AS run_id FROM source_checks"
                " WHERE checked_at <= ? GROUP BY source) latest"
                " ON c.source = latest.source AND c.run_id = latest.run_id ORDER BY c.source",
                (limit,),
            )
            return [_check(row) for row in rows]

    def checks_for_run(self, run_id: int) -> list[SourceCheck]:
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT * FROM source_checks WHERE run_id = ? ORDER BY source", (run_id,)
            )
            return [_check(row) for row in rows]

    # ----- runs --------------------------------------------------------------------------

    def start_run(self, mode: str, as_of: datetime) -> int:
        with self.connect() as connection:
            cursor = connection.execute(
                "INSERT INTO runs (mode, as_of, started, status) VALUES (?, ?, ?, 'running')",
                (mode, _iso(as_of), _iso(utc_now())),
            )
            return int(cursor.lastrowid or 0)

    def mark_interrupted_runs(self) -> int:
        """Runs left 'running' by a process that was killed are recorded as interrupted."""
        with self.connect() as connection:
            cursor = connection.execute(
                "UPDATE runs SET status = 'interrupted', finished = ? WHERE status = 'running'",
                (_iso(utc_now()),),
            )
            return cursor.rowcount

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.connect() as connection:
            connection.execute(
                "UPDATE runs SET finished = ?, status = ?, summary = ? WHERE id = ?",
                (_iso(utc_now()), status, json.dumps(summary), run_id),
            )

    def last_run(self) -> dict[str, Any] | None:
        with self.connect() as connection:
            row = connection.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return {**dict(row), "summary": json.loads(row["summary"]) if row["summary"] else None}


_T = TypeVar("_T")


def chunks(values: Sequence[_T], size: int) -> Iterator[list[_T]]:
    """`values` in lists of at most `size`: SQLite caps the parameters of one statement."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _upsert_item(connection: sqlite3.Connection, item: Item, seen_at: datetime) -> None:
    tags = item.tags
    connection.execute(
        "INSERT INTO items (id, title, summary, url, publisher, published, published_precision,"
        " source, source_category, source_jurisdiction, content_hash, deadline_hint,"
        " effective_hint, tags, relevant, type, jurisdiction, deadline, effective, first_seen,"
        " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET title = excluded.title, summary = excluded.summary,"
        " url = excluded.url, publisher = excluded.publisher, published = excluded.published,"
        " published_precision = excluded.published_precision,"
        " content_hash = excluded.content_hash, deadline_hint = excluded.deadline_hint,"
        " effective_hint = excluded.effective_hint, tags = excluded.tags,"
        " relevant = excluded.relevant, type = excluded.type,"
        " jurisdiction = excluded.jurisdiction, deadline = excluded.deadline,"
        " effective = excluded.effective, last_seen = excluded.last_seen",
        (
            item.id,
            item.title,
            item.summary,
            item.url,
            item.publisher,
            _iso(item.published),
            item.published_precision,
            item.source,
            item.source_category,
            item.source_jurisdiction,
            item.content_hash,
            _iso(item.deadline_hint),
            _iso(item.effective_hint),
            tags.model_dump_json() if tags else None,
            int(tags.relevant) if tags else None,
            tags.type if tags else None,
            tags.jurisdiction if tags else None,
            _iso(tags.deadline) if tags else None,
            _iso(tags.effective) if tags else None,
            _iso(seen_at),
            _iso(seen_at),
        ),
    )


def _upsert_report(
    connection: sqlite3.Connection, item: Item, canonical_id: str, how: str, seen_at: datetime
) -> None:
    connection.execute(
        "INSERT INTO reports (reported_id, source, item_id, publisher, url, title, content_hash,"
        " first_seen, how) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(reported_id, source)"
        " DO UPDATE SET title = excluded.title, content_hash = excluded.content_hash,"
        " url = excluded.url",
        (
            item.id,
            item.source or "",
            canonical_id,
            item.publisher,
            item.url,
            item.title,
            item.content_hash,
            _iso(seen_at),
            how,
        ),
    )


def _report(row: sqlite3.Row) -> Report:
    return Report(
        reported_id=row["reported_id"],
        item_id=row["item_id"],
        source=row["source"] or None,
        publisher=row["publisher"],
        url=row["url"],
        title=row["title"],
        content_hash=row["content_hash"],
        how=row["how"],
    )


def _stored_item(row: sqlite3.Row) -> StoredItem:
    item = Item(
        id=row["id"],
        title=row["title"],
        summary=row["summary"],
        url=row["url"],
        publisher=row["publisher"],
        published=_parse(row["published"]),
        published_precision=row["published_precision"],
        source=row["source"],
        source_category=row["source_category"],
        source_jurisdiction=row["source_jurisdiction"],
        content_hash=row["content_hash"],
        deadline_hint=row["deadline_hint"],
        effective_hint=row["effective_hint"],
        tags=Tags.model_validate_json(row["tags"]) if row["tags"] else None,
    )
    return StoredItem(
        item=item,
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
    )


def _check(row: sqlite3.Row) -> SourceCheck:
    return SourceCheck(
        run_id=row["run_id"],
        source=row["source"],
        outcome=row["outcome"],
        http_status=row["http_status"],
        error=row["error"],
        entries=row["entries"],
        new=row["new"],
        duplicate=row["duplicate"],
        unchanged=row["unchanged"],
        elapsed_s=row["elapsed_s"],
        checked_at=datetime.fromisoformat(row["checked_at"]),
        consecutive_failures=row["consecutive_failures"],
        warning=row["warning"],
    )


@dataclass(frozen=True)
class _KeptReader:
    pid: int
    thread: threading.Thread
    connection: sqlite3.Connection


def _close_all(kept: list[_KeptReader], only_finished_threads: bool = False) -> None:
    """Close a StateDB's kept read connections that this process opened (a forked child
    leaves its parent's alone): all of them when the StateDB is collected or at exit, or
    those of threads that have ended."""
    for reader in list(kept):
        if reader.pid == os.getpid() and not (only_finished_threads and reader.thread.is_alive()):
            reader.connection.close()
            kept.remove(reader)
