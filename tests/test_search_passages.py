"""Passages of long items and the learned fusion: cutting, indexing (real Chroma and SQLite
FTS5, crash-safe and idempotent), finding a paragraph deep inside a long item, and the shipped
fusion model ranking an exact identifier first. The hashing embedder keeps these fast."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from horizon.embed import HashingEmbedder
from horizon.fusion import FEATURES, QueryShape, Signals, features, shipped_model
from horizon.ingest import Ingestor
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.passages import MAX_WORDS, MIN_CHARS, split_passages
from horizon.search import search
from horizon.store import Store
from tests.conftest import KeywordTagger

SEEN = datetime(2025, 9, 15, tzinfo=UTC)


def paragraph(topic: str, sentences: int = 6) -> str:
    return " ".join(
        f"Sentence {number} of the part on {topic} sets out what firms must do about it."
        for number in range(sentences)
    )


FILLER = ["governance", "board reporting", "model inventories", "procurement", "training"]
DEEP = (
    "Firms must keep the automatically generated logs of a high-risk system for at least six "
    "months, and longer where sectoral law on record retention requires it."
)
RULEBOOK = item_from_record(
    {
        "id": "rulebook-7",
        "title": "Supervisory handbook, chapter 7: operating AI systems",
        "summary": "\n\n".join([paragraph(topic) for topic in FILLER] + [DEEP, paragraph("exit")]),
        "publisher": "Example Supervisor",
        "published": "2025-05-01",
    }
)
OTHERS = [
    item_from_record(
        {
            "id": f"note-{number}",
            "title": f"Short note {number} on AI {topic}",
            "summary": f"A brief note on {topic} for AI systems.",
            "publisher": "Example Supervisor",
            "published": "2025-04-01",
        }
    )
    for number, topic in enumerate(FILLER)
]


def ingest(store: Store, embedder: HashingEmbedder, items: list[Item]) -> None:
    Ingestor(store, embedder, KeywordTagger()).ingest(items, SEEN)


def stored_passages(store: Store, item_id: str) -> list[str]:
    with store.state.connect() as connection:
        rows = connection.execute(
            "SELECT text FROM passages WHERE item_id = ? ORDER BY number", (item_id,)
        )
        return [row[0] for row in rows]


def passage_vector_ids(store: Store) -> list[str]:
    return sorted(store.index._passages.get(include=[])["ids"])


def test_a_short_text_has_no_passages_and_a_long_one_is_cut_on_boundaries_with_overlap() -> None:
    assert split_passages("x" * MIN_CHARS) == []
    passages = split_passages(RULEBOOK.summary)
    assert len(passages) >= 5
    assert all(len(p.split()) <= MAX_WORDS + MAX_WORDS // 4 for p in passages)
    assert any(DEEP in p for p in passages)
    words = RULEBOOK.summary.split()
    assert set(" ".join(passages).split()) == set(words)
    first_paragraph = split_passages(paragraph("long", 20) + " " + paragraph("more", 20))
    last_sentence = first_paragraph[0].split(". ")[-1]
    assert first_paragraph[1].startswith(last_sentence.rstrip("."))


def test_a_paragraph_deep_inside_a_long_item_is_found_and_returned_as_the_passage(
    store: Store, embedder: HashingEmbedder
) -> None:
    ingest(store, embedder, [RULEBOOK, *OTHERS])
    hits = search(store, embedder, "how long must logs of a high-risk system be kept", limit=3)
    assert hits[0].id == "rulebook-7"
    assert hits[0].passage is not None and DEEP in hits[0].passage
    assert "⟦logs⟧" in hits[0].snippet
    assert hits[0].as_json()["passage"] == hits[0].passage
    short = [hit for hit in search(store, embedder, "procurement note", limit=10)]
    assert all(hit.passage is None for hit in short if hit.id.startswith("note-"))


def test_rerunning_after_a_crash_before_the_state_write_leaves_one_consistent_copy(
    store: Store, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    with monkeypatch.context() as patched:
        patched.setattr(store.state, "save_new_items", crash)
        with pytest.raises(RuntimeError, match="killed"):
            ingest(store, embedder, [RULEBOOK])
    assert store.state.count_items() == 0
    ingest(store, embedder, [RULEBOOK])
    ingest(store, embedder, [RULEBOOK])
    passages = split_passages(RULEBOOK.summary)
    assert stored_passages(store, "rulebook-7") == passages
    assert passage_vector_ids(store) == sorted(f"rulebook-7#{n}" for n in range(len(passages)))
    assert store.state.count_items() == 1


def test_a_changed_item_replaces_its_passages_in_both_indexes(
    store: Store, embedder: HashingEmbedder
) -> None:
    ingest(store, embedder, [RULEBOOK])
    shorter_text = "\n\n".join([paragraph("governance"), paragraph("exit")])
    shorter = RULEBOOK.model_copy(update={"summary": shorter_text, "content_hash": "changed"})
    ingest(store, embedder, [shorter])
    passages = split_passages(shorter_text)
    assert stored_passages(store, "rulebook-7") == passages
    assert passage_vector_ids(store) == sorted(f"rulebook-7#{n}" for n in range(len(passages)))
    hits = search(store, embedder, "automatically generated logs retention", limit=5)
    assert all(DEEP not in (hit.passage or "") for hit in hits)


def test_the_shipped_fusion_model_ranks_an_exact_identifier_above_near_misses() -> None:
    model = shipped_model()
    shape = QueryShape.of("Article 50")

    def row(title: str, bm25: float, cosine: float) -> list[float]:
        signals = Signals(cosine, None, bm25, 0.0, 1, 1)
        return features(shape, signals, title, title, floor_cosine=0.2)

    rows = np.asarray(
        [
            row("Article 5 prohibited practices apply; see also recital 50", 1.0, 0.6),
            row("Article 50 transparency obligations for chatbots", 0.9, 0.5),
            row("Article 52 of the earlier draft", 0.7, 0.6),
        ]
    )
    assert rows.shape == (3, len(FEATURES))
    scores = model.scores(rows)
    assert int(np.argmax(scores)) == 1


@pytest.mark.chroma_modes
def test_a_store_whose_items_have_no_passage_vectors_finds_no_passages(store: Store) -> None:
    embedder = HashingEmbedder()
    items = [
        Item(id=f"short-{n}", title=f"Short notice {n}", summary="One line.", content_hash=f"h{n}")
        for n in range(3)
    ]
    store.save_items(items, embedder.embed([item.text() for item in items]), SEEN, None)
    assert store.index.passage_count() == 0
    assert store.index.nearest_passages(embedder.embed(["notice"])[0], 10) == []
    assert [hit.id for hit in search(store, embedder, "short notice 1", limit=1)] == ["short-1"]
