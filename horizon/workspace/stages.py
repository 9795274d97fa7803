"""Instrument stage changes proposed from items, confirmed or rejected by an analyst (a part of
`Workspace`). The decision is `horizon.instruments.proposals.decide_in`, the one the command
line uses; here it is role-checked, needs a rationale, and its audit entry is written in the
same transaction. The learner's evidence log reads the decisions back (section "stages")."""

from __future__ import annotations

from typing import Any

from horizon.instruments.proposals import (
    Decision,
    ProposalDecided,
    ProposalMissing,
    Proposals,
    StoredProposal,
    decide_in,
)
from horizon.workspace.errors import Conflict, NotFound
from horizon.workspace.models import StageDecisionRequest, User
from horizon.workspace.records import WorkspaceBase, require, write_audit


class StageDecisions(WorkspaceBase):
    """Stage proposals: list them and decide them (a part of `Workspace`)."""

    def stage_proposals(self, status: str | None = None) -> list[StoredProposal]:
        """Stored proposals, oldest first; only those with `status` when given."""
        return Proposals(self.state).find(status)

    def stage_proposal(self, proposal_id: int) -> StoredProposal:
        try:
            return Proposals(self.state).list_one(proposal_id)
        except ProposalMissing as error:
            raise NotFound(str(error)) from None

    def decide_stage(
        self, actor: User, proposal_id: int, decision: Decision, request: StageDecisionRequest
    ) -> StoredProposal:
        """Confirm (the stage joins the instrument's history) or reject an open proposal."""
        require(actor, "analyst", "confirming or rejecting stage changes")
        Proposals(self.state)  # the table, in a home where nothing was proposed yet
        now = self.clock()
        with self.state.connect() as connection:
            try:
                before, after = decide_in(
                    connection, proposal_id, decision, actor.name, now, request.rationale
                )
            except ProposalMissing as error:
                raise NotFound(str(error)) from None
            except ProposalDecided as error:
                raise Conflict(str(error)) from None
            write_audit(
                connection,
                now,
                actor.name,
                "stage.confirm" if decision == "confirmed" else "stage.reject",
                after.item_id,
                f"stage proposal {proposal_id}",
                _state(before),
                _state(after),
            )
        return after


def _state(proposal: StoredProposal) -> dict[str, Any]:
    return {
        "instrument": proposal.instrument_id,
        "stage": proposal.stage,
        "date": proposal.date.isoformat() if proposal.date else None,
        "status": proposal.status,
        "rationale": proposal.rationale,
    }
