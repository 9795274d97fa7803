"""Should the learned tagger read an item's full text? `python -m evaluation.fulltext`.

The labelled items (`evaluation/data/items.jsonl`) carry no full texts, so the question is put
to what they allow. Items of the frozen test split (never used to train the packaged model)
whose summary has at least `MIN_SENTENCES` sentences stand in for an item with a body: their
first sentence is what a terse feed gives, the rest plays the linked page. Two wirings are
compared with the packaged model and the packaged MiniLM:

    body to rules   the learned heads see title + first sentence; the rest is `Item.full_text`,
                    read by the rules only (dates, evidence) — what Horizon does
    body to model   the learned heads see title + whole summary, as if the body were appended
                    to the text they embed and match phrases in
    excerpt to model  the learned heads see title + first sentence + the body's
                    `EXCERPT_SENTENCES` sentences with the most catalogue phrases (a bounded
                    excerpt, as a long page would need)

Figures: relevance F1, control micro-F1 and macro-F1, type accuracy; and, for the wiring
Horizon uses, how many tagged controls take their evidence from the "body". A real page is
longer and noisier than the rest of a summary, so "body to model" here is its best case.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from evaluation.common import is_frozen_test, labelled_rows
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue
from horizon.embed import default_embedder
from horizon.enrich.body import body_sentences
from horizon.item import Tags
from horizon.tagging.examples import Example, example_from_record
from horizon.tagging.rules import PhraseSet, sentences
from horizon.tagging.training import FoldFigures, figures

MIN_SENTENCES = 3
EXCERPT_SENTENCES = 2


def _split(example: Example) -> tuple[Example, str] | None:
    """The example cut to its first summary sentence, and the rest as its body."""
    said = sentences(example.item)[1:]
    if len(said) < MIN_SENTENCES:
        return None
    short = example.item.model_copy(update={"summary": said[0]})
    return Example(
        item=short,
        relevant=example.relevant,
        controls=example.controls,
        type=example.type,
        jurisdiction=example.jurisdiction,
    ), " ".join(said[1:])


def _excerpt(body: str, phrases: PhraseSet) -> str:
    """The body's sentences with the most catalogue phrases, at most `EXCERPT_SENTENCES`, in
    their order."""
    said = body_sentences(body)
    ranked = sorted(range(len(said)), key=lambda index: -len(phrases.find(said[index])))
    return " ".join(said[index] for index in sorted(ranked[:EXCERPT_SENTENCES]))


def _line(name: str, result: FoldFigures) -> str:
    return (
        f"{name:<16} relevance F1 {result.relevance.f1:.3f} · controls micro-F1 "
        f"{result.micro.f1:.3f} · macro-F1 {result.macro_f1:.3f} · type accuracy "
        f"{result.type_accuracy:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    rows = [row for row in labelled_rows() if is_frozen_test(row["id"])]
    pairs = [split for row in rows if (split := _split(example_from_record(row))) is not None]
    embedder = default_embedder()
    classifier = Classifier(load_catalogue([PROJECT_ROOT / "controls.yaml"]), embedder)
    control_ids = classifier.model.controls
    short = [example for example, _ in pairs]
    with_body = [example.item.model_copy(update={"full_text": body}) for example, body in pairs]
    rules_tags = classifier.classify(with_body, embedder.embed([i.text() for i in with_body]))
    whole = [
        example.item.model_copy(update={"summary": f"{example.item.summary} {body}"})
        for example, body in pairs
    ]
    model_tags = classifier.classify(whole, embedder.embed([item.text() for item in whole]))
    phrases = PhraseSet(
        keyword for control in classifier.catalogue.controls for keyword in control.keywords
    )
    excerpted = [
        example.item.model_copy(
            update={"summary": f"{example.item.summary} {_excerpt(body, phrases)}"}
        )
        for example, body in pairs
    ]
    excerpt_tags = classifier.classify(
        excerpted, embedder.embed([item.text() for item in excerpted])
    )

    def scored(tags: Sequence[Tags]) -> FoldFigures:
        return figures(
            short,
            [t.relevant for t in tags],
            [set(t.control_ids()) for t in tags],
            [t.type for t in tags],
            [t.jurisdiction for t in tags],
            control_ids,
        )

    print(
        f"{len(pairs)} frozen-test items with a summary of {MIN_SENTENCES}+ sentences "
        f"(of {len(rows)} in the frozen split)"
    )
    print(_line("body to rules", scored(rules_tags)))
    print(_line("body to model", scored(model_tags)))
    print(_line("excerpt to model", scored(excerpt_tags)))
    tagged = [control for tags in rules_tags for control in tags.controls]
    from_body = sum(control.from_full_text for control in tagged)
    dated = sum(
        1
        for tags in rules_tags
        for quote in (tags.deadline_quote, tags.effective_quote)
        if quote is not None and quote.from_full_text
    )
    print(
        f"body to rules: {from_body} of {len(tagged)} tagged controls take their evidence from "
        f"the body; {dated} dates come from it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
