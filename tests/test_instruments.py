"""Instruments: the catalogue's validation, linking items to instruments with evidence, stage
proposals from cue phrases, their confirmation, and the `horizon instruments` commands."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from evaluation.instruments import measure
from horizon.cli import app
from horizon.config import PROJECT_ROOT, ConfigError, load_catalogue, load_instruments
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import link_item
from horizon.instruments.proposals import ProposalError, Proposals
from horizon.instruments.stages import StageProposal, propose_stages
from horizon.item import Item
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace, build_evidence
from horizon.workspace.models import UserRequest

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def catalogue() -> InstrumentsFile:
    return load_instruments(PROJECT_ROOT / "instruments.yaml")


def test_bundled_catalogue_obligations_name_known_controls(catalogue: InstrumentsFile) -> None:
    controls = {control.id for control in load_catalogue([PROJECT_ROOT / "controls.yaml"]).controls}
    used = {o.control for i in catalogue.instruments for o in i.obligations}
    assert used <= controls
    ai_act = catalogue.get("eu-ai-act")
    assert ai_act is not None
    assert [m.date for m in ai_act.milestones] == [
        date(2025, 2, 2),
        date(2025, 8, 2),
        date(2026, 8, 2),
        date(2027, 8, 2),
    ]


def test_unknown_key_and_bad_stage_give_one_plain_line_each(tmp_path: Path) -> None:
    path = tmp_path / "instruments.yaml"
    path.write_text(
        "instruments:\n"
        "  - id: some-act\n    name: Some Act\n    jurisdiction: EU\n    kind: hard\n"
        "    colour: blue\n    history: [{stage: enacted}]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_instruments(path)
    problems = raised.value.problems
    assert len(problems) == 2
    assert any("'colour'" in line and "unknown key" in line for line in problems)
    assert any("'enacted' is not allowed" in line for line in problems)
    assert all("entry 1 ('some-act')" in line for line in problems)


def test_stage_on_a_day_ignores_later_history(catalogue: InstrumentsFile) -> None:
    korea = catalogue.get("korea-ai-basic-act")
    assert korea is not None
    assert korea.stage(on=date(2025, 6, 1)).stage == "adopted"
    assert korea.stage(on=date(2026, 2, 1)).stage == "in-force"


def test_name_link_keeps_the_sentence_as_evidence(catalogue: InstrumentsFile) -> None:
    links = link_item(
        "x1",
        "Regulators meet",
        "The agenda was long. Deployers asked how Regulation (EU) 2024/1689 treats chatbots.",
        catalogue.instruments,
    )
    assert [(link.instrument_id, link.how) for link in links] == [("eu-ai-act", "name")]
    assert links[0].matched == "Regulation (EU) 2024/1689"
    assert links[0].evidence == "Deployers asked how Regulation (EU) 2024/1689 treats chatbots."


def test_longer_name_of_another_instrument_wins(catalogue: InstrumentsFile) -> None:
    links = link_item("x2", "Colorado AI Act delayed", "", catalogue.instruments)
    assert [link.instrument_id for link in links] == ["colorado-ai-act"]


def _linked(title: str, summary: str, catalogue: InstrumentsFile) -> list[str]:
    return [link.instrument_id for link in link_item("i", title, summary, catalogue.instruments)]


def test_its_ai_act_in_a_colorado_sentence_is_colorados_not_the_eus(
    catalogue: InstrumentsFile,
) -> None:
    title = "United States: Colorado delays its AI Act to 30 June 2026"
    summary = (
        "Colorado's governor signed SB 25B-004, moving the effective date of the Colorado "
        "AI Act's duties from 1 February 2026 to 30 June 2026."
    )
    assert _linked(title, summary, catalogue) == ["colorado-ai-act"]
    assert _linked(title, "", catalogue) == []
    assert _linked("Colorado SB 24-205: the state moves its AI Act to June", "", catalogue) == [
        "colorado-ai-act"
    ]


@pytest.mark.parametrize(
    "title",
    [
        "Korea's AI Act is amended before it applies",
        "Colorado's AI Act",
        "The state's AI Act",
        "Options range from adapting existing laws to a new AI Act.",
        "Canada weighs another AI Act after AIDA died on the order paper",
    ],
)
def test_ai_act_owned_by_another_jurisdiction_is_not_the_eus(
    title: str, catalogue: InstrumentsFile
) -> None:
    assert "eu-ai-act" not in _linked(title, "", catalogue)


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Commission guidance on the EU AI Act", ""),
        ("Commission guidance", "The AI Act applies to providers from 2 August 2026."),
        ("The EU's AI Act and Europe's AI Office", ""),
        # "their" without another jurisdiction in the sentence stays the EU's.
        ("Have Member States Designated Their AI Act Authorities?", ""),
        ("Signatories of the GPAI Code of Practice show compliance with their AI Act duties", ""),
        # the name qualifying what follows, with no adjective before it, stays the EU's.
        ("AI Act Service Desk", "The platform offers an AI Act compliance checker."),
        ("Commission publishes a new AI Act guideline on prohibited practices", ""),
    ],
)
def test_ai_act_in_an_eu_item_still_links_the_eu_ai_act(
    title: str, summary: str, catalogue: InstrumentsFile
) -> None:
    assert "eu-ai-act" in _linked(title, summary, catalogue)


def test_numbers_match_whole_words_only(catalogue: InstrumentsFile) -> None:
    assert link_item("x3", "Bill SB 530 on drones", "Also ISO 420011.", catalogue.instruments) == []


def test_similarity_links_an_unnamed_item_and_reports_it(catalogue: InstrumentsFile) -> None:
    near = np.array([1.0, 0.0])
    vectors = {"nist-ai-rmf": np.array([0.8, 0.6]), "eu-ai-act": np.array([0.0, 1.0])}
    links = link_item("x4", "A risk framework", "", catalogue.instruments, near, vectors, 0.7)
    assert [(link.instrument_id, link.how) for link in links] == [("nist-ai-rmf", "similarity")]
    assert "similarity 0.80" in links[0].evidence


def test_linking_precision_and_recall_on_the_labelled_set() -> None:
    held_out, _ = measure(held_out=True)
    everything, _ = measure()
    assert held_out.items >= 25 and everything.items >= 60
    assert held_out.precision >= 0.9 and held_out.recall >= 0.9
    assert everything.precision >= 0.9 and everything.recall >= 0.9


def _proposals(
    title: str, summary: str, catalogue: InstrumentsFile, published: date | None = None
) -> list[StageProposal]:
    links = link_item("i", title, summary, catalogue.instruments)
    return propose_stages("i", title, summary, links, catalogue.instruments, published)


def test_entry_into_force_with_its_date_is_proposed(catalogue: InstrumentsFile) -> None:
    [proposal] = _proposals(
        "Convention milestone",
        "The Framework Convention on Artificial Intelligence enters into force on 1 March 2027.",
        catalogue,
    )
    assert (proposal.instrument_id, proposal.stage, proposal.date) == (
        "coe-ai-convention",
        "in-force",
        date(2027, 3, 1),
    )
    assert proposal.cue == "enters into force"


def test_delay_is_an_amendment_dated_by_publication(catalogue: InstrumentsFile) -> None:
    [proposal] = _proposals(
        "EU AI Act high-risk rules delayed",
        "The AI Act's high-risk obligations are delayed to 2 December 2027.",
        catalogue,
        published=date(2026, 11, 20),
    )
    assert (proposal.stage, proposal.date) == ("amended", date(2026, 11, 20))


def test_stage_already_on_record_is_not_proposed_again(catalogue: InstrumentsFile) -> None:
    assert (
        _proposals("Entry into force", "The AI Act entered into force on 1 August 2024.", catalogue)
        == []
    )


def test_cue_without_a_named_instrument_proposes_nothing(catalogue: InstrumentsFile) -> None:
    assert _proposals("A bill is signed into law", "Nothing else.", catalogue) == []


def _home_with_item(tmp_path: Path, title: str, summary: str) -> Path:
    """A home with one stored item and two workspace users: ann (analyst), vic (viewer)."""
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    item = Item(
        id="item-1",
        title=title,
        summary=summary,
        published=datetime(2026, 1, 5, tzinfo=UTC),
        content_hash="h",
    )
    state.save_new_items([item], datetime(2026, 1, 5, tzinfo=UTC))
    workspace = Workspace(state)
    for name, role in (("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))
    return home


def _convention_proposal(tmp_path: Path) -> tuple[Path, int]:
    home = _home_with_item(
        tmp_path,
        "Convention enters into force",
        "The Council of Europe Framework Convention on Artificial Intelligence enters into "
        "force on 1 March 2027.",
    )
    proposed = CliRunner().invoke(app, ["instruments", "propose", "--home", str(home), "--json"])
    assert proposed.exit_code == 0, proposed.output
    [proposal] = json.loads(proposed.stdout)
    return home, int(proposal["id"])


def _decide(home: Path, verb: str, proposal_id: int, *options: str) -> Result:
    return CliRunner().invoke(
        app, ["instruments", verb, str(proposal_id), *options, "--home", str(home)]
    )


def _status(home: Path, proposal_id: int) -> str:
    return Proposals(StateDB(home / "state.db")).list_one(proposal_id).status


def test_confirmed_proposal_changes_the_listed_stage(tmp_path: Path) -> None:
    home = _home_with_item(
        tmp_path,
        "Convention enters into force",
        "The Council of Europe Framework Convention on Artificial Intelligence enters into "
        "force on 1 March 2027.",
    )
    runner = CliRunner()
    proposed = runner.invoke(app, ["instruments", "propose", "--home", str(home), "--json"])
    assert proposed.exit_code == 0, proposed.output
    [proposal] = json.loads(proposed.stdout)
    assert (proposal["instrument"], proposal["stage"]) == ("coe-ai-convention", "in-force")
    again = runner.invoke(app, ["instruments", "propose", "--home", str(home), "--json"])
    assert len(json.loads(again.stdout)) == 1
    confirmed = _decide(
        home, "confirm", proposal["id"], "--as", "ann", "--rationale", "The treaty says so."
    )
    assert confirmed.exit_code == 0, confirmed.output
    listed = runner.invoke(
        app, ["instruments", "--home", str(home), "--on", "2027-04-01", "--json"]
    )
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert (rows["coe-ai-convention"]["stage"], rows["coe-ai-convention"]["stage_date"]) == (
        "in-force",
        "2027-03-01",
    )
    shown = runner.invoke(
        app, ["instruments", "show", "coe-ai-convention", "--home", str(home), "--json"]
    )
    kinds = [entry["kind"] for entry in json.loads(shown.stdout)["timeline"]]
    assert "item" in kinds and kinds.count("stage") == 2


def test_deciding_twice_is_refused(tmp_path: Path, catalogue: InstrumentsFile) -> None:
    store = Proposals(StateDB(tmp_path / "state.db"))
    store.add(_proposals("x", "NYC Local Law 144 was repealed on 3 March 2027.", catalogue))
    [proposal] = store.find("proposed")
    store.decide(proposal.id, "rejected", "ana")
    with pytest.raises(ProposalError, match="already rejected"):
        store.decide(proposal.id, "confirmed", "ana")
    assert store.confirmed_events() == {}


def test_show_unknown_instrument_names_the_known_ones(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["instruments", "show", "nope", "--home", str(tmp_path)])
    assert result.exit_code == 2
    assert "known instruments: eu-ai-act" in result.output


def test_confirm_as_an_analyst_is_audited_and_is_evidence(tmp_path: Path) -> None:
    home, proposal_id = _convention_proposal(tmp_path)
    why = "The tenth ratification was deposited."
    confirmed = _decide(home, "confirm", proposal_id, "--as", "ann", "--rationale", why, "--json")
    assert confirmed.exit_code == 0, confirmed.output
    [decided] = json.loads(confirmed.stdout)
    assert (decided["status"], decided["decided_by"], decided["rationale"]) == (
        "confirmed",
        "ann",
        why,
    )
    workspace = Workspace(StateDB(home / "state.db"))
    [entry] = [e for e in workspace.audit() if e.subject == f"stage proposal {proposal_id}"]
    assert (entry.action, entry.actor, entry.item_id) == ("stage.confirm", "ann", "item-1")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("proposed", "confirmed")
    assert entry.after["rationale"] == why
    today = datetime.now(UTC).date()
    [logged] = build_evidence(workspace, "ann", today, today, [], home / "digests").section(
        "stages"
    )
    assert logged.activity == "Stage confirmed: coe-ai-convention in-force on 2027-03-01"
    assert logged.detail.endswith(f"rationale: {why}")


def test_reject_records_the_rationale_and_the_audit_entry(tmp_path: Path) -> None:
    home, proposal_id = _convention_proposal(tmp_path)
    why = "The date is the signature, not entry into force."
    rejected = _decide(home, "reject", proposal_id, "--as", "ann", "--rationale", why)
    assert rejected.exit_code == 0, rejected.output
    stored = Proposals(StateDB(home / "state.db")).list_one(proposal_id)
    assert (stored.status, stored.decided_by, stored.rationale) == ("rejected", "ann", why)
    audited = [
        e.action
        for e in Workspace(StateDB(home / "state.db")).audit()
        if e.subject == f"stage proposal {proposal_id}"
    ]
    assert audited == ["stage.reject"]


@pytest.mark.parametrize("verb", ["confirm", "reject"])
def test_a_decision_without_a_rationale_is_refused_in_one_line(tmp_path: Path, verb: str) -> None:
    home, proposal_id = _convention_proposal(tmp_path)
    for blank in ([], ["--rationale", "  "]):
        refused = _decide(home, verb, proposal_id, "--as", "ann", *blank)
        assert refused.exit_code == 2
        assert refused.output.strip().splitlines() == [
            f"error: --rationale: say why you {verb} the stage change (required, as on the web)"
        ]
    assert _status(home, proposal_id) == "proposed"


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ("vic", "vic is a viewer; confirming or rejecting stage changes needs the analyst role"),
        ("nobody", "nobody"),
    ],
)
def test_a_viewer_or_unknown_user_is_refused_in_one_line(
    tmp_path: Path, user: str, problem: str
) -> None:
    home, proposal_id = _convention_proposal(tmp_path)
    refused = _decide(home, "confirm", proposal_id, "--as", user, "--rationale", "Yes.")
    assert refused.exit_code == 2
    [line] = refused.output.strip().splitlines()
    assert line.startswith("error: ") and problem in line
    assert _status(home, proposal_id) == "proposed"
    audit = Workspace(StateDB(home / "state.db")).audit()
    assert all(e.subject != f"stage proposal {proposal_id}" for e in audit)
