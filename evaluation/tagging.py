"""How well Horizon tags: `python -m evaluation.tagging` (what `make eval` runs).

Three measurements of the packaged model (`horizon/tagging/model.npz`, built by `make train`
from `evaluation/data/items.jsonl` without its frozen test split):

- cross-validation: 5 stratified folds (seed 0) of the training items, each tagged by heads
  fitted and calibrated on the other folds with the model's chosen features, mean ± spread;
  also with every publisher's items in one fold, and with every labelled part's (one writer's)
  items in one fold, the closest to items by writers the model never saw;
- the frozen test split (one item in five by a hash of its id, `evaluation.common.
  is_frozen_test`), never used for training, tuning or choosing; the honesty check is how
  close it comes to the cross-validation;
- `../shared/eval/dev.jsonl`, an external set (skipped without ../shared).

Also: the relevance precision/recall curve (out-of-fold and frozen test); deadlines and
effective dates against the labels of the training items, the frozen test split and dev (the
date rules are not learned, but they were revised on the training items' misses, so only the
frozen test and dev measure them); simulated analysts who correct one fold's errors
(before/after on another fold), analyst feedback on one report of an event measured on another
(../shared/eval/dedupe-dev.jsonl) and dates read from Federal Register text.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.agreement import folds_by_writer, round_of
from evaluation.common import (
    LABELLED,
    SharedDataMissing,
    VectorCache,
    is_frozen_test,
    is_held_out,
    labelled_rows,
    read_jsonl,
    shared_file,
)
from horizon.classify import Classifier, Feedback, packaged_model
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.dates import extract_dates
from horizon.embed import Embedder, default_embedder
from horizon.item import Tags
from horizon.normalise import parse_date
from horizon.tagging.examples import Example, Featurised, data_hash, example_from_record, featurise
from horizon.tagging.features import FeatureBuilder
from horizon.tagging.heads import Choice
from horizon.tagging.metrics import Scores, prf, set_scores
from horizon.tagging.model import TaggerModel
from horizon.tagging.training import (
    FIGURES,
    FoldFigures,
    Verdict,
    cross_validated,
    figures,
    folds,
    folds_by_publisher,
    retrain_with_feedback,
    train,
)

DEV_FILE = "eval/dev.jsonl"
DEDUPE_FILE = "eval/dedupe-dev.jsonl"
FEDERAL_REGISTER_FILE = "data/feeds/us-federal-register-api-documents-2024.json"
CURVE_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


# ---- tagging a labelled set with a classifier ----------------------------------------------


def tag_figures(
    classifier: Classifier, examples: Sequence[Example], vectors: np.ndarray
) -> FoldFigures:
    tags = classifier.classify([e.item for e in examples], vectors)
    return figures_of_tags(examples, tags, classifier.model.controls)


def figures_of_tags(
    examples: Sequence[Example], tags: Sequence[Tags], control_ids: Sequence[str]
) -> FoldFigures:
    return figures(
        examples,
        [t.relevant for t in tags],
        [set(t.control_ids()) for t in tags],
        [t.type for t in tags],
        [t.jurisdiction for t in tags],
        control_ids,
    )


def relevance_curve(
    probabilities: np.ndarray, relevant: Sequence[bool], chosen: float
) -> list[tuple[float, Scores]]:
    """Precision/recall of `relevant` at each threshold of `CURVE_THRESHOLDS` and `chosen`."""
    gold = np.array(relevant, dtype=bool)
    rows = []
    for threshold in sorted({*CURVE_THRESHOLDS, round(chosen, 3)}):
        said = probabilities >= threshold
        rows.append(
            (
                threshold,
                prf(int((said & gold).sum()), int((said & ~gold).sum()), int((~said & gold).sum())),
            )
        )
    return rows


# ---- simulated analysts --------------------------------------------------------------------


@dataclass(frozen=True)
class AnalystGain:
    verdicts: int
    before: list[FoldFigures]
    after: list[FoldFigures]


def subset(data: Featurised, rows: np.ndarray) -> Featurised:
    return Featurised(
        [data.examples[i] for i in rows],
        [data.readings[i] for i in rows],
        data.features[rows],
        data.targets.take(rows),
        data.builder,
    )


def simulate_analysts(
    data: Featurised,
    choices: dict[str, Choice],
    fold_rows: Sequence[np.ndarray],
    classifier_for: Any,
) -> AnalystGain:
    """For each fold f: a model trained on the three folds that are neither f nor the next one
    tags fold f; analysts confirm every control it missed and reject every one it gave wrongly;
    the model retrained with those verdicts is compared with the original on the next fold."""
    before, after, verdicts = [], [], 0
    count = len(fold_rows)
    for fold in range(count):
        corrected, scored = fold_rows[fold], fold_rows[(fold + 1) % count]
        rest = np.concatenate(
            [fold_rows[i] for i in range(count) if i not in (fold, (fold + 1) % count)]
        )
        base_data = subset(data, rest)
        base = train(base_data, choices, folds(base_data.examples, k=3), {})
        base_classifier = classifier_for(base)
        corrected_items = [data.examples[i].item for i in corrected]
        corrected_vectors = data.features[corrected, : _dims(data)]
        corrected_tags = base_classifier.classify(corrected_items, corrected_vectors)
        # the verdicts' rows as the base model sees them (its own vocabulary of words)
        corrected_rows = base_classifier.features.matrix(
            corrected_items, corrected_vectors, [data.readings[i] for i in corrected]
        )
        fold_verdicts = [
            Verdict(features, control, control in data.examples[row].controls)
            for row, features, tags in zip(corrected, corrected_rows, corrected_tags, strict=True)
            for control in set(tags.control_ids()) ^ set(data.examples[row].controls)
        ]
        verdicts += len(fold_verdicts)
        retrained = retrain_with_feedback(base, fold_verdicts)
        scored_examples = [data.examples[i] for i in scored]
        vectors = data.features[scored, : _dims(data)]
        before.append(tag_figures(classifier_for(base), scored_examples, vectors))
        after.append(tag_figures(classifier_for(retrained), scored_examples, vectors))
    return AnalystGain(verdicts, before, after)


def _dims(data: Featurised) -> int:
    start, stop = data.builder.groups["embedding"]
    return stop - start


# ---- analyst feedback on another report of one event ---------------------------------------


@dataclass(frozen=True)
class FeedbackEffect:
    pairs: int
    changed: int
    before: Scores
    after: Scores


def feedback_effect(
    classifier: Classifier, embedder: Embedder, pairs: Sequence[dict[str, Any]]
) -> FeedbackEffect:
    """Each pair's first report's labels become verdicts (confirm its controls, reject any
    other control proposed for it); the second report is tagged with and without them."""
    firsts = [example_from_record(pair["a"]) for pair in pairs]
    seconds = [example_from_record(pair["b"]) for pair in pairs]
    first_vectors = embedder.embed([e.item.text() for e in firsts])
    second_vectors = embedder.embed([e.item.text() for e in seconds])
    proposed = classifier.classify([e.item for e in firsts], first_vectors)
    before = classifier.classify([e.item for e in seconds], second_vectors)
    after: list[Tags] = []
    for index, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
        feedback = [
            Feedback(first.item.text(), control, control in first.controls, first_vectors[index])
            for control in first.controls | set(proposed[index].control_ids())
        ]
        after += classifier.with_feedback(feedback).classify([second.item], second_vectors[[index]])
    gold = [set(e.controls) for e in seconds]
    ids = classifier.catalogue.control_ids()
    micro_before, _, _ = set_scores(gold, [set(t.control_ids()) for t in before], ids)
    micro_after, _, _ = set_scores(gold, [set(t.control_ids()) for t in after], ids)
    changed = sum(b.control_ids() != a.control_ids() for b, a in zip(before, after, strict=True))
    return FeedbackEffect(len(seconds), changed, micro_before, micro_after)


# ---- dates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateMatches:
    """Exact matches over all items, over the items whose label has a date, and the dates
    given where the label has none (`spurious`)."""

    right: int
    total: int
    stated_right: int
    stated: int
    spurious: int

    def line(self) -> str:
        return (
            f"{_ratio(self.stated_right, self.stated)} labelled dates read exactly, "
            f"{self.spurious} given where none is labelled"
        )


def date_matches(gold: Sequence[str | None], predicted: Sequence[date | None]) -> DateMatches:
    pairs = [(g, p.isoformat() if p else None) for g, p in zip(gold, predicted, strict=True)]
    stated = [(g, p) for g, p in pairs if g]
    return DateMatches(
        right=sum(g == p for g, p in pairs),
        total=len(pairs),
        stated_right=sum(g == p for g, p in stated),
        stated=len(stated),
        spurious=sum(p is not None and not g for g, p in pairs),
    )


def labelled_dates(
    rows: Sequence[dict[str, Any]], tags: Sequence[Tags]
) -> tuple[DateMatches, DateMatches]:
    """The deadlines and effective dates the tagger gave (`tags`) against the labels of `rows`."""
    return (
        date_matches([row["labels"].get("deadline") for row in rows], [t.deadline for t in tags]),
        date_matches([row["labels"].get("effective") for row in rows], [t.effective for t in tags]),
    )


def print_dates(name: str, rows: Sequence[dict[str, Any]], tags: Sequence[Tags]) -> None:
    deadline, effective = labelled_dates(rows, tags)
    print(f"{name} ({len(rows)}):")
    print(f"  deadline   {deadline.line()}")
    print(f"  effective  {effective.line()}")


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


# ---- report --------------------------------------------------------------------------------


def print_side_by_side(columns: dict[str, list[FoldFigures] | FoldFigures]) -> None:
    """One row per headline figure, one column per measurement (mean ± spread for folds)."""
    print(f"{'':<24}" + "".join(f"{name:>28}" for name in columns))
    for name, read in FIGURES:
        cells = []
        for value in columns.values():
            if isinstance(value, list):
                values = [read(f) for f in value]
                cells.append(f"{np.mean(values):.3f} ± {np.std(values):.3f}")
            else:
                cells.append(f"{read(value):.3f}")
        print(f"{name:<24}" + "".join(f"{cell:>28}" for cell in cells))


def print_per_control(name: str, result: FoldFigures) -> None:
    print(f"\nper control on {name}: precision  recall   F1     support")
    for control, scores in result.per_control.items():
        print(
            f"  {control:<22} {scores.precision:>8.3f}  {scores.recall:>6.3f}  "
            f"{scores.f1:>5.3f}  {scores.support:>5}"
        )


def print_curve(name: str, curve: list[tuple[float, Scores]], chosen: float) -> None:
    print(f"\nrelevance precision/recall, {name} (threshold: P / R / F1)")
    for threshold, scores in curve:
        mark = "  <- the model's threshold" if threshold == round(chosen, 3) else ""
        print(f"  {threshold:>6.3f}: {scores}{mark}")


def _ratio(right: int, total: int) -> str:
    return f"{right}/{total} = {right / total:.3f}" if total else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.tagging", description=__doc__)
    parser.add_argument("--data", type=Path, default=LABELLED, help="labelled JSON Lines")
    arguments = parser.parse_args(argv)
    try:
        rows = labelled_rows(arguments.data)
    except FileNotFoundError as missing:
        print(f"tagging evaluation skipped: {missing}")
        return 0
    model = packaged_model()
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    embedder = VectorCache(default_embedder())
    training_rows = [row for row in rows if not is_frozen_test(row["id"])]
    frozen_rows = [row for row in rows if is_frozen_test(row["id"])]
    stale = data_hash(training_rows) != model.metadata.get("data_sha256")
    print(
        f"{len(rows)} labelled items: {len(training_rows)} for training and cross-validation, "
        f"{len(frozen_rows)} in the frozen test split."
    )
    if stale:
        print("warning: the packaged model was trained on other data; run `make train` first")
    builder = FeatureBuilder(catalogue, embedder, model.controls)
    train_examples = [example_from_record(row) for row in training_rows]
    train_vectors = embedder.embed([e.item.text() for e in train_examples])
    data = featurise(train_examples, train_vectors, builder)
    choices = {head: Choice(**value) for head, value in model.metadata["choices"].items()}
    fold_rows = folds(train_examples)
    cv = cross_validated(data, choices, fold_rows)
    by_publisher = cross_validated(data, choices, folds_by_publisher(train_examples))
    by_writer = cross_validated(data, choices, folds_by_writer(train_examples))

    def classifier_for(trained: TaggerModel) -> Classifier:
        return Classifier(catalogue, embedder, model=trained)

    classifier = classifier_for(model)
    frozen = [example_from_record(row) for row in frozen_rows]
    frozen_vectors = embedder.embed([e.item.text() for e in frozen])
    seen = {e.item.publisher.strip().lower() for e in train_examples}
    unseen = [row for row, e in enumerate(frozen) if e.item.publisher.strip().lower() not in seen]
    columns: dict[str, list[FoldFigures] | FoldFigures] = {
        f"{len(fold_rows)}-fold CV": cv.folds,
        "CV by publisher": by_publisher.folds,
        "CV by writer": by_writer.folds,
        f"frozen test ({len(frozen)})": tag_figures(classifier, frozen, frozen_vectors),
        f"frozen, new publishers ({len(unseen)})": tag_figures(
            classifier, [frozen[row] for row in unseen], frozen_vectors[unseen]
        ),
    }
    by_round: dict[int, list[int]] = {}
    for row, example in enumerate(frozen):
        by_round.setdefault(round_of(example.item.id), []).append(row)
    if len(by_round) > 1:
        # each labelling round's frozen items: earlier figures compare with their own round's
        for number, rows_of in sorted(by_round.items()):
            columns[f"frozen, round {number} ({len(rows_of)})"] = tag_figures(
                classifier, [frozen[row] for row in rows_of], frozen_vectors[rows_of]
            )
    dev_rows: list[dict[str, Any]] = []
    try:
        dev_rows = read_jsonl(shared_file(DEV_FILE))
    except SharedDataMissing as missing:
        print(f"shared dev.jsonl {missing}")
    dev = [example_from_record(row) for row in dev_rows]
    dev_vectors = embedder.embed([e.item.text() for e in dev]) if dev else None
    if dev_vectors is not None:
        columns[f"shared dev ({len(dev)})"] = tag_figures(classifier, dev, dev_vectors)
    print(f"\nchosen by cross-validation: {json.dumps(model.metadata['choices'])}")
    print(f"relevance threshold {model.relevance_threshold:.3f} (recall first, by CV)")
    print(f"control threshold {model.control_threshold:.3f} (best micro-F1, by CV)\n")
    print_side_by_side(columns)
    for name, result in columns.items():
        if not isinstance(result, list) and name.startswith(("frozen test", "shared dev")):
            print_per_control(name, result)
    print_curve(
        "out-of-fold on the training items",
        relevance_curve(
            cv.relevance_probabilities,
            [e.relevant for e in train_examples],
            model.relevance_threshold,
        ),
        model.relevance_threshold,
    )
    frozen_explained = classifier.explain([e.item for e in frozen], frozen_vectors)
    print_curve(
        "frozen test",
        relevance_curve(
            np.array([x.relevance for x in frozen_explained]),
            [e.relevant for e in frozen],
            model.relevance_threshold,
        ),
        model.relevance_threshold,
    )

    print(
        "\n== deadlines and effective dates read from the title and summary (rules in "
        "horizon/dates.py, revised on the training items' misses; the frozen test and dev "
        "were not looked at) =="
    )
    for name, part_rows, examples, vectors in (
        ("training items", training_rows, train_examples, train_vectors),
        ("frozen test", frozen_rows, frozen, frozen_vectors),
        ("shared dev", dev_rows, dev, dev_vectors),
    ):
        if vectors is not None:
            print_dates(name, part_rows, classifier.classify([e.item for e in examples], vectors))

    gain = simulate_analysts(data, choices, fold_rows, classifier_for)
    print(
        f"\n== simulated analysts: {gain.verdicts} verdicts correcting one fold's errors, "
        "measured on the next fold (model trained on the other three) =="
    )
    print_side_by_side({"before": gain.before, "after": gain.after})

    try:
        pairs = read_jsonl(shared_file(DEDUPE_FILE))
        shared_file(FEDERAL_REGISTER_FILE)
    except SharedDataMissing as missing:
        print(f"\nanalyst feedback and Federal Register dates {missing}")
        return 0
    effect = feedback_effect(classifier, embedder, pairs)
    print(
        f"\n== analyst feedback, {effect.pairs} pairs of reports of one event "
        "(dedupe-dev.jsonl): the first's labels as verdicts, the second tagged =="
    )
    print(f"controls without feedback   {effect.before}")
    print(f"controls with feedback      {effect.after}  ({effect.changed} items changed)")
    print("\n== Federal Register page: dates from the text only ==")
    for with_dates_field in (False, True):
        text = "title + abstract" + (" + `dates`" if with_dates_field else "")
        for part_name, is_held_out_part in (("tuning", False), ("held-out", True)):
            dates = federal_register_dates(is_held_out_part, with_dates_field)
            print(
                f"{text:<27} {part_name:<8} ({dates.documents} docs): deadline "
                f"{_ratio(dates.deadline_right, dates.deadline_stated)} of comments_close_on "
                f"(+{dates.deadline_other} other), effective "
                f"{_ratio(dates.effective_right, dates.effective_stated)} of effective_on "
                f"(+{dates.effective_other} other)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
