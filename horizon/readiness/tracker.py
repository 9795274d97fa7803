"""The readiness tracker: per control, the obligations that apply to the organisation, their
dates, and a status (not-started, in-progress, ready) from the team's own decisions.

Evidence is the items linked to the obligation's instrument: the flags on such an item that
cover the obligation's control, else (no such flag) its triage state when the item is tagged
with that control. Any open flag or item `under-review`/`impact` makes the obligation in
progress; otherwise a closed flag or an item `actioned`/`closed` makes it ready. Pure
functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from horizon.instruments.catalogue import Instrument, Obligation
from horizon.readiness.profile import Organisation

Status = Literal["not-started", "in-progress", "ready"]
_READY_TRIAGE = frozenset({"actioned", "closed"})
_WORKING_TRIAGE = frozenset({"under-review", "impact"})


@dataclass(frozen=True)
class FlagFact:
    """An impact flag as the tracker needs it."""

    item_id: str
    controls: frozenset[str]
    status: Literal["open", "closed"]


@dataclass(frozen=True)
class ReadinessRow:
    control: str
    instrument_id: str
    instrument_name: str
    obligation_id: str
    who: tuple[str, ...]
    what: str
    from_date: date | None
    articles: tuple[str, ...]
    status: Status
    reasons: tuple[str, ...] = field(default=())


def applies(obligation: Obligation, instrument: Instrument, organisation: Organisation) -> bool:
    """An obligation applies where the organisation operates in the instrument's jurisdiction
    and plays one of the roles named (or the obligation is on anyone)."""
    if not organisation.operates_in(instrument.jurisdiction):
        return False
    return "any" in obligation.who or bool(set(obligation.who) & set(organisation.roles))


def obligation_status(
    control: str,
    linked_items: Iterable[str],
    item_controls: Mapping[str, set[str]],
    triage: Mapping[str, str],
    flags: Sequence[FlagFact],
) -> tuple[Status, tuple[str, ...]]:
    """The status of one obligation from the flags and triage of its instrument's items."""
    ready: list[str] = []
    working: list[str] = []
    for item_id in linked_items:
        covering = [f for f in flags if f.item_id == item_id and control in f.controls]
        if covering:
            for flag in covering:
                target = ready if flag.status == "closed" else working
                target.append(f"{flag.status} flag on item {item_id}")
        elif control in item_controls.get(item_id, set()):
            state = triage.get(item_id, "new")
            if state in _READY_TRIAGE:
                ready.append(f"item {item_id} triaged {state}")
            elif state in _WORKING_TRIAGE:
                working.append(f"item {item_id} triaged {state}")
    if working:
        return "in-progress", tuple(working + ready)
    if ready:
        return "ready", tuple(ready)
    return "not-started", ()


def readiness(
    instruments: Sequence[Instrument],
    organisation: Organisation,
    links: Mapping[str, set[str]],
    item_controls: Mapping[str, set[str]],
    triage: Mapping[str, str],
    flags: Sequence[FlagFact],
) -> list[ReadinessRow]:
    """Every applicable obligation, by control then date. `links` maps an instrument id to the
    ids of the items linked to it."""
    rows = []
    for instrument in instruments:
        for obligation in instrument.obligations:
            if not applies(obligation, instrument, organisation):
                continue
            status, reasons = obligation_status(
                obligation.control,
                sorted(links.get(instrument.id, set())),
                item_controls,
                triage,
                flags,
            )
            rows.append(
                ReadinessRow(
                    control=obligation.control,
                    instrument_id=instrument.id,
                    instrument_name=instrument.name,
                    obligation_id=obligation.id,
                    who=tuple(obligation.who),
                    what=obligation.what,
                    from_date=obligation.from_date,
                    articles=tuple(obligation.articles),
                    status=status,
                    reasons=reasons,
                )
            )
    return sorted(rows, key=lambda row: (row.control, row.from_date or date.max, row.instrument_id))


def applies_within(rows: Sequence[ReadinessRow], today: date, days: int) -> list[ReadinessRow]:
    """Obligations that start applying in the next `days` days, soonest first."""
    soon = [
        row
        for row in rows
        if row.from_date is not None and 0 <= (row.from_date - today).days <= days
    ]
    return sorted(soon, key=lambda row: (row.from_date or date.max, row.control))


def due_within(rows: Sequence[ReadinessRow], today: date, days: int) -> list[ReadinessRow]:
    """Obligations that start applying in the next `days` days and are not ready."""
    return [row for row in applies_within(rows, today, days) if row.status != "ready"]
