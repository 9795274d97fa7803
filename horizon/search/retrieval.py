"""The four lists a query runs in (item and passage vectors in Chroma, item and passage BM25 in
FTS5) and the candidates they give, with their fusion features; texts are read only for the
candidates asked for (`Retrieved.candidates`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from horizon.fusion import (
    FEATURES,
    TEXT_COLUMNS,
    FusionModel,
    QueryShape,
    SignalColumns,
    signal_rows,
    text_features,
)
from horizon.lexical import (
    OVERFETCH,
    LexicalQuery,
    PassageMatch,
    admitted,
)
from horizon.search.filters import Scope
from horizon.store import Neighbour, PassageNeighbour, Store

CANDIDATES = 50
FEATURE_TEXT_CHARS = 600


SCORE_MARGIN = 1e-9  # bounds and scores are summed in different orders
# Texts read first for the top `limit`: this many times `limit`, best possible score first
# (on the 100k bench home's 50 queries: 70 texts read at the median, against 170 with the
# `limit`-th best worst possible score as the only bar).
FIRST_READ = 2


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

    def joined(self, more: Candidates) -> Candidates:
        """These candidates and `more` (other candidates of the same query)."""
        return Candidates(self.candidates + more.candidates, self.words, self.lexical_ids)


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
        with store.state.reading() as opened:
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

    @cached_property
    def _signal_table(self) -> tuple[dict[str, int], SignalColumns]:
        """Every candidate's signals, passages included, in list order, with each id's row:
        gathered once, since a search asks for them up to four times."""
        nan = float("nan")
        ids = self.ids
        return {item_id: row for row, item_id in enumerate(ids)}, SignalColumns(
            item_cosine=np.asarray([self.item_cosine.get(i, nan) for i in ids], dtype=float),
            passage_cosine=np.asarray([self.passage_cosine.get(i, nan) for i in ids], dtype=float),
            item_bm25=np.asarray([self.item_bm25.get(i, 0.0) for i in ids], dtype=float),
            passage_bm25=np.asarray([self.passage_bm25.get(i, 0.0) for i in ids], dtype=float),
            dense_rank=np.asarray([self.dense_rank.get(i, 0) for i in ids], dtype=float),
            lexical_rank=np.asarray([self.lexical_rank.get(i, 0) for i in ids], dtype=float),
        )

    def signals(self, ids: Sequence[str], with_passage: Sequence[bool]) -> SignalColumns:
        """The candidates' signals; a passage's count only where its text is stored
        (`with_passage`)."""
        row_of, table = self._signal_table
        rows = np.fromiter((row_of[item_id] for item_id in ids), dtype=np.intp, count=len(ids))
        present = np.asarray(with_passage, dtype=bool)
        return SignalColumns(
            item_cosine=table.item_cosine[rows],
            passage_cosine=np.where(present, table.passage_cosine[rows], np.nan),
            item_bm25=table.item_bm25[rows],
            passage_bm25=np.where(present, table.passage_bm25[rows], 0.0),
            dense_rank=table.dense_rank[rows],
            lexical_rank=table.lexical_rank[rows],
        )

    def bounds(self, model: FusionModel) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest score each candidate (in list order) can reach whatever its
        text says. A candidate with a passage is bounded both with and without it, since
        whether the passage's text is still stored is only known once it is read."""
        ids = self.ids
        open_features = self.shape.open_text_features()
        with_passage = [i in self.chosen for i in ids]
        low, high = model.score_bounds(
            signal_rows(self.shape, self.signals(ids, with_passage), self.floor), open_features
        )
        if any(with_passage):
            bare = signal_rows(self.shape, self.signals(ids, [False] * len(ids)), self.floor)
            bare_low, bare_high = model.score_bounds(bare, open_features)
            low, high = np.minimum(low, bare_low), np.maximum(high, bare_high)
        return low, high

    def read_for_top(
        self, model: FusionModel, limit: int, store: Store, connection: sqlite3.Connection
    ) -> tuple[Candidates, float | None]:
        """The candidates that can reach the top `limit`, with their texts read and features
        computed, and the best score any candidate left unread can reach (None when every
        candidate was read).

        Texts are read best possible score first: the `FIRST_READ` × `limit` candidates whose
        best possible score is highest, then every other whose best possible score reaches
        the `limit`-th best actual score among those (or the `limit`-th best worst possible
        score, whichever is higher). A candidate below that cannot displace a hit, so most
        candidates' texts go unread while the hits stay those of scoring every candidate."""
        ids = self.ids
        if len(ids) <= limit:
            return self.candidates(ids, store, connection), None
        low, high = self.bounds(model)
        floor = float(np.sort(low)[-limit]) - SCORE_MARGIN
        order = [int(i) for i in np.argsort(-high, kind="stable") if high[i] >= floor]
        first = order[: FIRST_READ * limit]
        found = self.candidates([ids[i] for i in sorted(first)], store, connection)
        if len(found.candidates) >= limit:
            best = float(np.sort(model.scores(found.matrix()))[-limit]) - SCORE_MARGIN
            floor = max(floor, best)
        more = [i for i in order[FIRST_READ * limit :] if high[i] >= floor]
        if more:
            found = found.joined(self.candidates([ids[i] for i in more], store, connection))
        unread = np.ones(len(ids), dtype=bool)
        unread[first + more] = False
        return found, float(high[unread].max()) if unread.any() else None

    def candidates(
        self, ids: Sequence[str], store: Store, connection: sqlite3.Connection
    ) -> Candidates:
        """These candidates (in list order) with their features, their texts read through
        `connection`; items no longer stored are left out."""
        texts = store.lexical_passages.texts(
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
    lexical_passages = store.lexical_passages.search(words, depth, scope.conditions, connection)
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


def dense_candidates(
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
