"""Where an item's claim to be current comes from: the last fetch that confirmed it ("last
verified", with the SHA-256 of the content it confirmed) and what became of its full text.

Read from the response archive's index (`horizon.archive`) and the `full_texts` table; the
digest lines and the web item page show it, so "we checked" is something a reader can open
(`horizon archive show ITEM` lists every fetch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from horizon.archive import ArchivedResponse, ArchiveIndex, last_verified
from horizon.enrich.store import FullTextStore
from horizon.item import Item
from horizon.state import StateDB


@dataclass(frozen=True)
class Provenance:
    """`verified_at`/`verified_url`: the latest fetch that confirmed the item (a 200, or a
    304 saying nothing changed) — its page's, else its source's feed; `content_hash`: the
    SHA-256 of the body it confirmed (for a 304, of the last 200 it stood for); `replayed`:
    that fetch was answered from a recorded snapshot, not live. `full_text`: "ok", "failed"
    or None (never fetched), with the text's hash or the reason it failed."""

    verified_at: datetime | None = None
    verified_url: str | None = None
    content_hash: str | None = None
    replayed: bool = False
    full_text: str | None = None
    full_text_hash: str | None = None
    full_text_error: str | None = None


def confirming(records: Sequence[ArchivedResponse]) -> tuple[ArchivedResponse, str] | None:
    """The latest confirming fetch among `records` (oldest first) and the content hash it
    confirms. A live fetch counts before any replayed one: a replay only says what a snapshot
    held."""
    live = [record for record in records if not record.replayed]
    return _confirming(live) or _confirming(records)


def _confirming(records: Sequence[ArchivedResponse]) -> tuple[ArchivedResponse, str] | None:
    chosen = last_verified(list(records))
    if chosen is None:
        return None
    if chosen.http_status == 200:
        return chosen, chosen.content_hash
    earlier = [
        record
        for record in records
        if record.url == chosen.url
        and record.http_status == 200
        and record.fetched_at <= chosen.fetched_at
    ]
    return chosen, (earlier[-1] if earlier else chosen).content_hash


def provenance_of(state: StateDB, items: Sequence[Item]) -> dict[str, Provenance]:
    """Each item's provenance, by id. An item's own page counts first; its source's fetches
    count only where they are the feed itself (not another item's page fetched for it)."""
    if not items:
        return {}
    archive = ArchiveIndex(state, state.path.parent)
    full_texts = FullTextStore(state)
    item_pages = item_page_urls(state)
    by_source: dict[str, list[ArchivedResponse]] = {}
    result: dict[str, Provenance] = {}
    for item in items:
        full_text = full_texts.get(item.url) if item.url else None
        page_urls = {item.url, full_text.fetched_url if full_text else None} - {None}
        page = sorted(
            (record for url in page_urls for record in archive.for_url(str(url))),
            key=lambda record: record.fetched_at,
        )
        found = confirming(page)
        if found is None and item.source:
            if item.source not in by_source:
                by_source[item.source] = [
                    record
                    for record in archive.for_source(item.source)
                    if record.url not in item_pages
                ]
            found = confirming(by_source[item.source])
        verified, content_hash = found if found else (None, None)
        result[item.id] = Provenance(
            verified_at=verified.fetched_at if verified else None,
            verified_url=verified.url if verified else None,
            content_hash=content_hash,
            replayed=verified.replayed if verified else False,
            full_text=full_text.status if full_text else None,
            full_text_hash=full_text.text_hash if full_text else None,
            full_text_error=full_text.error if full_text else None,
        )
    return result


def item_page_urls(state: StateDB) -> set[str]:
    """Every address fetched for an item's full text (as linked and as canonical)."""
    with state.connect() as connection:
        rows = connection.execute("SELECT fetched_url, url FROM full_texts").fetchall()
    return {url for row in rows for url in row}
