"""Tag items against the control catalogue: relevance, controls, themes, type, jurisdiction, dates.

The judgement is learned (`horizon.tagging`): linear heads over the item's MiniLM embedding, the
catalogue's phrase hits, AI terms, the publisher's kind and the rules' type and jurisdiction
cues, trained on the labelled items and chosen by cross-validation (`make train`). An item is
relevant when the relevance head reaches the model's recall-first threshold; it then gets every
control whose calibrated probability reaches the model's control threshold (chosen by
cross-validation), or its likeliest control when none does.
Each control's evidence is the sentence with the most of its phrases (a body sentence over the
title when they tie), else the one sharing most words with the control's description.

An item's full text (the linked page or PDF, `Item.full_text`) is read by the rules, never by
the learned heads, which were trained on titles and summaries (docs/full-text.md says why): a
deadline or effective date the summary does not state is read from the full text's excerpt,
and a full-text sentence with at least as many of a control's phrases as the best summary
sentence (a duty stated breaks ties) becomes that control's evidence, marked as such. Each date
keeps the sentence it was read from.

Analysts' verdicts act twice: a home's model is retrained with them (`horizon.tagging.home`),
and a verdict decides outright for items that say the same thing (cosine >= 0.85). Themes come
from the controls, the type and theme phrases; dates from `horizon.dates` unless the
publisher's API gave them. Classifying is pure apart from embedding the texts it was not given
vectors for.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from horizon.catalogue import Catalogue
from horizon.dates import StatedDate, stated_dates
from horizon.embed import Embedder
from horizon.enrich.body import body_sentences, excerpt, states_a_duty
from horizon.item import ControlTag, Item, Quote, Tags
from horizon.normalise import item_from_record
from horizon.tagging.decision import CONTROL_THRESHOLD, decide, resolve_jurisdiction
from horizon.tagging.features import FeatureBuilder, Reading
from horizon.tagging.model import PACKAGED, TaggerModel, load_model
from horizon.tagging.rules import (
    PhraseSet,
    content_words,
    control_vocabulary,
    item_type_of,
    jurisdiction_of,
)

__all__ = [
    "CONTROL_THRESHOLD",
    "Classifier",
    "ControlScore",
    "Explanation",
    "Feedback",
    "PhraseSet",
    "classify_output",
    "item_type_of",
    "jurisdiction_of",
    "packaged_model",
]

# Analysts decide for other reports of the same thing: an item at least this similar to one an
# analyst confirmed (or rejected) a control on gets (or loses) that control. Differently worded
# reports of one event (../shared/eval/dedupe-dev.jsonl) have a median cosine of 0.9 under
# MiniLM; distinct items on one topic, such as two agency AI memos, about 0.78.
_FEEDBACK_RADIUS = 0.85
# A control the trained model has no head for (an organisation's own) is tagged, on a relevant
# item, when its phrases occur in the title or twice in the body.
_UNTRAINED_SCORE = 0.6


@dataclass(frozen=True, eq=False)
class Feedback:
    """An analyst's verdict on one control for one item: confirmed (it applies) or rejected.

    `item` is the stored item when the caller has it (the home does) and `embedding` its
    vector; otherwise the classifier reads `text` as the item and embeds it.
    """

    text: str
    control: str
    confirmed: bool
    embedding: np.ndarray | None = None
    item: Item | None = None
    item_id: str | None = None

    def as_item(self) -> Item:
        return self.item if self.item is not None else item_from_record({"title": self.text})


@dataclass(frozen=True)
class ControlScore:
    """One control's probability for one item, its evidence and the phrases behind it."""

    id: str
    score: float
    evidence: str
    keywords: tuple[str, ...]
    feedback_vote: float


@dataclass(frozen=True)
class Explanation:
    """Why an item was (or was not) tagged: the relevance probability against the threshold,
    the AI terms found and every control's probability."""

    item_id: str
    ai_terms: tuple[str, ...]
    relevance: float
    threshold: float
    scores: tuple[ControlScore, ...]
    tags: Tags

    @property
    def reason(self) -> str:
        if self.tags.relevant:
            listed = ", ".join(f"{tag.id} {tag.score:.2f}" for tag in self.tags.controls)
            return f"relevant ({self.relevance:.2f} >= {self.threshold:.2f}): {listed}"
        terms = ", ".join(self.ai_terms) if self.ai_terms else "none"
        return (
            f"not relevant: relevance {self.relevance:.2f} is below {self.threshold:.2f} "
            f"(AI terms found: {terms})"
        )


@lru_cache(maxsize=1)
def packaged_model() -> TaggerModel:
    """The model trained by `make train`, shipped in the package; loaded once per process."""
    return load_model(PACKAGED)


@dataclass(frozen=True)
class _FeedbackExamples:
    """Analysts' verdicts embedded: the control of each row and +1 (confirmed) or -1."""

    vectors: np.ndarray
    controls: list[str]
    signs: list[int]


class Classifier:
    """Tags items against a catalogue with a trained model (the packaged one by default);
    build once (it embeds the catalogue's examples)."""

    def __init__(
        self,
        catalogue: Catalogue,
        embedder: Embedder,
        feedback: Sequence[Feedback] = (),
        *,
        model: TaggerModel | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.embedder = embedder
        self.model = model if model is not None else packaged_model()
        self.features = FeatureBuilder(
            catalogue, embedder, self.model.controls, words=self.model.words
        )
        known = set(catalogue.control_ids())
        self._heads = [cid for cid in self.model.controls if cid in known]
        self._untrained = {
            control.id: PhraseSet(control.keywords)
            for control in catalogue.controls
            if control.id not in self.model.controls
        }
        self._theme_keywords = {theme.id: PhraseSet(theme.keywords) for theme in catalogue.themes}
        self._vocabulary = {
            control.id: control_vocabulary(control) for control in catalogue.controls
        }
        self._control_phrases = {
            control.id: PhraseSet(control.keywords) for control in catalogue.controls
        }
        self._theme_order = {theme.id: rank for rank, theme in enumerate(catalogue.themes)}
        self._feedback = self._embed_feedback(feedback)
        trained_on = self.model.metadata.get("embedder")
        self._foreign_vectors = trained_on is not None and trained_on != embedder.name

    def with_feedback(self, feedback: Sequence[Feedback]) -> Classifier:
        """The same classifier and model with this analyst feedback deciding for near-identical
        items in place of any it had; the catalogue is not embedded again."""
        changed = copy.copy(self)
        changed._feedback = self._embed_feedback(feedback)
        return changed

    def classify(self, items: Sequence[Item], embeddings: np.ndarray | None = None) -> list[Tags]:
        """Tags for each item, in order.

        `embeddings`: rows of `embedder.embed([item.text() for item in items])` when the caller
        already has them (the pipeline does); computed here otherwise.
        """
        return [explanation.tags for explanation in self.explain(items, embeddings)]

    def explain(
        self, items: Sequence[Item], embeddings: np.ndarray | None = None
    ) -> list[Explanation]:
        """Tags for each item together with every control's probability and evidence."""
        if not items:
            return []
        vectors = self._vectors_for(items, embeddings)
        readings = [self.features.read(item) for item in items]
        features = self.features.matrix(items, vectors, readings)
        if self._foreign_vectors:
            self._neutralise_vectors(features)
        predictions = self.model.predict(features)
        learned_themes = self.model.learned_themes(predictions)
        feedback_similarity = vectors @ self._feedback.vectors.T
        return [
            self._explain_one(
                item,
                reading,
                _Body.read(item),
                float(predictions.relevance[row]),
                predictions.controls[row],
                predictions.types[row],
                predictions.jurisdictions[row],
                feedback_similarity[row],
                learned_themes[row],
            )
            for row, (item, reading) in enumerate(zip(items, readings, strict=True))
        ]

    def _explain_one(
        self,
        item: Item,
        reading: Reading,
        body: _Body,
        relevance: float,
        control_probabilities: np.ndarray,
        types: np.ndarray,
        jurisdictions: np.ndarray,
        feedback_similarity: np.ndarray,
        learned_themes: Sequence[str],
    ) -> Explanation:
        ids = list(self.model.controls)
        probabilities = control_probabilities.astype(float).copy()
        votes = np.array([self._feedback_vote(cid, feedback_similarity) for cid in ids])
        probabilities = np.array(
            [
                _with_feedback(p, vote, self.model.control_threshold)
                for p, vote in zip(probabilities, votes, strict=True)
            ]
        )
        for index, cid in enumerate(ids):
            if cid not in self._heads:
                probabilities[index] = 0.0
        confirmed_nearby = bool((votes > 0).any())
        decision = decide(
            1.0 if confirmed_nearby else relevance,
            probabilities,
            types,
            jurisdictions,
            self.model.relevance_threshold,
            self.model.control_threshold,
        )
        chosen = [(ids[index], score) for index, score in decision.controls]
        if decision.relevant:
            chosen += [
                (cid, _UNTRAINED_SCORE)
                for cid, phrases in self._untrained.items()
                if _phrases_say_so(phrases, reading)
            ]
        # the full text is searched for the chosen controls' evidence only: it is what is shown
        evidence = {cid: self._evidence(cid, reading, _NO_BODY) for cid in ids}
        evidence.update((cid, self._evidence(cid, reading, body)) for cid, _ in chosen)
        scores = tuple(
            ControlScore(
                id=cid,
                score=float(probabilities[index]),
                evidence=evidence[cid][0],
                keywords=tuple(
                    dict.fromkeys(hit for hits in reading.hits.get(cid, []) for hit in hits)
                ),
                feedback_vote=float(votes[index]),
            )
            for index, cid in enumerate(ids)
            if cid in self._heads
        )
        controls = [
            ControlTag(
                id=cid,
                score=round(score, 3),
                evidence=evidence[cid][0],
                from_full_text=evidence[cid][1],
            )
            for cid, score in chosen
        ]
        item_type = self.model.types[decision.type]
        (deadline, deadline_quote), (effective, effective_quote) = _dates(item)
        tags = Tags(
            relevant=bool(controls),
            controls=controls,
            themes=self.themes_of(
                item, item_type, [tag.id for tag in controls], learned=learned_themes
            )
            if controls
            else [],
            type=item_type,
            jurisdiction=resolve_jurisdiction(
                self.model.jurisdictions[decision.jurisdiction], reading
            ),
            deadline=deadline,
            effective=effective,
            deadline_quote=deadline_quote,
            effective_quote=effective_quote,
        )
        return Explanation(
            item_id=item.id,
            ai_terms=reading.ai_terms,
            relevance=relevance,
            threshold=self.model.relevance_threshold,
            scores=scores,
            tags=tags,
        )

    def _neutralise_vectors(self, features: np.ndarray) -> None:
        """Vectors from another embedder than the model was trained with (a test's hashing
        embedder) mean nothing to its heads: they see the training average instead, and judge
        by the phrases, the publisher and the cues alone."""
        for group in ("embedding", "similarity"):
            start, stop = self.features.groups[group]
            features[:, start:stop] = self.model.heads.mean[start:stop]

    def _vectors_for(self, items: Sequence[Item], embeddings: np.ndarray | None) -> np.ndarray:
        if embeddings is None:
            return self.embedder.embed([item.text() for item in items])
        if embeddings.shape != (len(items), self.embedder.dimensions):
            raise ValueError(
                f"embeddings have shape {embeddings.shape}, expected "
                f"({len(items)}, {self.embedder.dimensions}): one row per item"
            )
        return embeddings

    def _embed_feedback(self, feedback: Sequence[Feedback]) -> _FeedbackExamples:
        known = set(self.model.controls)
        usable = [example for example in feedback if example.control in known]
        missing = [example.text for example in usable if example.embedding is None]
        computed = iter(self.embedder.embed(missing) if missing else [])
        rows = [
            example.embedding if example.embedding is not None else next(computed)
            for example in usable
        ]
        vectors = (
            np.vstack(rows).astype(np.float32)
            if rows
            else np.zeros((0, self.embedder.dimensions), dtype=np.float32)
        )
        return _FeedbackExamples(
            vectors,
            [example.control for example in usable],
            [1 if example.confirmed else -1 for example in usable],
        )

    def _feedback_vote(self, control_id: str, feedback_similarity: np.ndarray) -> float:
        """The nearest analyst verdict on this control within the feedback radius: +1 or -1
        scaled by how close it is (0 at the radius, 1 for the same text); 0 when none is."""
        vote = 0.0
        nearest = _FEEDBACK_RADIUS
        for column, owner in enumerate(self._feedback.controls):
            similarity = float(feedback_similarity[column])
            if owner == control_id and similarity > nearest:
                nearest = similarity
                closeness = (similarity - _FEEDBACK_RADIUS) / (1.0 - _FEEDBACK_RADIUS)
                vote = self._feedback.signs[column] * min(1.0, closeness)
        return vote

    def _evidence(self, control_id: str, reading: Reading, body: _Body) -> tuple[str, bool]:
        """The sentence that says why the control applies, and whether it is the full text's.

        In the title and summary: the sentence with the most of the control's phrases, a
        summary sentence winning a tie with the title; without any, the sentence sharing most
        words with the control's description and examples (again the summary over the title).
        A full-text sentence with at least as many phrases (and at least one) wins over that,
        as does the full text's best sentence by words when only the title was left: a title
        repeated is not evidence."""
        sentences = reading.sentences
        hits = reading.hits.get(control_id, [[] for _ in sentences])
        order = [*range(1, len(sentences)), 0]
        if any(hits):
            chosen = max(order, key=lambda index: len(hits[index]))
        else:
            vocabulary = self._vocabulary.get(control_id, set())
            chosen = max(order, key=lambda index: len(content_words(sentences[index]) & vocabulary))
        phrases = self._control_phrases.get(control_id)
        if body.sentences and phrases is not None:
            from_body = body.best_by_phrases(phrases, at_least=max(1, len(hits[chosen])))
            if from_body is None and chosen == 0:
                from_body = body.best_by_words(self._vocabulary.get(control_id, set()))
            if from_body is not None:
                return from_body
        return sentences[chosen], False

    def themes_of(
        self,
        item: Item,
        item_type: str,
        control_ids: Sequence[str],
        control_themes: Mapping[str, Iterable[str]] | None = None,
        learned: Iterable[str] = (),
    ) -> list[str]:
        """The strategy themes of a relevant item, in the catalogue's order: its controls'
        themes (the catalogue's, or `control_themes` to try others), its type's, and those
        whose phrases it contains (a vendor's change keeps only procurement and risk of
        these); and the themes the model's theme heads give it (`learned`)."""
        themes: set[str] = set()
        for control_id in control_ids:
            if control_themes is None:
                themes.update(self.catalogue.control(control_id).themes)
            else:
                themes.update(control_themes.get(control_id, ()))
        themes.update(_TYPE_THEMES.get(item_type, ()))
        text = item.text()
        themes.update(
            theme_id for theme_id, phrases in self._theme_keywords.items() if phrases.find(text)
        )
        if item_type == "vendor-change":
            themes &= _VENDOR_THEMES
        themes.update(learned)
        last = len(self._theme_order)
        return sorted(themes, key=lambda theme: self._theme_order.get(theme, last))


_TYPE_THEMES: dict[str, tuple[str, ...]] = {
    "consultation": ("communication",),
    "vendor-change": ("procurement",),
}
_VENDOR_THEMES = frozenset({"procurement", "risk"})


def _phrases_say_so(phrases: PhraseSet, reading: Reading) -> bool:
    title, *body = reading.sentences
    return bool(phrases.find(title)) or len(phrases.find(" ".join(body))) >= 2


def _with_feedback(score: float, vote: float, threshold: float) -> float:
    """A confirmed near neighbour lifts the probability past the tagging threshold, a rejected
    one holds it below; the closer the neighbour, the further from the threshold."""
    if vote > 0:
        return max(score, threshold + (1.0 - threshold) * vote)
    if vote < 0:
        return min(score, threshold * (1.0 + vote) * 0.99)
    return score


DatedQuote = tuple[date | None, Quote | None]


def _dates(item: Item) -> tuple[DatedQuote, DatedQuote]:
    """Deadline and effective date, each with the sentence that states it: the publisher's
    structured field (no sentence), else the title and summary's, else the full text's."""
    published = item.published.date() if item.published else None
    found = list(stated_dates(item.text(), published))
    in_full_text = [False, False]
    body = excerpt(item.full_text)
    if body and None in found:
        for kind, stated in enumerate(stated_dates(body, published)):
            if found[kind] is None and stated is not None:
                found[kind], in_full_text[kind] = stated, True
    return (
        _dated(item.deadline_hint, found[0], in_full_text[0]),
        _dated(item.effective_hint, found[1], in_full_text[1]),
    )


def _dated(hint: date | None, stated: StatedDate | None, in_full_text: bool) -> DatedQuote:
    if hint is not None:
        return hint, None
    if stated is None:
        return None, None
    return stated.value, Quote(sentence=stated.sentence, from_full_text=in_full_text)


@dataclass(frozen=True)
class _Body:
    """The full text's candidate evidence sentences (none for an item without one); those the
    title or summary already hold are left out, so a page that repeats them adds nothing."""

    sentences: list[str]

    @classmethod
    def read(cls, item: Item) -> _Body:
        if not item.full_text:
            return cls([])
        said = " ".join(item.text().split()).casefold()
        return cls(
            [
                sentence
                for sentence in body_sentences(item.full_text, item.title)
                if sentence.casefold().rstrip(".") not in said
            ]
        )

    def best_by_phrases(self, phrases: PhraseSet, at_least: int) -> tuple[str, bool] | None:
        """The sentence with the most of these phrases, if it has `at_least`; on a tie one
        that states a duty, then the first. The whole text is scanned once, and only the
        sentences holding a phrase it found are scanned again."""
        anywhere = set(phrases.occurrences(" ".join(self.sentences)))
        if not anywhere:
            return None
        best: tuple[int, bool, int] | None = None
        for position, sentence in enumerate(self.sentences):
            lowered = sentence.lower()
            if not any(phrase in lowered for phrase in anywhere):
                continue
            found = len(phrases.find(sentence))
            if found < at_least:
                continue
            rank = (found, states_a_duty(sentence), -position)
            if best is None or rank > best:
                best = rank
        return (self.sentences[-best[2]], True) if best is not None else None

    def best_by_words(self, vocabulary: set[str]) -> tuple[str, bool] | None:
        """The sentence sharing most words with a control's description, if any does."""
        shared = [len(content_words(sentence) & vocabulary) for sentence in self.sentences]
        if not shared or max(shared) == 0:
            return None
        return self.sentences[shared.index(max(shared))], True


def classify_output(item_id: str | None, tags: Tags) -> dict[str, object]:
    """The `horizon classify` JSON object for one item (taxonomy.md)."""
    return {
        "id": item_id,
        "relevant": tags.relevant,
        "controls": [
            {"id": control.id, "score": round(control.score, 3), "evidence": control.evidence}
            for control in tags.controls
        ],
        "themes": list(tags.themes),
        "type": tags.type,
        "jurisdiction": tags.jurisdiction,
        "deadline": tags.deadline.isoformat() if tags.deadline else None,
        "effective": tags.effective.isoformat() if tags.effective else None,
    }


_NO_BODY = _Body([])
