"""`horizon suppliers`: vendor changes that affect the organisation's AI systems, by vendor
and date, from the stored items matched to inventory.yaml; a dated retirement proposes an
impact flag for the system, which `confirm` raises and `reject` declines."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.cli.workspace import open_workspace, plain_errors, validated
from horizon.config import ConfigError, inventory_path, load_inventory, load_settings
from horizon.readiness.supplier_flags import SupplierFlagProposal, SupplierFlagProposals
from horizon.readiness.suppliers import (
    SupplierHit,
    hit_json,
    match_item,
    supplier_calendar,
    supplier_timeline,
)
from horizon.state import StateDB
from horizon.workspace.models import SEVERITIES, FlagRequest
from horizon.workspace.suppliers import (
    confirm_flag_proposal,
    open_proposal,
    reject_flag_proposal,
)

suppliers_app = typer.Typer(invoke_without_command=True)
app.add_typer(suppliers_app, name="suppliers")
ActorOption = Annotated[
    str, typer.Option("--as", help="The workspace user deciding (an analyst or admin).")
]
ProposalArgument = Annotated[int, typer.Argument(help="The flag proposal's number.")]


def _hit_json(hit: SupplierHit, proposal: SupplierFlagProposal | None) -> dict[str, Any]:
    return {**hit_json(hit), "flag_proposal": proposal.as_json() if proposal else None}


def _proposal_line(proposal: SupplierFlagProposal) -> str:
    if proposal.status == "proposed":
        return (
            f"impact flag proposed ({proposal.id}): horizon suppliers confirm {proposal.id} "
            "--as NAME, or reject"
        )
    if proposal.status == "confirmed":
        return f"impact flag {proposal.flag_id} raised by {proposal.decided_by} ({proposal.id})"
    return f"flag proposal {proposal.id} rejected by {proposal.decided_by}: {proposal.note}"


@suppliers_app.callback()
def suppliers_command(
    context: typer.Context,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            dir_okay=False,
            help="The inventory of AI systems. Default: HOME/inventory.yaml, else the project's.",
        ),
    ] = None,
    ics_file: Annotated[
        Path | None,
        typer.Option("--ics", dir_okay=False, help="Write dated changes as an iCalendar file."),
    ] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Vendor changes (retirements, deprecations, terms and data-use changes, region launches)
    that affect our AI systems, by vendor then date. A retirement with a date proposes an
    impact flag for the system it affects (recorded once, in the run state); confirm it with
    `horizon suppliers confirm ID --as NAME`, or reject it.

    With --json, a list of objects: item_id, title, url, system_id, system_name, affects,
    vendor, model, kind, date (the change's date or null), evidence, matched, flag_proposal
    (null, or id, status, decided_by, note, flag_id)."""
    if context.invoked_subcommand is not None:
        return
    settings = load_settings(home)
    try:
        systems = load_inventory(inventory or inventory_path(settings)).systems
    except ConfigError as error:
        fail(error.problems)
    hits: list[SupplierHit] = []
    proposals: dict[tuple[str, str], SupplierFlagProposal] = {}
    if settings.state_db.exists():
        state = StateDB(settings.state_db)
        for stored in state.get_items(state.item_ids()).values():
            item = stored.item
            hits += match_item(item.id, item.title, item.summary, item.url, item.publisher, systems)
        store = SupplierFlagProposals(state)
        store.add(hits, systems)
        proposals = {(each.item_id, each.system_id): each for each in store.find()}
    hits = supplier_timeline(hits)
    if ics_file is not None:
        ics_file.write_bytes(supplier_calendar(hits, datetime.now(UTC)))
        err.print(f"wrote {ics_file}")
    if json_output:
        out.print_json(
            data=[_hit_json(hit, proposals.get((hit.item_id, hit.system_id))) for hit in hits]
        )
        return
    if not hits:
        err.print("No stored vendor change affects a system in the inventory.")
    vendor = None
    for hit in hits:
        if hit.vendor != vendor:
            vendor = hit.vendor
            out.print(f"[bold]{vendor}[/bold]")
        when = hit.date.isoformat() if hit.date else "no date given"
        out.print(f"  {when}  {hit.kind}: {hit.title}  — affects: {hit.system_name}")
        out.print(f"      “{hit.evidence}”")
        proposal = proposals.get((hit.item_id, hit.system_id))
        if proposal is not None:
            out.print(f"      {_proposal_line(proposal)}")


def _store(home: Path | None) -> SupplierFlagProposals:
    settings = load_settings(home)
    if not settings.state_db.exists():
        fail([f"{settings.state_db}: no run state yet, so no flag proposals"])
    return SupplierFlagProposals(StateDB(settings.state_db))


@suppliers_app.command("confirm")
def confirm_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    control: Annotated[
        list[str] | None,
        typer.Option("--control", help="An affected control; repeatable. Default: the system's."),
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option("--severity", help=f"One of {', '.join(SEVERITIES)}. Default: high."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who acts on it. Default: the system's owner.")
    ] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="Due date. Default: the retirement date.")
    ] = None,
    rationale: Annotated[
        str | None, typer.Option("--rationale", help="Why it matters. Default: what retires when.")
    ] = None,
    home: HomeOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Confirm a flag proposal: raise an impact flag on the vendor's item for the system
    (its controls, owner and the retirement date by default).

    Prints the flag's number; with --json an object: proposal (id, status, decided_by, note,
    flag_id) and flag (the impact flag as `horizon flag list --json` gives it)."""
    store = _store(home)
    with plain_errors():
        proposal = open_proposal(store, proposal_id)
    given = {"controls": control, "severity": severity, "owner": owner, "due": due}
    fields = proposal.default_request() | {k: v for k, v in given.items() if v}
    if rationale:
        fields["rationale"] = rationale
    request = validated(FlagRequest, fields, {"controls": "--control"})
    workspace = open_workspace(make_runtime(home, controls=controls))
    with plain_errors():
        decided, flag = confirm_flag_proposal(
            store, proposal_id, workspace, workspace.active_user(actor), request
        )
    if json_output:
        out.print_json(data={"proposal": decided.as_json(), "flag": flag.model_dump(mode="json")})
        return
    sys.stdout.write(f"{flag.id}\n")
    err.print(f"Raised flag {flag.id} on {decided.item_id} for {decided.system_name}.")


@suppliers_app.command("reject")
def reject_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    rationale: Annotated[str, typer.Option("--rationale", help="Why no flag is needed.")],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reject a flag proposal, saying why (e.g. the system already moved to another model).

    With --json, the proposal: id, status, decided_by, note, flag_id."""
    if not rationale.strip():
        fail(["--rationale: say why no flag is needed"])
    store = _store(home)
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        decided = reject_flag_proposal(
            store, proposal_id, workspace, workspace.active_user(actor), rationale.strip()
        )
    if json_output:
        out.print_json(data=decided.as_json())
        return
    err.print(f"Rejected flag proposal {decided.id}: {decided.note}")
