"""The supplier watch: vendor changes (retirements, deprecations, terms and data-use changes,
region launches) matched to the organisation's AI systems in inventory.yaml.

An item affects a system when it names the system's vendor or product and its model (as a
whole name: "gpt-4o" is not "gpt-4o-mini"), and says what changes. When the item pins the
model to versions and the system's version is not among them, it does not affect the system.
Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Literal

from horizon.calendar import CalendarEvent, build_calendar
from horizon.instruments.linking import sentence_around
from horizon.instruments.stages import dates_in
from horizon.readiness.profile import System

ChangeKind = Literal["retirement", "deprecation", "terms", "region", "change"]
_KIND_TEXT: tuple[tuple[ChangeKind, str], ...] = (
    ("retirement", r"\b(retir(e|es|ed|ing|ement)|shut(s|ting)? down|sunset|end of life)\b"),
    ("deprecation", r"\bdeprecat(e|es|ed|ing|ion)\b"),
    ("terms", r"\b(terms of (use|service)|usage polic(y|ies)|data[- ]use|privacy policy)\b"),
    ("region", r"\b(new regions?|available in|data residency|region launch)\b"),
    ("change", r"\b(price change|pricing change|replac(e|ed|es) by|migrat(e|ion))\b"),
)
_KINDS = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KIND_TEXT)
_VERSION_AFTER = r"(?:[\s(-]+|\s+version\s+)(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})\b"


@dataclass(frozen=True)
class SupplierHit:
    """An item that affects one of our systems: what changes, from when, and why we think so."""

    item_id: str
    title: str
    url: str | None
    system_id: str
    system_name: str
    vendor: str
    model: str
    kind: ChangeKind
    date: date | None
    evidence: str
    matched: str

    def summary(self) -> dict[str, str | None]:
        """What the digest's at-a-glance box and the run summary say of the hit."""
        return {
            "vendor": self.vendor,
            "model": self.model,
            "kind": self.kind,
            "date": self.date.isoformat() if self.date else None,
            "affects": self.system_name,
            "item_id": self.item_id,
        }


def _whole(name: str) -> re.Pattern[str]:
    body = r"[\s-]*".join(re.escape(part) for part in re.split(r"[\s-]+", name.strip()))
    # A hyphen may go on to a version ("claude-3-5-sonnet-20241022"), not to another name
    # ("gpt-4o-mini").
    return re.compile(rf"(?<![\w.-]){body}(?![\w]|-(?!\d{{4}})\w|\.\d)", re.IGNORECASE)


def change_kind(text: str) -> tuple[ChangeKind, re.Match[str]] | None:
    """The first kind of vendor change the text talks about, and where."""
    for kind, pattern in _KINDS:
        match = pattern.search(text)
        if match:
            return kind, match
    return None


def _version_allows(system: System, text: str) -> tuple[bool, bool]:
    """(whether the text allows the system's version, whether it names it)."""
    if not system.version:
        return True, False
    if re.search(rf"(?<![\w-]){re.escape(system.version)}(?![\w])", text):
        return True, True
    pinned = re.findall(_whole(system.model).pattern + _VERSION_AFTER, text, re.IGNORECASE)
    if system.version in pinned:
        return True, True
    return not pinned, False


def match_item(
    item_id: str,
    title: str,
    summary: str,
    url: str | None,
    publisher: str,
    systems: Sequence[System],
) -> list[SupplierHit]:
    """The systems one item affects."""
    text = f"{title}. {summary}" if summary else title
    found = change_kind(text)
    if found is None:
        return []
    kind, _ = found
    hits = []
    for system in systems:
        supplier_named = any(
            name and (_whole(name).search(text) or _whole(name).search(publisher))
            for name in (system.vendor, system.product)
        )
        target = system.model or system.product
        model = _whole(target).search(text) if target else None
        if not supplier_named or model is None:
            continue
        allowed, version_named = _version_allows(system, text)
        if not allowed:
            continue
        when, sentence = _change_date(text, kind, system.version)
        hits.append(
            SupplierHit(
                item_id=item_id,
                title=title,
                url=url,
                system_id=system.id,
                system_name=system.name,
                vendor=system.vendor,
                model=target,
                kind=kind,
                date=when,
                evidence=sentence,
                matched=model.group(0) + (f" {system.version}" if version_named else ""),
            )
        )
    return hits


def _change_date(text: str, kind: ChangeKind, version: str) -> tuple[date | None, str]:
    """The first date written after a cue of this kind in the cue's sentence, else the first
    date in the item (a model's version date is never a change date); and the cue's sentence."""
    pattern = dict(_KINDS)[kind]
    first_sentence = ""
    for cue in pattern.finditer(text):
        sentence = sentence_around(text, cue.start(), cue.end())
        first_sentence = first_sentence or sentence
        after = sentence[sentence.lower().find(cue.group(0).lower()) :]
        days = dates_in(after.replace(version, "") if version else after)
        if days:
            return days[0], sentence
    anywhere = dates_in(text.replace(version, "") if version else text)
    return (anywhere[0] if anywhere else None), first_sentence


def hit_json(hit: SupplierHit) -> dict[str, Any]:
    """A hit as `horizon suppliers --json` and the web API give it."""
    record = asdict(hit)
    record["date"] = hit.date.isoformat() if hit.date else None
    record["affects"] = hit.system_name
    return record


def supplier_calendar(hits: Iterable[SupplierHit], stamped: datetime) -> bytes:
    """The dated changes as all-day calendar events; a hit keeps its UID across exports."""
    events = [
        CalendarEvent(
            uid=f"{hit.item_id}.{hit.system_id}@horizon-suppliers",
            day=hit.date,
            summary=f"{hit.vendor} {hit.model}: {hit.kind} (affects {hit.system_name})",
            description=hit.evidence,
            url=hit.url,
            categories=("supplier", hit.kind),
        )
        for hit in hits
        if hit.date is not None
    ]
    return build_calendar(events, "Horizon supplier changes", stamped)


def supplier_timeline(hits: Iterable[SupplierHit]) -> list[SupplierHit]:
    """Hits by vendor, then by date (undated last)."""
    return sorted(hits, key=lambda hit: (hit.vendor, hit.date or date.max, hit.item_id))
