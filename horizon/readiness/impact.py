"""Impact, separate from relevance: how much an item asks of the organisation (low, medium,
high), with the reasons, from its type, a stage change it signals, how close its dates are,
the obligations it touches and the systems it affects. Pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from horizon.instruments.stages import StageProposal
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow

Level = Literal["low", "medium", "high"]
HIGH_FROM = 5
MEDIUM_FROM = 3
_TYPE_POINTS = {
    "legislation": 2,
    "enforcement": 2,
    "guidance": 1,
    "consultation": 1,
    "standard": 1,
    "vendor-change": 1,
}
_STAGE_POINTS = {"in-force": 2, "adopted": 2, "amended": 2, "repealed": 2, "proposed": 1}


@dataclass(frozen=True)
class Impact:
    level: Level
    score: int
    reasons: tuple[str, ...]


def _date_points(label: str, day: date | None, today: date) -> tuple[int, str | None]:
    if day is None or day < today:
        return 0, None
    days = (day - today).days
    for within, points in ((30, 3), (90, 2), (180, 1)):
        if days <= within:
            return points, f"{label} {day.isoformat()} is {days} days away"
    return 0, None


def impact_level(
    item_type: str,
    today: date,
    deadline: date | None = None,
    effective: date | None = None,
    stage_changes: Sequence[StageProposal] = (),
    obligations: Sequence[ReadinessRow] = (),
    supplier_hits: Sequence[SupplierHit] = (),
) -> Impact:
    """Points for each reason; 5 or more is high, 3 or more medium, else low. `obligations`
    are the applicable obligations the item touches (its instrument and one of its controls)."""
    score = 0
    reasons: list[str] = []
    type_points = _TYPE_POINTS.get(item_type, 0)
    if type_points:
        score += type_points
        reasons.append(f"type: {item_type}")
    for change in stage_changes:
        score += _STAGE_POINTS[change.stage]
        when = f" on {change.date.isoformat()}" if change.date else ""
        reasons.append(f"stage change: {change.instrument_id} {change.stage}{when}")
    date_points = [
        _date_points("deadline", deadline, today),
        _date_points("effective date", effective, today),
        *(_date_points(f"{hit.kind} date", hit.date, today) for hit in supplier_hits),
    ]
    best_points, best_reason = max(date_points, key=lambda pair: pair[0])
    if best_reason:
        score += best_points
        reasons.append(best_reason)
    if obligations:
        score += 2
        not_ready = [row for row in obligations if row.status != "ready"]
        reasons.append(
            f"touches {len(obligations)} obligation(s) that apply to us ("
            + ", ".join(f"{row.instrument_id} {row.obligation_id}" for row in obligations[:3])
            + f"); {len(not_ready)} not ready"
        )
        if not_ready:
            score += 1
    for hit in supplier_hits:
        score += 3
        when = f" on {hit.date.isoformat()}" if hit.date else ""
        reasons.append(f"{hit.kind} of {hit.vendor} {hit.model}{when} affects {hit.system_name}")
    level: Level = "high" if score >= HIGH_FROM else "medium" if score >= MEDIUM_FROM else "low"
    return Impact(level=level, score=score, reasons=tuple(reasons))
