"""Semantic search over stored items: the query is embedded and matched in the vector index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from horizon.embed import Embedder
from horizon.store import Store


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    url: str | None
    publisher: str
    published: str | None
    score: float
    controls: list[str]
    type: str | None
    jurisdiction: str | None
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "publisher": self.publisher,
            "published": self.published,
            "score": round(self.score, 4),
            "controls": self.controls,
            "type": self.type,
            "jurisdiction": self.jurisdiction,
        }


def search(store: Store, embedder: Embedder, query: str, limit: int = 10) -> list[SearchHit]:
    """The `limit` stored items closest in meaning to `query`, best first."""
    if not query.strip() or limit < 1:
        return []
    vector = embedder.embed([query])
    neighbours = store.index.nearest(vector, limit)[0]
    stored = store.state.get_items(n.item_id for n in neighbours)
    hits = []
    for neighbour in neighbours:
        found = stored.get(neighbour.item_id)
        if found is None:
            continue
        item, tags = found.item, found.item.tags
        hits.append(
            SearchHit(
                id=item.id,
                title=item.title,
                url=item.url,
                publisher=item.publisher,
                published=item.published.isoformat() if item.published else None,
                score=neighbour.similarity,
                controls=tags.control_ids() if tags else [],
                type=tags.type if tags else None,
                jurisdiction=tags.jurisdiction if tags else None,
                summary=item.summary,
            )
        )
    return hits
