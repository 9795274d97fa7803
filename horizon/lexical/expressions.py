"""Free text as the full-text engine runs it: people's words turned into a safe FTS5 expression
(stop words dropped, every other word optional, identifiers such as "M-24-10", "SB 53" or
"ISO/IEC 42005" also sought as exact phrases, the domain's abbreviations also sought spelled out
and the other way round), and which of a query's most common words a large index leaves out.
Pure: no database."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

# About how many items one query may have scored by BM25. Scoring is what a full-text query
# costs (about a microsecond an item, so 100k items matching "notice" cost 100 ms); the words
# that push a query past this are its most common ones, whose inverse document frequency, and
# so their part of any score, is the smallest. On an index of a few thousand items a query
# hardly ever reaches it (on the evaluation corpus it changed no result); on 100k items it
# keeps the median query within 1.5x of a plain vector search (bench/README.md). When even a
# query's rarest word matches more items than this ("Notice of Closed Meeting" on 1M Federal
# Register items), the query requires all its words instead: scoring every item with the
# rarest of them took half a second, the items with all of them a tenth of that.
POSTINGS_BUDGET = 3000

STOP_WORDS = frozenset(
    (
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "something",
        "anything",
        "whether",
        "via",
        "per",
        "also",
        "get",
        "gets",
        "got",
    )
)

# Abbreviations the domain writes both ways; a query with either form also seeks the other.
ABBREVIATIONS: dict[str, str] = {
    "ai": "artificial intelligence",
    "gpai": "general purpose ai",
    "genai": "generative ai",
    "llm": "large language model",
    "llms": "large language models",
    "ml": "machine learning",
    "eo": "executive order",
    "gdpr": "general data protection regulation",
    "dpia": "data protection impact assessment",
}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# An identifier: a run of words and numbers joined by - / . or spaces that contains a digit,
# led by a word in capitals or a capitalised word ("SB 53", "Article 50", "M-24-10",
# "ISO/IEC 42005", "Opinion 28/2024", "NIST AI 800-1"), or a bare number with separators.
_IDENTIFIER = re.compile(
    r"(?:\b[A-Z]\w*(?:[ /-][A-Z]\w*)*[ /-]?)?\b\d\w*(?:[./-]\w+)*",
)


@dataclass(frozen=True)
class LexicalQuery:
    """Free text and the FTS5 expression it runs as (None when it has no searchable word)."""

    text: str
    expression: str | None


def query_words(query: str) -> list[str]:
    """The words of a query that carry meaning: lower-cased, stop words dropped, in order."""
    return [word for word in _WORD.findall(query.lower()) if word not in STOP_WORDS]


def identifier_phrases(query: str) -> list[list[str]]:
    """Identifiers in the query as word sequences, each to be found as an exact phrase."""
    phrases = []
    for found in _IDENTIFIER.finditer(query):
        words = _WORD.findall(found.group(0).lower())
        if len(words) > 1:
            phrases.append(words)
    return phrases


def _other_forms(query: str) -> list[str]:
    """The other written form of each domain abbreviation (or of its long form) in the query,
    added as one more optional phrase: query expansion, so an item that spells the name out in
    full ("artificial intelligence practices") is found by "AI" too."""
    words = _WORD.findall(query.lower())
    text = " " + " ".join(words) + " "
    forms = []
    for short, long in ABBREVIATIONS.items():
        if short in words:
            forms.append(_quoted(long.split()))
        elif f" {long} " in text:
            forms.append(_quoted([short]))
    return forms


def _quoted(words: Iterable[str]) -> str:
    return '"' + " ".join(word.replace('"', '""') for word in words) + '"'


def search_words(query: str) -> list[str]:
    """The distinct words a query is searched by: its meaningful words, or, when it has only
    stop words ("what is this"), those."""
    return list(dict.fromkeys(query_words(query) or _WORD.findall(query.lower())))


def optional_clauses(query: str) -> list[str]:
    """The query's words and the other forms of its abbreviations, each as an FTS5 phrase."""
    return list(
        dict.fromkeys([_quoted([word]) for word in search_words(query)] + _other_forms(query))
    )


def match_expression(
    query: str, left_out: Collection[str] = (), every_word: bool = False
) -> str | None:
    """A safe FTS5 expression for free text, or None when the query has no searchable word.

    Every word is optional (OR), so an item matching most of them ranks high without having to
    match all; each identifier is added again as a phrase, so an exact "SB 53" ranks above an
    item that merely mentions SB and 53 apart. Clauses in `left_out` (see
    `budgeted_query`) are dropped, unless nothing else would be left. With `every_word`
    the words are required together instead (AND), their other forms left out.
    """
    optional = optional_clauses(query)
    if not optional:
        return None
    if every_word:
        kept = ["(" + " AND ".join(_quoted([word]) for word in search_words(query)) + ")"]
    else:
        kept = [clause for clause in optional if clause not in left_out] or optional
    identifiers = [_quoted(phrase) for phrase in identifier_phrases(query)]
    return " OR ".join(dict.fromkeys(kept + identifiers))


def budgeted_query(text: str, counts: Mapping[str, int]) -> LexicalQuery:
    """Free text as an index with these match counts per clause (`optional_clauses`; counted up
    to just past `POSTINGS_BUDGET`) runs it: leaving out its most common words, or requiring
    every word when even the rarest is common."""
    if not counts:
        return LexicalQuery(text, None)
    if min(counts.values()) > POSTINGS_BUDGET and len(search_words(text)) > 1:
        return LexicalQuery(text, match_expression(text, every_word=True))
    return LexicalQuery(text, match_expression(text, _beyond_budget(counts)))


def _beyond_budget(counts: Mapping[str, int]) -> set[str]:
    """The most common clauses, left out so that at most about `POSTINGS_BUDGET` items are
    scored: clauses are taken rarest first while the items they match add up to no more than
    the budget (the rarest is always kept). On a small index nothing is left out."""
    left_out: set[str] = set()
    scored = 0
    for rank, clause in enumerate(sorted(counts, key=counts.__getitem__)):
        if rank > 0 and scored + counts[clause] > POSTINGS_BUDGET:
            left_out.add(clause)
        else:
            scored += counts[clause]
    return left_out
