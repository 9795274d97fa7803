"""Hybrid search over stored items: meaning (dense vectors in Chroma) and words (BM25 in FTS5),
over whole items and over the passages of long ones, fused by a learned model.

A query runs in four lists, each with the same filters: the nearest item vectors, the nearest
passage vectors, the best BM25 items and the best BM25 passages (Chroma's two on a worker
thread while the full-text ones run). Every item any list found becomes a candidate,
described by the features of `horizon.fusion` (cosine similarity of the item and of its best
passage, BM25 of both, title and identifier matches, phrase proximity, ranks) and scored by
the fusion model fitted on labelled queries (`evaluation/search.py`, docs/search.md); texts
are read only for candidates that can reach the top. An item's best passage counts for it,
and a hit carries the passage that matched.

Snippets are plain text with matched words between `HIGHLIGHT_OPEN` ("⟦") and
`HIGHLIGHT_CLOSE` ("⟧"); callers render them (bold on a terminal, <mark> on a web page) after
escaping the text.
"""

from horizon.search.filters import CATEGORIES, FilterError, Scope, SearchFilters, scope_of
from horizon.search.ranking import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    SearchHit,
    UnknownItemError,
    search,
    search_many,
    search_vector,
    similar,
)
from horizon.search.retrieval import (
    CANDIDATES,
    FEATURE_TEXT_CHARS,
    Candidate,
    Candidates,
    Retrieved,
    candidates,
    retrieve,
)

__all__ = [
    "CANDIDATES",
    "CATEGORIES",
    "FEATURE_TEXT_CHARS",
    "HIGHLIGHT_CLOSE",
    "HIGHLIGHT_OPEN",
    "Candidate",
    "Candidates",
    "FilterError",
    "Retrieved",
    "Scope",
    "SearchFilters",
    "SearchHit",
    "UnknownItemError",
    "candidates",
    "retrieve",
    "scope_of",
    "search",
    "search_many",
    "search_vector",
    "similar",
]
