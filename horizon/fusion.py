"""Learned fusion: how search weighs meaning, wording, titles, identifiers and passages.

Every candidate item a query finds (by item vector, passage vector, item BM25 or passage BM25)
is described by the features below, and a logistic model scores it; results are ranked by that
score. The model is fitted on labelled queries by `python -m evaluation.search --write-model`,
features and regularisation chosen by cross-validation only (docs/search.md), and is shipped as
the small JSON file `search_model.json` beside this module. Pure functions, no I/O but loading
that file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from horizon.lexical import identifier_phrases, query_words

MODEL_FILE = Path(__file__).with_name("search_model.json")
QUESTION_WORDS = 6
STEM = 6


FEATURES: tuple[str, ...] = (
    "item_cosine",
    "best_cosine",
    "item_bm25",
    "passage_bm25",
    "best_bm25",
    "dense_reciprocal_rank",
    "lexical_reciprocal_rank",
    "title_overlap",
    "text_overlap",
    "bigram_proximity",
    "identifier_exact",
    "identifier_in_title",
    "question_x_best_cosine",
    "question_x_best_bm25",
    "identifier_query_x_item_bm25",
    "identifier_query_x_best_cosine",
)

# The features read from a candidate's title and text; each is a share in [0, 1].
TEXT_FEATURES: tuple[str, ...] = (
    "title_overlap",
    "text_overlap",
    "bigram_proximity",
    "identifier_exact",
    "identifier_in_title",
)
TEXT_COLUMNS = slice(FEATURES.index(TEXT_FEATURES[0]), FEATURES.index(TEXT_FEATURES[-1]) + 1)


@dataclass(frozen=True)
class Signals:
    """What retrieval found for one candidate item: cosine similarities (None when the item
    or its passages were not among the dense candidates), BM25 scores scaled by the query's
    best (0 when not matched), and 1-based ranks in the dense and full-text lists (None when
    absent)."""

    item_cosine: float | None
    passage_cosine: float | None
    item_bm25: float
    passage_bm25: float
    dense_rank: int | None
    lexical_rank: int | None


@dataclass(frozen=True)
class QueryShape:
    """What the features need to know about the query itself."""

    words: tuple[str, ...]
    identifiers: tuple[tuple[str, ...], ...]
    question: bool

    @classmethod
    def of(cls, query: str) -> QueryShape:
        words = tuple(dict.fromkeys(_stem(word) for word in query_words(query)))
        identifiers = tuple(tuple(phrase) for phrase in identifier_phrases(query))
        return cls(words, identifiers, len(query_words(query)) >= QUESTION_WORDS)

    def open_text_features(self) -> tuple[str, ...]:
        """The `TEXT_FEATURES` that can be above 0 for this query: word overlaps need words,
        proximity a pair of them, the identifier features an identifier."""
        return tuple(
            name
            for name, possible in zip(
                TEXT_FEATURES,
                (
                    bool(self.words),
                    bool(self.words),
                    len(self.words) > 1,
                    bool(self.identifiers),
                    bool(self.identifiers),
                ),
                strict=True,
            )
            if possible
        )


def _stem(word: str) -> str:
    """A crude stem (the first six letters), enough to match "deployers" with "deployer"."""
    return word[:STEM]


# Text features find the query's stems in the lowered text itself instead of splitting it into
# words: a word is a run of letters and digits (`str.isalnum`, `[^\W_]` in a pattern), so a stem
# starts a word where the character before it is not one, and a stem shorter than `STEM` is a
# whole word where the character after it is not one either. Same features, a third the time.
_REST_AND_GAP = re.compile(r"[^\W_]*[\W_]*")  # the rest of a word and the gap after it


def _starts_word(text: str, start: int, stem: str) -> bool:
    """Whether a word whose stem is `stem` starts at `start` (where `stem` is known to occur)."""
    if start > 0 and text[start - 1].isalnum():
        return False
    end = start + len(stem)
    return len(stem) >= STEM or end == len(text) or not text[end].isalnum()


def _word_starts(text: str, stem: str) -> Iterator[int]:
    """Where each word of `text` whose stem is `stem` starts, in order."""
    start = text.find(stem)
    while start != -1:
        if _starts_word(text, start, stem):
            yield start
        start = text.find(stem, start + 1)


def _adjacent(text: str, first: str, second: str) -> bool:
    """Whether a word with stem `first` is followed by a word with stem `second`."""
    for start in _word_starts(text, first):
        after = _REST_AND_GAP.match(text, start + len(first))
        assert after is not None  # both parts of the pattern may match nothing
        following = after.end()
        if text.startswith(second, following) and _starts_word(text, following, second):
            return True
    return False


@lru_cache(maxsize=256)
def _phrase_patterns(phrases: tuple[tuple[str, ...], ...]) -> tuple[re.Pattern[str], ...]:
    """Each phrase as whole words in a row, whatever gap of non-word characters between them."""
    return tuple(
        re.compile(r"(?<![^\W_])" + r"[\W_]+".join(map(re.escape, phrase)) + r"(?![^\W_])")
        for phrase in phrases
    )


@dataclass(frozen=True)
class SignalColumns:
    """`Signals` of many candidates, one array per signal: cosines NaN and ranks 0 where the
    candidate was absent from that list."""

    item_cosine: np.ndarray
    passage_cosine: np.ndarray
    item_bm25: np.ndarray
    passage_bm25: np.ndarray
    dense_rank: np.ndarray
    lexical_rank: np.ndarray

    @classmethod
    def of(cls, signals: Sequence[Signals]) -> SignalColumns:
        nan = float("nan")
        return cls(
            item_cosine=np.asarray(
                [s.item_cosine if s.item_cosine is not None else nan for s in signals]
            ),
            passage_cosine=np.asarray(
                [s.passage_cosine if s.passage_cosine is not None else nan for s in signals]
            ),
            item_bm25=np.asarray([s.item_bm25 for s in signals], dtype=float),
            passage_bm25=np.asarray([s.passage_bm25 for s in signals], dtype=float),
            dense_rank=np.asarray([s.dense_rank or 0 for s in signals], dtype=float),
            lexical_rank=np.asarray([s.lexical_rank or 0 for s in signals], dtype=float),
        )


def features(
    shape: QueryShape, signals: Signals, title: str, text: str, floor_cosine: float
) -> list[float]:
    """The feature vector (in `FEATURES` order) of one candidate; `text` is its best passage or
    its whole text, `floor_cosine` the similarity of the least similar dense candidate (the
    most an item the dense search did not return can have)."""
    row = signal_rows(shape, SignalColumns.of([signals]), floor_cosine)[0]
    row[TEXT_COLUMNS] = text_features(shape, title, text)
    return [float(value) for value in row]


def signal_rows(shape: QueryShape, signals: SignalColumns, floor_cosine: float) -> np.ndarray:
    """The features that need no text, one row per candidate in `FEATURES` order, with every
    `TEXT_FEATURES` column 0: enough to bound a candidate's score before its text is read."""
    item_cosine = np.where(np.isnan(signals.item_cosine), floor_cosine, signals.item_cosine)
    passage_cosine = np.nan_to_num(signals.passage_cosine, nan=0.0)
    best_cosine = np.maximum(item_cosine, passage_cosine)
    best_bm25 = np.maximum(signals.item_bm25, signals.passage_bm25)
    question = 1.0 if shape.question else 0.0
    identifier_query = 1.0 if shape.identifiers else 0.0
    rows = np.zeros((len(item_cosine), len(FEATURES)))
    for name, column in (
        ("item_cosine", item_cosine),
        ("best_cosine", best_cosine),
        ("item_bm25", signals.item_bm25),
        ("passage_bm25", signals.passage_bm25),
        ("best_bm25", best_bm25),
        ("dense_reciprocal_rank", _reciprocal(signals.dense_rank)),
        ("lexical_reciprocal_rank", _reciprocal(signals.lexical_rank)),
        ("question_x_best_cosine", question * best_cosine),
        ("question_x_best_bm25", question * best_bm25),
        ("identifier_query_x_item_bm25", identifier_query * signals.item_bm25),
        ("identifier_query_x_best_cosine", identifier_query * best_cosine),
    ):
        rows[:, FEATURES.index(name)] = column
    return rows


def _reciprocal(ranks: np.ndarray) -> np.ndarray:
    """1 / rank, 0 where the rank is 0 (absent)."""
    return np.divide(1.0, ranks, out=np.zeros_like(ranks), where=ranks > 0)


def text_features(shape: QueryShape, title: str, text: str) -> list[float]:
    """The `TEXT_FEATURES` of one candidate, each a share in [0, 1]: query words in the title
    and in the text, query word pairs adjacent in the text, identifiers in the text and in the
    title. The title counts as the text's opening words. A query shape's `open_text_features`
    are the only ones that can be above 0."""
    words = shape.words
    lowered_title = title.lower()
    document = f"{lowered_title} {text.lower()}"
    title_overlap = text_overlap = proximity = 0.0
    if words:
        # the first word with each stem: in the title when it starts before the title ends
        first = [next(_word_starts(document, word), -1) for word in words]
        title_overlap = sum(0 <= start < len(lowered_title) for start in first) / len(words)
        text_overlap = sum(start >= 0 for start in first) / len(words)
        if len(words) > 1:
            adjacent = sum(
                first[number] >= 0
                and first[number + 1] >= 0
                and _adjacent(document, words[number], words[number + 1])
                for number in range(len(words) - 1)
            )
            proximity = adjacent / (len(words) - 1)
    exact = in_title = 0.0
    if shape.identifiers:
        patterns = _phrase_patterns(shape.identifiers)
        exact = sum(bool(pattern.search(document)) for pattern in patterns) / len(patterns)
        in_title = sum(bool(pattern.search(lowered_title)) for pattern in patterns) / len(patterns)
    return [title_overlap, text_overlap, proximity, exact, in_title]


@dataclass(frozen=True)
class FusionModel:
    """A logistic model over standardised features; features it does not use have weight 0."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    about: dict[str, Any]

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The probability that each candidate (one row of `FEATURES`) is relevant."""
        if len(rows) == 0:
            return np.zeros(0)
        logits = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def score_bounds(
        self, rows: np.ndarray, open_features: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest score each row can reach when every feature named in
        `open_features` (not yet computed) may take any value in [0, 1] and the others are as
        given. Search uses it to skip reading texts for candidates that cannot reach the top."""
        columns = [FEATURES.index(name) for name in open_features]
        known = rows.copy()
        known[:, columns] = 0.0
        base = ((known - self.mean) / self.scale) @ self.weights + self.bias
        reach = self.weights[columns] / self.scale[columns]
        low = base + float(np.minimum(reach, 0.0).sum())
        high = base + float(np.maximum(reach, 0.0).sum())
        return 1.0 / (1.0 + np.exp(-low)), 1.0 / (1.0 + np.exp(-high))

    def as_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "about": self.about,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FusionModel:
        names = list(data["features"])
        if names != list(FEATURES):
            raise ValueError(
                f"search model features {names} differ from this version's {list(FEATURES)}; "
                "rebuild it with `python -m evaluation.search --write-model`"
            )
        return cls(
            mean=np.asarray(data["mean"], dtype=float),
            scale=np.asarray(data["scale"], dtype=float),
            weights=np.asarray(data["weights"], dtype=float),
            bias=float(data["bias"]),
            about=dict(data.get("about", {})),
        )


@lru_cache(maxsize=1)
def shipped_model() -> FusionModel:
    """The model shipped with Horizon, read once per process."""
    return FusionModel.from_json(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def baseline_scores(rows: np.ndarray, identifier_query: bool) -> np.ndarray:
    """The fusion used before the learned model: 0.7 (0.25 for identifier queries) x item
    cosine + the rest x item BM25; kept as the baseline `evaluation.search` compares with."""
    weight = 0.25 if identifier_query else 0.7
    column = FEATURES.index
    return weight * rows[:, column("item_cosine")] + (1 - weight) * rows[:, column("item_bm25")]
