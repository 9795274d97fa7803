"""Deciding the supplier watch's impact flag proposals as a workspace user: confirming raises a
real impact flag on the vendor's item; rejecting records why none is needed. Both are
role-checked and audited ("supplier.confirm", "supplier.reject"), from the command line and
the web alike."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from horizon.readiness.supplier_flags import (
    SupplierFlagProposal,
    SupplierFlagProposals,
    record_decision_in,
)
from horizon.workspace.errors import Conflict, InvalidField, NotFound
from horizon.workspace.models import Flag, FlagRequest, SupplierConfirmRequest, User
from horizon.workspace.records import require, write_audit
from horizon.workspace.service import Workspace


def open_proposal(store: SupplierFlagProposals, proposal_id: int) -> SupplierFlagProposal:
    """The proposal, if it exists and is still to decide."""
    proposal = store.get(proposal_id)
    if proposal is None:
        raise NotFound(f"there is no supplier flag proposal {proposal_id}")
    if proposal.status != "proposed":
        raise Conflict(f"supplier flag proposal {proposal_id} is already {proposal.status}")
    return proposal


def flag_request(proposal: SupplierFlagProposal, given: SupplierConfirmRequest) -> FlagRequest:
    """The flag a confirmation raises: the proposal's defaults, with what the analyst gave
    instead (as `horizon suppliers confirm` merges its options)."""
    fields = proposal.default_request() | {
        name: value for name, value in given.model_dump().items() if value not in (None, "", [])
    }
    try:
        return FlagRequest.model_validate(fields)
    except ValidationError as error:
        problem = error.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else "form"
        raise InvalidField(field, problem["msg"]) from None


def confirm_flag_proposal(
    store: SupplierFlagProposals,
    proposal_id: int,
    workspace: Workspace,
    actor: User,
    request: FlagRequest,
) -> tuple[SupplierFlagProposal, Flag]:
    """Raise the impact flag on the vendor's item and mark the proposal confirmed, in one
    transaction: a proposal decided meanwhile (another analyst, another tab) raises no flag,
    and a crash between the two leaves neither."""
    before = open_proposal(store, proposal_id)
    now = workspace.clock()
    with store.state.connect() as connection:
        flag = workspace.raise_flag_in(connection, now, actor, before.item_id, request)
        _record_in(connection, before, now, actor, "confirmed", request.rationale, flag.id)
    return _decided(store, proposal_id), flag


def reject_flag_proposal(
    store: SupplierFlagProposals,
    proposal_id: int,
    workspace: Workspace,
    actor: User,
    note: str,
) -> SupplierFlagProposal:
    """Record that the retirement needs no flag, and why."""
    require(actor, "analyst", "deciding supplier flag proposals")
    before = open_proposal(store, proposal_id)
    now = workspace.clock()
    with store.state.connect() as connection:
        _record_in(connection, before, now, actor, "rejected", note, None)
    return _decided(store, proposal_id)


def _record_in(
    connection: sqlite3.Connection,
    before: SupplierFlagProposal,
    now: datetime,
    actor: User,
    status: Literal["confirmed", "rejected"],
    note: str,
    flag_id: int | None,
) -> None:
    """The decision and its audit entry, in the caller's transaction; a proposal decided
    meanwhile is a conflict, which rolls the whole transaction back."""
    if not record_decision_in(connection, before.id, status, actor.name, now, note, flag_id):
        raise Conflict(f"supplier flag proposal {before.id} was decided meanwhile")
    write_audit(
        connection,
        now,
        actor.name,
        "supplier.confirm" if status == "confirmed" else "supplier.reject",
        before.item_id,
        f"supplier flag proposal {before.id}",
        _state(before.status, "", None),
        _state(status, note, flag_id) | {"system": before.system_id},
    )


def _state(status: str, note: str, flag_id: int | None) -> dict[str, Any]:
    return {"status": status, "note": note, "flag_id": flag_id}


def _decided(store: SupplierFlagProposals, proposal_id: int) -> SupplierFlagProposal:
    decided = store.get(proposal_id)
    if decided is None:
        raise NotFound(f"there is no supplier flag proposal {proposal_id}")
    return decided
