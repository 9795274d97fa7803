"""Stage changes an item signals ("enters into force", "signed into law", "delayed to",
"repealed", "adopted"), proposed for an analyst to confirm. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil import parser as dateutil_parser

from horizon.instruments.catalogue import Instrument, Stage
from horizon.instruments.linking import Link, name_hits, sentence_around

_CUE_TEXT: tuple[tuple[Stage, str], ...] = (
    ("in-force", r"\b(enters?|entered|entering|entry) into force\b"),
    ("in-force", r"\b(brings?|bringing|brought)\b[^.]{0,80}?\binto (force|effect)\b"),
    ("in-force", r"\b(comes?|came|coming) into (force|effect)\b"),
    ("in-force", r"\b(takes?|took) effect\b"),
    ("amended", r"\b(delay(s|ed|ing)?|postpone(s|d)?|push(es|ed)? back)\b[^.]{0,80}?\bto\b"),
    ("amended", r"\bamend(s|ed|ing)\b"),
    ("amended", r"\b(mov(es|ed|ing)|push(es|ed|ing)) the (effective|application|compliance) date"),
    ("repealed", r"\brepeal(s|ed)?\b"),
    ("adopted", r"\bsigned into law\b|\breceived? royal assent\b|\benacted\b"),
    ("adopted", r"\b(formally |finally )?adopt(s|ed)\b"),
)
_CUES = tuple((stage, re.compile(pattern, re.IGNORECASE)) for stage, pattern in _CUE_TEXT)
# News of a stage change follows the event by days: a report dated by its publication matches
# a stage on record this long before it.
_REPORTING_LAG = timedelta(days=14)
# A cue that states a rule or asks a question is not an event: "it enters into force after
# five ratifications", "how and when the changes take effect".
_CONDITION_AFTER = re.compile(r"\s*(after|once|when|upon|if|unless)\b", re.IGNORECASE)
_QUESTION_BEFORE = re.compile(r"\b(how|when|whether|if|once|until|unless)\b", re.IGNORECASE)
# A name that belongs to someone else: "Colorado delays its AI Act", "Korea's AI Act".
_OWNER_BEFORE = re.compile(r"(?:\b(its|their)|\b(\w+)['’]s)\s+$", re.IGNORECASE)
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
    return [day for _, day in dated_spans(text)]


def dated_spans(text: str) -> list[tuple[int, date]]:
    """Day-precise dates written in the text with where each starts, in order."""
    found = []
    for match in _DATE.finditer(text):
        written = match.group(0)
        try:
            if written[:4].isdigit():
                found.append((match.start(), date.fromisoformat(written)))
            else:
                found.append((match.start(), dateutil_parser.parse(written).date()))
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

    A cue counts only for the instrument named nearest to it in its own sentence, and not when
    that name is someone else's ("its AI Act", "Colorado's AI Act" for the EU act) nor when
    the cue states a condition or a question ("enters into force after five ratifications",
    "how and when the changes take effect"). Precision matters more than recall: an analyst
    confirms each proposal. A stage already on record on that date (for one dated by the
    item's publication, in the fortnight before) is not proposed again. An
    amendment ("delayed to 30 June 2026") is dated by the item's publication, since the date
    in its sentence is the new application date; so is a stage whose sentence gives no date.
    A sentence with a date wins over one without."""
    text = f"{title}. {summary}" if summary else title
    named = [link.instrument_id for link in links if link.how == "name"]
    by_id = {instrument.id: instrument for instrument in instruments if instrument.id in named}
    proposals: dict[tuple[str, str], StageProposal] = {}
    dated_in_text: set[tuple[str, str]] = set()
    for stage, pattern in _CUES:
        for cue in pattern.finditer(text):
            sentence = sentence_around(text, cue.start(), cue.end())
            at = sentence.find(cue.group(0))
            if at < 0 or _is_condition(stage, sentence, at, at + len(cue.group(0))):
                continue
            target = _subject(sentence, at, at + len(cue.group(0)), by_id)
            if target is None:
                continue
            found = dates_in(sentence[at:]) or dates_in(sentence)
            when = published if stage == "amended" or not found else found[0]
            key = (target, stage)
            reported = stage == "amended" or not found
            if (key in proposals and (key in dated_in_text or not found)) or _on_record(
                by_id[target], stage, when, reported
            ):
                continue
            if found:
                dated_in_text.add(key)
            proposals[key] = StageProposal(
                item_id=item_id,
                instrument_id=target,
                stage=stage,
                date=when,
                cue=cue.group(0),
                evidence=sentence,
            )
    return list(proposals.values())


def _is_condition(stage: Stage, sentence: str, start: int, end: int) -> bool:
    """A question ("how and when ... take effect"), or a rule for entry into force ("enters
    into force after five ratifications"; "adopted after a vote" is still an event)."""
    rule = stage == "in-force" and _CONDITION_AFTER.match(sentence, end)
    return bool(rule or _QUESTION_BEFORE.search(sentence[:start]))


def _subject(sentence: str, start: int, end: int, instruments: dict[str, Instrument]) -> str | None:
    """The instrument named nearest the cue in its sentence, unless that name is qualified as
    another's ("its AI Act"; "Colorado's AI Act" unless Colorado is in the instrument's own
    names or description)."""
    hits = name_hits(sentence, list(instruments.values()))
    if not hits:
        return None
    nearest = min(hits, key=lambda hit: max(hit.start - end, start - hit.end, 0))
    instrument = instruments[nearest.instrument_id]
    owner = _OWNER_BEFORE.search(sentence[: nearest.start])
    if owner is not None:
        own_words = " ".join([*instrument.names, instrument.description]).lower()
        if owner.group(1) or owner.group(2).lower() not in own_words:
            return None
    return instrument.id


def _on_record(instrument: Instrument, stage: str, when: date | None, reported: bool) -> bool:
    """Whether the stage is already in the instrument's history on that day; for a stage dated
    by the report's publication, in the fortnight before it (news follows the event)."""
    for event in instrument.history:
        if event.stage != stage:
            continue
        if when is None or event.date == when:
            return True
        if reported and event.date and timedelta() <= when - event.date <= _REPORTING_LAG:
            return True
    return False
