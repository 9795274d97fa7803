"""Obligations an item states for an instrument ("deployers must … from 30 June 2026"),
proposed for an analyst to confirm before they join the readiness tracker. Pure functions.

Precision matters more than recall, since a wrong obligation would show the board a duty that
does not exist. A sentence proposes an obligation only when all of these hold:

- a role the catalogue knows (providers, developers as providers, deployers, importers,
  distributors) is the subject of a duty modal ("must", "shall", "are required to", "will have
  to"), with the duty itself after it; a duty that is only possible ("may have to", "could be
  required") or asked about ("what must providers do?") is not one;
- it gives the day the duty applies from ("from 2 August 2026", "by 30 June 2026");
- it names the instrument (the one named nearest the duty), or it refers to "the Act" (the
  Regulation, law, code) and the item names just one;
- the item carries a control (its best tag), or none is proposed: an obligation without a
  control has no place in the tracker;
- the catalogue does not already hold that duty (same instrument, role, control and day)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from horizon.instruments.catalogue import Instrument
from horizon.instruments.linking import Link, name_hits, sentence_around
from horizon.instruments.stages import dated_spans

_ROLE_WORDS = {
    "provider": "provider",
    "providers": "provider",
    "developer": "provider",
    "developers": "provider",
    "deployer": "deployer",
    "deployers": "deployer",
    "importer": "importer",
    "importers": "importer",
    "distributor": "distributor",
    "distributors": "distributor",
}
_DUTY = re.compile(
    r"\b(?P<role>providers?|developers?|deployers?|importers?|distributors?)\b"
    r"(?P<between>[^.;:?!]{0,80}?)"
    r"\b(?P<modal>must|shall|are required to|is required to|will be required to|will have to"
    r"|have to|has to)\s+(?P<what>[^.;?!]{8,300})",
    re.IGNORECASE,
)
_HEDGE = re.compile(r"\b(may|might|could|would|should)\s*$", re.IGNORECASE)
_QUESTION = re.compile(r"^\s*(what|which|how|whether|do|does|must|shall)\b", re.IGNORECASE)
_FROM = re.compile(
    r"\b(from|by|as of|as from|starting|beginning|no later than|before)\s*$", re.IGNORECASE
)
# Before the role only a start counts: "From 2 August 2025 providers … must".
_SINCE = re.compile(r"\b(from|as of|as from|since|starting|beginning)\s*$", re.IGNORECASE)
_ROLES_ALSO = re.compile(
    r"\b(?:and|or)\s+(providers?|developers?|deployers?|importers?|distributors?)\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\b(the|this) (Act|Regulation|law|Code|Convention|Bill)\b")
_CHANGE_PREFIX = re.compile(r"^(now|also|newly)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class ObligationProposal:
    """An item suggests that `who` must do `what` under an instrument from `from_date`."""

    item_id: str
    instrument_id: str
    control: str
    who: str
    what: str
    from_date: date
    evidence: str


def propose_obligations(
    item_id: str,
    title: str,
    summary: str,
    links: Sequence[Link],
    instruments: Sequence[Instrument],
    controls: Sequence[str],
) -> list[ObligationProposal]:
    """New obligations the item states, one per instrument, role and day. `controls` are the
    item's control tags, best first."""
    if not controls:
        return []
    text = f"{title}. {summary}" if summary else title
    named = {link.instrument_id for link in links if link.how == "name"}
    by_id = {instrument.id: instrument for instrument in instruments if instrument.id in named}
    found: dict[tuple[str, str, date], ObligationProposal] = {}
    for duty in _DUTY.finditer(text):
        sentence = sentence_around(text, duty.start(), duty.end())
        if sentence.rstrip().endswith("?") or _QUESTION.match(sentence):
            continue
        if _HEDGE.search(duty.group("between")):
            continue
        what = _CHANGE_PREFIX.sub("", duty.group("what").strip())
        role_at = sentence.find(duty.group("role"))
        when = _applies_from(what) or _applies_from(sentence[: max(role_at, 0)], _SINCE)
        if when is None:
            continue
        instrument_id = _instrument(sentence, duty.group("role"), by_id)
        if instrument_id is None:
            continue
        roles = [duty.group("role"), *_ROLES_ALSO.findall(duty.group("between"))]
        control = controls[0]
        for who in dict.fromkeys(_ROLE_WORDS[role.lower()] for role in roles):
            if _curated(by_id[instrument_id], who, control, when):
                continue
            found.setdefault(
                (instrument_id, who, when),
                ObligationProposal(
                    item_id=item_id,
                    instrument_id=instrument_id,
                    control=control,
                    who=who,
                    what=what[0].upper() + what[1:],
                    from_date=when,
                    evidence=sentence,
                ),
            )
    return list(found.values())


def _applies_from(text: str, introduced: re.Pattern[str] | None = None) -> date | None:
    """The first date in the text introduced by "from", "by", "as of" and the like."""
    for at, day in dated_spans(text):
        if (introduced or _FROM).search(text[:at]):
            return day
    return None


def _instrument(sentence: str, role: str, instruments: dict[str, Instrument]) -> str | None:
    """The instrument named nearest the duty's role in the sentence; else, when the sentence
    refers to "the Act" (regulation, law, code) and the item names one instrument, that one."""
    hits = name_hits(sentence, list(instruments.values()))
    if hits:
        at = sentence.lower().find(role.lower())
        return min(hits, key=lambda hit: abs(hit.start - at)).instrument_id
    if len(instruments) == 1 and _REFERENCE.search(sentence):
        return next(iter(instruments))
    return None


def _curated(instrument: Instrument, who: str, control: str, when: date) -> bool:
    return any(
        obligation.control == control
        and obligation.from_date == when
        and (who in obligation.who or "any" in obligation.who)
        for obligation in instrument.obligations
    )
