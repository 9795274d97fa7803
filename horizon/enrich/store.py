"""The `full_texts` table: one row per item URL (canonical), the text or why there is none."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from horizon.enrich.extract import Extracted
from horizon.item import Item
from horizon.state import StateDB

_QUERY_CHUNK = 500

FULL_TEXT_SCHEMA = """
CREATE TABLE IF NOT EXISTS full_texts (
    url TEXT PRIMARY KEY,
    fetched_url TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    fetched_at TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT,
    text TEXT NOT NULL DEFAULT '',
    text_hash TEXT,
    notes TEXT NOT NULL DEFAULT '',
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    retry INTEGER NOT NULL DEFAULT 0
);
"""
# Columns a home made before failed fetches were retried lacks.
_ADDED_COLUMNS = {
    "attempts": "INTEGER NOT NULL DEFAULT 1",
    "retry": "INTEGER NOT NULL DEFAULT 0",
}
# A link whose fetch failed for a reason that may pass (a timeout, a refused connection, HTTP
# 5xx, 408 or 429) is tried again in later runs that list its item, up to this many attempts
# in all; any other failure (404, robots.txt, too large, no text) is final.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class FullText:
    url: str
    fetched_url: str
    source: str
    fetched_at: datetime
    status: str  # "ok" or "failed"
    kind: str | None
    text: str
    text_hash: str | None
    notes: str
    error: str | None
    attempts: int = 1
    retry: bool = False

    @property
    def will_retry(self) -> bool:
        """Whether a later run fetches the link again (a failure whose cause may pass, with
        attempts left)."""
        return self.status == "failed" and self.retry and self.attempts < MAX_ATTEMPTS


class FullTextStore:
    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(FULL_TEXT_SCHEMA)
        state.add_missing_columns("full_texts", _ADDED_COLUMNS)

    def record_text(
        self, url: str, fetched_url: str, source: str, fetched_at: datetime, extracted: Extracted
    ) -> None:
        self._put(
            (
                url,
                fetched_url,
                source,
                fetched_at.isoformat(),
                "ok",
                extracted.kind,
                extracted.text,
                extracted.text_hash,
                "; ".join(extracted.notes),
                None,
            )
        )

    def record_failure(
        self,
        url: str,
        fetched_url: str,
        source: str,
        fetched_at: datetime,
        error: str,
        retry: bool = False,
    ) -> None:
        """Store a failed fetch; `retry` when its cause may pass, so that a later run tries
        the link again (up to `MAX_ATTEMPTS` in all)."""
        self._put(
            (url, fetched_url, source, fetched_at.isoformat(), "failed", None, "", None, "", error),
            retry,
        )

    def _put(self, row: tuple[object, ...], retry: bool = False) -> None:
        """Insert or overwrite the URL's row, counting the attempt."""
        with self.state.connect() as connection:
            connection.execute(
                "INSERT INTO full_texts (url, fetched_url, source, fetched_at, status, kind, text,"
                " text_hash, notes, error, retry) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET fetched_url = excluded.fetched_url,"
                " source = excluded.source, fetched_at = excluded.fetched_at,"
                " status = excluded.status, kind = excluded.kind, text = excluded.text,"
                " text_hash = excluded.text_hash, notes = excluded.notes,"
                " error = excluded.error, retry = excluded.retry,"
                " attempts = full_texts.attempts + 1",
                (*row, int(retry)),
            )

    def get(self, url: str) -> FullText | None:
        with self.state.connect() as connection:
            row = connection.execute("SELECT * FROM full_texts WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return FullText(
            **{
                **dict(row),
                "fetched_at": datetime.fromisoformat(row["fetched_at"]),
                "retry": bool(row["retry"]),
            }
        )

    def fetched_since(self, since: datetime) -> dict[str, Any]:
        """What the full-text fetches from `since` on gave: texts by kind, failures by reason,
        and the longest text as an example (for a run's summary)."""
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT url, source, status, kind, length(text) AS chars, text_hash, error,"
                " substr(text, 1, 400) AS opening"
                " FROM full_texts WHERE fetched_at >= ? ORDER BY length(text) DESC, url",
                (since.isoformat(),),
            ).fetchall()
        texts = [row for row in rows if row["status"] == "ok"]
        return {
            "read": len(texts),
            "by_kind": dict(Counter(str(row["kind"]) for row in texts)),
            "characters": sum(int(row["chars"]) for row in texts),
            "failed": len(rows) - len(texts),
            "failures": dict(
                Counter(str(row["error"]) for row in rows if row["status"] != "ok").most_common()
            ),
            "example": (
                {
                    **{key: texts[0][key] for key in ("url", "source", "kind", "chars")},
                    "text_hash": texts[0]["text_hash"],
                    "excerpt": " ".join(str(texts[0]["opening"]).split())[:240],
                }
                if texts
                else None
            ),
        }

    def texts(self, urls: Iterable[str]) -> dict[str, str]:
        """The stored full text of each of these URLs that has one (failures are absent)."""
        wanted = sorted(set(urls))
        found: dict[str, str] = {}
        with self.state.connect() as connection:
            for start in range(0, len(wanted), _QUERY_CHUNK):
                chunk = wanted[start : start + _QUERY_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT url, text FROM full_texts WHERE status = 'ok' AND url IN ({marks})",
                    chunk,
                ).fetchall()
                found.update((row["url"], row["text"]) for row in rows if row["text"])
        return found

    def attach(self, items: Sequence[Item]) -> list[Item]:
        """The items, each with its stored full text as `Item.full_text` where there is one:
        how the stages after the crawl get the bodies the crawl fetched."""
        texts = self.texts(item.url for item in items if item.url)
        attached = []
        for item in items:
            text = texts.get(item.url) if item.url else None
            attached.append(item.model_copy(update={"full_text": text}) if text else item)
        return attached

    def followed_urls(self) -> list[str]:
        """URLs whose link is done with: a text is stored, or a failure that is final (or
        came `MAX_ATTEMPTS` times). Never fetched again, so each link costs a bounded number
        of attempts."""
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT url FROM full_texts WHERE NOT " + _TO_RETRY, (MAX_ATTEMPTS,)
            ).fetchall()
        return [row[0] for row in rows]

    def waiting_item_urls(self) -> list[str]:
        """URLs of stored items whose link waits: never followed (the per-source budget ran
        out, or they predate enrichment), or failed for a cause that may pass. Followed when
        their source lists them again, behind the new items."""
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT DISTINCT url FROM items WHERE url IS NOT NULL"
                " AND (url NOT IN (SELECT url FROM full_texts)"
                f" OR url IN (SELECT url FROM full_texts WHERE {_TO_RETRY}))",
                (MAX_ATTEMPTS,),
            ).fetchall()
        return [row[0] for row in rows]


_TO_RETRY = "(status = 'failed' AND retry = 1 AND attempts < ?)"
