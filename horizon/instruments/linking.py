"""Which instruments an item talks about, and the evidence for each link.

Names, numbers and identifiers (CELEX, FR document numbers, bill numbers) are matched as whole
words in the title and summary; when one match sits inside a longer match of another
instrument ("AI Act" inside "Colorado AI Act"), only the longer one counts. A generic name (the
tail of another jurisdiction's longer name, as "AI Act" is of "Colorado AI Act") does not count
where its sentence gives it to someone else: "Korea's AI Act", "the state's AI Act", or "its" /
"their" AI Act in a sentence that names another jurisdiction's instrument or qualifier
("Colorado delays its AI Act"), or "a new" / "another" AI Act (a law still to be written).
Given vectors, an item also links to an instrument whose description it is close to in
meaning. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from horizon.instruments.catalogue import Instrument

# Chosen on the non-held-out part of the labelled links with the packaged MiniLM model: lower
# thresholds link far too much (0.6: precision 0.53 there). See docs/readiness.md.
DEFAULT_MIN_SIMILARITY = 0.8
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_EVIDENCE_CHARS = 280
# What may stand right before a generic name to give it to someone else: "the state's" always,
# "Korea's" unless the word is the instrument's own, "its"/"their" only when the sentence names
# another jurisdiction ("Member States designate their AI Act authorities" is the EU's).
_OWNER_BEFORE = re.compile(
    r"(?:\b(the\s+(?:state|country)['’]s)|\b(its|their)|\b(\w+)['’]s)\s+$", re.IGNORECASE
)
# "to a new AI Act.", "another AI Act that…", "a national AI Act for…": a law still to be
# written, or someone else's, never the one the catalogue names. Only where the name ends its
# noun phrase: in "a new AI Act guideline" or "an AI Act compliance checker" the name qualifies
# what follows, and that is the catalogue's act.
_ANOTHER_ONE_BEFORE = re.compile(
    r"\b(?:another|(?:a|an)\s+(?:new|separate|national|dedicated|standalone|stand-alone|"
    r"comprehensive|similar|federal|domestic|local|own))\s+$",
    re.IGNORECASE,
)
_NOUN_PHRASE_ENDS = re.compile(
    r"\s*(?:[.,;:!?)\"'’]|$)|\s+(?:that|which|to|for|in|of|by|with|is|was|would|will|could|"
    r"should|modell?ed|like|and|or|on|from|under|covering|after|before|as|at|into|within|this|"
    r"next|later|soon)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Link:
    """An item linked to an instrument: by a name it uses, or by closeness in meaning.

    `matched` is the text that matched (a name) or empty for similarity; `evidence` is the
    sentence the name sits in, or the similarity in words."""

    item_id: str
    instrument_id: str
    how: Literal["name", "similarity"]
    matched: str
    evidence: str
    score: float


# How callers that link many items name the linking function: item id, title, summary and the
# catalogue, giving the links (`link_item` itself, or a memo of it).
Linker = Callable[[str, str, str, Sequence["Instrument"]], list[Link]]


@dataclass(frozen=True)
class _Hit:
    instrument_id: str
    start: int
    end: int


@lru_cache(maxsize=4096)
def name_pattern(name: str) -> re.Pattern[str]:
    """A whole-word, any-case pattern for one name; spaces match any run of spaces."""
    body = r"\s+".join(re.escape(part) for part in name.split())
    return re.compile(rf"(?<![\w/.-]){body}(?![\w/-]|\.\d)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def _first_word(name: str) -> str:
    return name.split()[0].lower() if name.split() else ""


def name_hits(text: str, instruments: Sequence[Instrument]) -> list[_Hit]:
    """Every name match, without those inside a longer match of another instrument.

    A name whose first word does not occur in the text at all is skipped before its pattern
    runs: the weekly readiness stage links every stored item, so this is its hot loop."""
    lowered = text.lower()
    hits = [
        _Hit(instrument.id, match.start(), match.end())
        for instrument in instruments
        for name in instrument.names
        if _first_word(name) in lowered
        for match in name_pattern(name).finditer(text)
    ]
    return [
        hit
        for hit in hits
        if not any(
            other.instrument_id != hit.instrument_id
            and other.start <= hit.start
            and hit.end <= other.end
            and (other.end - other.start) > (hit.end - hit.start)
            for other in hits
        )
    ]


@lru_cache(maxsize=64)
def _generic_names(
    catalogue: tuple[tuple[str, str, tuple[str, ...]], ...],
) -> dict[tuple[str, str], tuple[str, ...]]:
    """The names that are the tail of a longer name of another jurisdiction's instrument, by
    (instrument id, lower-case name), each with the words that qualify it there ("AI Act":
    "Colorado"); from (id, jurisdiction, names) of each instrument."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for instrument_id, jurisdiction, names in catalogue:
        for name in names:
            words = name.lower().split()
            qualifiers = tuple(
                " ".join(longer.split()[: len(longer.split()) - len(words)])
                for other_id, other_jurisdiction, other_names in catalogue
                if other_id != instrument_id and other_jurisdiction != jurisdiction
                for longer in other_names
                if len(longer.split()) > len(words)
                and [word.lower() for word in longer.split()[-len(words) :]] == words
            )
            if qualifiers:
                found[(instrument_id, " ".join(words))] = qualifiers
    return found


def _sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the sentence holding text[start:end] starts and ends."""
    sentence_start = 0
    for boundary in _SENTENCE_BREAK.finditer(text):
        if boundary.end() > start:
            break
        sentence_start = boundary.end()
    following = _SENTENCE_BREAK.search(text, end)
    return sentence_start, following.start() if following else len(text)


def _is_someone_elses(
    text: str,
    hit: _Hit,
    qualifiers: tuple[str, ...],
    hits: Sequence[_Hit],
    instruments: Mapping[str, Instrument],
) -> bool:
    """Whether a generic name's sentence gives it to another owner (see `_OWNER_BEFORE`); a
    possessive word found in the names or descriptions of the instrument's own jurisdiction
    ("the EU's AI Act", "Europe's AI Act") keeps it."""
    sentence_start, sentence_end = _sentence_span(text, hit.start, hit.end)
    if _ANOTHER_ONE_BEFORE.search(text, sentence_start, hit.start) and _NOUN_PHRASE_ENDS.match(
        text, hit.end
    ):
        return True
    owner = _OWNER_BEFORE.search(text, sentence_start, hit.start)
    if owner is None:
        return False
    if owner.group(1):
        return True
    jurisdiction = instruments[hit.instrument_id].jurisdiction
    if owner.group(3):
        named = owner.group(3).lower()
        own_words = " ".join(
            [jurisdiction]
            + [
                " ".join([*each.names, each.description])
                for each in instruments.values()
                if each.jurisdiction == jurisdiction
            ]
        )
        return not any(word.startswith(named) for word in re.findall(r"\w+", own_words.lower()))
    sentence = text[sentence_start:sentence_end]
    return any(
        sentence_start <= other.start < sentence_end
        and instruments[other.instrument_id].jurisdiction != jurisdiction
        for other in hits
    ) or any(name_pattern(qualifier).search(sentence) for qualifier in qualifiers)


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding text[start:end], cut to a readable length around the match."""
    sentence_start, sentence_end = _sentence_span(text, start, end)
    sentence = text[sentence_start:sentence_end].strip()
    if len(sentence) <= _EVIDENCE_CHARS:
        return sentence
    offset = max(0, start - sentence_start - _EVIDENCE_CHARS // 2)
    return "…" + sentence[offset : offset + _EVIDENCE_CHARS].strip() + "…"


def link_item(
    item_id: str,
    title: str,
    summary: str,
    instruments: Sequence[Instrument],
    item_vector: np.ndarray | None = None,
    instrument_vectors: Mapping[str, np.ndarray] | None = None,
    min_similarity: float = DEFAULT_MIN_SIMILARITY,
) -> list[Link]:
    """The instruments one item is about, each with its evidence, names first.

    With `item_vector` and `instrument_vectors` (L2-normalised embeddings of the item's text
    and of each instrument's description), an instrument not named but at least
    `min_similarity` close is linked too."""
    text = f"{title}. {summary}" if summary else title
    links: dict[str, Link] = {}
    title_end = len(title)
    by_id = {instrument.id: instrument for instrument in instruments}
    generic_names = _generic_names(
        tuple((each.id, each.jurisdiction, tuple(each.names)) for each in instruments)
    )
    hits = name_hits(text, instruments)
    # A sentence of the summary says more than the title repeated: prefer it as evidence.
    for hit in sorted(hits, key=lambda hit: (hit.start < title_end, hit.start)):
        qualifiers = generic_names.get(
            (hit.instrument_id, " ".join(text[hit.start : hit.end].lower().split()))
        )
        if qualifiers and _is_someone_elses(text, hit, qualifiers, hits, by_id):
            continue
        if hit.instrument_id not in links:
            links[hit.instrument_id] = Link(
                item_id=item_id,
                instrument_id=hit.instrument_id,
                how="name",
                matched=text[hit.start : hit.end],
                evidence=sentence_around(text, hit.start, hit.end),
                score=1.0,
            )
    if item_vector is not None and instrument_vectors:
        for instrument in instruments:
            vector = instrument_vectors.get(instrument.id)
            if instrument.id in links or vector is None:
                continue
            similarity = float(np.dot(item_vector, vector))
            if similarity >= min_similarity:
                links[instrument.id] = Link(
                    item_id=item_id,
                    instrument_id=instrument.id,
                    how="similarity",
                    matched="",
                    evidence=f"close in meaning to its description (similarity {similarity:.2f})",
                    score=similarity,
                )
    return list(links.values())
