"""`horizon readiness`: per control, the obligations that apply to the organisation, from
when, and how ready it is; as a table, JSON, CSV or iCalendar. `propose`, `confirm` and
`reject` handle obligations that items state ("deployers must … from DAY"): confirmed, they
join the tracker."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from horizon.cli.common import HomeOption, JsonOption, app, err, fail, make_runtime, out
from horizon.cli.workspace import open_workspace, plain_errors, validated
from horizon.config import (
    ConfigError,
    instruments_path,
    load_catalogue,
    load_instruments,
    load_organisation,
    load_settings,
    organisation_path,
)
from horizon.instruments.obligation_proposals import (
    ObligationProposals,
    StoredObligation,
    with_confirmed,
)
from horizon.instruments.proposals import Decision
from horizon.readiness.export import readiness_calendar, readiness_csv, row_json
from horizon.readiness.facts import obligations_from_items, read_team_facts
from horizon.readiness.tracker import readiness
from horizon.state import StateDB
from horizon.workspace.models import ObligationConfirmRequest, RejectRequest

readiness_app = typer.Typer(invoke_without_command=True)
app.add_typer(readiness_app, name="readiness")
ActorOption = Annotated[
    str, typer.Option("--as", help="The workspace user deciding (an analyst or admin).")
]
ProposalArgument = Annotated[int, typer.Argument(help="The proposal's number.")]


@readiness_app.callback()
def readiness_command(
    context: typer.Context,
    organisation: Annotated[
        Path | None,
        typer.Option(
            "--organisation",
            dir_okay=False,
            help="The organisation file. Default: HOME/organisation.yaml, else the project's.",
        ),
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", dir_okay=False, help="Also write the table as CSV.")
    ] = None,
    ics_file: Annotated[
        Path | None,
        typer.Option("--ics", dir_okay=False, help="Also write the dates as an iCalendar file."),
    ] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Per control, the obligations that apply (by jurisdiction and role) with their dates and
    status: not-started, in-progress (an open flag, or an item under review or with impact)
    or ready (a closed flag, or an item actioned or closed).

    Obligations confirmed from items (`horizon readiness propose`, then `confirm`) join the
    catalogue's.

    With --json, a list of objects: control, instrument, obligation, who, what, from,
    articles, status, reasons."""
    if context.invoked_subcommand is not None:
        return
    settings = load_settings(home)
    try:
        catalogue = load_instruments(instruments_path(settings))
        profile = load_organisation(organisation or organisation_path(settings)).organisation
    except ConfigError as error:
        fail(error.problems)
    state = StateDB(settings.state_db) if settings.state_db.exists() else None
    instruments = with_confirmed(catalogue.instruments, state)
    facts = read_team_facts(state, instruments)
    rows = readiness(
        instruments, profile, facts.links, facts.item_controls, facts.triage, facts.flags
    )
    if csv_file is not None:
        csv_file.write_text(readiness_csv(rows), encoding="utf-8")
        err.print(f"wrote {csv_file}")
    if ics_file is not None:
        ics_file.write_bytes(readiness_calendar(rows, datetime.now(UTC)))
        err.print(f"wrote {ics_file}")
    if json_output:
        out.print_json(data=[row_json(row) for row in rows])
        return
    table = Table(title=f"Readiness of {profile.name}: {len(rows)} obligations")
    for column in ("control", "instrument", "from", "status", "what"):
        table.add_column(column)
    today = date.today()
    for row in rows:
        when = row.from_date.isoformat() if row.from_date else "not set"
        if row.from_date and row.from_date <= today:
            when += " (applies)"
        table.add_row(row.control, row.instrument_id, when, row.status, row.what)
    out.print(table)


def _print_proposals(proposals: list[StoredObligation], json_output: bool) -> None:
    if json_output:
        out.print_json(data=[proposal.as_json() for proposal in proposals])
        return
    if not proposals:
        err.print("No obligation proposal is open.")
    for proposal in proposals:
        out.print(
            f"{proposal.id}: {proposal.instrument_id} {proposal.control}, {proposal.who} from "
            f"{proposal.from_date} [{proposal.status}]: {proposal.what}\n"
            f"      from item {proposal.item_id}: “{proposal.evidence}”"
        )


@readiness_app.command("propose")
def propose_command(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Store the obligations stored items state for an instrument, to confirm.

    An item proposes one where a sentence says a role must do something from a day
    ("deployers must … from 30 June 2026") and names the instrument; one the catalogue already
    holds is not proposed.

    Prints the open proposals; with --json a list of objects: id, instrument, item_id, control,
    who, what, from, evidence, status, decided_by, decided_at, rationale."""
    settings = load_settings(home)
    try:
        catalogue = load_instruments(instruments_path(settings))
    except ConfigError as error:
        fail(error.problems)
    if not settings.state_db.exists():
        fail([f"{settings.state_db}: no run state yet; run `horizon run` or ingest items first"])
    state = StateDB(settings.state_db)
    store = ObligationProposals(state)
    added = store.add(obligations_from_items(state, catalogue.instruments))
    err.print(f"{added} new obligation proposals")
    _print_proposals(store.find("proposed"), json_output)


def _decide(
    proposal_id: int,
    decision: Decision,
    actor: str,
    control: str | None,
    rationale: str,
    home: Path | None,
    json_output: bool,
) -> None:
    """Decide through the workspace, as the web does: role-checked, audited, evidence."""
    request: ObligationConfirmRequest | RejectRequest
    if decision == "confirmed":
        fields = {"control": control, "rationale": rationale.strip()}
        request = validated(ObligationConfirmRequest, fields)
    else:
        request = validated(RejectRequest, {"rationale": rationale.strip()})
    runtime = make_runtime(home)
    settings = runtime.settings
    if not settings.state_db.exists():
        fail([f"{settings.state_db}: no run state yet, so no proposals"])
    if control is not None:
        try:
            known = load_catalogue([settings.controls_file]).control_ids()
        except ConfigError as error:
            fail(error.problems)
        if control not in known:
            fail([f"--control: '{control}' is not a control of {settings.controls_file}"])
    workspace = open_workspace(runtime, check_controls=False)
    with plain_errors():
        user = workspace.active_user(actor)
        if isinstance(request, ObligationConfirmRequest):
            decided = workspace.confirm_obligation(user, proposal_id, request)
        else:
            decided = workspace.reject_obligation(user, proposal_id, request)
    _print_proposals([decided], json_output)


@readiness_app.command("confirm")
def confirm_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    control: Annotated[
        str | None,
        typer.Option("--control", help="File it under this control instead of the proposed one."),
    ] = None,
    rationale: Annotated[
        str, typer.Option("--rationale", help="Why (optional, as on the web), kept with it.")
    ] = "",
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Confirm an obligation proposal: it joins its instrument's obligations in the tracker.

    Decided as the workspace user named by --as (an analyst or admin), audited
    (`obligation.confirm`) and kept in their evidence log, as on the web's proposals page."""
    _decide(proposal_id, "confirmed", actor, control, rationale, home, json_output)


@readiness_app.command("reject")
def reject_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    rationale: Annotated[
        str | None, typer.Option("--rationale", help="Why not (required), kept with it.")
    ] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reject an obligation proposal, saying why; it stays on record as rejected.

    Decided as the workspace user named by --as (an analyst or admin), audited
    (`obligation.reject`) and kept in their evidence log, as on the web's proposals page."""
    if not rationale or not rationale.strip():
        fail(["--rationale: say why the obligation is rejected (required)"])
    _decide(proposal_id, "rejected", actor, None, rationale, home, json_output)
