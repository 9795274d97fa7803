"""Hybrid search over stored items: meaning (dense vectors in Chroma) and words (BM25 in FTS5),
over whole items and over the passages of long ones, fused by a learned model.

A query runs in four lists, each with the same filters: the nearest item vectors, the nearest
passage vectors, the best BM25 items and the best BM25 passages (Chroma's two on a worker
thread while the full-text ones run). Every item any list found becomes a candidate,
described by the features of `horizon.fusion` (cosine similarity of the item and of its best
passage, BM25 of both, title and identifier matches, phrase proximity, ranks) and scored by
the fusion model fitted on labelled queries (`evaluation/search.py`, docs/search.md); texts
are read only for candidates that can reach the top. An item's best passage counts for it,
and a hit carries the passage that matched.

Snippets are plain text with matched words between `HIGHLIGHT_OPEN` ("⟦") and
`HIGHLIGHT_CLOSE` ("⟧"); callers render them (bold on a terminal, <mark> on a web page) after
escaping the text.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args

import numpy as np

from horizon.config import SourceCategory
from horizon.embed import Embedder
from horizon.fusion import (
    FEATURES,
    TEXT_COLUMNS,
    FusionModel,
    QueryShape,
    SignalColumns,
    shipped_model,
    signal_rows,
    text_features,
)
from horizon.item import ITEM_TYPES
from horizon.lexical import (
    OVERFETCH,
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    ItemCondition,
    LexicalQuery,
    PassageMatch,
    admitted,
)
from horizon.store import Neighbour, PassageNeighbour, Store

HIGHLIGHT_OPEN = SNIPPET_OPEN
HIGHLIGHT_CLOSE = SNIPPET_CLOSE

CANDIDATES = 50
FEATURE_TEXT_CHARS = 600
PLAIN_SNIPPET_CHARS = 240

CATEGORIES: tuple[str, ...] = get_args(SourceCategory)
_JURISDICTION = re.compile(r"^(UK|EU|US|INT|GLOBAL|[A-Z]{2})$")
_CONTROL = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
_THEME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_ITEM_COLUMNS = (
    "id, title, summary, url, publisher, published, tags, type, jurisdiction, deadline, effective"
)


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the filter and the value, and
    `field` is the `SearchFilters` field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownItemError(LookupError):
    """`similar` was asked about an item id the store does not hold."""


@dataclass(frozen=True)
class SearchFilters:
    """Filters that combine with any query; within one field any value may match, across
    fields all must. Dates are inclusive and compare with the publication date (UTC);
    `has_deadline` asks for items with (True) or without (False) a response deadline;
    `relevant_only` keeps items the classifier found relevant to AI governance."""

    since: date | None = None
    until: date | None = None
    publishers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    controls: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    has_deadline: bool | None = None
    relevant_only: bool = False

    def checked(self) -> SearchFilters:
        """The same filters in canonical case, or FilterError naming the first bad value.

        Publishers match whole words of the publisher's name, ignoring case ("ICO" finds
        "Information Commissioner's Office (ICO)").
        """
        if self.since and self.until and self.since > self.until:
            raise FilterError(
                "since", f"since {self.since} is after until {self.until}: no date can match"
            )
        publishers = tuple(value.strip() for value in self.publishers)
        if any(not value for value in publishers):
            raise FilterError("publishers", "publisher: an empty name matches nothing")
        return replace(
            self,
            publishers=publishers,
            categories=_checked(
                "categories",
                "category",
                self.categories,
                str.lower,
                CATEGORIES.__contains__,
                f"one of {', '.join(CATEGORIES)}",
            ),
            jurisdictions=_checked(
                "jurisdictions",
                "jurisdiction",
                self.jurisdictions,
                str.upper,
                _JURISDICTION.match,
                "UK, EU, US, INT, GLOBAL or a two-letter country code",
            ),
            controls=_checked(
                "controls",
                "control",
                self.controls,
                str.upper,
                _CONTROL.match,
                "a control id such as AI-POLICY",
            ),
            themes=_checked(
                "themes",
                "theme",
                self.themes,
                str.lower,
                _THEME.match,
                "a theme id such as governance",
            ),
            types=_checked(
                "types",
                "type",
                self.types,
                str.lower,
                ITEM_TYPES.__contains__,
                f"one of {', '.join(ITEM_TYPES)}",
            ),
        )


def _checked(
    field_name: str,
    label: str,
    values: Sequence[str],
    canonical: Callable[[str], str],
    valid: Callable[[str], object],
    expected: str,
) -> tuple[str, ...]:
    """Each value in canonical case, duplicates dropped; FilterError for the first bad one."""
    result = []
    for value in values:
        clean = canonical(value.strip())
        if not valid(clean):
            raise FilterError(field_name, f"{label} {value!r} is not valid: expected {expected}")
        result.append(clean)
    return tuple(dict.fromkeys(result))


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


@dataclass(frozen=True)
class Scope:
    """The filters as both engines take them: SQL conditions on `items` and a Chroma `where`."""

    conditions: tuple[ItemCondition, ...]
    where: dict[str, Any] | None


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

    Texts are read and their features computed only for a short list: the candidates whose
    best possible score (`FusionModel.score_bounds`, the text features unknown) reaches the
    `limit`-th best worst possible score. Every other candidate ranks below the hits whatever
    its text says, so the hits are exactly those of scoring every candidate; when that cannot
    be shown (a short-listed item no longer stored, scores too close), every candidate is
    scored."""
    filters = filters.checked()
    model = model or shipped_model()
    with store.state.connect() as connection:
        scope = scope_of(store, filters, connection)
        if scope is None:
            return []
        found = retrieve(store, vector, query, scope, max(CANDIDATES, limit), connection)
        if not found.ids:
            return []
        shortlist, ceiling = found.shortlist(model, limit)
        scored = found.candidates(shortlist, store, connection)
        hits = _ranked_hits(connection, scored, model, scope, limit)
        if len(shortlist) < len(found.ids) and not _beyond_reach(hits, limit, ceiling):
            scored = found.candidates(found.ids, store, connection)
            hits = _ranked_hits(connection, scored, model, scope, limit)
        return _with_passages(store, connection, scored, hits)


SCORE_MARGIN = 1e-9  # bounds and scores are summed in different orders


def _beyond_reach(hits: Sequence[SearchHit], limit: int, ceiling: float) -> bool:
    """Whether no candidate left off the short list (best possible score `ceiling`) could
    have displaced a hit: there are `limit` hits and the last scores clearly above it."""
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


@dataclass(frozen=True)
class Candidate:
    """An item some engine found for a query, with its features (`horizon.fusion.FEATURES`)
    and the passage that matched best, as (number, text), when one did."""

    item_id: str
    features: list[float]
    passage: tuple[int, str] | None


@dataclass(frozen=True)
class Candidates:
    """Everything one query found, and the query as the full-text engine ran it."""

    candidates: list[Candidate]
    words: LexicalQuery
    lexical_ids: frozenset[str]

    def matrix(self) -> np.ndarray:
        return np.asarray([c.features for c in self.candidates], dtype=float).reshape(
            len(self.candidates), len(FEATURES)
        )


def candidates(
    store: Store,
    vector: np.ndarray,
    query: str,
    scope: Scope,
    depth: int = CANDIDATES,
    connection: sqlite3.Connection | None = None,
) -> Candidates:
    """The items each engine finds for the query within the scope, item-level and
    passage-level, `depth` from each, described by their fusion features. Reads through
    `connection` when given (a search reads through one), else through a new one."""
    if connection is None:
        with store.state.connect() as opened:
            return candidates(store, vector, query, scope, depth, opened)
    found = retrieve(store, vector, query, scope, depth, connection)
    return found.candidates(found.ids, store, connection)


# Chroma's two queries run here while the calling thread runs the full-text ones: Chroma
# releases the interpreter while it searches, so on an idle second core the engines overlap.
# (The full-text passage query on a third thread, with a connection of its own, was slower.)
_VECTOR_QUERIES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="horizon-vectors")


@dataclass(frozen=True)
class Retrieved:
    """What the four lists found for one query, before any candidate's text is read: each
    candidate's signals, and the passage (item id, number) that matched it best."""

    shape: QueryShape
    words: LexicalQuery
    ids: list[str]
    item_cosine: dict[str, float]
    passage_cosine: dict[str, float]
    item_bm25: dict[str, float]
    passage_bm25: dict[str, float]
    dense_rank: dict[str, int]
    lexical_rank: dict[str, int]
    chosen: dict[str, tuple[str, int]]
    floor: float

    def signals(self, ids: Sequence[str], with_passage: Sequence[bool]) -> SignalColumns:
        """The candidates' signals; a passage's count only where its text is stored
        (`with_passage`)."""
        nan = float("nan")
        present = np.asarray(with_passage, dtype=bool)
        passage_cosine = np.asarray([self.passage_cosine.get(i, nan) for i in ids])
        passage_bm25 = np.asarray([self.passage_bm25.get(i, 0.0) for i in ids], dtype=float)
        return SignalColumns(
            item_cosine=np.asarray([self.item_cosine.get(i, nan) for i in ids]),
            passage_cosine=np.where(present, passage_cosine, nan),
            item_bm25=np.asarray([self.item_bm25.get(i, 0.0) for i in ids], dtype=float),
            passage_bm25=np.where(present, passage_bm25, 0.0),
            dense_rank=np.asarray([self.dense_rank.get(i, 0) for i in ids], dtype=float),
            lexical_rank=np.asarray([self.lexical_rank.get(i, 0) for i in ids], dtype=float),
        )

    def shortlist(self, model: FusionModel, limit: int) -> tuple[list[str], float]:
        """The candidates that can reach the top `limit` whatever their texts say, in list
        order, and the best score any other candidate can reach (0 when none is left off).
        A candidate with a passage is bounded both with and without it, since whether the
        passage's text is still stored is only known once it is read."""
        ids = self.ids
        if len(ids) <= limit:
            return list(ids), 0.0
        open_features = self.shape.open_text_features()
        with_passage = [i in self.chosen for i in ids]
        low, high = model.score_bounds(
            signal_rows(self.shape, self.signals(ids, with_passage), self.floor), open_features
        )
        if any(with_passage):
            bare = signal_rows(self.shape, self.signals(ids, [False] * len(ids)), self.floor)
            bare_low, bare_high = model.score_bounds(bare, open_features)
            low, high = np.minimum(low, bare_low), np.maximum(high, bare_high)
        threshold = float(np.sort(low)[-limit]) - SCORE_MARGIN
        kept = high >= threshold
        ceiling = float(high[~kept].max()) if not kept.all() else 0.0
        return [item_id for item_id, keep in zip(ids, kept, strict=True) if keep], ceiling

    def candidates(
        self, ids: Sequence[str], store: Store, connection: sqlite3.Connection
    ) -> Candidates:
        """These candidates (in list order) with their features, their texts read through
        `connection`; items no longer stored are left out."""
        texts = store.lexical.passage_texts(
            [self.chosen[i] for i in ids if i in self.chosen], connection
        )
        rows = _item_texts(connection, ids)
        stored = [item_id for item_id in ids if item_id in rows]
        passages: list[tuple[int, str] | None] = []
        for item_id in stored:
            key = self.chosen.get(item_id)
            passages.append((key[1], texts[key]) if key is not None and key in texts else None)
        matrix = signal_rows(
            self.shape, self.signals(stored, [p is not None for p in passages]), self.floor
        )
        found = []
        for item_id, passage, row in zip(stored, passages, matrix, strict=True):
            title, summary = rows[item_id]
            text = passage[1] if passage else summary
            row[TEXT_COLUMNS] = text_features(self.shape, title, text)
            found.append(Candidate(item_id, row.tolist(), passage))
        return Candidates(
            found, self.words, frozenset(self.item_bm25) | frozenset(self.passage_bm25)
        )


def retrieve(
    store: Store,
    vector: np.ndarray,
    query: str,
    scope: Scope,
    depth: int,
    connection: sqlite3.Connection,
) -> Retrieved:
    """Run the four lists, `depth` from each, within the scope: Chroma's two queries on a
    worker thread while this one runs the full-text ones."""
    vectors = _VECTOR_QUERIES.submit(_vector_lists, store, vector, depth, scope)
    lexical_index = store.lexical
    words = lexical_index.prepare(query, connection)
    lexical = lexical_index.search(words, depth, scope.conditions, connection)
    lexical_passages = lexical_index.search_passages(words, depth, scope.conditions, connection)
    wide_items, wide_passages = vectors.result()
    dense = _admitted_items(store, connection, vector[None, :], depth, scope, wide_items)
    dense_passages = _admitted_passages(connection, depth, scope, wide_passages)
    ids = list(
        dict.fromkeys(
            [n.item_id for n in dense]
            + [p.item_id for p in dense_passages]
            + [m.item_id for m in lexical]
            + [m.item_id for m in lexical_passages]
        )
    )
    item_cosine = {n.item_id: n.similarity for n in dense}
    passage_cosine = {p.item_id: p.similarity for p in dense_passages}
    item_bm25 = _scaled({m.item_id: m.score for m in lexical})
    passage_bm25 = _scaled({m.item_id: m.score for m in lexical_passages})
    return Retrieved(
        shape=QueryShape.of(query),
        words=words,
        ids=ids,
        item_cosine=item_cosine,
        passage_cosine=passage_cosine,
        item_bm25=item_bm25,
        passage_bm25=passage_bm25,
        dense_rank=_ranks(
            {
                i: max(item_cosine.get(i, -1.0), passage_cosine.get(i, -1.0))
                for i in {*item_cosine, *passage_cosine}
            }
        ),
        lexical_rank=_ranks(
            {
                i: max(item_bm25.get(i, 0.0), passage_bm25.get(i, 0.0))
                for i in {*item_bm25, *passage_bm25}
            }
        ),
        chosen=_chosen_passages(dense_passages, lexical_passages),
        floor=min(item_cosine.values(), default=0.0),
    )


def _scaled(scores: dict[str, float]) -> dict[str, float]:
    best = max(scores.values(), default=0.0)
    return {key: value / best for key, value in scores.items()} if best > 0 else {}


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda key: (-scores[key], key))
    return {key: rank for rank, key in enumerate(ordered, start=1)}


def _chosen_passages(
    dense: Sequence[PassageNeighbour], lexical: Sequence[PassageMatch]
) -> dict[str, tuple[str, int]]:
    """Each item's matching passage: the one ranked higher in its own list (dense or
    full-text) when the two engines found different passages of it."""
    chosen: dict[str, tuple[int, tuple[str, int]]] = {}
    for rank, match in enumerate(lexical):
        chosen[match.item_id] = (rank, (match.item_id, match.number))
    for rank, neighbour in enumerate(dense):
        known = chosen.get(neighbour.item_id)
        if known is None or rank < known[0]:
            chosen[neighbour.item_id] = (rank, (neighbour.item_id, neighbour.number))
    return {item_id: key for item_id, (_, key) in chosen.items()}


def _item_texts(connection: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Title and the opening of the summary (as much as the features read) of each item."""
    marks = ",".join("?" * len(ids))
    rows = connection.execute(
        f"SELECT id, title, substr(summary, 1, ?) FROM items WHERE id IN ({marks})",
        [FEATURE_TEXT_CHARS, *ids],
    )
    return {row[0]: (row[1], row[2] or "") for row in rows}


def _vector_lists(
    store: Store, vector: np.ndarray, depth: int, scope: Scope
) -> tuple[list[Neighbour], list[PassageNeighbour]]:
    """The nearest items and passages, unfiltered: `OVERFETCH` times `depth` of each when
    there are filters, to be checked in SQLite (Chroma only; safe on a worker thread)."""
    wide = depth * (OVERFETCH if scope.where is not None else 1)
    return store.index.nearest(vector[None, :], wide)[0], store.index.nearest_passages(vector, wide)


def _dense_candidates(
    store: Store, connection: sqlite3.Connection, vector: np.ndarray, depth: int, scope: Scope
) -> list[Neighbour]:
    """The `depth` nearest items the filters admit."""
    wide = depth * (OVERFETCH if scope.where is not None else 1)
    nearest = store.index.nearest(vector, wide)[0]
    return _admitted_items(store, connection, vector, depth, scope, nearest)


def _admitted_items(
    store: Store,
    connection: sqlite3.Connection,
    vector: np.ndarray,
    depth: int,
    scope: Scope,
    wide: list[Neighbour],
) -> list[Neighbour]:
    """The `depth` nearest items the filters admit, from the nearest `wide` fetched without
    them. Chroma's own filtering is slow on a large collection (0.3 s at 100k items with a
    date range), so the nearest `OVERFETCH` times as many are checked in SQLite: when enough
    pass they are exactly the nearest that do; otherwise (a narrow filter) Chroma filters."""
    if scope.where is None:
        return wide[:depth]
    passing = admitted(connection, [n.item_id for n in wide], scope.conditions)
    kept = [neighbour for neighbour in wide if neighbour.item_id in passing]
    if len(kept) >= depth or len(wide) < depth * OVERFETCH:
        return kept[:depth]
    return store.index.nearest(vector, depth, scope.where)[0]


def _admitted_passages(
    connection: sqlite3.Connection, depth: int, scope: Scope, wide: list[PassageNeighbour]
) -> list[PassageNeighbour]:
    """The best passage of each item among the nearest passages whose item the filters admit,
    best first. Passages carry no filter metadata, so their items are checked in SQLite."""
    best: dict[str, PassageNeighbour] = {}
    for neighbour in wide:
        best.setdefault(neighbour.item_id, neighbour)
    if scope.where is not None:
        passing = admitted(connection, list(best), scope.conditions)
        best = {item_id: n for item_id, n in best.items() if item_id in passing}
    return list(best.values())[:depth]


def _with_passages(
    store: Store, connection: sqlite3.Connection, found: Candidates, hits: list[SearchHit]
) -> list[SearchHit]:
    """The hits with their matching passage, and a snippet with the matched words marked:
    from that passage when there is one, else from the item."""
    passage_of = {c.item_id: c.passage for c in found.candidates}
    keys = [(hit.id, p[0]) for hit in hits if (p := passage_of.get(hit.id)) is not None]
    passage_snippets = store.lexical.passage_snippets(found.words, keys, connection)
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
    with store.state.connect() as connection:
        canonical = _canonical_id(connection, item_id)
        vectors = store.index.embeddings([canonical])
        if canonical not in vectors:
            missing = f"item {item_id!r} is in the run state but not in the vector index"
            raise UnknownItemError(f"{missing}; ingest it again")
        scope = scope_of(store, filters, connection)
        if scope is None or limit < 1:
            return []
        vector = vectors[canonical][None, :]
        neighbours = _dense_candidates(store, connection, vector, limit + 1, scope)
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


def scope_of(
    store: Store, filters: SearchFilters, connection: sqlite3.Connection | None = None
) -> Scope | None:
    """Checked filters as SQL conditions and a Chroma `where`; None when nothing can match
    (no stored publisher fits the publisher filter). Reads through `connection` when given,
    else through a new one."""
    if connection is None:
        with store.state.connect() as opened:
            return scope_of(store, filters, opened)
    conditions: list[ItemCondition] = []
    where: list[dict[str, Any]] = []
    if filters.since is not None:
        start = _utc_midnight(filters.since)
        conditions.append(ItemCondition("i.published >= ?", (start.isoformat(),)))
        where.append({"published_ts": {"$gte": int(start.timestamp())}})
    if filters.until is not None:
        end = _utc_midnight(filters.until + timedelta(days=1))
        conditions.append(ItemCondition("i.published < ?", (end.isoformat(),)))
        where.append({"published_ts": {"$lt": int(end.timestamp())}})
    if filters.publishers:
        publishers = _matching_publishers(connection, filters.publishers)
        if not publishers:
            return None
        conditions.append(_in("i.publisher", publishers))
        where.append({"publisher": {"$in": publishers}})
    for column, key, values in (
        ("i.source_category", "category", filters.categories),
        ("i.jurisdiction", "jurisdiction", filters.jurisdictions),
        ("i.type", "type", filters.types),
    ):
        if values:
            conditions.append(_in(column, values))
            where.append({key: {"$in": list(values)}})
    if filters.controls:
        marks = ",".join("?" * len(filters.controls))
        conditions.append(
            ItemCondition(
                "EXISTS (SELECT 1 FROM json_each(i.tags, '$.controls') c"
                f" WHERE json_extract(c.value, '$.id') IN ({marks}))",
                filters.controls,
            )
        )
        where.append(_any_of("controls", filters.controls))
    if filters.themes:
        marks = ",".join("?" * len(filters.themes))
        conditions.append(
            ItemCondition(
                "EXISTS (SELECT 1 FROM json_each(i.tags, '$.themes') t"
                f" WHERE t.value IN ({marks}))",
                filters.themes,
            )
        )
        where.append(_any_of("themes", filters.themes))
    if filters.has_deadline is not None:
        deadlines = _deadlines(connection)
        if filters.has_deadline:
            if not deadlines:
                return None
            conditions.append(ItemCondition("i.deadline IS NOT NULL"))
            where.append({"deadline": {"$in": deadlines}})
        else:
            conditions.append(ItemCondition("i.deadline IS NULL"))
            if deadlines:
                where.append({"deadline": {"$nin": deadlines}})
    if filters.relevant_only:
        conditions.append(ItemCondition("i.relevant = 1"))
        where.append({"relevant": True})
    combined = None if not where else where[0] if len(where) == 1 else {"$and": where}
    return Scope(tuple(conditions), combined)


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _in(column: str, values: Sequence[str]) -> ItemCondition:
    return ItemCondition(f"{column} IN ({','.join('?' * len(values))})", tuple(values))


def _any_of(key: str, values: Sequence[str]) -> dict[str, Any]:
    clauses = [{key: {"$contains": value}} for value in values]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _matching_publishers(connection: sqlite3.Connection, wanted: Sequence[str]) -> list[str]:
    """Stored publisher names containing any wanted name as whole words, ignoring case."""
    patterns = [re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) for name in wanted]
    names = [row[0] for row in connection.execute("SELECT DISTINCT publisher FROM items")]
    return sorted(name for name in names if any(pattern.search(name) for pattern in patterns))


def _deadlines(connection: sqlite3.Connection) -> list[str]:
    """Every deadline date stored: Chroma cannot ask whether a key exists, only match values."""
    return [
        row[0]
        for row in connection.execute(
            "SELECT DISTINCT deadline FROM items WHERE deadline IS NOT NULL"
        )
    ]


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
