"""Long texts cut into passages, so that a paragraph deep inside a rulebook section or a
consultation paper can be found by what it says, not drowned by the rest of the document.

An item whose text is longer than `MIN_CHARS` is cut into windows of about `MIN_WORDS` to
`MAX_WORDS` words on paragraph and sentence boundaries: a window never spans two paragraphs
unless the first is too short to stand alone, and inside a paragraph consecutive windows share
one sentence, so a statement that straddles a cut is whole in one of them. A sentence longer
than `MAX_WORDS` is cut into word runs. Pure functions; the store indexes what they return.
"""

from __future__ import annotations

import re

MIN_CHARS = 600
MIN_WORDS = 60
MAX_WORDS = 120

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[\"'(\[“‘]?[A-Z0-9])")


def _sentences(paragraph: str) -> list[str]:
    """The paragraph's sentences, each at most MAX_WORDS words (longer ones cut into runs)."""
    result = []
    for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
        words = sentence.split()
        for start in range(0, len(words), MAX_WORDS):
            result.append(" ".join(words[start : start + MAX_WORDS]))
    return [sentence for sentence in result if sentence]


def _length(sentences: list[str]) -> int:
    return sum(len(sentence.split()) for sentence in sentences)


def split_passages(text: str) -> list[str]:
    """The passages of a long text, in order; [] for a text of at most MIN_CHARS characters
    (the item's own vector and full-text entry already stand for it)."""
    if len(text) <= MIN_CHARS:
        return []
    windows: list[list[str]] = []
    current: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        for sentence in _sentences(paragraph):
            if current and _length(current) + len(sentence.split()) > MAX_WORDS:
                windows.append(current)
                carried = current[-1]
                overlap = len(current) > 1 and _length([carried, sentence]) <= MAX_WORDS
                current = [carried] if overlap else []
            current.append(sentence)
        if _length(current) >= MIN_WORDS:
            windows.append(current)
            current = []
    if current:
        if windows and _length(current) < MIN_WORDS // 2:
            windows[-1] = windows[-1] + [s for s in current if s not in windows[-1]]
        else:
            windows.append(current)
    return [" ".join(window) for window in windows]


# An item's full text adds at most this many passages (its first ~1,400 words): each is
# embedded once when the item is stored, so the cap bounds the embedding cost of a long PDF.
MAX_FULL_TEXT_PASSAGES = 12


def full_text_passages(text: str) -> list[str]:
    """The passages of an item's full text (the linked page or PDF), in order and at most
    `MAX_FULL_TEXT_PASSAGES`; a short text is one passage, as nothing else indexes it."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= MIN_CHARS:
        return [" ".join(text.split())]
    # enough characters for the capped number of windows, never the whole of a long document
    head = text[: MAX_FULL_TEXT_PASSAGES * MAX_WORDS * 12]
    return split_passages(head)[:MAX_FULL_TEXT_PASSAGES]
