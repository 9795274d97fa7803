"""Deciding the supplier watch's impact flag proposals as a workspace user: confirming raises a
real impact flag on the vendor's item; rejecting records why none is needed."""

from __future__ import annotations

from horizon.readiness.supplier_flags import SupplierFlagProposal, SupplierFlagProposals
from horizon.workspace.errors import Conflict, NotFound
from horizon.workspace.models import Flag, FlagRequest, User
from horizon.workspace.records import require
from horizon.workspace.service import Workspace


def open_proposal(store: SupplierFlagProposals, proposal_id: int) -> SupplierFlagProposal:
    """The proposal, if it exists and is still to decide."""
    proposal = store.get(proposal_id)
    if proposal is None:
        raise NotFound(f"there is no supplier flag proposal {proposal_id}")
    if proposal.status != "proposed":
        raise Conflict(f"supplier flag proposal {proposal_id} is already {proposal.status}")
    return proposal


def confirm_flag_proposal(
    store: SupplierFlagProposals,
    proposal_id: int,
    workspace: Workspace,
    actor: User,
    request: FlagRequest,
) -> tuple[SupplierFlagProposal, Flag]:
    """Raise the impact flag on the vendor's item and mark the proposal confirmed."""
    proposal = open_proposal(store, proposal_id)
    flag = workspace.raise_flag(actor, proposal.item_id, request)
    store.record_decision(proposal_id, "confirmed", actor.name, request.rationale, flag.id)
    return _decided(store, proposal_id), flag


def reject_flag_proposal(
    store: SupplierFlagProposals, proposal_id: int, actor: User, note: str
) -> SupplierFlagProposal:
    """Record that the retirement needs no flag, and why."""
    require(actor, "analyst", "deciding supplier flag proposals")
    open_proposal(store, proposal_id)
    if not store.record_decision(proposal_id, "rejected", actor.name, note, None):
        raise Conflict(f"supplier flag proposal {proposal_id} was decided meanwhile")
    return _decided(store, proposal_id)


def _decided(store: SupplierFlagProposals, proposal_id: int) -> SupplierFlagProposal:
    decided = store.get(proposal_id)
    if decided is None:
        raise NotFound(f"there is no supplier flag proposal {proposal_id}")
    return decided
