"""The readiness tracker: which obligations apply to the organisation, their status from
impact flags and triage, and the CSV, iCalendar and JSON outputs of `horizon readiness`."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from horizon.cli import app
from horizon.config import PROJECT_ROOT, ConfigError, load_instruments, load_organisation
from horizon.instruments.catalogue import InstrumentsFile
from horizon.item import ControlTag, Item, Tags
from horizon.readiness.profile import Organisation
from horizon.readiness.tracker import FlagFact, due_within, obligation_status, readiness
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagCloseRequest, FlagRequest, TriageRequest


@pytest.fixture(scope="module")
def catalogue() -> InstrumentsFile:
    return load_instruments(PROJECT_ROOT / "instruments.yaml")


def _organisation(jurisdictions: list[str], roles: list[str]) -> Organisation:
    return Organisation.model_validate(
        {"name": "Test", "jurisdictions": jurisdictions, "roles": roles}
    )


def test_only_obligations_of_our_jurisdictions_and_roles_apply(
    catalogue: InstrumentsFile,
) -> None:
    rows = readiness(catalogue.instruments, _organisation(["EU"], ["deployer"]), {}, {}, {}, [])
    instruments = {row.instrument_id for row in rows}
    assert instruments == {"eu-ai-act"}
    assert all("deployer" in row.who or "any" in row.who for row in rows)
    assert {"literacy", "prohibited-practices", "fundamental-rights-impact"} <= {
        row.obligation_id for row in rows
    }
    assert "risk-management" not in {row.obligation_id for row in rows}


def test_us_covers_its_states_and_a_state_only_itself(catalogue: InstrumentsFile) -> None:
    everywhere = readiness(
        catalogue.instruments, _organisation(["US"], ["deployer"]), {}, {}, {}, []
    )
    colorado = readiness(
        catalogue.instruments, _organisation(["US-CO"], ["deployer"]), {}, {}, {}, []
    )
    assert {"colorado-ai-act", "nyc-local-law-144"} <= {row.instrument_id for row in everywhere}
    assert {row.instrument_id for row in colorado} == {"colorado-ai-act"}


def test_rows_are_grouped_by_control_then_date(catalogue: InstrumentsFile) -> None:
    rows = readiness(
        catalogue.instruments, _organisation(["EU", "US"], ["provider"]), {}, {}, {}, []
    )
    keys = [(row.control, row.from_date or date.max) for row in rows]
    assert keys == sorted(keys)


def test_status_not_started_without_any_decision() -> None:
    assert obligation_status("FAIRNESS", ["i1"], {"i1": {"FAIRNESS"}}, {}, []) == (
        "not-started",
        (),
    )


def test_open_flag_means_in_progress_even_beside_a_closed_one() -> None:
    flags = [
        FlagFact("i1", frozenset({"FAIRNESS"}), "closed"),
        FlagFact("i2", frozenset({"FAIRNESS", "TRANSPARENCY"}), "open"),
    ]
    status, reasons = obligation_status("FAIRNESS", ["i1", "i2"], {}, {}, flags)
    assert status == "in-progress"
    assert "open flag on item i2" in reasons


def test_closed_flag_means_ready_whatever_the_triage_state() -> None:
    flags = [FlagFact("i1", frozenset({"FAIRNESS"}), "closed")]
    status, _ = obligation_status("FAIRNESS", ["i1"], {"i1": {"FAIRNESS"}}, {"i1": "impact"}, flags)
    assert status == "ready"


def test_flag_on_another_control_does_not_count() -> None:
    flags = [FlagFact("i1", frozenset({"TRANSPARENCY"}), "open")]
    assert obligation_status("FAIRNESS", ["i1"], {}, {}, flags)[0] == "not-started"


def test_triage_of_an_item_tagged_with_the_control_decides_without_flags() -> None:
    controls = {"i1": {"FAIRNESS"}, "i2": {"TRANSPARENCY"}}
    assert obligation_status("FAIRNESS", ["i1"], controls, {"i1": "under-review"}, [])[0] == (
        "in-progress"
    )
    assert obligation_status("FAIRNESS", ["i1"], controls, {"i1": "actioned"}, [])[0] == "ready"
    assert obligation_status("FAIRNESS", ["i2"], controls, {"i2": "actioned"}, [])[0] == (
        "not-started"
    )


def test_due_within_lists_unready_obligations_starting_soon(catalogue: InstrumentsFile) -> None:
    rows = readiness(catalogue.instruments, _organisation(["EU"], ["deployer"]), {}, {}, {}, [])
    soon = due_within(rows, date(2026, 6, 1), 90)
    assert soon and {row.from_date for row in soon} == {date(2026, 8, 2)}


def test_bad_role_in_organisation_file_is_one_plain_line(tmp_path: Path) -> None:
    path = tmp_path / "organisation.yaml"
    path.write_text(
        "organisation:\n  name: X\n  jurisdictions: [EU]\n  roles: [reseller]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_organisation(path)
    [problem] = raised.value.problems
    assert "'reseller' is not allowed" in problem and "organisation.roles" in problem


def test_cli_status_follows_a_real_workspace_flag(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "organisation.yaml").write_text(
        "organisation:\n  name: Tester\n  jurisdictions: [US-CO]\n  roles: [deployer]\n",
        encoding="utf-8",
    )
    state = StateDB(home / "state.db")
    item = Item(
        id="co-1",
        title="Colorado AI Act: attorney general consults on impact assessments",
        summary="Deployers of high-risk systems must assess their impact.",
        published=datetime(2026, 3, 2, tzinfo=UTC),
        content_hash="h",
    )
    state.save_new_items([item], datetime(2026, 3, 2, tzinfo=UTC))
    tags = Tags(relevant=True, controls=[ControlTag(id="RISK-IMPACT", score=0.9, evidence="")])
    state.set_tags([("co-1", tags)])
    workspace = Workspace(state)
    workspace.move(COMMAND_LINE, "co-1", TriageRequest(state="under-review"))
    flag = workspace.raise_flag(
        COMMAND_LINE,
        "co-1",
        FlagRequest(
            controls=["RISK-IMPACT"],
            severity="high",
            owner="Risk",
            due=date(2026, 6, 1),
            rationale="We deploy a pricing model in Colorado.",
        ),
    )
    runner = CliRunner()

    def statuses() -> dict[str, str]:
        result = runner.invoke(app, ["readiness", "--home", str(home), "--json"])
        assert result.exit_code == 0, result.output
        return {row["obligation"]: row["status"] for row in json.loads(result.stdout)}

    assert statuses()["deployer-risk-programme"] == "in-progress"
    assert statuses()["deployer-consumer-notice"] == "not-started"
    workspace.close_flag(COMMAND_LINE, flag.id, FlagCloseRequest(note="Programme in place."))
    csv_path, ics_path = tmp_path / "r.csv", tmp_path / "r.ics"
    result = runner.invoke(
        app,
        ["readiness", "--home", str(home), "--csv", str(csv_path), "--ics", str(ics_path)],
    )
    assert result.exit_code == 0, result.output
    rows = {row["obligation"]: row for row in csv.DictReader(io.StringIO(csv_path.read_text()))}
    assert rows["deployer-risk-programme"]["status"] == "ready"
    assert rows["deployer-risk-programme"]["from"] == "2026-06-30"
    events = Calendar.from_ical(ics_path.read_bytes()).walk("VEVENT")
    assert {event.decoded("dtstart") for event in events} == {date(2026, 6, 30)}
    assert len(events) == len(rows)


def test_digest_lists_obligations_applying_in_the_next_90_days(
    tmp_path: Path, catalogue: InstrumentsFile
) -> None:
    from horizon.digest import Week, build_digest, digest_record, render_markdown, render_text

    rows = readiness(catalogue.instruments, _organisation(["EU"], ["deployer"]), {}, {}, {}, [])
    state = StateDB(tmp_path / "state.db")
    digest = build_digest(state, Week.parse("2026-W20"), [], obligations=rows)
    assert digest.applies_soon and {row.from_date for row in digest.applies_soon} == {
        date(2026, 8, 2)
    }
    markdown = render_markdown(digest)
    assert "## Applies in the next 90 days" in markdown
    assert "2026-08-02 · TRANSPARENCY · EU AI Act (transparency-to-people, not-started)" in markdown
    assert "APPLIES IN THE NEXT 90 DAYS" in render_text(digest)
    record = digest_record(digest)
    assert {row["obligation"] for row in record["applies_soon"]} >= {"fundamental-rights-impact"}
    later = build_digest(state, Week.parse("2025-W20"), [], obligations=rows)
    assert later.applies_soon == [] and "Applies in the next 90 days" not in render_markdown(later)
