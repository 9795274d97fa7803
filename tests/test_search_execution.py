"""How a search runs, not what it finds: the fast path (one SQLite connection, passages looked up
by key, passage ids read from Chroma's ids, the features' shortcuts) must give exactly what the
plain definition gives. Real Chroma and SQLite FTS5 in a fresh home, the hashing embedder."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horizon.embed import HashingEmbedder
from horizon.fusion import FEATURES, QueryShape, Signals, features, shipped_model
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.search import CANDIDATES, FEATURE_TEXT_CHARS, search, search_vector, similar
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
    lexical_passages = store.lexical.search_passages(words, CANDIDATES)
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
    connect = store.state.connect

    @contextmanager
    def counted() -> Iterator[object]:
        opened[0] += 1
        with connect() as connection:
            yield connection

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store.state, "connect", counted)
        yield opened


def test_a_search_and_a_more_like_this_each_read_the_state_through_one_connection(
    filled: Store, embedder: HashingEmbedder
) -> None:
    with counting_connections(filled) as opened:
        hits = search(filled, embedder, "Article 50 transparency chatbots", limit=5)
    assert hits and opened == [1]
    with counting_connections(filled) as opened:
        assert similar(filled, "note-1", limit=3)
    assert opened == [1]


def test_a_passage_found_by_vector_names_its_item_even_when_the_item_id_holds_a_hash(
    filled: Store, embedder: HashingEmbedder
) -> None:
    assert passage_key("guide#2#7") == ("guide#2", 7)
    vector = embedder.embed(["Article 50 transparency duties apply to chatbots"])[0]
    found = filled.index.nearest_passages(vector, 100)
    with filled.state.connect() as connection:
        stored = set(connection.execute("SELECT item_id, number FROM passages").fetchall())
    assert found and {(p.item_id, p.number) for p in found} == {tuple(key) for key in stored}


def test_passage_texts_returns_exactly_the_passages_asked_for(filled: Store) -> None:
    with filled.state.connect() as connection:
        every = {
            (item_id, number): text
            for item_id, number, text in connection.execute(
                "SELECT item_id, number, text FROM passages"
            )
        }
    asked = [("guide#1", 0), ("guide#1", 2), ("guide#3", 1), ("guide#3", 99), ("note-0", 0)]
    assert filled.lexical.passage_texts(asked) == {key: every[key] for key in asked if key in every}
    assert len(filled.lexical.passage_texts(asked)) == 3
    assert filled.lexical.passage_texts([]) == {}


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
TEXT_FEATURES = (
    "title_overlap",
    "text_overlap",
    "bigram_proximity",
    "identifier_exact",
    "identifier_in_title",
)


def plain_text_features(shape: QueryShape, title: str, text: str) -> list[float]:
    """The text features as first written (before the shortcuts in `features`)."""
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
    "of",
    "the",
    "ISO/IEC",
    "42005",
]
phrases = st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join)
texts = st.lists(
    st.one_of(st.sampled_from(VOCABULARY), st.sampled_from([",", ".", "-", "\n", "(", "'s"])),
    max_size=60,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(query=phrases, title=phrases, text=texts)
def test_the_text_features_equal_their_plain_definition(query: str, title: str, text: str) -> None:
    shape = QueryShape.of(query)
    signals = Signals(0.5, None, 0.0, 0.0, None, None)
    row = features(shape, signals, title, text, floor_cosine=0.1)
    assert [row[FEATURES.index(name)] for name in TEXT_FEATURES] == plain_text_features(
        shape, title, text
    )
