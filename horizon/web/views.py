"""What pages and the API both answer: an item with its tags and verdicts, every source that
reported it, its provenance, and the team's triage, flags, comments and audit trail; and a
learner's evidence log."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from horizon.config import ConfigError, Source
from horizon.digest import Digest, Week, WeekError, build_digest
from horizon.item import Item
from horizon.provenance import Provenance, provenance_of
from horizon.readiness.facts import readiness_context
from horizon.state import StateDB
from horizon.web.context import WebContext
from horizon.workspace import InvalidField, NotFound, Workspace, build_evidence, render_evidence
from horizon.workspace.evidence import (
    EARLIEST_DAY,
    FORMATS,
    LATEST_DAY,
    EvidenceFormat,
    period_problem,
)
from horizon.workspace.models import AuditEntry, Comment, Flag, TagVerdict, TriageRecord


class ReportView(BaseModel):
    """One source's report of the item."""

    model_config = ConfigDict(frozen=True)

    reported_id: str
    source: str | None
    publisher: str
    url: str | None
    title: str
    content_hash: str
    how: str


class ItemView(BaseModel):
    """An item with everything the workspace knows about it."""

    model_config = ConfigDict(frozen=True)

    item: Item
    first_seen: datetime
    last_seen: datetime
    reports: list[ReportView]
    triage: TriageRecord
    flags: list[Flag]
    comments: list[Comment]
    verdicts: list[TagVerdict]
    audit: list[AuditEntry]
    provenance: Provenance | None = None

    def verdict_on(self, control: str) -> TagVerdict | None:
        return next((verdict for verdict in self.verdicts if verdict.control == control), None)

    @property
    def added_controls(self) -> list[TagVerdict]:
        """Controls the classifier did not give but an analyst confirmed."""
        tagged = set(self.item.tags.control_ids()) if self.item.tags else set()
        return [v for v in self.verdicts if v.confirmed and v.control not in tagged]


def item_view(state: StateDB, workspace: Workspace, item_id: str) -> ItemView:
    stored = state.get_items([item_id]).get(item_id)
    if stored is None:
        raise NotFound(f"there is no item '{item_id}'")
    return ItemView(
        item=stored.item,
        first_seen=stored.first_seen,
        last_seen=stored.last_seen,
        reports=[
            ReportView(
                reported_id=report.reported_id,
                source=report.source,
                publisher=report.publisher,
                url=report.url,
                title=report.title,
                content_hash=report.content_hash,
                how=report.how,
            )
            for report in stored.reports
        ],
        triage=workspace.triage(item_id),
        flags=workspace.flags(item_id=item_id),
        comments=workspace.comments(item_id),
        verdicts=workspace.verdicts(item_id=item_id),
        audit=workspace.audit(item_id=item_id),
        provenance=provenance_of(state, [stored.item]).get(item_id),
    )


def configured_sources(ctx: WebContext) -> tuple[list[Source], str]:
    """The sources file's sources, or none and what is wrong with the file: a digest or a log
    without coverage still shows the team's work, and the page says what is missing."""
    try:
        return list(ctx.runtime.sources.sources), ""
    except ConfigError as error:
        return [], "; ".join(error.problems)


def week_digest(ctx: WebContext, week: str) -> tuple[Digest, str]:
    """The digest of an ISO week (InvalidField names a bad `week`), with the impact levels and
    at-a-glance box the published digest has, and any problem with the sources file (or the
    instruments, organisation or inventory files) that leaves it incomplete."""
    try:
        chosen = Week.parse(week)
    except WeekError as error:
        raise InvalidField("week", str(error)) from None
    if not EARLIEST_DAY <= chosen.start.date() <= LATEST_DAY:
        raise InvalidField("week", f"a week between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}")
    sources, problem = configured_sources(ctx)
    state = ctx.runtime.store.state
    try:
        context = readiness_context(ctx.runtime.settings, state)
    except ConfigError as error:
        context = None
        problem = "; ".join(filter(None, [problem, *error.problems]))
    return build_digest(state, chosen, sources, context=context), problem


def evidence_document(
    ctx: WebContext,
    user_name: str,
    start: str | None,
    end: str | None,
    fmt: str | None,
    attachment: bool,
) -> Response:
    """A learner's evidence log from `start` to `end` (ISO dates, both included) as md, csv,
    html or json; InvalidField names a bad `from`, `to` or `format`."""
    first, last, chosen = evidence_period(start, end, fmt)
    sources, _ = configured_sources(ctx)
    log = build_evidence(
        ctx.workspace,
        user_name,
        first,
        last,
        [source for source in sources if source.enabled],
        ctx.runtime.settings.digests_dir,
        ctx.control_ksbs,
    )
    media = {
        "md": "text/markdown",
        "csv": "text/csv",
        "html": "text/html",
        "json": "application/json",
    }[chosen]
    headers = {}
    if attachment:
        filename = quote(f"horizon-evidence-{user_name}-{first}-{last}.{chosen}")
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(
        render_evidence(log, chosen), media_type=f"{media}; charset=utf-8", headers=headers
    )


def evidence_period(
    start: str | None, end: str | None, fmt: str | None
) -> tuple[date, date, EvidenceFormat]:
    """Validated (from, to, format); InvalidField names the field that is wrong."""
    dates = []
    for name, value in (("from", start), ("to", end)):
        try:
            dates.append(date.fromisoformat(value or ""))
        except ValueError:
            raise InvalidField(name, "a date like 2025-09-30") from None
    problem = period_problem(dates[0], dates[1])
    if problem is not None:
        raise InvalidField(*problem)
    for known in FORMATS:
        if fmt == known:
            return dates[0], dates[1], known
    raise InvalidField("format", f"use one of {', '.join(FORMATS)}")
