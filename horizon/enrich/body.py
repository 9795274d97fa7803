"""What the stages read of an item's full text: a bounded excerpt and its sentences.

A linked page or PDF can run to 200,000 characters. Dates are read from its first
`EXCERPT_CHARS` characters and evidence sentences from its first `EVIDENCE_CHARS`, where a
notice states what it is, who must do what and by when: matching the catalogue's phrases costs
about 8 ms per 1,000 characters per control, so the evidence window is the tighter one. Pure
functions.
"""

from __future__ import annotations

import re

EXCERPT_CHARS = 20_000
EVIDENCE_CHARS = 8_000
# A body "sentence" shorter than this is a heading or a menu remnant, longer a table or a list
# run together by the extractor: neither reads as evidence.
MIN_SENTENCE_WORDS = 5
MAX_SENTENCE_WORDS = 80

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n(?=\s*[-•*]\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[“‘]?[A-Z0-9])")
# Words that state a duty or a date by which something happens: such a sentence is preferred as
# evidence over one that only mentions the control's subject.
OBLIGATION = re.compile(
    r"\b(must|shall|required to|are required|is required|obliged to|obligations?|no later than"
    r"|deadline|by \d{1,2} [A-Z][a-z]+|comply|compliance)\b",
    re.IGNORECASE,
)


def excerpt(full_text: str) -> str:
    """The part of a full text the stages read."""
    return full_text[:EXCERPT_CHARS]


def body_sentences(full_text: str, title: str = "") -> list[str]:
    """The sentences of the evidence window that can stand as evidence, in order, whitespace
    collapsed. A page's heading often runs into its first sentence with no full stop between
    them ("Guidelines published The Commission has…"): a leading copy of `title` is cut off,
    so the evidence is the sentence, not the title again."""
    heading = " ".join(title.split()).lower()
    result: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(full_text[:EVIDENCE_CHARS]):
        for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
            if heading and sentence.lower().startswith(heading):
                sentence = sentence[len(heading) :].lstrip(" :.-–—")
            words = len(sentence.split())
            if MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS:
                result.append(sentence)
    return result


def states_a_duty(sentence: str) -> bool:
    return bool(OBLIGATION.search(sentence))
