"""Is a development an opportunity or a risk for the organisation? A board briefing must be
balanced: sandboxes, funding, simplification, guidance that clarifies, standards that enable
certification, more time and new vendor capability are opportunities; new obligations,
enforcement, deadlines, stage changes that make duties apply and supplier retirements are
risks. Each side collects its reasons (the phrase or fact that decided); the side with more
reasons wins, a tie counts as a risk (the prudent reading). Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from horizon.instruments.stages import StageProposal
from horizon.readiness.impact import Impact
from horizon.readiness.suppliers import SupplierHit

Side = Literal["opportunity", "risk"]

_OPPORTUNITY_TEXT: tuple[tuple[str, str], ...] = (
    ("a regulatory sandbox", r"\bsandbox(es)?\b"),
    ("funding", r"\b(funding|grants?|innovation fund)\b"),
    (
        "simplification",
        r"\bsimplif(y|ies|ied|ication)\b|\breduc(e|es|ed|ing) (the )?"
        r"(administrative |regulatory |compliance |reporting )?burdens?\b",
    ),
    (
        "guidance that clarifies",
        r"\bclarif(y|ies|ied|ication|ications)\b|\bFAQs?\b|\bfrequently asked questions\b",
    ),
    (
        "a standard that enables certification",
        r"\bcertif(y|ied|iable|ication)\b|\bharmoni[sz]ed standards?\b",
    ),
    ("more time", r"\b(delay(s|ed)?|postpone(s|d)?|grace period|push(es|ed)? back)\b"),
    (
        "new vendor capability",
        r"\b(now available|generally available|general availability|new (model|feature|"
        r"capabilit(y|ies)))\b",
    ),
)
_RISK_TEXT: tuple[tuple[str, str], ...] = (
    ("a new obligation", r"\b(must|shall|are required to|is required to|obligations? on)\b"),
    (
        "enforcement",
        r"\b(fined?|fines|penalt(y|ies)|enforcement (action|notice)|investigat(es|ed|ion|ing)"
        r"|sanctions?|prohibit(s|ed)?|banned)\b",
    ),
)
_OPPORTUNITIES = tuple(
    (label, re.compile(text, re.IGNORECASE)) for label, text in _OPPORTUNITY_TEXT
)
_RISKS = tuple((label, re.compile(text, re.IGNORECASE)) for label, text in _RISK_TEXT)
_DUTY_STAGES = frozenset({"adopted", "in-force"})
_LOSS_KINDS = frozenset({"retirement", "deprecation", "terms"})


@dataclass(frozen=True)
class Outlook:
    """The side a development falls on, its reasons, and what speaks for the other side."""

    side: Side
    reasons: tuple[str, ...]
    against: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        said = "; ".join(self.reasons)
        return f"{said} (but: {'; '.join(self.against)})" if self.against else said


def _phrases(text: str, cues: Sequence[tuple[str, re.Pattern[str]]]) -> list[str]:
    found = []
    for label, pattern in cues:
        match = pattern.search(text)
        if match:
            found.append(f"{label} (“{match.group(0)}”)")
    return found


def classify_development(
    title: str,
    summary: str,
    item_type: str,
    impact: Impact,
    stage_changes: Sequence[StageProposal] = (),
    supplier_hits: Sequence[SupplierHit] = (),
) -> Outlook:
    """Opportunity or risk, with the reasons of the side that won."""
    text = f"{title}. {summary}"
    opportunity = _phrases(text, _OPPORTUNITIES)
    risk = _phrases(text, _RISKS)
    if item_type == "enforcement" and not any(reason.startswith("enforcement") for reason in risk):
        risk.append("enforcement (type)")
    for change in stage_changes:
        if change.stage in _DUTY_STAGES:
            risk.append(f"{change.instrument_id} {change.stage}: its duties start to apply")
    for hit in supplier_hits:
        target = risk if hit.kind in _LOSS_KINDS else opportunity
        when = f" on {hit.date.isoformat()}" if hit.date else ""
        target.append(f"{hit.kind} of {hit.vendor} {hit.model}{when} affects {hit.system_name}")
    risk += [reason for reason in impact.reasons if reason.startswith(("deadline", "effective"))]
    if len(opportunity) > len(risk):
        return Outlook("opportunity", tuple(opportunity), tuple(risk))
    return Outlook("risk", tuple(risk) or (f"impact {impact.level}",), tuple(opportunity))
