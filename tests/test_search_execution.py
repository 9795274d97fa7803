"""How a search runs, not what it finds: the fast path (one SQLite connection, passages looked up
by key, passage ids read from Chroma's ids, the features' shortcuts) must give exactly what the
plain definition gives. Real Chroma and SQLite FTS5 in a fresh home, the hashing embedder."""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horizon.embed import HashingEmbedder
from horizon.fusion import (
    FEATURES,
    TEXT_FEATURES,
    QueryShape,
    SignalColumns,
    Signals,
    features,
    shipped_model,
    signal_rows,
    text_features,
)
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.search import (
    CANDIDATES,
    FEATURE_TEXT_CHARS,
    Retrieved,
    Scope,
    candidates,
    search,
    search_vector,
    similar,
)
from horizon.search.retrieval import SCORE_MARGIN, retrieve
from horizon.store import Store, passage_key

SEEN = datetime(2025, 9, 15, tzinfo=UTC)
TOPICS = ["logging", "procurement", "transparency", "record retention", "incident reporting"]


def long_summary(topic: str, number: int) -> str:
    paragraphs = [
        " ".join(
            f"Part {part} of guide {number} on {topic} says what firms must do, sentence {n}."
            for n in range(6)
        )
        for part in range(5)
    ]
    if number == 2:
        paragraphs.insert(3, "Article 50 transparency duties apply to chatbots and deepfakes.")
    return "\n\n".join(paragraphs)


def corpus() -> list[Item]:
    long_items = [
        item_from_record(
            {
                "id": f"guide#{number}",  # a '#' in an item id, as passage ids use one too
                "title": f"Supervisory guide {number}: {topic}",
                "summary": long_summary(topic, number),
                "publisher": "Example Supervisor",
                "published": "2025-05-01",
            }
        )
        for number, topic in enumerate(TOPICS)
    ]
    short_items = [
        item_from_record(
            {
                "id": f"note-{number}",
                "title": f"Short note {number} on AI {topic}",
                "summary": f"A brief note on {topic} for AI systems, number {number}.",
                "publisher": "Example Supervisor",
                "published": "2025-04-01",
            }
        )
        for number, topic in enumerate(TOPICS * 3)
    ]
    return long_items + short_items


@pytest.fixture
def filled(store: Store, embedder: HashingEmbedder) -> Store:
    items = corpus()
    store.save_items(items, embedder.embed([item.text() for item in items]), SEEN, embedder)
    return store


QUERIES = [
    "how long must records be retained",
    "Article 50 transparency chatbots",
    "procurement note for AI systems",
    "supervisory guide incident reporting",
]


def _scaled(scores: dict[str, float]) -> dict[str, float]:
    best = max(scores.values(), default=0.0)
    return {key: value / best for key, value in scores.items()} if best > 0 else {}


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    ordered = sorted(scores, key=lambda key: (-scores[key], key))
    return {key: rank for rank, key in enumerate(ordered, start=1)}


def reference_ranking(
    store: Store, vector: np.ndarray, query: str
) -> list[tuple[str, float, str | None]]:
    """(item id, score, passage text) of every candidate, best first, derived the plain way:
    the four engines' public calls, each text read on its own, the public `features` and the
    shipped model (docs/search.md describes the definition)."""
    dense = store.index.nearest(vector[None, :], CANDIDATES)[0]
    best_passage: dict[str, tuple[int, float]] = {}
    for neighbour in store.index.nearest_passages(vector, CANDIDATES):
        best_passage.setdefault(neighbour.item_id, (neighbour.number, neighbour.similarity))
    dense_passages = list(best_passage.items())[:CANDIDATES]
    words = store.lexical.prepare(query)
    lexical = store.lexical.search(words, CANDIDATES)
    lexical_passages = store.lexical_passages.search(words, CANDIDATES)
    item_cosine = {n.item_id: n.similarity for n in dense}
    passage_cosine = {item_id: similarity for item_id, (_, similarity) in dense_passages}
    item_bm25 = _scaled({m.item_id: m.score for m in lexical})
    passage_bm25 = _scaled({m.item_id: m.score for m in lexical_passages})
    dense_rank = _ranks(
        {
            i: max(item_cosine.get(i, -1.0), passage_cosine.get(i, -1.0))
            for i in {*item_cosine, *passage_cosine}
        }
    )
    lexical_rank = _ranks(
        {
            i: max(item_bm25.get(i, 0.0), passage_bm25.get(i, 0.0))
            for i in {*item_bm25, *passage_bm25}
        }
    )
    chosen: dict[str, tuple[int, int]] = {}  # item -> (rank in its list, passage number)
    for rank, match in enumerate(lexical_passages):
        chosen[match.item_id] = (rank, match.number)
    for rank, (item_id, (number, _)) in enumerate(dense_passages):
        if item_id not in chosen or rank < chosen[item_id][0]:
            chosen[item_id] = (rank, number)
    shape = QueryShape.of(query)
    floor = min(item_cosine.values(), default=0.0)
    ids = list(
        dict.fromkeys(
            [n.item_id for n in dense]
            + [item_id for item_id, _ in dense_passages]
            + [m.item_id for m in lexical]
            + [m.item_id for m in lexical_passages]
        )
    )
    rows, passages = [], []
    with store.state.connect() as connection:
        for item_id in ids:
            title, summary = connection.execute(
                "SELECT title, summary FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            passage = None
            if item_id in chosen:
                found = connection.execute(
                    "SELECT text FROM passages WHERE item_id = ? AND number = ?",
                    (item_id, chosen[item_id][1]),
                ).fetchone()
                passage = found[0] if found else None
            signals = Signals(
                item_cosine=item_cosine.get(item_id),
                passage_cosine=passage_cosine.get(item_id) if passage else None,
                item_bm25=item_bm25.get(item_id, 0.0),
                passage_bm25=passage_bm25.get(item_id, 0.0) if passage else 0.0,
                dense_rank=dense_rank.get(item_id),
                lexical_rank=lexical_rank.get(item_id),
            )
            text = passage if passage else summary[:FEATURE_TEXT_CHARS]
            rows.append(features(shape, signals, title, text, floor))
            passages.append(passage)
    scores = shipped_model().scores(np.asarray(rows, dtype=float))
    ranked = sorted(zip(ids, scores, passages, strict=True), key=lambda r: (-r[1], r[0]))
    return [(item_id, float(score), passage) for item_id, score, passage in ranked]


@pytest.mark.parametrize("query", QUERIES)
def test_search_scores_are_the_shipped_model_on_the_public_features_of_every_candidate(
    filled: Store, embedder: HashingEmbedder, query: str
) -> None:
    vector = embedder.embed([query])[0]
    expected = reference_ranking(filled, vector, query)
    assert len(expected) > 10  # every item is a candidate of some list, not just the top
    hits = search_vector(filled, vector, query, limit=len(expected))
    assert [hit.id for hit in hits] == [item_id for item_id, _, _ in expected]
    for hit, (_, score, passage) in zip(hits, expected, strict=True):
        assert hit.score == pytest.approx(score, abs=1e-12)
        assert hit.passage == passage
    assert any(hit.passage for hit in hits)


@contextmanager
def counting_connections(store: Store) -> Iterator[list[int]]:
    opened = [0]
    open_connection = store.state.open_connection

    def counted(check_same_thread: bool = True) -> sqlite3.Connection:
        opened[0] += 1
        return open_connection(check_same_thread)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store.state, "open_connection", counted)
        yield opened


def test_searches_and_more_like_this_on_one_thread_read_the_state_through_one_kept_connection(
    filled: Store, embedder: HashingEmbedder
) -> None:
    with counting_connections(filled) as opened:
        hits = search(filled, embedder, "Article 50 transparency chatbots", limit=5)
        assert hits and opened[0] <= 1
        first = opened[0]
        assert search(filled, embedder, "chatbots", limit=5)
        assert similar(filled, "note-1", limit=3)
    assert opened[0] == first, "later searches on the thread open no connection"


def test_a_passage_found_by_vector_names_its_item_even_when_the_item_id_holds_a_hash(
    filled: Store, embedder: HashingEmbedder
) -> None:
    assert passage_key("guide#2#7") == ("guide#2", 7)
    vector = embedder.embed(["Article 50 transparency duties apply to chatbots"])[0]
    found = filled.index.nearest_passages(vector, 100)
    with filled.state.connect() as connection:
        stored = set(connection.execute("SELECT item_id, number FROM passages").fetchall())
    assert found and {(p.item_id, p.number) for p in found} == {tuple(key) for key in stored}


def test_passage_texts_are_exactly_the_passages_asked_for(filled: Store) -> None:
    with filled.state.connect() as connection:
        every = {
            (item_id, number): text
            for item_id, number, text in connection.execute(
                "SELECT item_id, number, text FROM passages"
            )
        }
    asked = [("guide#1", 0), ("guide#1", 2), ("guide#3", 1), ("guide#3", 99), ("note-0", 0)]
    assert filled.lexical_passages.texts(asked) == {
        key: every[key] for key in asked if key in every
    }
    assert len(filled.lexical_passages.texts(asked)) == 3
    assert filled.lexical_passages.texts([]) == {}


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def plain_text_features(shape: QueryShape, title: str, text: str) -> list[float]:
    """The text features as first written: the text split into words, each cut to its stem
    (`text_features` finds the stems in the text without splitting it)."""
    words = shape.words
    title_words = _WORD.findall(title.lower())
    text_words = title_words + _WORD.findall(text.lower())
    title_stems = {word[:6] for word in title_words}
    text_stems = [word[:6] for word in text_words]
    text_stem_set = set(text_stems)
    title_overlap = sum(w in title_stems for w in words) / len(words) if words else 0.0
    text_overlap = sum(w in text_stem_set for w in words) / len(words) if words else 0.0
    pairs = list(itertools.pairwise(words))
    adjacent = set(itertools.pairwise(text_stems))
    proximity = sum(pair in adjacent for pair in pairs) / len(pairs) if pairs else 0.0
    exact = in_title = 0.0
    if shape.identifiers:
        joined_title = f" {' '.join(title_words)} "
        joined_text = f" {' '.join(text_words)} "
        count = len(shape.identifiers)
        exact = sum(f" {' '.join(p)} " in joined_text for p in shape.identifiers) / count
        in_title = sum(f" {' '.join(p)} " in joined_title for p in shape.identifiers) / count
    return [title_overlap, text_overlap, proximity, exact, in_title]


VOCABULARY = [
    "AI",
    "Act",
    "Article",
    "50",
    "SB",
    "53",
    "M-24-10",
    "deployers",
    "deployer",
    "transparency",
    "transparent",
    "model",
    "models",
    "ÉTAT",
    "état",
    "naïve",
    "under_score",
    "data_protection",
    "of",
    "the",
    "ISO/IEC",
    "42005",
    "deployment",
    "deploy",
    "act",
    "actions",
    "İSTANBUL",  # lowers to more characters than it has
    "straße",
    "x²",
    "٣",
]
GAPS = [",", ".", "-", "\n", "(", "'s", "_", "–", "\u0307"]
phrases = st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join)
texts = st.lists(
    st.one_of(st.sampled_from(VOCABULARY), st.sampled_from(GAPS)),
    max_size=60,
).map(" ".join)
# words and gaps run together: a stem may start or end inside a longer word
packed_texts = st.lists(
    st.one_of(st.sampled_from(VOCABULARY), st.sampled_from([*GAPS, " ", ""])),
    max_size=60,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(query=phrases, title=st.one_of(phrases, packed_texts), text=st.one_of(texts, packed_texts))
def test_the_text_features_equal_their_plain_definition(query: str, title: str, text: str) -> None:
    shape = QueryShape.of(query)
    signals = Signals(0.5, None, 0.0, 0.0, None, None)
    row = features(shape, signals, title, text, floor_cosine=0.1)
    assert [row[FEATURES.index(name)] for name in TEXT_FEATURES] == plain_text_features(
        shape, title, text
    )


def plain_signal_features(shape: QueryShape, signals: Signals, floor: float) -> list[float]:
    """The features that need no text, as first written, one candidate at a time."""
    item_cosine = signals.item_cosine if signals.item_cosine is not None else floor
    best_cosine = max(item_cosine, signals.passage_cosine or 0.0)
    best_bm25 = max(signals.item_bm25, signals.passage_bm25)
    question = 1.0 if shape.question else 0.0
    identifier_query = 1.0 if shape.identifiers else 0.0
    return [
        item_cosine,
        best_cosine,
        signals.item_bm25,
        signals.passage_bm25,
        best_bm25,
        1.0 / signals.dense_rank if signals.dense_rank else 0.0,
        1.0 / signals.lexical_rank if signals.lexical_rank else 0.0,
        question * best_cosine,
        question * best_bm25,
        identifier_query * signals.item_bm25,
        identifier_query * best_cosine,
    ]


cosines = st.one_of(st.none(), st.floats(-1.0, 1.0))
shares = st.floats(0.0, 1.0)
ranks = st.one_of(st.none(), st.integers(1, 500))
signal_values = st.builds(Signals, cosines, cosines, shares, shares, ranks, ranks)


@settings(max_examples=300, deadline=None)
@given(query=phrases, signals=st.lists(signal_values, min_size=1, max_size=8), floor=shares)
def test_the_signal_features_of_many_candidates_equal_their_plain_definition(
    query: str, signals: list[Signals], floor: float
) -> None:
    shape = QueryShape.of(query)
    rows = signal_rows(shape, SignalColumns.of(signals), floor)
    others = [n for n, name in enumerate(FEATURES) if name not in TEXT_FEATURES]
    for row, one in zip(rows, signals, strict=True):
        assert [float(row[n]) for n in others] == plain_signal_features(shape, one, floor)
        assert not any(row[FEATURES.index(name)] for name in TEXT_FEATURES)


@settings(max_examples=300, deadline=None)
@given(query=phrases, title=phrases, text=texts)
def test_only_the_text_features_a_query_leaves_open_can_be_above_zero(
    query: str, title: str, text: str
) -> None:
    shape = QueryShape.of(query)
    row = features(shape, Signals(0.5, None, 0.0, 0.0, None, None), title, text, 0.1)
    for name in TEXT_FEATURES:
        if name not in shape.open_text_features():
            assert row[FEATURES.index(name)] == 0.0


@settings(max_examples=200, deadline=None)
@given(
    query=phrases,
    signals=signal_values,
    texts=st.lists(st.tuples(phrases, texts), min_size=1, max_size=5),
)
def test_a_candidates_score_lies_within_the_bounds_known_before_its_text(
    query: str, signals: Signals, texts: list[tuple[str, str]]
) -> None:
    shape = QueryShape.of(query)
    model = shipped_model()
    bare = signal_rows(shape, SignalColumns.of([signals]), 0.1)
    low, high = model.score_bounds(bare, shape.open_text_features())
    for title, text in texts:
        score = model.scores(np.asarray([features(shape, signals, title, text, 0.1)]))[0]
        assert low[0] - 1e-12 <= score <= high[0] + 1e-12


def full_ranking(store: Store, vector: np.ndarray, query: str) -> list[tuple[str, float]]:
    """Every candidate `candidates` finds (all of them featurised), scored and ranked."""
    found = candidates(store, vector, query, Scope((), None))
    scores = shipped_model().scores(found.matrix())
    return sorted(
        ((c.item_id, float(s)) for c, s in zip(found.candidates, scores, strict=True)),
        key=lambda pair: (-pair[1], pair[0]),
    )


@contextmanager
def counting_texts() -> Iterator[list[int]]:
    read = [0]

    def counted(shape: QueryShape, title: str, text: str) -> list[float]:
        read[0] += 1
        return text_features(shape, title, text)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("horizon.search.retrieval.text_features", counted)
        yield read


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_a_search_reads_texts_for_a_short_list_and_finds_exactly_what_scoring_all_finds(
    filled: Store, embedder: HashingEmbedder, limit: int
) -> None:
    skipped = 0
    for query in [*QUERIES, "records", "transparency note", "what must firms do on logging"]:
        vector = embedder.embed([query])[0]
        expected = full_ranking(filled, vector, query)[:limit]
        with counting_texts() as read:
            hits = search_vector(filled, vector, query, limit=limit)
        # the same items in the same order; scores equal up to rounding (a matrix of another
        # height may be multiplied in another order)
        assert [hit.id for hit in hits] == [item_id for item_id, _ in expected]
        assert [hit.score for hit in hits] == pytest.approx([score for _, score in expected])
        skipped += len(full_ranking(filled, vector, query)) - read[0]
    assert skipped > 0  # the short list left some candidates' texts unread


def test_texts_are_read_best_possible_score_first_and_never_more_than_the_worst_case_bar_keeps(
    filled: Store, embedder: HashingEmbedder
) -> None:
    """Reading stops once no unread candidate can reach the hits' scores: never more texts
    than the bar of the `limit`-th best worst possible score alone would read, often fewer."""
    limit = 1
    fewer = 0
    for query in [*QUERIES, "records", "transparency note", "what must firms do on logging"]:
        vector = embedder.embed([query])[0]
        with filled.state.reading() as connection:
            found = retrieve(filled, vector, query, Scope((), None), CANDIDATES, connection)
        low, high = found.bounds(shipped_model())
        bar = int((high >= np.sort(low)[-limit] - SCORE_MARGIN).sum())
        with counting_texts() as read:
            search_vector(filled, vector, query, limit=limit)
        assert read[0] <= bar
        fewer += read[0] < bar
    assert fewer > 0


def test_short_listed_items_missing_from_the_state_fall_back_to_scoring_every_candidate(
    filled: Store, embedder: HashingEmbedder
) -> None:
    query = "zebra"  # no stored item has the word: meaning alone ranks them
    vector = embedder.embed([query])[0]
    ghosts = [
        item_from_record({"id": f"ghost-{n}", "title": query, "summary": query, "publisher": "X"})
        for n in range(3)
    ]
    # in Chroma only, and the nearest of all: the short list is the first ghost alone, which
    # then turns out not to be stored
    filled.index.upsert(ghosts, np.repeat(vector[None, :], len(ghosts), axis=0))
    expected = full_ranking(filled, vector, query)
    assert not {item_id for item_id, _ in expected} & {ghost.id for ghost in ghosts}
    featurised: list[list[str]] = []
    plain = Retrieved.candidates

    def recorded(self: Retrieved, ids: Sequence[str], store: Store, connection: object) -> object:
        featurised.append(list(ids))
        return plain(self, ids, store, connection)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Retrieved, "candidates", recorded)
        hits = search_vector(filled, vector, query, limit=1)
    assert [(hit.id, hit.score) for hit in hits] == expected[:1]
    assert featurised[0] == ["ghost-0"]
    assert len(featurised) == 2 and set(featurised[1]) >= {item_id for item_id, _ in expected}
