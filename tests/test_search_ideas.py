"""The search evaluation's metrics and the ranking ideas measured by `evaluation.search_ideas`:
capped recall, catalogue expansion of a query, and the features each idea adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation import search as search_evaluation
from evaluation.search import Found, Query, score_rankings
from evaluation.search_ideas import (
    CONTROLS_FILE,
    Context,
    expanded_query,
    feedback_nearest_cosine,
    feedback_words,
    make_ranker,
    named_control_match,
    named_controls,
    type_and_jurisdiction_named,
)
from horizon.config import load_catalogue
from horizon.fusion import FEATURES
from horizon.tagging.rules import PhraseSet


def _query(text: str, relevant: set[str], kind: str = "keyword") -> Query:
    return Query("q1", text, frozenset(relevant), kind)


def _context(text: str, controls: list[set[str]], named: set[str] = frozenset()) -> Context:
    count = len(controls)
    ids = [f"i{n}" for n in range(count)]
    rows = np.zeros((count, len(FEATURES)))
    rows[:, FEATURES.index("item_cosine")] = np.linspace(0.9, 0.1, count)
    vectors = np.eye(count, 4)
    return Context(
        found=Found(_query(text, {"i0"}), ids, rows, np.asarray([1] + [0] * (count - 1))),
        vector=vectors[0],
        item_vectors=vectors,
        controls=[frozenset(c) for c in controls],
        types=["guidance", "enforcement", "legislation"][:count],
        jurisdictions=["UK", "EU", "US"][:count],
        publishers=["ICO"] * count,
        named_controls=frozenset(named),
        control_similarity={},
        stripped_vector=vectors[0],
        expanded_vector=vectors[0],
        feedback_bm25=np.zeros(count),
    )


def test_capped_recall_counts_a_full_top_ten_as_complete_when_more_than_ten_are_relevant() -> None:
    relevant = {f"r{n}" for n in range(12)}
    ranked = [*sorted(relevant)[:10], "x"]

    scores = score_rankings([(_query("many", relevant), ranked)])

    assert scores.recall == 10 / 12
    assert scores.capped_recall == 1.0
    assert scores.mrr == 1.0


def test_capped_recall_equals_recall_when_ten_or_fewer_are_relevant() -> None:
    scores = score_rankings([(_query("few", {"a", "b"}), ["x", "a", "y"])])

    assert scores.recall == scores.capped_recall == 0.5
    assert scores.mrr == 0.5


def test_a_query_names_the_control_whose_catalogue_keyword_it_contains() -> None:
    catalogue = load_catalogue([Path(CONTROLS_FILE)])
    keywords = {control.id: PhraseSet(control.keywords) for control in catalogue.controls}

    assert "AI-LITERACY" in named_controls("AI literacy obligation", keywords)
    assert named_controls("quarterly results of a bakery", keywords) == frozenset()


def test_the_expanded_query_appends_control_names_only_when_the_query_names_one() -> None:
    assert expanded_query("deepfake rules", ["Transparency"]) == "deepfake rules. Transparency"
    assert expanded_query("deepfake rules", []) == "deepfake rules"


def test_named_control_match_scores_the_share_of_named_controls_a_candidate_carries() -> None:
    context = _context(
        "deepfake labelling",
        [{"TRANSPARENCY", "AI-POLICY"}, {"AI-POLICY"}, set()],
        named={"TRANSPARENCY", "RECORDS-DOCS"},
    )

    assert named_control_match(context).ravel().tolist() == [0.5, 0.0, 0.0]
    unnamed = _context("deepfake labelling", [{"TRANSPARENCY"}, set(), set()])
    assert named_control_match(unnamed).ravel().tolist() == [0.0, 0.0, 0.0]


def test_type_and_jurisdiction_words_in_the_query_mark_matching_candidates() -> None:
    context = _context("UK guidance on chatbots", [set(), set(), set()])

    marks = type_and_jurisdiction_named(context)

    assert marks[:, 0].tolist() == [1.0, 0.0, 0.0]  # guidance
    assert marks[:, 1].tolist() == [1.0, 0.0, 0.0]  # UK


def test_feedback_words_are_shared_by_the_top_candidates_and_new_to_the_query() -> None:
    texts = [
        "copyright lawsuit over training data fair use",
        "authors sue over training on books, fair use claimed",
        "fair use ruling on model training",
        "bakery opens a new shop",
    ]

    words = feedback_words("copyright lawsuit", texts, [0, 1, 2])

    assert "fair" in words and "training" in words
    assert "copyright" not in words and "lawsuit" not in words
    assert "bakery" not in words


def test_feedback_nearest_cosine_never_counts_a_candidate_as_its_own_neighbour() -> None:
    context = _context("anything", [set(), set(), set()])

    # Orthogonal vectors: each top candidate's best other neighbour has cosine 0, not 1.
    assert feedback_nearest_cosine(context).ravel().tolist() == [0.0, 0.0, 0.0]


def test_every_model_kind_ranks_a_clearly_separated_relevant_candidate_first() -> None:
    generator = np.random.default_rng(1)
    found = []
    for number in range(100):
        rows = generator.uniform(0.0, 0.5, (8, len(FEATURES)))
        rows[3, FEATURES.index("item_cosine")] = 0.95
        labels = np.zeros(8, dtype=int)
        labels[3] = 1
        query = Query(f"q{number}", "text", frozenset({f"q{number}-3"}), "keyword")
        found.append(Found(query, [f"q{number}-{n}" for n in range(8)], rows, labels))

    for model in ("logistic", "unbalanced", "pairwise", "trees", "ascent"):
        ranker = make_ranker(model, 1.0)(found[:90])
        assert all(ranker(f)[0] == f"{f.query.qid}-3" for f in found[90:]), model


def _cv(*objectives: float) -> search_evaluation.CrossValidation:
    return search_evaluation.CrossValidation(
        [search_evaluation.Scores(value / 2, value / 2, 10) for value in objectives], []
    )


def test_a_refit_keeps_the_shipped_configuration_unless_another_beats_it_beyond_the_spread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_evaluation, "FEATURE_SETS", {"small": ("a",), "all": ("a", "b")})
    monkeypatch.setattr(search_evaluation, "REGULARISATION", (1.0,))
    noisy_gain = iter([_cv(1, 1, 1), _cv(1.70, 1.90, 1.80), _cv(1.80, 1.80, 1.78)])
    monkeypatch.setattr(search_evaluation, "cross_validate", lambda found, ranker: next(noisy_gain))
    assert search_evaluation.choose([], ("all", 1.0))[:2] == ("all", 1.0)
    clear_gain = iter([_cv(1, 1, 1), _cv(1.90, 1.91, 1.92), _cv(1.80, 1.80, 1.80)])
    monkeypatch.setattr(search_evaluation, "cross_validate", lambda found, ranker: next(clear_gain))
    assert search_evaluation.choose([], ("all", 1.0))[:2] == ("small", 1.0)
    without_incumbent = iter([_cv(1, 1, 1), _cv(1.70, 1.90, 1.80), _cv(1.80, 1.80, 1.78)])
    monkeypatch.setattr(
        search_evaluation, "cross_validate", lambda found, ranker: next(without_incumbent)
    )
    assert search_evaluation.choose([], None)[:2] == ("small", 1.0)
