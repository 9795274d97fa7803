"""The workspace's readiness pages: instruments and their timelines, stage proposals an analyst
confirms or rejects, the readiness tracker with its CSV and iCalendar downloads, and the
supplier watch. Like the other pages: signed in to read, CSRF-checked forms, every change
through `Workspace` (role check and audit entry), POST → redirect → GET."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from horizon.instruments.catalogue import STAGES
from horizon.instruments.proposals import Decision
from horizon.readiness.suppliers import supplier_calendar
from horizon.web.context import FormInvalid, WebContext, kept, safe_return
from horizon.web.forms import parse_form
from horizon.web.pages import Ctx, Posted
from horizon.web.readiness_views import (
    STATUS_LABELS,
    ReadinessFiles,
    endings,
    instrument_detail,
    instrument_rows,
    parse_day,
    proposal_records,
    readiness_csv_text,
    readiness_ics,
    readiness_rows,
    supplier_hits,
)
from horizon.workspace import Session
from horizon.workspace.errors import InvalidField
from horizon.workspace.models import StageDecisionRequest
from horizon.workspace.records import MAX_SQL_INT

router = APIRouter(include_in_schema=False)
ProposalId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]
DECISIONS: dict[str, Decision] = {"confirm": "confirmed", "reject": "rejected"}


def _files(request: Request) -> ReadinessFiles:
    files: ReadinessFiles = request.app.state.readiness
    return files


Files = Annotated[ReadinessFiles, Depends(_files)]


def _download(body: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ----- instruments -----------------------------------------------------------------------


def _and_country(jurisdiction: str) -> set[str]:
    return {jurisdiction, jurisdiction.split("-")[0]}


@router.get("/instruments", response_class=HTMLResponse)
def instruments_page(
    request: Request, ctx: Ctx, files: Files, jurisdiction: str = "", stage: str = "", on: str = ""
) -> Response:
    session = ctx.page_session(request)
    day = parse_day(on)
    rows = instrument_rows(files, ctx.runtime.store.state, day, jurisdiction, stage)
    return ctx.page(
        request,
        "instruments.html",
        session,
        rows=rows,
        day=day,
        jurisdiction=jurisdiction,
        stage=stage,
        stages=STAGES,
        # A country is offered beside its subdivisions (US with US-CO): it shows them all.
        jurisdictions=sorted(
            {
                part
                for each in files.catalogue.instruments
                for part in _and_country(each.jurisdiction)
            }
        ),
        open_proposals=len(ctx.workspace.stage_proposals("proposed")),
    )


@router.get("/instruments/{instrument_id}", response_class=HTMLResponse)
def instrument_page(
    request: Request, instrument_id: str, ctx: Ctx, files: Files, on: str = ""
) -> Response:
    session = ctx.page_session(request)
    day = parse_day(on)
    state = ctx.runtime.store.state
    detail = instrument_detail(files, state, instrument_id, day)
    open_proposals = [
        proposal
        for proposal in ctx.workspace.stage_proposals("proposed")
        if proposal.instrument_id == instrument_id
    ]
    obligations = sorted(detail["obligations"], key=lambda each: (each["control"], each["id"]))
    return ctx.page(
        request,
        "instrument.html",
        session,
        instrument=detail,
        day=day,
        by_control=[
            (control, list(group))
            for control, group in groupby(obligations, key=lambda each: each["control"])
        ],
        proposals=proposal_records(files, state, open_proposals),
    )


# ----- stage proposals ---------------------------------------------------------------------


@router.get("/proposals", response_class=HTMLResponse)
def proposals_page(request: Request, ctx: Ctx, files: Files) -> Response:
    session = ctx.page_session(request)
    return _proposals_page(ctx, files, request, session)


def _proposals_page(
    ctx: WebContext,
    files: ReadinessFiles,
    request: Request,
    session: Session,
    status_code: int = 200,
    **values: Any,
) -> Response:
    state = ctx.runtime.store.state
    every = ctx.workspace.stage_proposals()
    decided = sorted(
        (proposal for proposal in every if proposal.status != "proposed"),
        key=lambda proposal: proposal.decided_at or proposal.proposed_at,
        reverse=True,
    )
    return ctx.page(
        request,
        "proposals.html",
        session,
        status_code=status_code,
        proposals=proposal_records(
            files, state, [proposal for proposal in every if proposal.status == "proposed"]
        ),
        decided=proposal_records(files, state, decided[:100]),
        **values,
    )


@router.post("/proposals/{proposal_id}/{action}", response_class=HTMLResponse)
def decide_proposal(
    request: Request, proposal_id: ProposalId, action: str, ctx: Ctx, files: Files, form: Posted
) -> Response:
    """Confirm or reject a stage proposal with a rationale, then back to the page it was on
    (the proposals page, or the instrument's timeline)."""
    return_to = safe_return(str(form.get("next") or ""), "/proposals")
    form_name = f"decide-{proposal_id}"
    session = ctx.form_session(request, form, return_to, form_name)
    decision = DECISIONS.get(action)
    if decision is None:
        raise InvalidField("action", "confirm or reject")
    try:
        ctx.workspace.decide_stage(
            session.user,
            proposal_id,
            decision,
            parse_form(StageDecisionRequest, form),
        )
    except FormInvalid as error:
        return _proposals_page(
            ctx,
            files,
            request,
            session,
            status_code=422,
            forms={form_name: kept(form)},
            errors={form_name: error.errors},
        )
    return RedirectResponse(return_to, status_code=303)


# ----- readiness ---------------------------------------------------------------------------


@router.get("/readiness", response_class=HTMLResponse)
def readiness_page(request: Request, ctx: Ctx, files: Files) -> Response:
    session = ctx.page_session(request)
    rows = readiness_rows(files, ctx.runtime.store.state)
    counts = Counter(row.status for row in rows)
    return ctx.page(
        request,
        "readiness.html",
        session,
        organisation=files.organisation,
        rows=rows,
        by_control=[
            (control, list(group)) for control, group in groupby(rows, key=lambda row: row.control)
        ],
        counts=[(label, counts[status]) for status, label in STATUS_LABELS.items()],
        status_labels=STATUS_LABELS,
        names=files.names(),
        today=date.today(),
    )


@router.get("/readiness.csv")
def readiness_csv_download(request: Request, ctx: Ctx, files: Files) -> Response:
    ctx.page_session(request)
    return _download(
        readiness_csv_text(files, ctx.runtime.store.state), "text/csv", "horizon-readiness.csv"
    )


@router.get("/readiness.ics")
def readiness_ics_download(request: Request, ctx: Ctx, files: Files) -> Response:
    ctx.page_session(request)
    return _download(
        readiness_ics(files, ctx.runtime.store.state), "text/calendar", "horizon-readiness.ics"
    )


# ----- suppliers ---------------------------------------------------------------------------


@router.get("/suppliers", response_class=HTMLResponse)
def suppliers_page(request: Request, ctx: Ctx, files: Files) -> Response:
    session = ctx.page_session(request)
    hits = supplier_hits(files, ctx.runtime.store.state)
    return ctx.page(
        request,
        "suppliers.html",
        session,
        systems=files.systems,
        by_vendor=[
            (vendor, list(group)) for vendor, group in groupby(hits, lambda hit: hit.vendor)
        ],
        endings=endings(hits),
    )


@router.get("/suppliers.ics")
def suppliers_ics_download(request: Request, ctx: Ctx, files: Files) -> Response:
    ctx.page_session(request)
    hits = supplier_hits(files, ctx.runtime.store.state)
    return _download(
        supplier_calendar(hits, datetime.now(UTC)), "text/calendar", "horizon-suppliers.ics"
    )
