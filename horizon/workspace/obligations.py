"""Obligations stated by items, confirmed or rejected by an analyst (a part of `Workspace`).
The web and `horizon readiness confirm|reject --as USER` both decide here
(`horizon.instruments.obligation_proposals.decide_obligation_in`, role-checked): a
rejection needs a rationale, a chosen control must be in the catalogue, and the audit entry is
written in the same transaction. The learner's evidence log reads the decisions back
(section "obligations")."""

from __future__ import annotations

from typing import Any

from horizon.instruments.obligation_proposals import (
    ObligationProposals,
    StoredObligation,
    decide_obligation_in,
)
from horizon.instruments.proposals import Decision, ProposalDecided, ProposalMissing
from horizon.workspace.errors import Conflict, InvalidField, NotFound
from horizon.workspace.models import ObligationConfirmRequest, RejectRequest, User
from horizon.workspace.records import WorkspaceBase, require, write_audit


class ObligationDecisions(WorkspaceBase):
    """Obligation proposals: list them and decide them (a part of `Workspace`)."""

    def obligation_proposals(self, status: str | None = None) -> list[StoredObligation]:
        """Stored proposals, oldest first; only those with `status` when given."""
        return ObligationProposals(self.state).find(status)

    def confirm_obligation(
        self, actor: User, proposal_id: int, request: ObligationConfirmRequest
    ) -> StoredObligation:
        """The obligation joins its instrument's, and so the readiness tracker."""
        if request.control and self.controls is not None and request.control not in self.controls:
            raise InvalidField("control", f"'{request.control}' is not a control in the catalogue")
        return self._decide(actor, proposal_id, "confirmed", request.control, request.rationale)

    def reject_obligation(
        self, actor: User, proposal_id: int, request: RejectRequest
    ) -> StoredObligation:
        """The proposal stays on record as rejected, with the rationale."""
        return self._decide(actor, proposal_id, "rejected", None, request.rationale)

    def _decide(
        self,
        actor: User,
        proposal_id: int,
        decision: Decision,
        control: str | None,
        rationale: str,
    ) -> StoredObligation:
        require(actor, "analyst", "confirming or rejecting obligations")
        ObligationProposals(self.state)  # the table, in a home where nothing was proposed yet
        now = self.clock()
        with self.state.connect() as connection:
            try:
                before, after = decide_obligation_in(
                    connection, proposal_id, decision, actor.name, now, control, rationale
                )
            except ProposalMissing as error:
                raise NotFound(str(error)) from None
            except ProposalDecided as error:
                raise Conflict(str(error)) from None
            write_audit(
                connection,
                now,
                actor.name,
                "obligation.confirm" if decision == "confirmed" else "obligation.reject",
                after.item_id,
                f"obligation proposal {proposal_id}",
                _state(before),
                _state(after),
            )
        return after


def _state(proposal: StoredObligation) -> dict[str, Any]:
    return {
        "instrument": proposal.instrument_id,
        "control": proposal.control,
        "who": proposal.who,
        "from": proposal.from_date.isoformat(),
        "status": proposal.status,
        "rationale": proposal.rationale,
    }
