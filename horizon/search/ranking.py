"""Search as callers use it: rank the candidates with the fusion model (texts only for a short
list that can reach the top), then read the hits' rows, passages and snippets; and more like
this (`similar`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from horizon.embed import Embedder
from horizon.fusion import (
    FusionModel,
    shipped_model,
)
from horizon.lexical import (
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
)
from horizon.search.filters import FilterError, Scope, SearchFilters, scope_of
from horizon.search.retrieval import (
    CANDIDATES,
    SCORE_MARGIN,
    Candidates,
    dense_candidates,
    retrieve,
)
from horizon.store import Store

HIGHLIGHT_OPEN = SNIPPET_OPEN
HIGHLIGHT_CLOSE = SNIPPET_CLOSE


PLAIN_SNIPPET_CHARS = 240


_ITEM_COLUMNS = (
    "id, title, summary, url, publisher, published, tags, type, jurisdiction, deadline, effective"
)


class UnknownItemError(LookupError):
    """`similar` was asked about an item id the store does not hold."""


@dataclass(frozen=True)
class SearchHit:
    """One result. `snippet` is plain text with matched words between HIGHLIGHT_OPEN and
    HIGHLIGHT_CLOSE; `score` is the fused score (higher is better), cosine similarity for
    `similar`; `passage` is the passage of a long item that matched, None when the item
    matched as a whole."""

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
    themes: list[str] = field(default_factory=list)
    deadline: str | None = None
    effective: str | None = None
    snippet: str = ""
    passage: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "publisher": self.publisher,
            "published": self.published,
            "score": round(self.score, 4),
            "controls": self.controls,
            "themes": self.themes,
            "type": self.type,
            "jurisdiction": self.jurisdiction,
            "deadline": self.deadline,
            "effective": self.effective,
            "snippet": self.snippet,
            "passage": self.passage,
        }


def search(
    store: Store,
    embedder: Embedder,
    query: str,
    filters: SearchFilters = SearchFilters(),
    limit: int = 10,
) -> list[SearchHit]:
    """The `limit` stored items that best match `query` by meaning and by wording, among those
    the filters admit, best first. Raises FilterError for a bad filter value."""
    if not query.strip() or limit < 1:
        filters.checked()
        return []
    return search_vector(store, embedder.embed([query])[0], query, filters, limit)


def search_many(
    store: Store, embedder: Embedder, queries: Sequence[tuple[str, SearchFilters, int]]
) -> list[list[SearchHit] | FilterError]:
    """Several searches with one call of the embedding model: for each (query, filters,
    limit), its hits, or the FilterError its filters raised."""
    vectors = embedder.embed([query for query, _, _ in queries]) if queries else None
    results: list[list[SearchHit] | FilterError] = []
    for number, (query, filters, limit) in enumerate(queries):
        try:
            if not query.strip() or limit < 1:
                filters.checked()
                results.append([])
            else:
                assert vectors is not None
                results.append(search_vector(store, vectors[number], query, filters, limit))
        except FilterError as error:
            results.append(error)
    return results


def search_vector(
    store: Store,
    vector: np.ndarray,
    query: str,
    filters: SearchFilters = SearchFilters(),
    limit: int = 10,
    model: FusionModel | None = None,
) -> list[SearchHit]:
    """`search` for a query already embedded (`vector`), ranked by `model` (the shipped
    fusion model by default).

    Texts are read and their features computed only for the candidates that can reach the top
    (`Retrieved.read_for_top`: best possible score first, `FusionModel.score_bounds` with the
    text features unknown). Every other candidate ranks below the hits whatever its text says,
    so the hits are exactly those of scoring every candidate; when that cannot be shown (a
    read item no longer stored, scores too close), every candidate is scored."""
    filters = filters.checked()
    model = model or shipped_model()
    with store.state.reading() as connection:
        scope = scope_of(store, filters, connection)
        if scope is None:
            return []
        found = retrieve(store, vector, query, scope, max(CANDIDATES, limit), connection)
        if not found.ids:
            return []
        scored, ceiling = found.read_for_top(model, limit, store, connection)
        hits = _ranked_hits(connection, scored, model, scope, limit)
        if ceiling is not None and not _beyond_reach(hits, limit, ceiling):
            scored = found.candidates(found.ids, store, connection)
            hits = _ranked_hits(connection, scored, model, scope, limit)
        return _with_passages(store, connection, scored, hits)


def _beyond_reach(hits: Sequence[SearchHit], limit: int, ceiling: float) -> bool:
    """Whether no candidate left unread (best possible score `ceiling`) could have displaced
    a hit: there are `limit` hits and the last scores clearly above it."""
    return len(hits) == limit and hits[-1].score > ceiling + SCORE_MARGIN


def _ranked_hits(
    connection: sqlite3.Connection,
    found: Candidates,
    model: FusionModel,
    scope: Scope,
    limit: int,
) -> list[SearchHit]:
    if not found.candidates:
        return []
    scores_of = model.scores(found.matrix())
    scores = {c.item_id: float(s) for c, s in zip(found.candidates, scores_of, strict=True)}
    ranked = sorted(scores, key=lambda item_id: (-scores[item_id], item_id))
    return _hits(connection, ranked, scores, scope, limit)


def _with_passages(
    store: Store, connection: sqlite3.Connection, found: Candidates, hits: list[SearchHit]
) -> list[SearchHit]:
    """The hits with their matching passage, and a snippet with the matched words marked:
    from that passage when there is one, else from the item."""
    passage_of = {c.item_id: c.passage for c in found.candidates}
    keys = [(hit.id, p[0]) for hit in hits if (p := passage_of.get(hit.id)) is not None]
    passage_snippets = store.lexical_passages.snippets(found.words, keys, connection)
    item_snippets = store.lexical.snippets(
        found.words, [hit.id for hit in hits if hit.id in found.lexical_ids], connection
    )
    result = []
    for hit in hits:
        passage = passage_of.get(hit.id)
        if passage is not None:
            snippet = passage_snippets.get((hit.id, passage[0])) or _plain_snippet(passage[1])
            result.append(replace(hit, passage=passage[1], snippet=snippet))
        else:
            result.append(replace(hit, snippet=item_snippets.get(hit.id) or hit.snippet))
    return result


def similar(
    store: Store,
    item_id: str,
    filters: SearchFilters = SearchFilters(),
    limit: int = 10,
) -> list[SearchHit]:
    """More like this: the stored items closest in meaning to item `item_id`, itself excluded.

    `item_id` may also be the id of a report that was folded into a stored item as a duplicate.
    Raises UnknownItemError when no stored item has that id, FilterError for a bad filter.
    """
    filters = filters.checked()
    with store.state.reading() as connection:
        canonical = _canonical_id(connection, item_id)
        vectors = store.index.embeddings([canonical])
        if canonical not in vectors:
            missing = f"item {item_id!r} is in the run state but not in the vector index"
            raise UnknownItemError(f"{missing}; ingest it again")
        scope = scope_of(store, filters, connection)
        if scope is None or limit < 1:
            return []
        vector = vectors[canonical][None, :]
        neighbours = dense_candidates(store, connection, vector, limit + 1, scope)
        scores = {n.item_id: n.similarity for n in neighbours if n.item_id != canonical}
        ranked = sorted(scores, key=lambda found: (-scores[found], found))
        return _hits(connection, ranked, scores, scope, limit)


def _canonical_id(connection: sqlite3.Connection, item_id: str) -> str:
    row = connection.execute("SELECT id FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        row = connection.execute(
            "SELECT item_id FROM reports WHERE reported_id = ? ORDER BY first_seen LIMIT 1",
            (item_id,),
        ).fetchone()
    if row is None:
        raise UnknownItemError(f"no stored item has id {item_id!r}")
    return str(row[0])


def _hits(
    connection: sqlite3.Connection,
    ranked: Sequence[str],
    scores: dict[str, float],
    scope: Scope,
    limit: int,
) -> list[SearchHit]:
    """The first `limit` ranked ids that the state holds and the filters admit, as hits."""
    hits: list[SearchHit] = []
    conditions = "".join(f" AND ({condition.sql})" for condition in scope.conditions)
    parameters = [value for condition in scope.conditions for value in condition.parameters]
    start = 0
    while len(hits) < limit and start < len(ranked):
        chunk = list(ranked[start : start + limit - len(hits) + 5])
        start += len(chunk)
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT {_ITEM_COLUMNS} FROM items i WHERE i.id IN ({marks}){conditions}",
            (*chunk, *parameters),
        )
        found = {row["id"]: row for row in rows}
        hits += [_hit(found[item_id], scores[item_id]) for item_id in chunk if item_id in found]
    return hits[:limit]


def _hit(row: Any, score: float) -> SearchHit:
    tags = json.loads(row["tags"]) if row["tags"] else {}
    summary = row["summary"] or ""
    return SearchHit(
        id=row["id"],
        title=row["title"],
        url=row["url"],
        publisher=row["publisher"],
        published=row["published"],
        score=score,
        controls=[control["id"] for control in tags.get("controls", [])],
        type=row["type"],
        jurisdiction=row["jurisdiction"],
        summary=summary,
        themes=list(tags.get("themes", [])),
        deadline=row["deadline"],
        effective=row["effective"],
        snippet=_plain_snippet(summary),
    )


def _plain_snippet(summary: str) -> str:
    """The opening of the summary, cut at a word, for hits with no matched words to show."""
    if len(summary) <= PLAIN_SNIPPET_CHARS:
        return summary
    return summary[:PLAIN_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
