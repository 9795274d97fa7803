"""Hybrid search and "more like this" through the Python API the web workspace calls: real Chroma
and SQLite FTS5 in a fresh home, the hashing embedder for speed, the real model where the test
is about meaning, and the labelled dev set where it is about quality."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from evaluation.search import federal_register_records, labelled_records
from horizon.config import load_settings
from horizon.embed import Embedder, HashingEmbedder, default_embedder
from horizon.ingest import Ingestor
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import item_from_record
from horizon.search import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    FilterError,
    SearchFilters,
    UnknownItemError,
    search,
    similar,
)
from horizon.store import Store, open_store

SEEN = datetime(2025, 9, 15, tzinfo=UTC)
# Every test here runs on the embedded index and again on a real Chroma server.
pytestmark = pytest.mark.chroma_modes


class LabelledTagger:
    """Tags each item as its test says (unlabelled items are not relevant)."""

    def __init__(self, labels: dict[str, Tags]) -> None:
        self.labels = labels

    def classify(self, items: Sequence[Item], embeddings: np.ndarray | None = None) -> list[Tags]:
        return [self.labels.get(item.id, Tags(relevant=False)) for item in items]


def tags(
    controls: Sequence[str] = (),
    themes: Sequence[str] = (),
    kind: str = "report",
    jurisdiction: str = "GLOBAL",
    deadline: date | None = None,
) -> Tags:
    return Tags(
        relevant=bool(controls),
        controls=[ControlTag(id=control, score=0.9, evidence="") for control in controls],
        themes=list(themes),
        type=kind,
        jurisdiction=jurisdiction,
        deadline=deadline,
    )


def item(item_id: str, title: str, category: str | None = None, **fields: str) -> Item:
    made = item_from_record({"id": item_id, "title": title, **fields})
    return made.model_copy(update={"source_category": category}) if category else made


CORPUS = [
    item(
        "ico-consult",
        "ICO consultation on generative AI and data protection",
        category="regulator",
        summary="The regulator asks how data protection law applies to training generative AI.",
        publisher="Information Commissioner's Office (ICO)",
        published="2025-03-01",
    ),
    item(
        "eu-gpai",
        "Guidelines for providers of general-purpose AI models",
        category="government",
        summary="The Commission explains who counts as a provider of a general-purpose AI model.",
        publisher="European Commission",
        published="2025-07-18",
    ),
    item(
        "ftc-chatbots",
        "FTC launches inquiry into AI chatbots acting as companions",
        category="regulator",
        summary="Orders to seven companies about how their chatbots affect children.",
        publisher="Federal Trade Commission (FTC)",
        published="2025-09-11",
    ),
    item(
        "dhs-notice",
        "Notice on AI screening equipment at airports",
        summary="Security screening with automated detection at checkpoints.",
        publisher="Department of Homeland Security",
        published="2024-05-02",
    ),
    item(
        "openai-deprecation",
        "OpenAI deprecates legacy GPT models in the API",
        category="vendor",
        summary="Snapshots of GPT-4 will be shut down; move to a newer AI model.",
        publisher="OpenAI",
        published="2025-06-30",
    ),
    item(
        "sb53",
        "SB 53: Transparency in Frontier Artificial Intelligence Act",
        category="legislature",
        summary="California requires large developers of frontier AI models to publish frameworks.",
        publisher="Governor of California",
        published="2025-09-29",
    ),
]
LABELS = {
    "ico-consult": tags(
        ["DATA-PRIVACY"], ["governance"], "consultation", "UK", deadline=date(2025, 4, 15)
    ),
    "eu-gpai": tags(["GPAI-MODELS"], ["governance", "risk"], "guidance", "EU"),
    "ftc-chatbots": tags(["CONSUMER-PROTECTION"], ["risk"], "enforcement", "US"),
    "openai-deprecation": tags(["THIRD-PARTY"], ["procurement"], "vendor-change", "GLOBAL"),
    "sb53": tags(["GPAI-MODELS", "TRANSPARENCY"], ["governance"], "legislation", "US"),
}


@pytest.fixture
def filled(store: Store, embedder: HashingEmbedder) -> Store:
    Ingestor(store, embedder, LabelledTagger(LABELS)).ingest(CORPUS, SEEN)
    return store


def ids(store: Store, embedder: Embedder, query: str, **filters: object) -> list[str]:
    chosen = SearchFilters(**filters)  # type: ignore[arg-type]
    return [hit.id for hit in search(store, embedder, query, chosen, limit=10)]


def test_search_returns_the_given_ids_with_tags_dates_and_a_marked_snippet(
    filled: Store, embedder: HashingEmbedder
) -> None:
    hits = search(filled, embedder, "generative AI data protection consultation", limit=3)
    assert hits[0].id == "ico-consult"
    best = hits[0]
    assert best.controls == ["DATA-PRIVACY"] and best.themes == ["governance"]
    assert (best.type, best.jurisdiction, best.deadline) == ("consultation", "UK", "2025-04-15")
    assert best.published is not None and best.published.startswith("2025-03-01")
    assert f"{HIGHLIGHT_OPEN}data{HIGHLIGHT_CLOSE}" in best.snippet
    assert "<" not in best.snippet
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    row = json.loads(json.dumps(best.as_json()))
    assert {
        "id",
        "title",
        "url",
        "publisher",
        "published",
        "score",
        "controls",
        "type",
        "jurisdiction",
        "themes",
        "deadline",
        "effective",
        "snippet",
    } <= set(row)


def test_an_identifier_query_finds_the_item_that_names_it(
    filled: Store, embedder: HashingEmbedder
) -> None:
    assert ids(filled, embedder, "SB 53")[0] == "sb53"


def test_filters_by_date_are_inclusive_at_both_ends(
    filled: Store, embedder: HashingEmbedder
) -> None:
    found = ids(filled, embedder, "AI", since=date(2025, 7, 18), until=date(2025, 9, 11))
    assert sorted(found) == ["eu-gpai", "ftc-chatbots"]


def test_publisher_filter_matches_whole_words_of_the_name_in_any_case(
    filled: Store, embedder: HashingEmbedder
) -> None:
    assert ids(filled, embedder, "AI", publishers=("ico",)) == ["ico-consult"]
    assert ids(filled, embedder, "AI", publishers=("sec",)) == []
    assert sorted(ids(filled, embedder, "AI", publishers=("commission",))) == [
        "eu-gpai",
        "ftc-chatbots",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"categories": ("regulator",)}, ["ftc-chatbots", "ico-consult"]),
        ({"jurisdictions": ("us",)}, ["ftc-chatbots", "sb53"]),
        ({"controls": ("gpai-models",)}, ["eu-gpai", "sb53"]),
        ({"controls": ("DATA-PRIVACY", "THIRD-PARTY")}, ["ico-consult", "openai-deprecation"]),
        ({"themes": ("risk",)}, ["eu-gpai", "ftc-chatbots"]),
        ({"types": ("legislation", "consultation")}, ["ico-consult", "sb53"]),
        ({"has_deadline": True}, ["ico-consult"]),
        (
            {"has_deadline": False},
            ["dhs-notice", "eu-gpai", "ftc-chatbots", "openai-deprecation", "sb53"],
        ),
        (
            {"relevant_only": True, "jurisdictions": ("US", "GLOBAL")},
            [
                "ftc-chatbots",
                "openai-deprecation",
                "sb53",
            ],
        ),
        (
            {"themes": ("governance",), "types": ("guidance",), "since": date(2025, 1, 1)},
            ["eu-gpai"],
        ),
    ],
)
def test_each_filter_and_their_combination_admits_exactly_the_matching_items(
    filled: Store, embedder: HashingEmbedder, filters: dict[str, object], expected: list[str]
) -> None:
    assert sorted(ids(filled, embedder, "AI models", **filters)) == expected


def test_a_narrow_filter_still_fills_the_page_because_both_engines_apply_it(
    store: Store, embedder: HashingEmbedder
) -> None:
    one_feed = {"source": "one-feed", "summary": "AI model risk guidance."}
    crowd = [item(f"g{n}", f"Guidance on AI model risk number {n}", **one_feed) for n in range(70)]
    few = [item(f"law{n}", f"Statute {n} on tractors and AI", source="one-feed") for n in range(3)]
    labels = {i.id: tags(["RISK-IMPACT"], kind="guidance") for i in crowd}
    labels |= {i.id: tags(["AI-POLICY"], kind="legislation") for i in few}
    Ingestor(store, embedder, LabelledTagger(labels)).ingest(crowd + few, SEEN)
    found = ids(store, embedder, "guidance on AI model risk", types=("legislation",))
    assert sorted(found) == ["law0", "law1", "law2"]


def test_a_narrow_filter_falls_back_to_filtering_inside_both_engines(
    store: Store, embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no room to over-fetch, the few items that pass are found by the engines' own
    filtering (Chroma's `where`, the SQL join), not missed."""
    monkeypatch.setattr("horizon.search.retrieval.OVERFETCH", 1)
    monkeypatch.setattr("horizon.lexical.index.OVERFETCH", 1)
    monkeypatch.setattr("horizon.search.ranking.CANDIDATES", 5)
    one_feed = {"source": "one-feed", "summary": "AI model risk guidance."}
    crowd = [item(f"g{n}", f"Guidance on AI model risk number {n}", **one_feed) for n in range(20)]
    few = [item(f"law{n}", f"Statute {n} on tractors and AI", source="one-feed") for n in range(2)]
    labels = {i.id: tags(["RISK-IMPACT"], kind="guidance") for i in crowd}
    labels |= {i.id: tags(["AI-POLICY"], kind="legislation") for i in few}
    Ingestor(store, embedder, LabelledTagger(labels)).ingest(crowd + few, SEEN)
    found = ids(store, embedder, "guidance on AI model risk", types=("legislation",))
    assert sorted(found) == ["law0", "law1"]


@pytest.mark.parametrize(
    ("filters", "field", "named"),
    [
        ({"types": ("rule",)}, "types", "'rule'"),
        ({"categories": ("blog",)}, "categories", "'blog'"),
        ({"jurisdictions": ("Europe",)}, "jurisdictions", "'Europe'"),
        ({"controls": ("ai policy",)}, "controls", "'ai policy'"),
        ({"themes": ("Good Stuff",)}, "themes", "'Good Stuff'"),
        ({"publishers": (" ",)}, "publishers", "publisher"),
        ({"since": date(2025, 5, 1), "until": date(2025, 4, 1)}, "since", "2025-05-01"),
    ],
)
def test_a_bad_filter_value_is_refused_naming_the_filter_and_value(
    filled: Store,
    embedder: HashingEmbedder,
    filters: dict[str, object],
    field: str,
    named: str,
) -> None:
    with pytest.raises(FilterError) as refused:
        ids(filled, embedder, "AI", **filters)
    assert refused.value.field == field
    assert named in str(refused.value)


def test_an_empty_index_a_blank_query_and_an_unknown_publisher_give_nothing(
    filled: Store, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    empty = open_store(load_settings(home=tmp_path / "empty", env={}))
    assert search(empty, embedder, "AI") == []
    assert search(filled, embedder, "   ") == []
    assert ids(filled, embedder, "AI", publishers=("Nobody At All",)) == []


def test_similar_finds_the_closest_other_items_within_the_filters(
    filled: Store, embedder: HashingEmbedder
) -> None:
    texts = embedder.embed([i.text() for i in CORPUS])
    vectors = dict(zip([i.id for i in CORPUS], texts, strict=True))
    closeness = {other: float(vectors[other] @ vectors["eu-gpai"]) for other in vectors}
    third_best = sorted((c for other, c in closeness.items() if other != "eu-gpai"))[-3]
    neighbours = similar(filled, "eu-gpai", limit=3)
    assert len(neighbours) == 3 and "eu-gpai" not in [hit.id for hit in neighbours]
    assert all(closeness[hit.id] >= third_best - 1e-5 for hit in neighbours)
    scores = [hit.score for hit in neighbours]
    assert scores == pytest.approx([closeness[hit.id] for hit in neighbours], abs=1e-5)
    assert scores == sorted(scores, reverse=True)
    within = similar(filled, "eu-gpai", SearchFilters(jurisdictions=("UK",)))
    assert [hit.id for hit in within] == ["ico-consult"]


def test_similar_accepts_the_id_of_a_report_folded_into_a_stored_item(
    filled: Store, embedder: HashingEmbedder
) -> None:
    again = item(
        "ftc-press-copy",
        "FTC launches inquiry into AI chatbots acting as companions",
        summary="Orders to seven companies about how their chatbots affect children.",
        publisher="Reuters",
        published="2025-09-11",
        source="reuters",
    )
    result = Ingestor(filled, embedder, LabelledTagger(LABELS)).ingest([again], SEEN)[0]
    assert result.duplicate_of == "ftc-chatbots"
    assert [hit.id for hit in similar(filled, "ftc-press-copy")] == [
        hit.id for hit in similar(filled, "ftc-chatbots")
    ]


def test_similar_refuses_an_unknown_id_plainly(filled: Store) -> None:
    with pytest.raises(UnknownItemError, match="'nope'"):
        similar(filled, "nope")


@pytest.mark.slow
def test_the_real_model_finds_an_item_that_shares_no_word_with_the_query(store: Store) -> None:
    model = default_embedder()
    Ingestor(store, model, LabelledTagger({})).ingest(CORPUS, SEEN)
    assert ids(store, model, "watchdog probes virtual friend apps for kids")[0] == "ftc-chatbots"


@pytest.mark.slow
def test_hybrid_search_beats_each_engine_alone_on_the_labelled_dev_queries(
    shared: Path, tmp_path: Path
) -> None:
    """A smaller version of `python -m evaluation.search` (its corpus cut to 100 distractors)."""
    records = labelled_records(shared / "eval" / "dev.jsonl")
    distractors = federal_register_records(
        shared / "data" / "feeds" / "us-federal-register-api-documents-2024.json"
    )[:100]
    store = open_store(load_settings(home=tmp_path / "home", env={}))
    model = default_embedder()
    items = [item_from_record(record) for record in records + distractors]
    results = Ingestor(store, model, LabelledTagger({})).ingest(items, SEEN)
    stored_as = {result.id: result.duplicate_of or result.id for result in results}
    queries = [
        json.loads(line)
        for line in (shared / "eval" / "queries-dev.jsonl").read_text().splitlines()
        if line
    ]

    def recall(ranked: Sequence[str], relevant: Sequence[str]) -> float:
        wanted = {stored_as.get(item_id, item_id) for item_id in relevant}
        return len(wanted & set(ranked[:10])) / len(wanted)

    hybrid, dense, words = [], [], []
    for query in queries:
        text, relevant = query["query"], query["relevant"]
        hybrid.append(recall(ids(store, model, text), relevant))
        nearest = store.index.nearest(model.embed([text]), 10)[0]
        dense.append(recall([n.item_id for n in nearest], relevant))
        words.append(recall([m.item_id for m in store.lexical.search(text, 10)], relevant))
    assert np.mean(hybrid) >= 0.93
    assert np.mean(hybrid) > max(np.mean(dense), np.mean(words))
