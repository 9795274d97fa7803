"""The workspace's readiness pages: instruments and their timelines, the proposals an analyst
confirms or rejects (stage changes, obligations stated by items, supplier impact flags), the
readiness tracker with its CSV and iCalendar downloads, and the supplier watch. Like the other
pages: signed in to read, CSRF-checked forms, every change through `Workspace` or
`horizon.workspace.suppliers` (role check and audit entry), POST → redirect → GET."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from horizon.instruments.catalogue import STAGES
from horizon.instruments.obligation_proposals import StoredObligation
from horizon.instruments.proposals import Decision
from horizon.readiness.supplier_flags import SupplierFlagProposal, SupplierFlagProposals
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
    obligation_records,
    parse_day,
    proposal_records,
    readiness_csv_text,
    readiness_ics,
    readiness_rows,
    supplier_hits,
    supplier_records,
)
from horizon.workspace import Session
from horizon.workspace.errors import InvalidField
from horizon.workspace.models import (
    ObligationConfirmRequest,
    RejectRequest,
    StageDecisionRequest,
    SupplierConfirmRequest,
)
from horizon.workspace.records import MAX_SQL_INT
from horizon.workspace.suppliers import (
    confirm_flag_proposal,
    flag_request,
    open_proposal,
    reject_flag_proposal,
)

router = APIRouter(include_in_schema=False)
Decided = TypeVar("Decided", StoredObligation, SupplierFlagProposal)
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
        obligations=obligation_records(
            files,
            state,
            [
                each
                for each in ctx.workspace.obligation_proposals("proposed")
                if each.instrument_id == instrument_id
            ],
        ),
    )


# ----- proposals: stage changes, obligations, supplier impact flags -------------------------


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
    obligations = ctx.workspace.obligation_proposals()
    suppliers = SupplierFlagProposals(state).find()
    return ctx.page(
        request,
        "proposals.html",
        session,
        status_code=status_code,
        proposals=proposal_records(
            files, state, [proposal for proposal in every if proposal.status == "proposed"]
        ),
        decided=proposal_records(files, state, decided[:100]),
        obligations=obligation_records(
            files, state, [each for each in obligations if each.status == "proposed"]
        ),
        decided_obligations=obligation_records(files, state, _latest_decided(obligations)),
        suppliers=supplier_records(
            state, [each for each in suppliers if each.status == "proposed"]
        ),
        decided_suppliers=supplier_records(state, _latest_decided(suppliers)),
        **values,
    )


def _latest_decided(proposals: Sequence[Decided]) -> list[Decided]:
    """The last hundred decided proposals, latest first."""
    decided = [each for each in proposals if each.decided_at is not None]
    return sorted(decided, key=lambda each: each.decided_at or datetime.min, reverse=True)[:100]


@router.post("/proposals/{proposal_id}/{action}", response_class=HTMLResponse)
def decide_proposal(
    request: Request, proposal_id: ProposalId, action: str, ctx: Ctx, files: Files, form: Posted
) -> Response:
    """Confirm or reject a stage proposal with a rationale, then back to the page it was on
    (the proposals page, or the instrument's timeline)."""

    def decide(session: Session) -> None:
        ctx.workspace.decide_stage(
            session.user,
            proposal_id,
            _decision(action),
            parse_form(StageDecisionRequest, form),
        )

    return _decided(request, ctx, files, form, f"decide-{proposal_id}", decide)


@router.post("/obligation-proposals/{proposal_id}/{action}", response_class=HTMLResponse)
def decide_obligation(
    request: Request, proposal_id: ProposalId, action: str, ctx: Ctx, files: Files, form: Posted
) -> Response:
    """Confirm an obligation stated by an item (optionally under another control) or reject
    it with a rationale, then back to the page it was on."""

    def decide(session: Session) -> None:
        if _decision(action) == "confirmed":
            ctx.workspace.confirm_obligation(
                session.user, proposal_id, parse_form(ObligationConfirmRequest, form)
            )
        else:
            ctx.workspace.reject_obligation(
                session.user, proposal_id, parse_form(RejectRequest, form)
            )

    return _decided(request, ctx, files, form, f"obligation-{proposal_id}", decide)


@router.post("/supplier-proposals/{proposal_id}/{action}", response_class=HTMLResponse)
def decide_supplier(
    request: Request, proposal_id: ProposalId, action: str, ctx: Ctx, files: Files, form: Posted
) -> Response:
    """Raise the impact flag a supplier retirement proposes (the proposal's defaults; the
    rationale, when given, replaces what-retires-when) or reject it with a rationale."""

    def decide(session: Session) -> None:
        store = SupplierFlagProposals(ctx.runtime.store.state)
        if _decision(action) == "confirmed":
            given = parse_form(SupplierConfirmRequest, form, lists=("controls",))
            flag = flag_request(open_proposal(store, proposal_id), given)
            confirm_flag_proposal(store, proposal_id, ctx.workspace, session.user, flag)
        else:
            rejected = parse_form(RejectRequest, form)
            reject_flag_proposal(
                store, proposal_id, ctx.workspace, session.user, rejected.rationale
            )

    return _decided(request, ctx, files, form, f"supplier-{proposal_id}", decide)


def _decision(action: str) -> Decision:
    decision = DECISIONS.get(action)
    if decision is None:
        raise InvalidField("action", "confirm or reject")
    return decision


def _decided(
    request: Request,
    ctx: WebContext,
    files: ReadinessFiles,
    form: FormData,
    form_name: str,
    decide: Callable[[Session], None],
) -> Response:
    """Run a decision posted from a form: back to the page it came from, or the proposals page
    again with the form's errors (422)."""
    return_to = safe_return(str(form.get("next") or ""), "/proposals")
    session = ctx.form_session(request, form, return_to, form_name)
    try:
        decide(session)
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
        obligations=obligation_records(
            files, ctx.runtime.store.state, ctx.workspace.obligation_proposals("proposed")
        ),
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
    state = ctx.runtime.store.state
    hits = supplier_hits(files, state)
    proposals = supplier_records(state, SupplierFlagProposals(state).find())
    return ctx.page(
        request,
        "suppliers.html",
        session,
        systems=files.systems,
        by_vendor=[
            (vendor, list(group)) for vendor, group in groupby(hits, lambda hit: hit.vendor)
        ],
        endings=endings(hits),
        flag_proposals={(each["item_id"], each["system_id"]): each for each in proposals},
    )


@router.get("/suppliers.ics")
def suppliers_ics_download(request: Request, ctx: Ctx, files: Files) -> Response:
    ctx.page_session(request)
    hits = supplier_hits(files, ctx.runtime.store.state)
    return _download(
        supplier_calendar(hits, datetime.now(UTC)), "text/calendar", "horizon-suppliers.ics"
    )
