"""Obligations extended from items: a sentence where a role must do something from a day,
under a named instrument, proposes an obligation; an analyst confirms it and it joins the
readiness tracker. Precision first: hedged, asked-about, undated, unattributed and already
curated duties propose nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from horizon.cli import app
from horizon.config import load_instruments
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import link_item
from horizon.instruments.obligation_proposals import ObligationProposals
from horizon.instruments.obligations import ObligationProposal, propose_obligations
from horizon.item import ControlTag, Item, Tags
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace, build_evidence
from horizon.workspace.models import UserRequest

PASSWORD = "a long enough password"

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogue() -> InstrumentsFile:
    return load_instruments(ROOT / "instruments.yaml")


def _propose(
    catalogue: InstrumentsFile,
    title: str,
    summary: str = "",
    controls: tuple[str, ...] = ("RECORDS-DOCS",),
) -> list[ObligationProposal]:
    links = link_item("i", title, summary, catalogue.instruments)
    return propose_obligations("i", title, summary, links, catalogue.instruments, controls)


def test_a_dated_duty_under_a_named_instrument_is_proposed_with_its_sentence(
    catalogue: InstrumentsFile,
) -> None:
    sentence = (
        "Under the amended Colorado AI Act, deployers must keep records of each impact "
        "assessment for three years from 1 January 2027."
    )
    [proposal] = _propose(catalogue, "Colorado rules", sentence)
    assert (proposal.instrument_id, proposal.who, proposal.control, proposal.from_date) == (
        "colorado-ai-act",
        "deployer",
        "RECORDS-DOCS",
        date(2027, 1, 1),
    )
    assert proposal.what.startswith("Keep records of each impact assessment")
    assert proposal.evidence == sentence


def test_a_start_date_before_the_role_and_two_roles_give_two_proposals(
    catalogue: InstrumentsFile,
) -> None:
    found = _propose(
        catalogue,
        "From 1 March 2027 providers and deployers of emotion recognition systems under the "
        "EU AI Act shall register them in the EU database",
    )
    assert {(each.instrument_id, each.who, each.from_date) for each in found} == {
        ("eu-ai-act", "provider", date(2027, 3, 1)),
        ("eu-ai-act", "deployer", date(2027, 3, 1)),
    }


def test_the_act_refers_to_the_items_only_instrument(catalogue: InstrumentsFile) -> None:
    [proposal] = _propose(
        catalogue,
        "Korea's AI Basic Act: enforcement decree published",
        "Under the Act, importers must appoint a domestic representative by 22 January 2027.",
    )
    assert (proposal.instrument_id, proposal.who) == ("korea-ai-basic-act", "importer")


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        # no day the duty applies from
        ("Colorado AI Act", "Deployers must complete impact assessments of high-risk systems."),
        ("Meta will not sign", "Providers that do not sign must show compliance by other means."),
        # a date that is not when the duty applies
        ("EU AI Act", "Deployers must publish the report the board approved 3 March 2025."),
        # a duty that is only possible
        ("EU AI Act", "Deployers may have to register their systems from 2 August 2026."),
        # a question
        ("What must deployers do under the EU AI Act from 2 August 2026?", ""),
        # no instrument: a vendor's own usage policy
        (
            "Updating our usage policies",
            "Developers building agents on our platform must require user confirmation from "
            "1 October 2025.",
        ),
        # two instruments named, neither in the duty's sentence
        (
            "EU AI Act and Colorado AI Act compared",
            "Deployers must review their systems from 1 January 2027.",
        ),
        # already in the catalogue: the EU AI Act's literacy duty from 2 February 2025
        (
            "AI literacy under the EU AI Act",
            "Under the EU AI Act providers and deployers must take AI literacy measures from "
            "2 February 2025.",
        ),
    ],
)
def test_sentences_that_state_no_new_dated_obligation_propose_none(
    catalogue: InstrumentsFile, title: str, summary: str
) -> None:
    controls = ("AI-LITERACY",) if "literacy" in title else ("RECORDS-DOCS",)
    assert _propose(catalogue, title, summary, controls) == []


def test_an_item_without_a_control_proposes_no_obligation(catalogue: InstrumentsFile) -> None:
    assert (
        _propose(
            catalogue,
            "Colorado AI Act",
            "Deployers must keep records from 1 January 2027 under the Colorado AI Act.",
            controls=(),
        )
        == []
    )


def _home(tmp_path: Path) -> Path:
    """A home with one item stating an obligation and two workspace users: ann (analyst), vic
    (viewer)."""
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    item = Item(
        id="co-records",
        title="Colorado AI Act rules adopted",
        summary="Under the Colorado AI Act, deployers must keep records of each impact "
        "assessment for three years from 1 January 2027.",
        published=datetime(2026, 3, 2, tzinfo=UTC),
        content_hash="h",
    )
    state.save_new_items([item], datetime(2026, 3, 3, tzinfo=UTC))
    tags = Tags(
        relevant=True,
        type="legislation",
        controls=[ControlTag(id="RECORDS-DOCS", score=0.9, evidence="")],
    )
    state.set_tags([("co-records", tags)])
    workspace = Workspace(state)
    for name, role in (("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))
    return home


def test_a_confirmed_obligation_joins_the_readiness_tracker(tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    runner = CliRunner()
    proposed = runner.invoke(app, ["readiness", "propose", "--json", *home])
    assert proposed.exit_code == 0, proposed.output
    [proposal] = json.loads(proposed.stdout)
    assert (proposal["instrument"], proposal["who"], proposal["from"], proposal["status"]) == (
        "colorado-ai-act",
        "deployer",
        "2027-01-01",
        "proposed",
    )
    again = runner.invoke(app, ["readiness", "propose", "--json", *home])
    assert len(json.loads(again.stdout)) == 1

    def rows() -> list[dict[str, object]]:
        listed = runner.invoke(app, ["readiness", "--json", *home])
        assert listed.exit_code == 0, listed.output
        return [row for row in json.loads(listed.stdout) if row["control"] == "RECORDS-DOCS"]

    assert rows() == []
    bad = runner.invoke(
        app,
        ["readiness", "confirm", str(proposal["id"]), "--as", "ann", "--control", "NOPE", *home],
    )
    assert bad.exit_code == 2 and "--control: 'NOPE' is not a control" in bad.output
    confirmed = runner.invoke(
        app, ["readiness", "confirm", str(proposal["id"]), "--as", "ann", "--json", *home]
    )
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(confirmed.stdout)[0]["status"] == "confirmed"
    [row] = rows()
    assert (row["instrument"], row["from"], row["obligation"]) == (
        "colorado-ai-act",
        "2027-01-01",
        f"from-item-{proposal['id']}",
    )
    twice = runner.invoke(
        app,
        ["readiness", "reject", str(proposal["id"]), "--as", "ann", "--rationale", "No.", *home],
    )
    assert twice.exit_code == 2 and "already confirmed" in twice.output


def _proposed_id(home: list[str]) -> int:
    proposed = CliRunner().invoke(app, ["readiness", "propose", "--json", *home])
    assert proposed.exit_code == 0, proposed.output
    [proposal] = json.loads(proposed.stdout)
    return int(proposal["id"])


def test_reject_without_a_rationale_is_refused_in_one_line(tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    proposal_id = _proposed_id(home)
    for blank in ([], ["--rationale", " "]):
        refused = CliRunner().invoke(
            app, ["readiness", "reject", str(proposal_id), "--as", "ann", *blank, *home]
        )
        assert refused.exit_code == 2
        assert refused.output.strip().splitlines() == [
            "error: --rationale: say why the obligation is rejected (required)"
        ]
    [still] = ObligationProposals(StateDB(Path(home[1]) / "state.db")).find("proposed")
    assert still.id == proposal_id


def test_reject_with_a_rationale_records_it(tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    proposal_id = _proposed_id(home)
    why = "Records duty already covered by the 2026 rules."
    rejected = CliRunner().invoke(
        app,
        [
            "readiness",
            "reject",
            str(proposal_id),
            "--as",
            "ann",
            "--rationale",
            why,
            "--json",
            *home,
        ],
    )
    assert rejected.exit_code == 0, rejected.output
    [decided] = json.loads(rejected.stdout)
    assert (decided["status"], decided["decided_by"], decided["rationale"]) == (
        "rejected",
        "ann",
        why,
    )
    [stored] = ObligationProposals(StateDB(Path(home[1]) / "state.db")).find("rejected")
    assert stored.rationale == why


def _audited(home: list[str], proposal_id: int) -> list[tuple[str, str]]:
    audit = Workspace(StateDB(Path(home[1]) / "state.db")).audit()
    return [(e.action, e.actor) for e in audit if e.subject == f"obligation proposal {proposal_id}"]


def test_confirm_as_an_analyst_is_audited_and_is_evidence(tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    proposal_id = _proposed_id(home)
    why = "The rules are final."
    confirmed = CliRunner().invoke(
        app,
        ["readiness", "confirm", str(proposal_id), "--as", "ann", "--rationale", why, *home],
    )
    assert confirmed.exit_code == 0, confirmed.output
    workspace = Workspace(StateDB(Path(home[1]) / "state.db"))
    [entry] = [e for e in workspace.audit() if e.subject == f"obligation proposal {proposal_id}"]
    assert (entry.action, entry.actor, entry.item_id) == ("obligation.confirm", "ann", "co-records")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("proposed", "confirmed")
    assert entry.after["rationale"] == why
    today = datetime.now(UTC).date()
    [logged] = build_evidence(
        workspace, "ann", today, today, [], Path(home[1]) / "digests"
    ).section("obligations")
    assert logged.activity == (
        "Obligation confirmed: colorado-ai-act RECORDS-DOCS, deployer from 2027-01-01"
    )
    assert logged.detail.endswith(f"rationale: {why}")


def test_reject_as_an_analyst_writes_the_audit_entry(tmp_path: Path) -> None:
    home = ["--home", str(_home(tmp_path))]
    proposal_id = _proposed_id(home)
    rejected = CliRunner().invoke(
        app,
        ["readiness", "reject", str(proposal_id), "--as", "ann", "--rationale", "No.", *home],
    )
    assert rejected.exit_code == 0, rejected.output
    assert _audited(home, proposal_id) == [("obligation.reject", "ann")]


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("vic", "vic is a viewer; confirming or rejecting obligations needs the analyst role"),
        ("nobody", "nobody"),
    ],
)
@pytest.mark.parametrize("verb", ["confirm", "reject"])
def test_a_viewer_or_unknown_user_is_refused_in_one_line(
    tmp_path: Path, verb: str, user: str, problem: str
) -> None:
    home = ["--home", str(_home(tmp_path))]
    proposal_id = _proposed_id(home)
    refused = CliRunner().invoke(
        app,
        ["readiness", verb, str(proposal_id), "--as", user, "--rationale", "Yes.", *home],
    )
    assert refused.exit_code == 2
    [line] = refused.output.strip().splitlines()
    assert line.startswith("error: ") and problem in line
    [still] = ObligationProposals(StateDB(Path(home[1]) / "state.db")).find("proposed")
    assert still.id == proposal_id
    assert _audited(home, proposal_id) == []
