"""How well Horizon tags: `python -m evaluation.tagging` (what `make eval` runs).

On ../shared/eval/dev.jsonl: controls micro/macro F1 and per-control precision/recall, relevance
precision/recall/F1, type and jurisdiction accuracy, deadline/effective exact match, and how
well the control scores are calibrated. On ../shared/eval/dedupe-dev.jsonl: what analyst
feedback on one report of an event does for another report of it. On the Federal Register page:
`deadline` against its `comments_close_on` and `effective` against its `effective_on`, read from
the text only (title and abstract, then also the `dates` paragraph).

What is held out: one record in three, chosen by a hash of its id (`evaluation.common.
is_held_out`; dev.jsonl `id`, Federal Register `document_number`). The catalogue's phrases and
examples, the cue phrases and the score weights were tuned on the other two thirds only, and the
`b` items of dedupe-dev.jsonl were never looked at; figures are printed for every part.
`--fit` refits the score weights on the tuning part (what `horizon.classify.DEFAULT_WEIGHTS`
holds); cross-validation inside the tuning part shows how well fitted weights carry over to
items they were not fitted on, with and without the embedding signals.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from evaluation.common import SharedDataMissing, is_held_out, read_jsonl, shared_file
from horizon.classify import (
    DEFAULT_WEIGHTS,
    THRESHOLD,
    Classifier,
    Explanation,
    Feedback,
    ScoreWeights,
)
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.dates import extract_dates
from horizon.embed import Embedder, ProgressCallback, default_embedder
from horizon.item import Item, Tags
from horizon.normalise import item_from_record, parse_date

DEV_FILE = "eval/dev.jsonl"
DEDUPE_FILE = "eval/dedupe-dev.jsonl"
FEDERAL_REGISTER_FILE = "data/feeds/us-federal-register-api-documents-2024.json"
_FOLDS = 5
_PHRASE_FEATURES = 3
_THROUGHPUT_ITEMS = 300

Build = Callable[[ScoreWeights], Classifier]


@dataclass(frozen=True)
class Labelled:
    """A labelled item, its labels, and whether it is in the held-out part."""

    item: Item
    labels: dict[str, Any]
    held_out: bool

    @property
    def controls(self) -> set[str]:
        return set(self.labels["controls"])


def labelled_record(row: dict[str, Any]) -> Labelled:
    fields = {key: value for key, value in row.items() if key != "labels"}
    return Labelled(item_from_record(fields), row["labels"], is_held_out(row["id"]))


def load_dev() -> list[Labelled]:
    return [labelled_record(row) for row in read_jsonl(shared_file(DEV_FILE))]


# ---- metrics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int

    def __str__(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}"


def prf(true_positives: int, false_positives: int, false_negatives: int) -> Scores:
    precision = true_positives / (true_positives + false_positives) if true_positives else 0.0
    recall = true_positives / (true_positives + false_negatives) if true_positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, true_positives + false_negatives)


def set_scores(
    gold: Sequence[set[str]], predicted: Sequence[set[str]], labels: Sequence[str]
) -> tuple[Scores, float, dict[str, Scores]]:
    """Micro scores over every (item, label) decision, the macro F1 over the labels that occur
    in `gold`, and each label's own scores."""
    pairs = list(zip(gold, predicted, strict=True))
    per_label = {
        label: prf(
            sum(label in g and label in p for g, p in pairs),
            sum(label not in g and label in p for g, p in pairs),
            sum(label in g and label not in p for g, p in pairs),
        )
        for label in labels
    }
    micro = prf(
        sum(len(g & p) for g, p in pairs),
        sum(len(p - g) for g, p in pairs),
        sum(len(g - p) for g, p in pairs),
    )
    present = [scores.f1 for scores in per_label.values() if scores.support]
    return micro, (sum(present) / len(present) if present else 0.0), per_label


@dataclass(frozen=True)
class DateMatches:
    """Exact matches over all items, and over the items whose label has a date."""

    right: int
    total: int
    stated_right: int
    stated: int


def date_matches(gold: Sequence[str | None], predicted: Sequence[date | None]) -> DateMatches:
    pairs = [(g, p.isoformat() if p else None) for g, p in zip(gold, predicted, strict=True)]
    stated = [(g, p) for g, p in pairs if g]
    return DateMatches(
        right=sum(g == p for g, p in pairs),
        total=len(pairs),
        stated_right=sum(g == p for g, p in stated),
        stated=len(stated),
    )


def calibration_bands(pairs: Sequence[tuple[float, bool]]) -> list[tuple[float, float, int]]:
    """(mean score, share right, count) per score band, for scores of 0.05 and above."""
    rows = []
    for low, high in ((0.05, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.01)):
        inside = [(score, right) for score, right in pairs if low <= score < high]
        if inside:
            mean = sum(score for score, _ in inside) / len(inside)
            rows.append((mean, sum(right for _, right in inside) / len(inside), len(inside)))
    return rows


def _accuracy(gold: Sequence[object], predicted: Sequence[object]) -> float:
    pairs = list(zip(gold, predicted, strict=True))
    return sum(g == p for g, p in pairs) / len(pairs) if pairs else 0.0


@dataclass(frozen=True)
class PartReport:
    """Every dev.jsonl figure for one part."""

    name: str
    size: int
    micro: Scores
    macro_f1: float
    per_control: dict[str, Scores]
    relevance: Scores
    type_accuracy: float
    jurisdiction_accuracy: float
    themes: Scores
    deadline: DateMatches
    effective: DateMatches
    brier: float
    calibration: list[tuple[float, float, int]]


def evaluate_part(
    name: str, labelled: Sequence[Labelled], explanations: Sequence[Explanation]
) -> PartReport:
    tags = [explanation.tags for explanation in explanations]
    control_ids = [score.id for score in explanations[0].scores]
    micro, macro, per_control = set_scores(
        [entry.controls for entry in labelled], [set(t.control_ids()) for t in tags], control_ids
    )
    relevance, _, _ = set_scores(
        [{"relevant"} if entry.labels["relevant"] else set() for entry in labelled],
        [{"relevant"} if t.relevant else set() for t in tags],
        ["relevant"],
    )
    theme_gold = [set(entry.labels["themes"]) for entry in labelled]
    themes, _, _ = set_scores(
        theme_gold, [set(t.themes) for t in tags], sorted(set().union(*theme_gold))
    )
    pairs = [
        (score.score, score.id in entry.controls)
        for entry, explanation in zip(labelled, explanations, strict=True)
        for score in explanation.scores
    ]
    return PartReport(
        name=name,
        size=len(labelled),
        micro=micro,
        macro_f1=macro,
        per_control=per_control,
        relevance=relevance,
        type_accuracy=_accuracy([e.labels["type"] for e in labelled], [t.type for t in tags]),
        jurisdiction_accuracy=_accuracy(
            [e.labels["jurisdiction"] for e in labelled], [t.jurisdiction for t in tags]
        ),
        themes=themes,
        deadline=date_matches([e.labels["deadline"] for e in labelled], [t.deadline for t in tags]),
        effective=date_matches(
            [e.labels["effective"] for e in labelled], [t.effective for t in tags]
        ),
        brier=sum((score - right) ** 2 for score, right in pairs) / len(pairs),
        calibration=calibration_bands(pairs),
    )


# ---- fitting the score weights -------------------------------------------------------------


def fit_weights(
    explanations: Sequence[Explanation],
    labelled: Sequence[Labelled],
    use_similarity: bool = True,
) -> ScoreWeights:
    """Fit the logistic score weights to these items' signals and gold controls (items not
    about AI are left out: their scores are 0 whatever the weights). Without `use_similarity`
    the embedding signals get weight 0, leaving the phrase rules alone."""
    kept = slice(None) if use_similarity else slice(0, _PHRASE_FEATURES)
    features = []
    outcomes = []
    for explanation, entry in zip(explanations, labelled, strict=True):
        if explanation.about_ai:
            for score in explanation.scores:
                features.append(score.signals.features()[kept])
                outcomes.append(int(score.id in entry.controls))
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(np.array(features), np.array(outcomes))
    coefficients = [round(float(weight), 2) for weight in model.coef_[0]]
    width = len(explanations[0].scores[0].signals.features())
    return ScoreWeights(
        bias=round(float(model.intercept_[0]), 2),
        coefficients=(*coefficients, *[0.0] * (width - len(coefficients))),
    )


def cross_validate(
    build: Build, labelled: Sequence[Labelled], vectors: np.ndarray, use_similarity: bool
) -> tuple[float, float]:
    """Mean micro and macro F1 over folds of `labelled`, each scored with weights fitted on the
    other folds."""
    explanations = build(DEFAULT_WEIGHTS).explain([entry.item for entry in labelled], vectors)
    micro_f1s = []
    macro_f1s = []
    for fold in range(_FOLDS):
        scored = list(range(fold, len(labelled), _FOLDS))
        fitted_on = [index for index in range(len(labelled)) if index % _FOLDS != fold]
        weights = fit_weights(
            [explanations[index] for index in fitted_on],
            [labelled[index] for index in fitted_on],
            use_similarity,
        )
        fold_explanations = build(weights).explain(
            [labelled[index].item for index in scored], vectors[scored]
        )
        report = evaluate_part("fold", [labelled[index] for index in scored], fold_explanations)
        micro_f1s.append(report.micro.f1)
        macro_f1s.append(report.macro_f1)
    return float(np.mean(micro_f1s)), float(np.mean(macro_f1s))


# ---- analyst feedback ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackEffect:
    pairs: int
    changed: int
    before: Scores
    after: Scores


def load_report_pairs() -> tuple[list[Labelled], list[Labelled]]:
    """dedupe-dev.jsonl: differently worded reports of one event; the first of each pair is a
    dev.jsonl item, the second is in no other file (nothing was tuned on the seconds)."""
    pairs = read_jsonl(shared_file(DEDUPE_FILE))
    return (
        [labelled_record(pair["a"]) for pair in pairs],
        [labelled_record(pair["b"]) for pair in pairs],
    )


def feedback_effect(
    classifier: Classifier,
    embedder: Embedder,
    firsts: Sequence[Labelled],
    seconds: Sequence[Labelled],
) -> FeedbackEffect:
    """Analyst feedback on one report of an event, measured on another report of it. For each
    pair the first report's labels become the feedback (confirm its controls, reject any other
    control the classifier proposed for it) and the second is tagged with and without it."""
    first_vectors = embedder.embed([entry.item.text() for entry in firsts])
    second_vectors = embedder.embed([entry.item.text() for entry in seconds])
    proposed = classifier.classify([entry.item for entry in firsts], first_vectors)
    before = classifier.classify([entry.item for entry in seconds], second_vectors)
    after: list[Tags] = []
    for index, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
        feedback = [
            Feedback(first.item.text(), control, control in first.controls, first_vectors[index])
            for control in first.controls | set(proposed[index].control_ids())
        ]
        after += classifier.with_feedback(feedback).classify([second.item], second_vectors[[index]])
    gold = [entry.controls for entry in seconds]
    control_ids = classifier.catalogue.control_ids()
    micro_before, _, _ = set_scores(gold, [set(t.control_ids()) for t in before], control_ids)
    micro_after, _, _ = set_scores(gold, [set(t.control_ids()) for t in after], control_ids)
    changed = sum(b.control_ids() != a.control_ids() for b, a in zip(before, after, strict=True))
    return FeedbackEffect(len(seconds), changed, micro_before, micro_after)


# ---- Federal Register dates ----------------------------------------------------------------


@dataclass(frozen=True)
class RegisterDates:
    """Dates read from Federal Register text against the register's own fields.

    `*_other` counts documents where a date was read but the field is empty or different; the
    register leaves the fields empty for many notices that do state a date ("Applicable
    January 3, 2024"), so these are not all mistakes.
    """

    documents: int
    deadline_right: int
    deadline_stated: int
    deadline_other: int
    effective_right: int
    effective_stated: int
    effective_other: int


def federal_register_dates(held_out: bool, with_dates_field: bool) -> RegisterDates:
    documents = [
        document
        for document in _register_page()
        if is_held_out(document["document_number"]) == held_out
    ]
    counts = {
        f"{kind}_{measure}": 0
        for kind in ("deadline", "effective")
        for measure in ("right", "stated", "other")
    }
    for document in documents:
        found = extract_dates(
            _register_text(document, with_dates_field), parse_date(document["publication_date"])
        )
        for kind, value, field in zip(
            ("deadline", "effective"), found, ("comments_close_on", "effective_on"), strict=True
        ):
            expected = document.get(field)
            read = value.isoformat() if value else None
            counts[f"{kind}_stated"] += bool(expected)
            counts[f"{kind}_right"] += bool(expected) and read == expected
            counts[f"{kind}_other"] += read is not None and read != expected
    return RegisterDates(documents=len(documents), **counts)


@lru_cache(maxsize=1)
def _register_page() -> tuple[dict[str, Any], ...]:
    page = json.loads(shared_file(FEDERAL_REGISTER_FILE).read_text(encoding="utf-8"))
    return tuple(page["results"])


def _register_text(document: dict[str, Any], with_dates_field: bool) -> str:
    fields = ("title", "abstract", "dates") if with_dates_field else ("title", "abstract")
    parts = [str(document.get(field) or "").strip() for field in fields]
    return ". ".join(part for part in parts if part)


# ---- speed ---------------------------------------------------------------------------------


class CachedEmbedder:
    """Remembers every text it embedded: the evaluation builds several classifiers over one
    catalogue, and each would otherwise embed the same examples again."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self.name = embedder.name
        self.dimensions = embedder.dimensions
        self._vectors: dict[str, np.ndarray] = {}

    def embed(
        self, texts: Sequence[str], on_progress: ProgressCallback | None = None
    ) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if missing:
            vectors = self._embedder.embed(missing, on_progress)
            self._vectors.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.vstack([self._vectors[text] for text in texts])


def throughput(classifier: Classifier, embedder: Embedder) -> tuple[int, float]:
    """Items per minute on one core for everything but the embedding (done beforehand)."""
    items = [
        item_from_record(
            {
                "title": document.get("title") or "untitled",
                "summary": document.get("abstract") or "",
                "published": document["publication_date"],
            }
        )
        for document in _register_page()[:_THROUGHPUT_ITEMS]
    ]
    vectors = embedder.embed([item.text() for item in items])
    started = time.perf_counter()
    classifier.classify(items, vectors)
    return len(items), len(items) / (time.perf_counter() - started) * 60


# ---- report --------------------------------------------------------------------------------


def print_part(report: PartReport) -> None:
    print(f"\n== {report.name} ({report.size} items) ==")
    print(f"controls micro       {report.micro}  (support {report.micro.support})")
    print(f"controls macro F1    {report.macro_f1:.3f}  (over the controls its labels use)")
    print(f"relevance            {report.relevance}")
    print(f"type accuracy        {report.type_accuracy:.3f}")
    print(f"jurisdiction acc.    {report.jurisdiction_accuracy:.3f}")
    print(f"themes micro         {report.themes}")
    for name, matches in (("deadline", report.deadline), ("effective", report.effective)):
        stated = (
            f"{matches.stated_right}/{matches.stated} where the label has one"
            if matches.stated
            else "no label has one"
        )
        print(
            f"{name:<20} exact {matches.right}/{matches.total} = "
            f"{matches.right / matches.total:.3f}; {stated}"
        )
    bands = "; ".join(f"{mean:.2f}->{right:.2f} (n={n})" for mean, right, n in report.calibration)
    print(f"score calibration    Brier {report.brier:.4f}; mean score -> share right: {bands}")
    print("per control          precision  recall   F1     support")
    for control, scores in report.per_control.items():
        print(
            f"  {control:<20} {scores.precision:>8.3f}  {scores.recall:>6.3f}  "
            f"{scores.f1:>5.3f}  {scores.support:>5}"
        )


def _ratio(right: int, total: int) -> str:
    return f"{right}/{total} = {right / total:.3f}" if total else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.tagging", description=__doc__)
    parser.add_argument(
        "--fit", action="store_true", help="refit the score weights on the tuning part and print"
    )
    arguments = parser.parse_args(argv)
    try:
        labelled = load_dev()
        firsts, seconds = load_report_pairs()
        shared_file(FEDERAL_REGISTER_FILE)
    except SharedDataMissing as missing:
        print(f"tagging evaluation {missing}")
        return 0
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    embedder = CachedEmbedder(default_embedder())

    def build(weights: ScoreWeights) -> Classifier:
        return Classifier(catalogue, embedder, weights=weights)

    classifier = build(DEFAULT_WEIGHTS)
    vectors = embedder.embed([entry.item.text() for entry in labelled])
    explanations = classifier.explain([entry.item for entry in labelled], vectors)
    tuning = [index for index, entry in enumerate(labelled) if not entry.held_out]
    held_out = [index for index, entry in enumerate(labelled) if entry.held_out]

    if arguments.fit:
        fitted = fit_weights([explanations[i] for i in tuning], [labelled[i] for i in tuning])
        print(f"fitted on the tuning part ({len(tuning)} items): {fitted}")
        return 0

    print(
        f"Held out: the {len(held_out)} of {len(labelled)} dev.jsonl items whose id hashes to 0 "
        f"mod 3 (evaluation.common.is_held_out); tuned on the other {len(tuning)}. "
        f"Threshold {THRESHOLD}."
    )
    for name, indexes in (
        ("dev.jsonl, tuning part", tuning),
        ("dev.jsonl, held-out part", held_out),
    ):
        part = [labelled[i] for i in indexes]
        print_part(evaluate_part(name, part, [explanations[i] for i in indexes]))
    second_reports = classifier.explain([entry.item for entry in seconds])
    print_part(evaluate_part("second reports in dedupe-dev.jsonl", seconds, second_reports))

    print(f"\n== {_FOLDS}-fold cross-validation inside the tuning part (weights refitted) ==")
    for name, use_similarity in (("phrase rules only", False), ("+ embedding similarity", True)):
        micro_f1, macro_f1 = cross_validate(
            build, [labelled[i] for i in tuning], vectors[tuning], use_similarity
        )
        print(f"{name:<28} micro F1 {micro_f1:.3f}  macro F1 {macro_f1:.3f}")

    effect = feedback_effect(classifier, embedder, firsts, seconds)
    print(
        f"\n== analyst feedback, {effect.pairs} pairs of reports of one event "
        "(dedupe-dev.jsonl): the first's labels as feedback, the second tagged =="
    )
    print(f"controls without feedback   {effect.before}")
    print(f"controls with feedback      {effect.after}  ({effect.changed} items changed)")

    print("\n== Federal Register page: dates from the text only ==")
    for with_dates_field in (False, True):
        text = "title + abstract" + (" + `dates`" if with_dates_field else "")
        for part_name, is_held_out_part in (("tuning", False), ("held-out", True)):
            result = federal_register_dates(is_held_out_part, with_dates_field)
            print(
                f"{text:<27} {part_name:<8} ({result.documents} docs): deadline "
                f"{_ratio(result.deadline_right, result.deadline_stated)} of comments_close_on "
                f"(+{result.deadline_other} other), effective "
                f"{_ratio(result.effective_right, result.effective_stated)} of effective_on "
                f"(+{result.effective_other} other)"
            )
    count, per_minute = throughput(classifier, embedder)
    print(
        f"\nthroughput: {per_minute:,.0f} items/minute on one core, embedding excluded "
        f"({count} Federal Register items)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
