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
    error TEXT
);
"""


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


class FullTextStore:
    def __init__(self, state: StateDB) -> None:
        self.state = state
        state.ensure_schema(FULL_TEXT_SCHEMA)

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
        self, url: str, fetched_url: str, source: str, fetched_at: datetime, error: str
    ) -> None:
        self._put(
            (url, fetched_url, source, fetched_at.isoformat(), "failed", None, "", None, "", error)
        )

    def _put(self, row: tuple[object, ...]) -> None:
        with self.state.connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO full_texts (url, fetched_url, source, fetched_at, status,"
                " kind, text, text_hash, notes, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def get(self, url: str) -> FullText | None:
        with self.state.connect() as connection:
            row = connection.execute("SELECT * FROM full_texts WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return FullText(**{**dict(row), "fetched_at": datetime.fromisoformat(row["fetched_at"])})

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
        """URLs whose link was already followed (a text or a failure is stored): never again,
        so each link costs at most one attempt."""
        with self.state.connect() as connection:
            rows = connection.execute("SELECT url FROM full_texts").fetchall()
        return [row[0] for row in rows]

    def unfollowed_item_urls(self) -> list[str]:
        """URLs of stored items whose link was never followed (the per-source budget ran out,
        or they predate enrichment): followed when their source lists them again."""
        with self.state.connect() as connection:
            rows = connection.execute(
                "SELECT DISTINCT url FROM items WHERE url IS NOT NULL"
                " AND url NOT IN (SELECT url FROM full_texts)"
            ).fetchall()
        return [row[0] for row in rows]
