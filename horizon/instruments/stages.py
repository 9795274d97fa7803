"""Stage changes an item signals ("enters into force", "signed into law", "delayed to",
"repealed", "adopted"), proposed for an analyst to confirm. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dateutil import parser as dateutil_parser

from horizon.instruments.catalogue import Instrument, Stage
from horizon.instruments.linking import Link, name_hits, sentence_around

_CUE_TEXT: tuple[tuple[Stage, str], ...] = (
    ("in-force", r"\b(enters?|entered|entering|entry) into force\b"),
    ("in-force", r"\b(comes?|came|coming) into (force|effect)\b"),
    ("in-force", r"\b(takes?|took) effect\b"),
    ("amended", r"\b(delay(s|ed|ing)?|postpone(s|d)?|push(es|ed)? back)\b[^.]{0,80}?\bto\b"),
    ("amended", r"\bamend(s|ed|ing)\b"),
    ("repealed", r"\brepeal(s|ed)?\b"),
    ("adopted", r"\bsigned into law\b|\breceived? royal assent\b|\benacted\b"),
    ("adopted", r"\b(formally |finally )?adopt(s|ed)\b"),
)
_CUES = tuple((stage, re.compile(pattern, re.IGNORECASE)) for stage, pattern in _CUE_TEXT)
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)? (?:January|February|March|April|May|June|July|August"
    r"|September|October|November|December),? \d{4}\b"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November"
    r"|December) \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StageProposal:
    """An item suggests that an instrument reached `stage` (on `date`, when the text says)."""

    item_id: str
    instrument_id: str
    stage: Stage
    date: date | None
    cue: str
    evidence: str


def dates_in(text: str) -> list[date]:
    """Day-precise dates written in the text, in order."""
    found = []
    for match in _DATE.finditer(text):
        written = match.group(0)
        try:
            if written[:4].isdigit():
                found.append(date.fromisoformat(written))
            else:
                found.append(dateutil_parser.parse(written).date())
        except (ValueError, OverflowError):
            continue
    return found


def propose_stages(
    item_id: str,
    title: str,
    summary: str,
    links: Sequence[Link],
    instruments: Sequence[Instrument],
    published: date | None = None,
) -> list[StageProposal]:
    """Stage changes this item signals for the instruments it names.

    A cue counts for the instruments named in its sentence, or, when its sentence names none,
    for the one instrument the item names. A stage already on record on that date is not
    proposed again. An amendment ("delayed to 30 June 2026") is dated by the item's
    publication, since the date in its sentence is the new application date; so is a stage
    whose sentence gives no date. A sentence with a date wins over one without."""
    text = f"{title}. {summary}" if summary else title
    named = [link.instrument_id for link in links if link.how == "name"]
    by_id = {instrument.id: instrument for instrument in instruments if instrument.id in named}
    proposals: dict[tuple[str, str], StageProposal] = {}
    dated_in_text: set[tuple[str, str]] = set()
    for stage, pattern in _CUES:
        for cue in pattern.finditer(text):
            sentence = sentence_around(text, cue.start(), cue.end())
            in_sentence = {hit.instrument_id for hit in name_hits(sentence, list(by_id.values()))}
            targets = in_sentence or (set(by_id) if len(by_id) == 1 else set())
            found = dates_in(sentence[sentence.find(cue.group(0)) :]) or dates_in(sentence)
            when = published if stage == "amended" or not found else found[0]
            for instrument_id in sorted(targets):
                key = (instrument_id, stage)
                if (key in proposals and (key in dated_in_text or not found)) or _on_record(
                    by_id[instrument_id], stage, when
                ):
                    continue
                if found:
                    dated_in_text.add(key)
                proposals[key] = StageProposal(
                    item_id=item_id,
                    instrument_id=instrument_id,
                    stage=stage,
                    date=when,
                    cue=cue.group(0),
                    evidence=sentence,
                )
    return list(proposals.values())


def _on_record(instrument: Instrument, stage: str, when: date | None) -> bool:
    for event in instrument.history:
        if event.stage == stage and (when is None or event.date == when):
            return True
    return False
