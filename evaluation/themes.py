"""How well Horizon files items under the strategy themes: `python -m evaluation.themes` (part
of `make eval`).

A relevant item's themes are its controls' themes in the catalogue (`controls.yaml`), its
type's, those whose phrases it contains, and those the model's theme heads give it
(`Classifier.themes_of`, `TaggerModel.learned_themes`). Until round 13 only the rules gave
themes, and nothing measured them. This prints:

- each control's share of training items labelled with each theme (the labels of the relevant
  items with that control), beside the catalogue's themes for it;
- the rule "a control carries every theme that at least SHARE of its training items carry",
  for several shares, by 5-fold cross-validation: themes from four folds' labels, scored on
  the fifth, with the controls and type the packaged tagger gave (the catalogue follows the
  best share);
- the theme heads by 5-fold cross-validation, for several regularisations and thresholds:
  fitted on four folds' relevant items, their themes added to the rules' on the fifth (the
  model ships the best, `THEME_CHOICE` and `THEME_THRESHOLD`);
- micro and macro F1 of the themes the tagger gives, rules alone and with the heads: on the
  training items (which every choice was made on), the frozen test split (never used for a
  choice) and `../shared/eval/dev.jsonl`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.common import (
    LABELLED,
    SharedDataMissing,
    VectorCache,
    is_frozen_test,
    labelled_rows,
    read_jsonl,
    shared_file,
)
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import default_embedder
from horizon.item import THEMES, Item, Tags
from horizon.tagging.examples import Example, Featurised, example_from_record, featurise
from horizon.tagging.features import FeatureBuilder
from horizon.tagging.heads import THEME_CHOICE, THEME_THRESHOLD, Choice, fit_theme_heads, scaler
from horizon.tagging.metrics import Scores, set_scores
from horizon.tagging.model import sigmoid, themes_at
from horizon.tagging.training import folds

SHARES = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9)
HEAD_C = (0.003, 0.01, 0.03)
HEAD_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
DEV_FILE = "eval/dev.jsonl"


def theme_shares(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """For each control, the share of its labelled items (relevant ones) carrying each theme."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for row in rows:
        labels = row["labels"]
        if not labels["relevant"]:
            continue
        for control in labels["controls"]:
            totals[control] += 1
            counts[control].update(labels["themes"])
    return {
        control: {theme: count / totals[control] for theme, count in counts[control].items()}
        for control in totals
    }


def themes_from_shares(
    shares: Mapping[str, Mapping[str, float]], share: float
) -> dict[str, set[str]]:
    """Each control's themes: those at least `share` of its labelled items carry."""
    return {
        control: {theme for theme, value in by_theme.items() if value >= share}
        for control, by_theme in shares.items()
    }


def themes_with(
    classifier: Classifier,
    items: Sequence[Item],
    tags: Sequence[Tags],
    control_themes: Mapping[str, set[str]] | None = None,
    learned: Sequence[Sequence[str]] | None = None,
) -> list[set[str]]:
    """The themes the tagger would give `items` with `control_themes` in place of the
    catalogue's (None: the catalogue's) and `learned` themes from the heads (None: none)."""
    return [
        set(
            classifier.themes_of(
                item,
                tag.type,
                tag.control_ids(),
                control_themes,
                learned[number] if learned is not None else (),
            )
        )
        if tag.controls
        else set()
        for number, (item, tag) in enumerate(zip(items, tags, strict=True))
    ]


def theme_scores(
    rows: Sequence[dict[str, Any]], themes: Sequence[set[str]], theme_ids: Sequence[str]
) -> tuple[Scores, float, dict[str, Scores]]:
    """Micro scores, macro F1 and each theme's scores against the labels of `rows`."""
    return set_scores([set(row["labels"]["themes"]) for row in rows], themes, theme_ids)


def cross_validated_shares(
    classifier: Classifier,
    rows: Sequence[dict[str, Any]],
    examples: Sequence[Example],
    tags: Sequence[Tags],
) -> dict[float, tuple[list[float], list[float]]]:
    """For each of `SHARES`, the micro and macro F1 of each fold, themes taken from the other
    folds' labels."""
    fold_rows = folds(examples)
    theme_ids = [theme.id for theme in classifier.catalogue.themes]
    results: dict[float, tuple[list[float], list[float]]] = {s: ([], []) for s in SHARES}
    everything = np.arange(len(rows))
    for held in fold_rows:
        shares = theme_shares([rows[i] for i in np.setdiff1d(everything, held)])
        held_rows, held_tags = [rows[i] for i in held], [tags[i] for i in held]
        held_items = [examples[i].item for i in held]
        for share in SHARES:
            themes = themes_with(
                classifier, held_items, held_tags, themes_from_shares(shares, share)
            )
            micro, macro, _ = theme_scores(held_rows, themes, theme_ids)
            results[share][0].append(micro.f1)
            results[share][1].append(macro)
    return results


def cross_validated_heads(
    classifier: Classifier,
    rows: Sequence[dict[str, Any]],
    tags: Sequence[Tags],
    data: Featurised,
) -> dict[tuple[float, float], tuple[list[float], list[float]]]:
    """For each regularisation in `HEAD_C` and threshold in `HEAD_THRESHOLDS`, the micro and
    macro F1 of each fold when the theme heads fitted on the other folds add their themes to
    the rules' (the catalogue's control themes)."""
    fold_rows = folds(data.examples)
    theme_ids = [theme.id for theme in classifier.catalogue.themes]
    everything = np.arange(len(rows))
    results: dict[tuple[float, float], tuple[list[float], list[float]]] = {
        (c, threshold): ([], []) for c in HEAD_C for threshold in HEAD_THRESHOLDS
    }
    for held in fold_rows:
        others = np.setdiff1d(everything, held)
        mean, scale = scaler(data.features[others])
        held_rows, held_tags = [rows[i] for i in held], [tags[i] for i in held]
        held_items = [data.examples[i].item for i in held]
        for c in HEAD_C:
            weights, bias = fit_theme_heads(
                data.features[others],
                mean,
                scale,
                data.targets.take(others),
                data.builder.groups,
                Choice(THEME_CHOICE.groups, c),
            )
            scaled = (data.features[held] - mean) / scale
            probabilities = sigmoid(scaled @ weights.T + bias)
            for threshold in HEAD_THRESHOLDS:
                learned = themes_at(probabilities, THEMES, threshold)
                themes = themes_with(classifier, held_items, held_tags, None, learned)
                micro, macro, _ = theme_scores(held_rows, themes, theme_ids)
                results[(c, threshold)][0].append(micro.f1)
                results[(c, threshold)][1].append(macro)
    return results


def best(results: Mapping[Any, tuple[list[float], list[float]]]) -> Any:
    """The key with the best mean of micro and macro F1 over the folds, to three decimals;
    of equal ones the first (the more regularised, the lower share or threshold)."""
    return max(results, key=lambda key: round(float(np.mean(results[key][0] + results[key][1])), 3))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.themes", description=__doc__)
    parser.add_argument("--data", type=Path, default=LABELLED, help="labelled JSON Lines")
    arguments = parser.parse_args(argv)
    try:
        rows = labelled_rows(arguments.data)
    except FileNotFoundError as missing:
        print(f"themes evaluation skipped: {missing}")
        return 0
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    embedder = VectorCache(default_embedder())
    classifier = Classifier(catalogue, embedder)
    theme_ids = [theme.id for theme in catalogue.themes]
    parts: dict[str, list[dict[str, Any]]] = {
        "training items": [row for row in rows if not is_frozen_test(row["id"])],
        "frozen test": [row for row in rows if is_frozen_test(row["id"])],
    }
    try:
        parts["shared dev"] = read_jsonl(shared_file(DEV_FILE))
    except SharedDataMissing as missing:
        print(f"shared dev.jsonl {missing}")
    items = {name: [example_from_record(row).item for row in part] for name, part in parts.items()}
    vectors = {name: embedder.embed([item.text() for item in items[name]]) for name in parts}
    tags = {name: classifier.classify(items[name], vectors[name]) for name in parts}

    training = parts["training items"]
    examples = [example_from_record(row) for row in training]
    shares = theme_shares(training)
    print("share of each control's training items labelled with each theme:")
    print(f"  {'':<22}" + "".join(f"{theme[:8]:>9}" for theme in theme_ids) + "   catalogue")
    for control in catalogue.control_ids():
        by_theme = shares.get(control, {})
        cells = "".join(f"{by_theme.get(theme, 0.0):>9.2f}" for theme in theme_ids)
        print(f"  {control:<22}{cells}   {', '.join(catalogue.control(control).themes)}")
    print(
        "\ncontrols carry the themes at least SHARE of their training items carry "
        "(5-fold CV, the tagger's controls and type): micro-F1 · macro-F1"
    )
    by_share = cross_validated_shares(classifier, training, examples, tags["training items"])
    for share, (micros, macros) in by_share.items():
        print(
            f"  share {share:.2f}: {np.mean(micros):.3f} ± {np.std(micros):.3f} · "
            f"{np.mean(macros):.3f} ± {np.std(macros):.3f}"
            + ("  <- best" if share == best(by_share) else "")
        )
    data = featurise(
        examples,
        vectors["training items"],
        FeatureBuilder(catalogue, embedder, classifier.model.controls),
    )
    print(
        "\ntheme heads, their themes added to the rules' (5-fold CV): micro-F1 · macro-F1; "
        f"shipped: C {THEME_CHOICE.c}, threshold {THEME_THRESHOLD}"
    )
    by_head = cross_validated_heads(classifier, training, tags["training items"], data)
    for (c, threshold), (micros, macros) in by_head.items():
        print(
            f"  C {c:<5} threshold {threshold:.1f}: {np.mean(micros):.3f} ± "
            f"{np.std(micros):.3f} · {np.mean(macros):.3f} ± {np.std(macros):.3f}"
            + ("  <- best" if (c, threshold) == best(by_head) else "")
        )
    print("\nthemes the tagger gives (rules alone · with the packaged model's theme heads):")
    for name, part in parts.items():
        ruled = themes_with(classifier, items[name], tags[name])
        given = [set(tag.themes) for tag in tags[name]]
        for label, themes in (("rules alone", ruled), ("with heads", given)):
            micro, macro, per_theme = theme_scores(part, themes, theme_ids)
            print(f"  {name} ({len(part)}), {label}: micro {micro} · macro-F1 {macro:.3f}")
            print(
                "    "
                + " · ".join(f"{theme} {scores.f1:.2f}" for theme, scores in per_theme.items())
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
