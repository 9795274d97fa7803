"""Ideas for better search ranking, each measured by 5-fold cross-validation only:
`python -m evaluation.search_ideas --home DIR` (docs/search.md, "Ideas tried").

It uses the corpus and the development queries of `python -m evaluation.search` (the frozen
test split is never read here) and the same folds. Every idea adds features to the shipped
ones (`horizon.fusion.FEATURES`) or changes the model; each is fitted on four folds and ranked
on the fifth, with the regularisation (C = 0.1 or 1) that scores best, and reported as
recall@10 / MRR@10 (mean ± standard deviation over folds), recall@10 capped at 10 relevant
items, the paired difference of recall + MRR from the shipped configuration fold by fold
(mean ± sd), and recall per query kind. An idea would be adopted only when that difference is
larger than its spread. The ideas' features live here, not in `horizon`, because none was.

What each idea would cost a search is measured on the same corpus: reading the candidates'
tags (one SQL query), fetching their vectors from Chroma (one `get`), a second query
embedding (one model call per query), and choosing feedback words and running their BM25 query.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.search import (
    DEPTH,
    QUERIES,
    CrossValidation,
    Found,
    Ranker,
    _records,
    corpus_in,
    cross_validate,
    gather,
    is_frozen,
    load_queries,
)
from horizon.catalogue import Catalogue
from horizon.config import load_catalogue
from horizon.fusion import FEATURES, baseline_scores
from horizon.lexical import identifier_phrases, query_words
from horizon.runtime import Runtime
from horizon.tagging.rules import JURISDICTION_MARKS, PhraseSet

CONTROLS_FILE = Path(__file__).resolve().parent.parent / "controls.yaml"
REGULARISATION = (0.1, 1.0)
OTHER_DEPTHS = (30, 100)  # candidates per list tried besides the shipped DEPTH
FEEDBACK_WORDS = 10
FIRST_STAGE = 10  # how many top candidates of the fixed-weight fusion the agreement ideas read

# Words in a query that name an item type ("fines", "guidance", "bill").
TYPE_WORDS: dict[str, re.Pattern[str]] = {
    type_id: re.compile(pattern, re.IGNORECASE)
    for type_id, pattern in {
        "consultation": r"\b(consult\w*|call for (evidence|views|input)|request for comments?)\b",
        "enforcement": r"\b(fine[sd]?|penalt\w+|enforcement|sanction\w*|settlement|lawsuits?"
        r"|sued|ruling|court|investigation|inquiry|probe|reprimand\w*)\b",
        "legislation": r"\b(law|laws|act|bills?|legislation|statute|regulations?"
        r"|executive order|directive|treaty|convention)\b",
        "standard": r"\b(standards?|ISO|IEC|specification)\b",
        "vendor-change": r"\b(deprecat\w+|retire\w*|pricing|rate limits?|terms of (use|service)"
        r"|usage polic\w+)\b",
        "guidance": r"\b(guidance|guide|guidelines|code of practice|FAQ|toolkit)\b",
        "report": r"\b(report|speech|research|study|survey)\b",
    }.items()
}


@dataclass(frozen=True)
class Context:
    """One development query's candidates with what the ideas read beyond the features."""

    found: Found
    vector: np.ndarray  # the query's, unit length
    item_vectors: np.ndarray  # the candidates', unit length, one row each
    controls: list[frozenset[str]]
    types: list[str]
    jurisdictions: list[str]
    publishers: list[str]
    named_controls: frozenset[str]  # controls whose catalogue keywords the query contains
    control_similarity: dict[str, float]  # query cosine to each control's description
    stripped_vector: np.ndarray  # the query without stop words, embedded
    expanded_vector: np.ndarray  # the query followed by its named controls' names, embedded
    feedback_bm25: np.ndarray  # BM25 of the query plus its feedback words, scaled by the best


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.asarray(rows / np.where(norms == 0, 1.0, norms))


def named_controls(query: str, keywords: dict[str, PhraseSet]) -> frozenset[str]:
    """The controls whose catalogue keywords occur in the query."""
    return frozenset(control for control, phrases in keywords.items() if phrases.find(query))


def expanded_query(query: str, names: Sequence[str]) -> str:
    """The query followed by the names of the controls it names (catalogue expansion)."""
    return ". ".join([query, *names]) if names else query


def feedback_words(query: str, texts: Sequence[str], top: Sequence[int]) -> list[str]:
    """Words to add to the query (RM3-style pseudo-relevance feedback): those in at least two
    of the `top` candidates' texts, weighted by how many of them hold the word and how rare it
    is among all candidates, the query's own words, numbers and short words left out."""
    documents = [set(query_words(text)) for text in texts]
    everywhere = Counter(word for document in documents for word in document)
    in_top = Counter(word for index in top for word in documents[index])
    asked = set(query_words(query))
    weights = {
        word: count * math.log((len(documents) + 1) / (everywhere[word] + 0.5))
        for word, count in in_top.items()
        if count >= 2 and word not in asked and len(word) > 2 and not word.isdigit()
    }
    return sorted(weights, key=lambda word: (-weights[word], word))[:FEEDBACK_WORDS]


@dataclass(frozen=True)
class Costs:
    """Milliseconds per query (mean) of what the ideas would add to a search."""

    tags_sql: float
    vectors_get: float
    second_embedding: float
    feedback_query: float


def contexts(
    runtime: Runtime, found: Sequence[Found], catalogue: Catalogue
) -> tuple[list[Context], Costs]:
    keywords = {control.id: PhraseSet(control.keywords) for control in catalogue.controls}
    names = {control.id: control.name for control in catalogue.controls}
    descriptions = _unit(
        runtime.embedder.embed([f"{c.name}. {c.description}" for c in catalogue.controls])
    )
    named = [named_controls(f.query.text, keywords) for f in found]
    texts = [f.query.text for f in found]
    stripped = [" ".join(query_words(text)) or text for text in texts]
    expanded = [
        expanded_query(text, [names[c] for c in sorted(n)])
        for text, n in zip(texts, named, strict=True)
    ]
    vectors = _unit(runtime.embedder.embed(texts + stripped + expanded))
    count = len(found)
    started = time.perf_counter()
    for text in texts[:20]:
        runtime.embedder.embed([text])
    second_embedding = (time.perf_counter() - started) / min(20, count) * 1000
    tags_time = vectors_time = feedback_time = 0.0
    result = []
    for number, f in enumerate(found):
        started = time.perf_counter()
        with runtime.store.state.connect() as connection:
            marks = ",".join("?" * len(f.ids))
            rows = {
                row[0]: row[1:]
                for row in connection.execute(
                    f"SELECT id, tags, type, jurisdiction, publisher, title,"
                    f" substr(summary, 1, 1500) FROM items WHERE id IN ({marks})",
                    f.ids,
                )
            }
        tags_time += time.perf_counter() - started
        started = time.perf_counter()
        feedback = np.zeros(len(f.ids))
        if not identifier_phrases(f.query.text):
            texts = [f"{rows[i][4]} {rows[i][5] or ''}" for i in f.ids]
            words = feedback_words(f.query.text, texts, _top_by_fixed_fusion(f)[:5].tolist())
            lexical = runtime.store.lexical
            matches = lexical.search(lexical.prepare(" ".join([f.query.text, *words])), 200)
            best = max((match.score for match in matches), default=0.0) or 1.0
            scores = {match.item_id: match.score / best for match in matches}
            feedback = np.asarray([scores.get(i, 0.0) for i in f.ids])
        feedback_time += time.perf_counter() - started
        started = time.perf_counter()
        stored = runtime.store.index.embeddings(f.ids)
        vectors_time += time.perf_counter() - started
        tags = [json.loads(rows[i][0]) if rows[i][0] else {} for i in f.ids]
        similarity = descriptions @ vectors[number]
        result.append(
            Context(
                found=f,
                vector=vectors[number],
                item_vectors=_unit(np.stack([stored[i] for i in f.ids])),
                controls=[frozenset(c["id"] for c in t.get("controls", [])) for t in tags],
                types=[rows[i][1] or "" for i in f.ids],
                jurisdictions=[rows[i][2] or "" for i in f.ids],
                publishers=[rows[i][3] or "" for i in f.ids],
                named_controls=named[number],
                control_similarity={
                    c.id: float(s) for c, s in zip(catalogue.controls, similarity, strict=True)
                },
                stripped_vector=vectors[count + number],
                expanded_vector=vectors[2 * count + number],
                feedback_bm25=feedback,
            )
        )
    costs = Costs(
        tags_time / count * 1000,
        vectors_time / count * 1000,
        second_embedding,
        feedback_time / count * 1000,
    )
    return result, costs


def _column(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1, 1)


def _top_by_fixed_fusion(found: Found) -> np.ndarray:
    """Candidates ordered by the fixed-weight fusion (no learning, so no fold leaks in)."""
    scores = baseline_scores(found.rows, bool(identifier_phrases(found.query.text)))
    return np.argsort(-scores, kind="stable")


def _first_stage(context: Context) -> np.ndarray:
    return _top_by_fixed_fusion(context.found)[:FIRST_STAGE]


def feedback_query_bm25(context: Context) -> np.ndarray:
    """BM25 of the query expanded by the top 5's feedback words (0 for identifier queries,
    where extra words only dilute the identifier)."""
    return _column(context.feedback_bm25)


def named_control_match(context: Context) -> np.ndarray:
    """Share of the controls the query names (catalogue keywords) that the candidate carries."""
    named = context.named_controls
    return _column([len(named & c) / len(named) if named else 0.0 for c in context.controls])


def control_description_similarity(context: Context) -> np.ndarray:
    """How close the query is to the best of the candidate's controls' descriptions, relative
    to the control closest to the query."""
    similarity = context.control_similarity
    best = max(similarity.values())
    return _column(
        [
            max((similarity[c] - best for c in cs if c in similarity), default=-1.0)
            for cs in context.controls
        ]
    )


def expanded_cosine(context: Context) -> np.ndarray:
    return _column(context.item_vectors @ context.expanded_vector)


def stripped_question_cosine(context: Context) -> np.ndarray:
    """Cosine to the query without its stop words, for question-shaped queries only."""
    question = len(query_words(context.found.query.text)) >= 6
    return _column(context.item_vectors @ context.stripped_vector * (1.0 if question else 0.0))


def exact_item_cosine(context: Context) -> np.ndarray:
    """The candidate's own cosine even when the dense list did not return it."""
    return _column(context.item_vectors @ context.vector)


def type_and_jurisdiction_named(context: Context) -> np.ndarray:
    """Whether the candidate's type / jurisdiction is one the query's words name."""
    text = context.found.query.text
    types = {type_id for type_id, pattern in TYPE_WORDS.items() if pattern.search(text)}
    places = {code for code, pattern in JURISDICTION_MARKS if pattern.search(text)}
    return np.hstack(
        [
            _column([float(t in types) for t in context.types]),
            _column([float(j in places) for j in context.jurisdictions]),
        ]
    )


def publisher_overlap(context: Context) -> np.ndarray:
    words = {word[:6] for word in query_words(context.found.query.text)}
    shares = []
    for publisher in context.publishers:
        named = {word[:6] for word in re.findall(r"[^\W_]+", publisher.lower())}
        shares.append(len(words & named) / len(words) if words else 0.0)
    return _column(shares)


def top_controls_agreement(context: Context) -> np.ndarray:
    """How many of the first-stage top candidates share the candidate's commonest control."""
    counts = Counter(c for i in _first_stage(context) for c in context.controls[i])
    return _column(
        [max((counts[c] for c in cs), default=0) / FIRST_STAGE for cs in context.controls]
    )


def top_type_agreement(context: Context) -> np.ndarray:
    """Share of the first-stage top candidates with the candidate's type, and jurisdiction."""
    top = _first_stage(context)
    types = Counter(context.types[i] for i in top)
    places = Counter(context.jurisdictions[i] for i in top)
    return np.hstack(
        [
            _column([types[t] / FIRST_STAGE for t in context.types]),
            _column([places[j] / FIRST_STAGE for j in context.jurisdictions]),
        ]
    )


def feedback_centroid_cosine(context: Context) -> np.ndarray:
    """Pseudo-relevance feedback: cosine to the mean vector of the first-stage top 5."""
    centroid = _unit(context.item_vectors[_first_stage(context)[:5]].mean(axis=0))
    return _column(context.item_vectors @ centroid)


def feedback_nearest_cosine(context: Context) -> np.ndarray:
    """Pseudo-relevance feedback: the best cosine to one of the first-stage top 3 (itself
    excluded), for clusters of related items (several lawsuits over one question)."""
    top = _first_stage(context)[:3]
    similarity = context.item_vectors @ context.item_vectors[top].T
    for column, row in enumerate(top):
        similarity[row, column] = -1.0
    return _column(similarity.max(axis=1))


def reciprocal_rank_fusion(context: Context) -> np.ndarray:
    """1/(60 + dense rank) + 1/(60 + full-text rank), rank 1000 where a list missed it."""
    rows = context.found.rows
    fused = np.zeros(len(rows))
    for name in ("dense_reciprocal_rank", "lexical_reciprocal_rank"):
        reciprocal = rows[:, FEATURES.index(name)]
        fused += 1.0 / (60.0 + np.where(reciprocal > 0, 1.0 / np.maximum(reciprocal, 1e-9), 1000))
    return _column(fused)


def relative_cosines(context: Context) -> np.ndarray:
    """Item and best cosine minus the query's best: the query's own scale taken out."""
    columns = [FEATURES.index("item_cosine"), FEATURES.index("best_cosine")]
    scores = context.found.rows[:, columns]
    return np.asarray(scores - scores.max(axis=0))


def carries_controls(context: Context) -> np.ndarray:
    """Whether the tagger found the candidate relevant (it carries a control)."""
    return _column([float(bool(c)) for c in context.controls])


def _interacted(context: Context, on: bool) -> np.ndarray:
    return context.found.rows[:, :12] * (1.0 if on else 0.0)


def question_interactions(context: Context) -> np.ndarray:
    """Every base score times "the query has 6+ meaningful words" (a question model)."""
    return _interacted(context, len(query_words(context.found.query.text)) >= 6)


def identifier_interactions(context: Context) -> np.ndarray:
    return _interacted(context, bool(identifier_phrases(context.found.query.text)))


Extra = Callable[[Context], np.ndarray]


@dataclass(frozen=True)
class Idea:
    name: str
    extras: tuple[Extra, ...] = ()
    model: str = "logistic"
    cost: str = "none"


IDEAS: tuple[Idea, ...] = (
    Idea("shipped: logistic, all features"),
    Idea("query names a control (catalogue keywords)", (named_control_match,), cost="tags"),
    Idea(
        "query ~ control description, candidate's controls",
        (control_description_similarity,),
        cost="tags",
    ),
    Idea("catalogue-expanded query, cosine", (expanded_cosine,), cost="embedding+vectors"),
    Idea(
        "expanded query + named control",
        (expanded_cosine, named_control_match),
        cost="embedding+vectors+tags",
    ),
    Idea("type / jurisdiction words in the query", (type_and_jurisdiction_named,), cost="tags"),
    Idea("query words in the publisher", (publisher_overlap,), cost="tags"),
    Idea("agreement with the top 10's controls", (top_controls_agreement,), cost="tags"),
    Idea("agreement with the top 10's type, jurisdiction", (top_type_agreement,), cost="tags"),
    Idea("feedback: cosine to top-5 centroid", (feedback_centroid_cosine,), cost="vectors"),
    Idea("feedback: best cosine to one of top 3", (feedback_nearest_cosine,), cost="vectors"),
    Idea(
        "feedback words (RM3-style), second BM25 query",
        (feedback_query_bm25,),
        cost="feedback query",
    ),
    Idea(
        "questions: second query without stop words",
        (stripped_question_cosine,),
        cost="embedding+vectors",
    ),
    Idea("exact item cosine for every candidate", (exact_item_cosine,), cost="vectors"),
    Idea("reciprocal rank fusion score", (reciprocal_rank_fusion,)),
    Idea("cosines relative to the query's best", (relative_cosines,)),
    Idea("candidate is tagged relevant", (carries_controls,), cost="tags"),
    Idea("question x every score (per-kind model)", (question_interactions,)),
    Idea("identifier x every score (per-kind model)", (identifier_interactions,)),
    Idea(
        "catalogue ideas together (named control, type/jurisdiction, top-10 agreement)",
        (named_control_match, type_and_jurisdiction_named, top_type_agreement),
        cost="tags",
    ),
    Idea("logistic without class balancing", model="unbalanced"),
    Idea("pairwise logistic (RankSVM-style)", model="pairwise"),
    Idea("gradient-boosted trees (HistGradientBoosting)", model="trees"),
    Idea("coordinate ascent on recall + MRR from the logistic", model="ascent"),
)


def _augmented(context: Context, extras: Sequence[Extra]) -> Found:
    f = context.found
    rows = np.hstack([f.rows, *(extra(context) for extra in extras)]) if extras else f.rows
    return Found(f.query, f.ids, rows, f.labels)


def _standardiser(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    return rows.mean(axis=0), scale


def make_ranker(model: str, regularisation: float) -> Callable[[Sequence[Found]], Ranker]:
    """A function from training queries to a ranker, for `cross_validate`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    def train(found: Sequence[Found]) -> Ranker:
        rows = np.vstack([f.rows for f in found])
        labels = np.concatenate([f.labels for f in found])
        mean, scale = _standardiser(rows)
        if model == "trees":
            trees = HistGradientBoostingClassifier(  # C = 1 lets it grow 300 trees, else 100
                max_iter=300 if regularisation >= 1 else 100,
                learning_rate=0.05,
                max_leaf_nodes=8,
                min_samples_leaf=40,
                class_weight="balanced",
                random_state=0,
            ).fit(rows, labels)
            return lambda f: f.ranked(trees.decision_function(f.rows))
        if model == "pairwise":
            weights = _pairwise_weights(found, mean, scale, regularisation)
        else:
            logistic = LogisticRegression(
                C=regularisation,
                max_iter=3000,
                class_weight=None if model == "unbalanced" else "balanced",
            ).fit((rows - mean) / scale, labels)
            weights = logistic.coef_[0]
            if model == "ascent":
                weights = _coordinate_ascent(found, mean, scale, weights)
        return lambda f: f.ranked(((f.rows - mean) / scale) @ weights)

    return train


def _pairwise_weights(
    found: Sequence[Found], mean: np.ndarray, scale: np.ndarray, regularisation: float
) -> np.ndarray:
    """A logistic model on (relevant - irrelevant) differences within each query."""
    from sklearn.linear_model import LogisticRegression

    generator = np.random.default_rng(0)
    differences = []
    for f in found:
        standard = (f.rows - mean) / scale
        relevant, other = np.flatnonzero(f.labels == 1), np.flatnonzero(f.labels == 0)
        if not len(relevant) or not len(other):
            continue
        for row in relevant:
            sample = other if len(other) <= 40 else generator.choice(other, 40, replace=False)
            differences.append(standard[row] - standard[sample])
    pairs = np.vstack(differences)
    model = LogisticRegression(C=regularisation, max_iter=3000, fit_intercept=False)
    model.fit(np.vstack([pairs, -pairs]), np.r_[np.ones(len(pairs)), np.zeros(len(pairs))])
    return np.asarray(model.coef_[0])


def _coordinate_ascent(
    found: Sequence[Found], mean: np.ndarray, scale: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """One pass of coordinate ascent on the training queries' recall@10 + MRR@10."""
    standard = [((f.rows - mean) / scale, f.labels) for f in found]

    def objective(w: np.ndarray) -> float:
        total = 0.0
        for rows, labels in standard:
            hits = labels[np.argsort(-(rows @ w), kind="stable")[:10]]
            total += hits.sum() / max(labels.sum(), 1)
            total += 1.0 / (int(np.argmax(hits)) + 1) if hits.any() else 0.0
        return total / len(standard)

    best, weights = objective(weights), weights.copy()
    for column in range(len(weights)):
        for step in (0.5, -0.5, 0.2, -0.2, 0.05, -0.05):
            trial = weights.copy()
            trial[column] += step
            value = objective(trial)
            if value > best + 1e-9:
                best, weights = value, trial
    return weights


def _fold_objectives(result: CrossValidation) -> np.ndarray:
    return np.asarray([s.recall + s.mrr for s in result.folds])


def measure(idea: Idea, contexts_: Sequence[Context]) -> tuple[float, CrossValidation]:
    """The idea's cross-validation at its best regularisation."""
    found = [_augmented(context, idea.extras) for context in contexts_]
    results = [(c, cross_validate(found, make_ranker(idea.model, c))) for c in REGULARISATION]
    return max(results, key=lambda pair: pair[1].objective)


def per_kind_recall(result: CrossValidation) -> str:
    kinds: dict[str, list[float]] = {}
    for query, ranked in result.pooled:
        kinds.setdefault(query.kind, []).append(
            len(query.relevant & set(ranked[:10])) / len(query.relevant)
        )
    return " ".join(f"{kind[:5]} {np.mean(values):.3f}" for kind, values in sorted(kinds.items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.search_ideas", description=__doc__)
    parser.add_argument("--home", type=Path, help="the corpus `evaluation.search --home` built")
    arguments = parser.parse_args(argv)
    if not QUERIES.is_file():
        print(f"search ideas skipped: {QUERIES} not present")
        return 0
    records, distractors = _records(argparse.Namespace(items=None))
    with tempfile.TemporaryDirectory(prefix="horizon-eval-ideas-") as scratch:
        runtime, stored_as = corpus_in(arguments.home or Path(scratch), records + distractors)
        queries = [q for q in load_queries(QUERIES, stored_as) if not is_frozen(q.qid)]
        found = gather(runtime, queries)
        contexts_, costs = contexts(runtime, found, load_catalogue([CONTROLS_FILE]))
        depths = {depth: gather(runtime, queries, depth) for depth in OTHER_DEPTHS}
    print(
        f"{len(contexts_)} development queries, 5-fold CV (frozen split not read). Cost per "
        f"query: tags SQL {costs.tags_sql:.1f} ms, candidate vectors from Chroma "
        f"{costs.vectors_get:.1f} ms, second embedding {costs.second_embedding:.1f} ms, "
        f"feedback words and their BM25 query {costs.feedback_query:.1f} ms"
    )
    shipped = _fold_objectives(measure(IDEAS[0], contexts_)[1])
    for depth, other in depths.items():
        result = max(
            (cross_validate(other, make_ranker("logistic", c)) for c in REGULARISATION),
            key=lambda r: r.objective,
        )
        difference = _fold_objectives(result) - shipped
        print(
            f"{f'shipped model, {depth} candidates per list (not {DEPTH})':61} "
            f"{result.summary()}  Δ(recall+MRR) {difference.mean():+.3f} ± {difference.std():.3f}"
        )
    for idea in IDEAS:
        regularisation, result = measure(idea, contexts_)
        recalls = [s.recall for s in result.folds]
        mrrs = [s.mrr for s in result.folds]
        capped = np.mean([s.capped_recall for s in result.folds])
        difference = _fold_objectives(result) - shipped
        print(
            f"{idea.name:56} C={regularisation:<4g} recall@10 {np.mean(recalls):.3f} ± "
            f"{np.std(recalls):.3f}  MRR@10 {np.mean(mrrs):.3f} ± {np.std(mrrs):.3f}  capped "
            f"{capped:.3f}  Δ(recall+MRR) {difference.mean():+.3f} ± {difference.std():.3f}  "
            f"cost {idea.cost} | {per_kind_recall(result)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
