"""The `words` feature group: a TF-IDF bag of words and word pairs over an item's title and
summary, with a vocabulary learned from the training items.

The MiniLM vector says what an item is about; the words say what it is ("guidelines",
"consultation", "fined") and name the things the catalogue's phrases miss. The vocabulary is
every word and adjacent word pair in at least `MIN_DOCUMENTS` training items (in
cross-validation, the training part of each fold only), weighted as scikit-learn's
`TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)` does (1 + log of the count,
smoothed inverse document frequency, rows of unit length), without importing scikit-learn at
tagging time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

MIN_DOCUMENTS = 2
_TOKEN = re.compile(r"\b\w\w+\b")


def terms_of(text: str) -> Counter[str]:
    """Each lower-cased word of two or more letters and each adjacent pair, with its count."""
    tokens = _TOKEN.findall(text.lower())
    return Counter([*tokens, *(f"{a} {b}" for a, b in pairwise(tokens))])


@dataclass(frozen=True)
class WordVocabulary:
    """The terms of the `words` group (sorted) and each one's inverse document frequency."""

    terms: tuple[str, ...]
    idf: np.ndarray
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {term: i for i, term in enumerate(self.terms)})

    @classmethod
    def empty(cls) -> WordVocabulary:
        return cls((), np.zeros(0, dtype=np.float32))

    @classmethod
    def fit(cls, texts: Sequence[str], min_documents: int = MIN_DOCUMENTS) -> WordVocabulary:
        """The terms found in at least `min_documents` of `texts`."""
        documents: Counter[str] = Counter()
        for text in texts:
            documents.update(terms_of(text).keys())
        terms = sorted(term for term, count in documents.items() if count >= min_documents)
        total = len(texts)
        idf = [math.log((1 + total) / (1 + documents[term])) + 1.0 for term in terms]
        return cls(tuple(terms), np.array(idf, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.terms)

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """One row of TF-IDF weights per text (unit length; zeros for a text with no term)."""
        rows = np.zeros((len(texts), len(self.terms)), dtype=np.float32)
        for row, text in enumerate(texts):
            for term, count in terms_of(text).items():
                column = self._index.get(term)
                if column is not None:
                    rows[row, column] = (1.0 + math.log(count)) * self.idf[column]
            norm = float(np.linalg.norm(rows[row]))
            if norm > 0:
                rows[row] /= norm
        return rows
