"""What the learned heads see of an item: one row of numbers per item, in named groups.

- `embedding`: the item's MiniLM vector, the meaning of the whole text;
- `similarity`: its closest cosine to each control's description and examples, and to the
  catalogue's not-relevant examples;
- `lexical`: each control's catalogue phrases found in the title, in the body and among the
  weaker `related` phrases, and AI terms in the headline and the summary;
- `publisher`: the source's category, what the publisher's name says (vendor, standards body,
  legislature) and its jurisdiction, and the jurisdiction of the address's host (.gov.uk,
  europa.eu, a country's domain);
- `cues`: the rules' type cue scores and verdict, and the jurisdiction marks in the text;
- `words`: TF-IDF of the title and summary's words and word pairs over a vocabulary learned
  from the training items (`horizon.tagging.words`; empty until a vocabulary is given).

Groups are column ranges, so a head can be trained on some of them (chosen by
cross-validation) while prediction stays one matrix product over the whole row.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from horizon.catalogue import Catalogue
from horizon.embed import Embedder
from horizon.item import ITEM_TYPES, Item
from horizon.tagging import rules
from horizon.tagging.words import WordVocabulary

GROUPS = ("embedding", "similarity", "lexical", "publisher", "cues", "words")
CATEGORIES = ("regulator", "government", "legislature", "standards-body", "vendor", "secondary")
# The jurisdictions a head learns to tell apart; any other country is `OTHER`, and the rules
# name which one.
JURISDICTIONS = ("UK", "EU", "US", "INT", "GLOBAL", "OTHER")
_TITLE_HIT_CAP = 2
_BODY_HIT_CAP = 3
_RELATED_HIT_CAP = 3
_AI_TERM_CAP = 3


def jurisdiction_class(code: str) -> str:
    return code if code in JURISDICTIONS else "OTHER"


@dataclass(frozen=True)
class Reading:
    """What the rules found in one item: its sentences, each control's phrase hits per
    sentence, the AI terms, and the rules' own type and jurisdiction."""

    sentences: list[str]
    hits: dict[str, list[list[str]]]
    related: dict[str, int]
    headline_ai_terms: list[str]
    summary_ai_terms: list[str]
    type_scores: dict[str, float]
    rule_type: str
    rule_jurisdiction: str
    other_country: str | None
    national_host: str | None = None
    subject_jurisdiction: str | None = None

    @property
    def ai_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.headline_ai_terms, *self.summary_ai_terms]))


class FeatureBuilder:
    """Turns items and their vectors into feature rows for the controls `control_ids`
    (in that order) and the vocabulary `words`; build once per catalogue, as it embeds the
    catalogue's examples."""

    def __init__(
        self,
        catalogue: Catalogue,
        embedder: Embedder,
        control_ids: Sequence[str],
        words: WordVocabulary | None = None,
    ):
        self.catalogue = catalogue
        self.words = words if words is not None else WordVocabulary.empty()
        self.control_ids = list(control_ids)
        known = set(catalogue.control_ids())
        controls = [catalogue.control(cid) for cid in self.control_ids if cid in known]
        self._keywords = {control.id: rules.PhraseSet(control.keywords) for control in controls}
        self._related = {control.id: rules.PhraseSet(control.related) for control in controls}
        self._ai_terms = rules.PhraseSet(catalogue.ai_terms, catalogue.ai_term_exceptions)
        texts: list[str] = []
        starts: list[int] = []
        for cid in self.control_ids:
            starts.append(len(texts))
            if cid in known:
                control = catalogue.control(cid)
                texts.extend([f"{control.name}. {control.description}", *control.examples])
            else:
                texts.append(cid)
        vectors = embedder.embed([*texts, *catalogue.not_relevant_examples])
        self._example_vectors = vectors[: len(texts)]
        self._example_starts = np.array(starts)
        self._noise_vectors = vectors[len(texts) :]
        self.dimensions = embedder.dimensions
        self.groups = self._group_slices()
        self.width = max(stop for _, stop in self.groups.values())

    def with_words(self, words: WordVocabulary) -> FeatureBuilder:
        """The same builder with another vocabulary (the catalogue is not embedded again)."""
        changed = copy.copy(self)
        changed.words = words
        changed.groups = changed._group_slices()
        changed.width = max(stop for _, stop in changed.groups.values())
        return changed

    def _group_slices(self) -> dict[str, tuple[int, int]]:
        controls = len(self.control_ids)
        sizes = {
            "embedding": self.dimensions,
            "similarity": controls + 1,
            "lexical": 3 * controls + 2,
            "publisher": len(CATEGORIES) + 1 + 3 + 2 * (len(JURISDICTIONS) + 1),
            "cues": 2 * len(ITEM_TYPES) + 3 * len(JURISDICTIONS) + 1 + 1,
            "words": len(self.words),
        }
        slices = {}
        start = 0
        for group in GROUPS:
            slices[group] = (start, start + sizes[group])
            start += sizes[group]
        return slices

    def mask(self, groups: Sequence[str]) -> np.ndarray:
        """A boolean column mask selecting these groups."""
        selected = np.zeros(self.width, dtype=bool)
        for group in groups:
            start, stop = self.groups[group]
            selected[start:stop] = True
        return selected

    def read(self, item: Item) -> Reading:
        sentences = rules.sentences(item)
        type_scores = rules.type_cue_scores(item)
        text = item.text()
        return Reading(
            sentences=sentences,
            hits={
                cid: [phrases.find(sentence) for sentence in sentences]
                for cid, phrases in self._keywords.items()
            },
            related={cid: len(phrases.find(text)) for cid, phrases in self._related.items()},
            headline_ai_terms=self._ai_terms.find(f"{item.publisher}. {item.title}"),
            summary_ai_terms=self._ai_terms.occurrences(item.summary),
            type_scores=type_scores,
            rule_type=max(ITEM_TYPES, key=lambda type_id: type_scores[type_id]),
            rule_jurisdiction=rules.jurisdiction_of(item),
            other_country=_other_country(text) or _other_country(item.publisher),
            national_host=_national_host(item),
            subject_jurisdiction=_subject_jurisdiction(item),
        )

    def similarities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each item's best cosine to each control's examples, and to the noise examples."""
        best = np.maximum.reduceat(vectors @ self._example_vectors.T, self._example_starts, axis=1)
        noise = (vectors @ self._noise_vectors.T).max(axis=1, initial=-1.0)
        return best, noise

    def matrix(
        self, items: Sequence[Item], vectors: np.ndarray, readings: Sequence[Reading]
    ) -> np.ndarray:
        """One feature row per item, the groups side by side in `GROUPS` order."""
        best, noise = self.similarities(vectors)
        rows = np.zeros((len(items), self.width), dtype=np.float32)
        words_start, _ = self.groups["words"]
        for row, (item, reading) in enumerate(zip(items, readings, strict=True)):
            rows[row, self.dimensions : words_start] = self._row(
                item, reading, best[row], noise[row]
            )
        rows[:, : self.dimensions] = vectors
        rows[:, words_start:] = self.words.matrix([item.text() for item in items])
        return rows

    def _row(self, item: Item, reading: Reading, best: np.ndarray, noise: float) -> list[float]:
        values: list[float] = [*best.tolist(), float(noise)]
        for cid in self.control_ids:
            per_sentence = reading.hits.get(cid, [[]])
            title = set(per_sentence[0])
            body = {hit for hits in per_sentence[1:] for hit in hits} - title
            values += [
                min(len(title), _TITLE_HIT_CAP),
                min(len(body), _BODY_HIT_CAP),
                min(reading.related.get(cid, 0), _RELATED_HIT_CAP),
            ]
        values += [
            min(len(reading.headline_ai_terms), _AI_TERM_CAP),
            min(len(reading.summary_ai_terms), _AI_TERM_CAP),
        ]
        category = item.source_category
        values += [float(category == name) for name in CATEGORIES] + [float(category is None)]
        values += [
            float(rules.is_vendor(item.publisher)),
            float(bool(rules.STANDARDS_BODY.search(item.publisher))),
            float(bool(rules.LEGISLATURE.search(item.publisher))),
        ]
        values += _one_hot_jurisdiction(
            item.source_jurisdiction or rules.publisher_jurisdiction(item.publisher)
        )
        values += _one_hot_jurisdiction(rules.host_jurisdiction(item.url))
        values += [math.log1p(max(reading.type_scores[t], 0.0)) for t in ITEM_TYPES]
        values += [float(reading.rule_type == t) for t in ITEM_TYPES]
        values += _one_hot_jurisdiction(reading.rule_jurisdiction)[:-1]
        values += _one_hot_jurisdiction(rules.text_jurisdiction(item.title))[:-1]
        values += _one_hot_jurisdiction(rules.text_jurisdiction(item.summary))
        values += [float(bool(rules.INTERNATIONAL.search(item.title)))]
        return values


def _one_hot_jurisdiction(code: str | None) -> list[float]:
    """One column per class in `JURISDICTIONS`, then one for 'none said'."""
    chosen = jurisdiction_class(code) if code else None
    return [float(chosen == name) for name in JURISDICTIONS] + [float(chosen is None)]


def _national_host(item: Item) -> str | None:
    """The country outside `JURISDICTIONS` whose domain hosts the item (`.cn`, `.gov.au`,
    `.de`), unless the publisher is a vendor or the title or publisher marks an international
    body or gathering (a G7 statement on Japan's foreign ministry's site is INT)."""
    country = rules.host_jurisdiction(item.url)
    if country is None or jurisdiction_class(country) != "OTHER" or rules.is_vendor(item.publisher):
        return None
    if rules.INTERNATIONAL.search(item.title) or rules.INTERNATIONAL.search(item.publisher):
        return None
    return country


def _subject_jurisdiction(item: Item) -> str | None:
    """The one jurisdiction the title names, for an item from an international body or from a
    publisher that names none (an OECD page on California's SB 53 is US, an IAPP article on
    Korea's AI Basic Act KR); None when the title names none or several, or marks an
    international body or gathering itself."""
    publisher = item.source_jurisdiction or rules.publisher_jurisdiction(item.publisher)
    if publisher not in ("INT", None) or rules.INTERNATIONAL.search(item.title):
        return None
    named = {code for code, pattern in rules.JURISDICTION_MARKS if pattern.search(item.title)}
    return named.pop() if len(named) == 1 else None


def _other_country(text: str) -> str | None:
    """The country outside `JURISDICTIONS` the text names first, if any."""
    first: tuple[int, str] | None = None
    for code, pattern in rules.JURISDICTION_MARKS:
        if code in JURISDICTIONS:
            continue
        match = pattern.search(text)
        if match is not None and (first is None or match.start() < first[0]):
            first = (match.start(), code)
    return first[1] if first else None
