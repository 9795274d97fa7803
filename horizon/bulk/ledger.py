"""The progress record of backfills and re-indexing, in the home's state database.

A backfill records each page once its items are committed: the next page to read is the
`next_url` of the last recorded page, and a page that records a `stop` ends that source. So a
rerun after a kill fetches no finished page again and continues where the kill struck, and a
page killed between its commit and its record is fetched again and finds its items
"unchanged". Progress is kept per (since, source): a backfill to another date is another job.

Re-indexing walks the items in id order and records the last id of each committed chunk; a
rerun with the same model continues after it. The model the index was embedded with is
recorded when a pass completes, and by the first backfill into an empty index.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime

from horizon.bulk.model import PageCursor, PageOutcome
from horizon.state import StateDB

SCHEMA = """
CREATE TABLE IF NOT EXISTS backfill_pages (
    since TEXT NOT NULL,
    source TEXT NOT NULL,
    page INTEGER NOT NULL,
    url TEXT NOT NULL,
    next_url TEXT,
    stop TEXT,
    entries INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    new INTEGER NOT NULL,
    duplicate INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    done_at TEXT NOT NULL,
    PRIMARY KEY (since, source, page)
);

CREATE TABLE IF NOT EXISTS index_model (
    collection TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS reindex_passes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    last_id TEXT,
    started TEXT NOT NULL,
    updated TEXT NOT NULL,
    finished TEXT
);
"""

ITEMS = "items"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class PageCounts:
    entries: int
    kept: int
    new: int
    duplicate: int
    unchanged: int


@dataclass(frozen=True)
class ResumePoint:
    """Where a source's backfill stands: the page to fetch next, or the reason it ended."""

    cursor: PageCursor | None
    finished: str | None
    pages_done: int


@dataclass(frozen=True)
class ReindexPass:
    id: int
    model: str
    total: int
    done: int
    last_id: str | None


class Ledger:
    """Reads and writes the progress records; every write is one short transaction."""

    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(SCHEMA)

    # ----- backfill ----------------------------------------------------------------------

    def resume_point(self, since: date, source: str, first_url: str) -> ResumePoint:
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT page, next_url, stop FROM backfill_pages WHERE since = ? AND source = ? "
                "ORDER BY page DESC",
                (since.isoformat(), source),
            ).fetchall()
        if not rows:
            return ResumePoint(PageCursor(url=first_url, page=1), None, 0)
        last = rows[0]
        if last["stop"] is not None or not last["next_url"]:
            return ResumePoint(None, last["stop"] or "finished", len(rows))
        return ResumePoint(PageCursor(url=last["next_url"], page=last["page"] + 1), None, len(rows))

    def record_page(self, since: date, outcome: PageOutcome, counts: PageCounts) -> None:
        with self.state.connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO backfill_pages (since, source, page, url, next_url, "
                "stop, entries, kept, new, duplicate, unchanged, done_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    since.isoformat(),
                    outcome.source,
                    outcome.page,
                    outcome.url,
                    outcome.next_url,
                    outcome.stop,
                    counts.entries,
                    counts.kept,
                    counts.new,
                    counts.duplicate,
                    counts.unchanged,
                    _now(),
                ),
            )

    def pages_done(self, since: date, source: str) -> list[str]:
        """The addresses of the pages recorded for a source, oldest record first."""
        with self.state.connect() as connection:
            return [
                row["url"]
                for row in connection.execute(
                    "SELECT url FROM backfill_pages WHERE since = ? AND source = ? ORDER BY page",
                    (since.isoformat(), source),
                )
            ]

    # ----- the index's model and re-indexing ---------------------------------------------

    def index_model(self) -> str | None:
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT model FROM index_model WHERE collection = ?", (ITEMS,)
            ).fetchone()
        return str(row["model"]) if row else None

    def record_index_model(self, model: str) -> None:
        with self.state.connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO index_model (collection, model, recorded_at) "
                "VALUES (?, ?, ?)",
                (ITEMS, model, _now()),
            )

    def open_pass(self, model: str, total: int) -> tuple[ReindexPass, bool]:
        """The unfinished pass for `model` (resumed: True), else a new one."""
        with self.state.connect() as connection:
            row = connection.execute(
                "SELECT * FROM reindex_passes WHERE finished IS NULL AND model = ? "
                "ORDER BY id DESC LIMIT 1",
                (model,),
            ).fetchone()
            if row is not None:
                return _pass(row), True
            connection.execute(
                "UPDATE reindex_passes SET finished = ? WHERE finished IS NULL", ("abandoned",)
            )
            cursor = connection.execute(
                "INSERT INTO reindex_passes (model, total, started, updated) VALUES (?, ?, ?, ?)",
                (model, total, _now(), _now()),
            )
            return ReindexPass(int(cursor.lastrowid or 0), model, total, 0, None), False

    def advance_pass(self, current: ReindexPass, last_id: str, done: int) -> ReindexPass:
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE reindex_passes SET done = ?, last_id = ?, updated = ? WHERE id = ?",
                (done, last_id, _now(), current.id),
            )
        return ReindexPass(current.id, current.model, current.total, done, last_id)

    def finish_pass(self, current: ReindexPass) -> None:
        """Close the pass and record its model as the index's, in one transaction."""
        with self.state.connect() as connection:
            connection.execute(
                "UPDATE reindex_passes SET finished = ?, updated = ? WHERE id = ?",
                (_now(), _now(), current.id),
            )
            connection.execute(
                "INSERT OR REPLACE INTO index_model (collection, model, recorded_at) "
                "VALUES (?, ?, ?)",
                (ITEMS, current.model, _now()),
            )

    def item_ids_after(self, last_id: str | None, limit: int) -> list[str]:
        """The next `limit` stored item ids in id order, after `last_id`."""
        with self.state.connect() as connection:
            return [
                row[0]
                for row in connection.execute(
                    "SELECT id FROM items WHERE id > ? ORDER BY id LIMIT ?", (last_id or "", limit)
                )
            ]


def _pass(row: sqlite3.Row) -> ReindexPass:
    return ReindexPass(
        int(row["id"]), str(row["model"]), int(row["total"]), int(row["done"]), row["last_id"]
    )
