"""Deadlines and effective dates stated in an item's text.

Publishers write the dates that matter to a compliance team in prose: "comments must be received
on or before March 4, 2024", "the rule is effective 1 January 2026", "shut down on 6 June 2025".
A regular expression finds day-precise date phrases, python-dateutil reads them (its own month
names decide what is a month), and the words around a date say what kind of date it is.
Month-only dates ("from July 2027") are not day-precise and give nothing. Pure functions only.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from dateutil import parser as dateutil_parser

_PARSER_INFO = dateutil_parser.parserinfo()
_CUE_WINDOW_CHARS = 90
_TRAILING_CHARS = 60
_BACKGROUND_BEFORE_PUBLICATION = timedelta(days=31)

_DATE_PHRASE = re.compile(
    r"""
    (?P<iso>\b\d{4}-\d{2}-\d{2}\b)
    | \b(?P<dmy>\d{1,2})(?:st|nd|rd|th)?\s+(?P<dmy_month>[A-Za-z]{3,9})\.?
      (?:,?\s+(?P<dmy_year>\d{4}))?\b
    | \b(?P<mdy_month>[A-Za-z]{3,9})\.?\s+(?P<mdy>\d{1,2})(?:st|nd|rd|th)?\b(?!\.\d|-\d)
      (?:,?\s+(?P<mdy_year>\d{4})\b)?
    """,
    re.VERBOSE,
)


class DateKind(Enum):
    """A consultation's closing or a response's due date; or when a rule or change applies."""

    DEADLINE = "deadline"
    EFFECTIVE = "effective"


@dataclass(frozen=True)
class _Cue:
    """Words that say what a nearby date is; `kind` None marks a date that is neither."""

    kind: DateKind | None
    pattern: re.Pattern[str]
    priority: int = 1


def _cue(kind: DateKind | None, pattern: str, priority: int = 1) -> _Cue:
    return _Cue(kind, re.compile(pattern, re.IGNORECASE), priority)


# Matched in the text before a date; the cue nearest the date wins (on a tie, the one listed
# first), so "published on" or "reply comments" keeps an earlier "effective" or "due" in the
# sentence from claiming a date that is not its own. A priority-0 cue (a deprecation notice, a
# sentence opening "From ...") gives way to any other date of its kind.
_LEADING_CUES: tuple[_Cue, ...] = (
    _cue(
        DateKind.EFFECTIVE,
        r"\b(compliance (date|deadline)"
        r"|compl(y|iance|iant) (with [^.;]{0,40})?(by|no later than))\b",
    ),
    _cue(DateKind.DEADLINE, r"\b(deadline|closing date|clos(e|es|ed|ing)|open until|due)\b"),
    _cue(DateKind.DEADLINE, r"\b(comment|consultation)( period)?\b[^.;]*\bend(s|ing)?( on)?\b"),
    _cue(
        DateKind.EFFECTIVE,
        r"\b(effective|(take[sn]?|taking|took|go(es)? into|went into|in) effect|in force"
        r"|operative|implementation date|enforcement (date|to begin|begins|will begin|starts)"
        r"|into (force|effect|operation|application)"
        r"|appl(y|ies|ied|ying|icable)|start(s|ed)? to apply|commenc(e|es|ed|ement)"
        r"|start date|begin(s)? to apply|(date of )?application date|date of application"
        r"|start(s|ed|ing)? (on|from|applying)|go(es)? live"
        r"|went live|kick(s|ed)? in|transpos\w*|(generally )?available (on|from)"
        r"|(held|made|entered into) on or after|ha(s|ve) until"
        r"|not enforce\b[^.;]{0,80}\buntil"
        r"|(postpon\w*|delay\w*|defer\w*|extend\w*) (the )?(date (for|of) )?(full )?enforcement\b"
        r"[^.;]{0,80}\bto)\b",
    ),
    _cue(
        DateKind.EFFECTIVE,
        r"\b(shut ?down|shut(s|ting)? down|retire(d|s|ment)?|retiring|end[- ]of[- ]life|eol"
        r"|sunset(s|ting)?|discontinu\w*|stop(s|ped)? (serving|working|processing)|turned off"
        r"|removed|no longer (be )?(available|supported)|end of support|support end(s|ed)"
        r"|expir(es|ed|y))\b",
    ),
    _cue(DateKind.EFFECTIVE, r"\bdeprecat\w*\b", priority=0),
    _cue(DateKind.EFFECTIVE, r"^\W*(from|as of|starting|beginning)\W*$", priority=0),
    _cue(
        None,
        r"\b(publish\w*|filed|announc\w*|dated|signed|released?|release date|held|meeting"
        r"|hearing|issued|adopted|launch\w*|opened|repl(y|ies))\b",
    ),
)
# Matched right after a date ("a 22 October 2025 retirement", "5 February 2025 as the release
# date").
_TRAILING_CUES: tuple[_Cue, ...] = (
    _cue(
        DateKind.EFFECTIVE,
        r"^[ ,]{0,2}(retirement|shutdown|shut-down|end[- ]of[- ]life|effective date|start date)\b",
    ),
    _cue(
        DateKind.EFFECTIVE,
        r"^[ ,]{0,2}when\b[^.;]{0,40}\b(take|takes|took|come|comes|came|enter|enters|go|goes)"
        r" (into )?(effect|force|operation)\b",
    ),
    _cue(None, r"^[ ,]{0,2}(as )?(the )?(release|publication|announcement|launch) date\b"),
)
# "comments ... must be received by 9 February": a deadline when the sentence is about
# responding and the date follows "by", "on or before" and the like (a clock time may sit
# between: "no later than 5 p.m. (ET) on").
_RESPONSE_CONTEXT = re.compile(
    r"\b(comments?|respon(d|ses?)|submi(t|ssions?|tted)|views|evidence|feedback|nominations?"
    r"|applications?|objections?|input|consult\w*|survey|questionnaire|repl(y|ies)"
    r"|contributions?|choices?|forms?)\b",
    re.IGNORECASE,
)
_RESPONSE_DEADLINE = _Cue(DateKind.DEADLINE, _RESPONSE_CONTEXT)
_BY_PREPOSITION = re.compile(
    r"\b(by|on or before|no later than|until|through|up to)"
    r"(\s+\d{1,2}(:\d{2})?\s*([ap]\.m\.|[ap]m)[\w\s().,]{0,24}?\s+on)?\W*$",
    re.IGNORECASE,
)
# A deadline extended or a start postponed: the new date replaces the old one of its kind.
_CHANGE_VERB = re.compile(
    r"\b(extend(s|ed|ing)?|reopen(s|ed|ing)?|postpon\w*|delay(s|ed|ing)?|defer(s|red|ring)?"
    r"|moved|push(es|ed)? back)\b",
    re.IGNORECASE,
)
_TO_PREPOSITION = re.compile(r"\b(to|until)\W*$", re.IGNORECASE)
# "will use profile data from 3 November 2025": a date that starts something, on or after the
# publication date, is when a change applies. (Before it, "data from 1 January 2020" is only a
# period's start.) It gives way to any other effective date, as a sentence opening "From" does.
_STARTS = re.compile(r"\b(from|starting|beginning|as of)\W*$", re.IGNORECASE)
_STARTS_EFFECTIVE = _Cue(DateKind.EFFECTIVE, _STARTS, priority=0)
# A full stop ends a sentence unless it closes an abbreviation such as "p.m." or "U.S.".
_SENTENCE_BREAK = re.compile(r"(?<!\b[A-Za-z])[.;!?](?=\s+[A-Z(])|\n")


@dataclass(frozen=True)
class _FoundDate:
    value: date
    kind: DateKind
    priority: int
    replaces_earlier: bool
    sentence: str


@dataclass(frozen=True)
class StatedDate:
    """A deadline or effective date and the sentence of the text that states it."""

    value: date
    sentence: str


def extract_dates(text: str, published: date | None) -> tuple[date | None, date | None]:
    """(deadline, effective) stated in `text`; None where the text states none (see
    `stated_dates`)."""
    deadline, effective = stated_dates(text, published)
    return (deadline.value if deadline else None, effective.value if effective else None)


def stated_dates(text: str, published: date | None) -> tuple[StatedDate | None, StatedDate | None]:
    """(deadline, effective) stated in `text`, each with the sentence it was read from.

    The first date of each kind stands unless a later one changes it ("extended to ...",
    "postponed ... to ..."), or it lies well before publication (background such as "in effect
    since 2011") while a later one does not. `published` also gives the year of dates written
    without one ("extended to 30 October") when no earlier date in the text does.
    """
    chosen: dict[DateKind, _FoundDate] = {}
    for found in _typed_dates(text, published):
        current = chosen.get(found.kind)
        if current is None or _outranks(found, current, published):
            chosen[found.kind] = found
    return _stated(chosen.get(DateKind.DEADLINE)), _stated(chosen.get(DateKind.EFFECTIVE))


def _stated(found: _FoundDate | None) -> StatedDate | None:
    return StatedDate(found.value, found.sentence) if found is not None else None


def _outranks(candidate: _FoundDate, current: _FoundDate, published: date | None) -> bool:
    if candidate.replaces_earlier and candidate.value > current.value:
        return True
    if published is not None:
        # published in the first month of year 1 has no earlier background: nothing is before it
        cutoff = published - min(_BACKGROUND_BEFORE_PUBLICATION, published - date.min)
        current_is_background = current.value < cutoff
        candidate_is_background = candidate.value < cutoff
        if current_is_background != candidate_is_background:
            return current_is_background
    return candidate.priority > current.priority


def _typed_dates(text: str, published: date | None) -> list[_FoundDate]:
    """Every day-precise date in `text` that is a deadline or an effective date, in order."""
    found: list[_FoundDate] = []
    sentence_kinds: dict[int, DateKind] = {}
    sentences = _sentence_starts(text)
    for match, value in _calendar_dates(text, published):
        sentence_index = _sentence_index(sentences, match.start())
        sentence_start = sentences[sentence_index]
        before = text[max(sentence_start, match.start() - _CUE_WINDOW_CHARS) : match.start()]
        sentence_so_far = text[sentence_start : match.start()]
        cue = _cue_for(before, sentence_so_far, text[match.end() : match.end() + _TRAILING_CHARS])
        previous_sentence = text[sentences[max(sentence_index - 1, 0)] : sentence_start]
        changed = bool(_CHANGE_VERB.search(previous_sentence + sentence_so_far))
        kind = cue.kind if cue is not None else None
        if cue is None and changed and _TO_PREPOSITION.search(before):
            kind = sentence_kinds.get(sentence_start)
        if kind is None and _STARTS.search(before) and published and value >= published:
            cue = _STARTS_EFFECTIVE
            kind = cue.kind
        if kind is None:
            continue
        sentence_kinds[sentence_start] = kind
        priority = cue.priority if cue is not None else 1
        following = sentences[sentence_index + 1] if sentence_index + 1 < len(sentences) else None
        sentence = " ".join(text[sentence_start:following].split())
        found.append(_FoundDate(value, kind, priority, replaces_earlier=changed, sentence=sentence))
    return found


def _calendar_dates(text: str, published: date | None) -> Iterator[tuple[re.Match[str], date]]:
    """Each day-precise date phrase in order. A phrase that is no date ("effective 1") is
    retried one character on, so the date inside it ("1 January 2026") is still found. A date
    without a year takes the year of the last date before it that has one; before any, it is
    the occurrence nearest the publication date ("takes effect on January 1" published in
    November is the next January)."""
    context_year = published.year if published else None
    year_from_text = False
    position = 0
    while (match := _DATE_PHRASE.search(text, position)) is not None:
        value = _parse_date_phrase(match, context_year)
        if value is None:
            position = match.start() + 1
            continue
        if _has_year(match):
            context_year, year_from_text = value.year, True
        elif published is not None and not year_from_text:
            value = _nearest_occurrence(value, published)
        position = match.end()
        yield match, value


def _nearest_occurrence(value: date, published: date) -> date:
    """The day and month of `value` in the year before, of, or after publication, whichever
    is nearest to it (29 February only in a leap year)."""
    occurrences = []
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            occurrences.append(value.replace(year=year))
        except ValueError:
            continue
    return min(occurrences, key=lambda each: abs((each - published).days))


def _cue_for(before: str, sentence_so_far: str, after: str) -> _Cue | None:
    """The cue that types a date: a trailing noun, a response deadline, or the nearest cue."""
    for cue in _TRAILING_CUES:
        if cue.pattern.search(after):
            return cue
    nearest: _Cue | None = None
    nearest_end = -1
    for cue in _LEADING_CUES:
        for hit in cue.pattern.finditer(before):
            if hit.end() > nearest_end:
                nearest, nearest_end = cue, hit.end()
    if _BY_PREPOSITION.search(before) and _RESPONSE_CONTEXT.search(sentence_so_far):
        effective_is_nearer = nearest is not None and nearest.kind is DateKind.EFFECTIVE
        if not effective_is_nearer:
            return _RESPONSE_DEADLINE
    return nearest


def _sentence_starts(text: str) -> list[int]:
    return [0, *(boundary.end() for boundary in _SENTENCE_BREAK.finditer(text))]


def _sentence_index(starts: list[int], position: int) -> int:
    return bisect.bisect_right(starts, position) - 1


def _has_year(match: re.Match[str]) -> bool:
    return bool(match.group("iso") or match.group("dmy_year") or match.group("mdy_year"))


def _parse_date_phrase(match: re.Match[str], context_year: int | None) -> date | None:
    """The date a phrase names, or None when it is not a day-precise calendar date."""
    if match.group("iso"):
        try:
            return date.fromisoformat(match.group("iso"))
        except ValueError:
            return None
    month_word = match.group("dmy_month") or match.group("mdy_month")
    if _PARSER_INFO.month(month_word) is None:
        return None
    if not _has_year(match) and context_year is None:
        return None
    default = datetime(context_year or 1, 1, 1)
    try:
        return dateutil_parser.parse(match.group(0), default=default).date()
    except (ValueError, OverflowError):
        return None
