"""The JSON API of the readiness pages: instruments and their timelines, stage, obligation and
supplier flag proposals (to confirm or reject, analysts and admins), the readiness tracker
(JSON, CSV, iCalendar) and the supplier watch. Same conventions as `horizon.web.api`: a
bearer token acting with its owner's role, 422 naming a bad field, 403 for a refused role,
404 and 409 with a plain message."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from horizon.instruments.proposals import Decision
from horizon.readiness.export import row_json
from horizon.readiness.supplier_flags import SupplierFlagProposals
from horizon.readiness.suppliers import hit_json, supplier_calendar
from horizon.web.api import Caller, Ctx
from horizon.web.context import WebContext
from horizon.web.readiness_views import (
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
from horizon.workspace.models import (
    ObligationConfirmRequest,
    RejectRequest,
    StageDecisionRequest,
    SupplierConfirmRequest,
    User,
)
from horizon.workspace.records import MAX_SQL_INT
from horizon.workspace.suppliers import (
    confirm_flag_proposal,
    flag_request,
    open_proposal,
    reject_flag_proposal,
)

router = APIRouter(prefix="/api/v1", tags=["readiness"])
ProposalId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]
OnDay = Annotated[
    str | None, Query(max_length=20, description="As on this day (YYYY-MM-DD); default today")
]


def _files(request: Request) -> ReadinessFiles:
    files: ReadinessFiles = request.app.state.readiness
    return files


Files = Annotated[ReadinessFiles, Depends(_files)]


@router.get("/instruments", summary="Instruments with their stage and next milestone")
def instruments(
    ctx: Ctx,
    files: Files,
    caller: Caller,
    on: OnDay = None,
    jurisdiction: Annotated[str | None, Query(max_length=20)] = None,
    stage: Annotated[str | None, Query(max_length=20)] = None,
) -> list[dict[str, Any]]:
    """As `horizon instruments --json`: id, name, jurisdiction, kind, stage, stage_date,
    next_milestone ({date, applies, articles} or null), obligations (how many). `jurisdiction`
    (US also matches US-CO) and `stage` narrow the list."""
    return instrument_rows(files, ctx.runtime.store.state, parse_day(on), jurisdiction, stage)


@router.get("/instruments/{instrument_id}", summary="One instrument's timeline")
def instrument(
    instrument_id: str, ctx: Ctx, files: Files, caller: Caller, on: OnDay = None
) -> dict[str, Any]:
    """The list line's fields, description, url, obligations (id, control, who, what, from,
    articles), timeline (date, kind: stage | milestone | item, text; items also item_id, url,
    evidence and, when they propose one, proposes) and its open stage proposals."""
    return instrument_detail(files, ctx.runtime.store.state, instrument_id, parse_day(on))


@router.get("/proposals", summary="Stage changes proposed from items")
def proposals(
    ctx: Ctx,
    files: Files,
    caller: Caller,
    status: Literal["proposed", "confirmed", "rejected"] | None = None,
) -> list[dict[str, Any]]:
    """Every proposal (or those with `status`), oldest first: id, instrument, instrument_name,
    item_id, item_title, stage, date, cue, evidence, status, decided_by, decided_at,
    rationale."""
    found = ctx.workspace.stage_proposals(status)
    return proposal_records(files, ctx.runtime.store.state, found)


def _decide(
    ctx: WebContext,
    files: ReadinessFiles,
    caller: User,
    proposal_id: int,
    decision: Decision,
    body: StageDecisionRequest,
) -> dict[str, Any]:
    decided = ctx.workspace.decide_stage(caller, proposal_id, decision, body)
    return proposal_records(files, ctx.runtime.store.state, [decided])[0]


@router.post("/proposals/{proposal_id}/confirm", summary="Confirm a stage change (analyst)")
def confirm_proposal(
    proposal_id: ProposalId, body: StageDecisionRequest, ctx: Ctx, files: Files, caller: Caller
) -> dict[str, Any]:
    """The stage joins the instrument's history; `rationale` says why. 409 when the proposal
    was decided already."""
    return _decide(ctx, files, caller, proposal_id, "confirmed", body)


@router.post("/proposals/{proposal_id}/reject", summary="Reject a stage change (analyst)")
def reject_proposal(
    proposal_id: ProposalId, body: StageDecisionRequest, ctx: Ctx, files: Files, caller: Caller
) -> dict[str, Any]:
    """The proposal stays on record as rejected, with the `rationale`."""
    return _decide(ctx, files, caller, proposal_id, "rejected", body)


Status = Literal["proposed", "confirmed", "rejected"]


@router.get("/obligation-proposals", summary="Obligations stated by items, to confirm")
def obligation_proposals(
    ctx: Ctx, files: Files, caller: Caller, status: Status | None = None
) -> list[dict[str, Any]]:
    """Every obligation proposal (or those with `status`), oldest first: id, instrument,
    instrument_name, item_id, item_title, control, who, what, from, evidence, status,
    proposed_at, decided_by, decided_at, rationale."""
    found = ctx.workspace.obligation_proposals(status)
    return obligation_records(files, ctx.runtime.store.state, found)


@router.post(
    "/obligation-proposals/{proposal_id}/confirm", summary="Confirm an obligation (analyst)"
)
def confirm_obligation(
    proposal_id: ProposalId,
    body: ObligationConfirmRequest,
    ctx: Ctx,
    files: Files,
    caller: Caller,
) -> dict[str, Any]:
    """The obligation joins its instrument's and the readiness tracker, under `control` when
    given (a control of the catalogue); `rationale` is optional. 409 when decided already."""
    decided = ctx.workspace.confirm_obligation(caller, proposal_id, body)
    return obligation_records(files, ctx.runtime.store.state, [decided])[0]


@router.post("/obligation-proposals/{proposal_id}/reject", summary="Reject an obligation (analyst)")
def reject_obligation(
    proposal_id: ProposalId, body: RejectRequest, ctx: Ctx, files: Files, caller: Caller
) -> dict[str, Any]:
    """The proposal stays on record as rejected, with the `rationale` (required)."""
    decided = ctx.workspace.reject_obligation(caller, proposal_id, body)
    return obligation_records(files, ctx.runtime.store.state, [decided])[0]


@router.get("/supplier-proposals", summary="Impact flags proposed by supplier retirements")
def supplier_proposals(
    ctx: Ctx, caller: Caller, status: Status | None = None
) -> list[dict[str, Any]]:
    """Every supplier flag proposal (or those with `status`), oldest first: id, item_id,
    item_title, system_id, system_name, owner, controls, vendor, model, kind, date, evidence,
    status, proposed_at, decided_by, decided_at, note (the rationale) and flag_id."""
    state = ctx.runtime.store.state
    return supplier_records(state, SupplierFlagProposals(state).find(status))


@router.post(
    "/supplier-proposals/{proposal_id}/confirm", summary="Raise the proposed impact flag (analyst)"
)
def confirm_supplier(
    proposal_id: ProposalId, body: SupplierConfirmRequest, ctx: Ctx, caller: Caller
) -> dict[str, Any]:
    """Raises an impact flag on the vendor's item: the system's controls and owner, severity
    high, due on the retirement date, what retires when as the rationale, unless the body
    says otherwise. Answers `proposal` and `flag`. 409 when decided already."""
    state = ctx.runtime.store.state
    store = SupplierFlagProposals(state)
    request = flag_request(open_proposal(store, proposal_id), body)
    decided, flag = confirm_flag_proposal(store, proposal_id, ctx.workspace, caller, request)
    return {
        "proposal": supplier_records(state, [decided])[0],
        "flag": flag.model_dump(mode="json"),
    }


@router.post(
    "/supplier-proposals/{proposal_id}/reject", summary="Decline a proposed flag (analyst)"
)
def reject_supplier(
    proposal_id: ProposalId, body: RejectRequest, ctx: Ctx, caller: Caller
) -> dict[str, Any]:
    """The proposal stays on record as rejected, with the `rationale` (required) as its note."""
    state = ctx.runtime.store.state
    store = SupplierFlagProposals(state)
    decided = reject_flag_proposal(store, proposal_id, ctx.workspace, caller, body.rationale)
    return supplier_records(state, [decided])[0]


@router.get("/readiness", summary="Obligations that apply, with dates and status")
def readiness(ctx: Ctx, files: Files, caller: Caller) -> list[dict[str, Any]]:
    """As `horizon readiness --json`: control, instrument, obligation, who, what, from,
    articles, status (not-started, in-progress, ready) and reasons; by control then date."""
    return [row_json(row) for row in readiness_rows(files, ctx.runtime.store.state)]


@router.get(
    "/readiness.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The readiness table as CSV",
)
def readiness_as_csv(ctx: Ctx, files: Files, caller: Caller) -> Response:
    return Response(
        readiness_csv_text(files, ctx.runtime.store.state), media_type="text/csv; charset=utf-8"
    )


@router.get(
    "/readiness.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="The dates obligations apply from, as iCalendar",
)
def readiness_as_ics(ctx: Ctx, files: Files, caller: Caller) -> Response:
    return Response(
        readiness_ics(files, ctx.runtime.store.state), media_type="text/calendar; charset=utf-8"
    )


@router.get("/suppliers", summary="The inventory and the vendor changes that affect it")
def suppliers(ctx: Ctx, files: Files, caller: Caller) -> dict[str, Any]:
    """`systems` (the inventory), `hits` (as `horizon suppliers --json`, by vendor then date)
    and `retirements` (dated retirements and deprecations, soonest first)."""
    hits = supplier_hits(files, ctx.runtime.store.state)
    return {
        "systems": [system.model_dump(mode="json") for system in files.systems],
        "hits": [hit_json(hit) for hit in hits],
        "retirements": [hit_json(hit) for hit in endings(hits)],
    }


@router.get(
    "/suppliers.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
    summary="Dated supplier changes as iCalendar",
)
def suppliers_as_ics(ctx: Ctx, files: Files, caller: Caller) -> Response:
    hits = supplier_hits(files, ctx.runtime.store.state)
    return Response(
        supplier_calendar(hits, datetime.now(UTC)), media_type="text/calendar; charset=utf-8"
    )
