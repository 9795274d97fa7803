"""A dated retirement that affects a system proposes an impact flag (not a flag): shown by
`horizon suppliers`, raised as a real flag by `horizon suppliers confirm`, declined with a
reason by `reject`; either decision is in the learner's evidence log (AU0002 K7, S7, S9)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from horizon.cli import app
from horizon.item import Item
from horizon.readiness.supplier_flags import SupplierFlagProposal, SupplierFlagProposals
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace, build_evidence, suppliers
from horizon.workspace.errors import Conflict
from horizon.workspace.models import FlagRequest, UserRequest

PASSWORD = "a long enough password"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    items = [
        Item(
            id="az-retire",
            title="Azure OpenAI model retirements",
            summary="Microsoft will retire gpt-4o version 2024-08-06 on 15 March 2026.",
            publisher="Microsoft",
            published=datetime(2026, 2, 5, tzinfo=UTC),
            content_hash="a",
        ),
        Item(
            id="claude-undated",
            title="Anthropic will retire claude-3-5-sonnet-20241022",
            summary="Anthropic will retire claude-3-5-sonnet-20241022; a date follows.",
            publisher="Anthropic",
            content_hash="b",
        ),
        Item(
            id="openai-terms",
            title="OpenAI updates its usage policies for gpt-4o-mini on 1 May 2026",
            summary="The OpenAI API usage policies change.",
            publisher="OpenAI",
            content_hash="c",
        ),
    ]
    state.save_new_items(items, datetime(2026, 2, 6, tzinfo=UTC))
    workspace = Workspace(state)
    for name, role in (("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))
    return home


def _suppliers(home: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["suppliers", "--json", "--home", str(home)])
    assert result.exit_code == 0, result.output
    return {hit["item_id"]: hit for hit in json.loads(result.stdout)}


def test_only_a_dated_retirement_proposes_an_impact_flag(tmp_path: Path) -> None:
    home = _home(tmp_path)
    hits = _suppliers(home)
    assert set(hits) == {"az-retire", "claude-undated", "openai-terms"}
    proposal = hits["az-retire"]["flag_proposal"]
    assert proposal is not None and proposal["status"] == "proposed"
    assert proposal["flag_id"] is None
    assert hits["claude-undated"]["flag_proposal"] is None
    assert hits["openai-terms"]["flag_proposal"] is None
    # listing again proposes nothing new, and no real flag exists yet
    assert _suppliers(home)["az-retire"]["flag_proposal"]["id"] == proposal["id"]
    assert Workspace(StateDB(home / "state.db")).flags() == []
    text = CliRunner().invoke(app, ["suppliers", "--home", str(home)]).stdout
    assert f"impact flag proposed ({proposal['id']})" in text


def test_confirming_raises_a_real_flag_for_the_system_and_only_once(tmp_path: Path) -> None:
    home = _home(tmp_path)
    proposal_id = str(_suppliers(home)["az-retire"]["flag_proposal"]["id"])
    runner = CliRunner()
    viewer = runner.invoke(
        app, ["suppliers", "confirm", proposal_id, "--as", "vic", "--home", str(home)]
    )
    assert viewer.exit_code == 2 and "analyst" in viewer.output
    confirmed = runner.invoke(
        app, ["suppliers", "confirm", proposal_id, "--as", "ann", "--json", "--home", str(home)]
    )
    assert confirmed.exit_code == 0, confirmed.output
    answer = json.loads(confirmed.stdout)
    flag = answer["flag"]
    assert (flag["item_id"], flag["controls"], flag["owner"], flag["due"], flag["severity"]) == (
        "az-retire",
        ["THIRD-PARTY", "HUMAN-OVERSIGHT"],
        "claims-operations",
        "2026-03-15",
        "high",
    )
    assert "gpt-4o on 2026-03-15, which claims triage runs on" in flag["rationale"]
    decided = answer["proposal"]
    assert (decided["id"], decided["status"], decided["decided_by"]) == (
        int(proposal_id),
        "confirmed",
        "ann",
    )
    assert (decided["note"], decided["flag_id"], decided["system_id"]) == (
        flag["rationale"],
        flag["id"],
        "claims-triage",
    )
    assert _suppliers(home)["az-retire"]["flag_proposal"]["flag_id"] == flag["id"]
    again = runner.invoke(
        app, ["suppliers", "confirm", proposal_id, "--as", "ann", "--home", str(home)]
    )
    assert again.exit_code == 2 and "already confirmed" in again.output
    assert len(Workspace(StateDB(home / "state.db")).flags()) == 1


def test_a_proposal_decided_meanwhile_raises_no_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two analysts decide at once: the second confirmation's flag is rolled back with it."""
    home = _home(tmp_path)
    proposal_id = int(_suppliers(home)["az-retire"]["flag_proposal"]["id"])
    state = StateDB(home / "state.db")
    store = SupplierFlagProposals(state)
    read_before_the_other_decided = suppliers.open_proposal

    def other_analyst_rejects_first(
        proposals: SupplierFlagProposals, wanted: int
    ) -> SupplierFlagProposal:
        seen = read_before_the_other_decided(proposals, wanted)
        assert proposals.record_decision(wanted, "rejected", "bob", "Not ours.", None)
        return seen

    monkeypatch.setattr(suppliers, "open_proposal", other_analyst_rejects_first)
    workspace = Workspace(state)
    proposal = store.get(proposal_id)
    assert proposal is not None
    request = FlagRequest.model_validate(proposal.default_request())
    with pytest.raises(Conflict, match="decided meanwhile"):
        suppliers.confirm_flag_proposal(
            store, proposal_id, workspace, workspace.user("ann"), request
        )
    assert workspace.flags() == []
    assert workspace.audit(item_id="az-retire") == []
    decided = store.get(proposal_id)
    assert decided is not None and (decided.status, decided.flag_id) == ("rejected", None)


def test_a_bad_override_is_named_and_raises_nothing(tmp_path: Path) -> None:
    home = _home(tmp_path)
    proposal_id = str(_suppliers(home)["az-retire"]["flag_proposal"]["id"])
    bad = CliRunner().invoke(
        app,
        ["suppliers", "confirm", proposal_id, "--as", "ann", "--due", "soon", "--home", str(home)],
    )
    assert bad.exit_code == 2 and "--due" in bad.output
    assert _suppliers(home)["az-retire"]["flag_proposal"]["status"] == "proposed"


def test_supplier_decisions_are_evidence_for_k7_s7_and_s9(tmp_path: Path) -> None:
    home = _home(tmp_path)
    proposal_id = str(_suppliers(home)["az-retire"]["flag_proposal"]["id"])
    rejected = CliRunner().invoke(
        app,
        [
            "suppliers",
            "reject",
            proposal_id,
            "--as",
            "ann",
            "--rationale",
            "Claims triage moved to gpt-4.1 in January.",
            "--home",
            str(home),
        ],
    )
    assert rejected.exit_code == 0, rejected.output
    today = datetime.now(UTC).date()
    log = build_evidence(
        Workspace(StateDB(home / "state.db")), "ann", today, today, [], home / "digests"
    )
    [entry] = log.section("suppliers")
    assert entry.activity == (
        "Supplier change rejected: Microsoft gpt-4o retirement on 2026-03-15, no flag"
    )
    assert (entry.item_id, entry.title) == ("az-retire", "affects: claims triage")
    assert entry.detail == "Claims triage moved to gpt-4.1 in January."
    assert {"K7", "S7", "S9"} <= set(entry.ksbs)
    assert (
        build_evidence(
            Workspace(StateDB(home / "state.db")),
            "ann",
            date(2025, 1, 1),
            date(2025, 1, 31),
            [],
            home / "digests",
        ).section("suppliers")
        == []
    )
