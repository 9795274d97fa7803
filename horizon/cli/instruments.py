"""`horizon instruments`: the laws, codes and standards Horizon follows, their stages and
milestones, one instrument's timeline, and stage changes proposed from items."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from horizon.cli.common import HomeOption, JsonOption, app, err, fail, make_runtime, out
from horizon.cli.workspace import open_workspace, plain_errors, validated
from horizon.config import ConfigError, Settings, instruments_path, load_instruments, load_settings
from horizon.instruments.catalogue import InstrumentsFile
from horizon.instruments.linking import link_item
from horizon.instruments.proposals import Decision, Proposals, StoredProposal
from horizon.instruments.stages import propose_stages
from horizon.instruments.timeline import instrument_row, linked_items, timeline
from horizon.state import StateDB, StoredItem
from horizon.workspace.models import StageDecisionRequest

instruments_app = typer.Typer(
    help="Instruments (laws, codes, standards): stages, milestones, timelines and stage "
    "changes proposed from items.",
    invoke_without_command=True,
)
app.add_typer(instruments_app, name="instruments")

OnOption = Annotated[
    str | None,
    typer.Option("--on", help="Count milestones from this day (YYYY-MM-DD). Default: today."),
]
ActorOption = Annotated[
    str, typer.Option("--as", help="The workspace user deciding (an analyst or admin).")
]
RationaleOption = Annotated[
    str | None, typer.Option("--rationale", help="Why (required), kept with the decision.")
]
ProposalArgument = Annotated[int, typer.Argument(help="The proposal's number.")]


def _catalogue(settings: Settings) -> InstrumentsFile:
    try:
        return load_instruments(instruments_path(settings))
    except ConfigError as error:
        fail(error.problems)


def _day(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail([f"--on: '{text}' is not a date like 2026-08-02"])


def _proposals(settings: Settings) -> Proposals | None:
    return Proposals(StateDB(settings.state_db)) if settings.state_db.exists() else None


def _all_items(settings: Settings) -> list[StoredItem]:
    if not settings.state_db.exists():
        return []
    state = StateDB(settings.state_db)
    return list(state.get_items(state.item_ids()).values())


@instruments_app.callback()
def instruments_command(
    context: typer.Context,
    on: OnOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the instruments with their stage and next milestone.

    With --json, a list of objects: id, name, jurisdiction, kind, stage, stage_date,
    next_milestone ({date, applies, articles} or null), obligations (how many)."""
    if context.invoked_subcommand is not None:
        return
    settings = load_settings(home)
    catalogue = _catalogue(settings)
    store = _proposals(settings)
    confirmed = store.confirmed_events() if store else {}
    today = _day(on)
    rows = [
        instrument_row(instrument, confirmed.get(instrument.id, []), today)
        for instrument in catalogue.instruments
    ]
    if json_output:
        out.print_json(data=rows)
        return
    table = Table(title=f"{len(rows)} instruments")
    for column in ("id", "jur.", "kind", "stage", "next milestone"):
        table.add_column(column)
    for row in rows:
        upcoming = row["next_milestone"]
        table.add_row(
            row["id"],
            row["jurisdiction"],
            row["kind"],
            row["stage"] + (f" ({row['stage_date']})" if row["stage_date"] else ""),
            f"{upcoming['date']}: {upcoming['applies']}" if upcoming else "",
        )
    out.print(table)


@instruments_app.command("show")
def show_command(
    instrument_id: Annotated[str, typer.Argument(help="The instrument's id, e.g. eu-ai-act.")],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """One instrument's timeline: stages, milestones and the stored items that name it.

    With --json, an object: the list line's fields plus obligations (the full list) and
    timeline (objects with date, kind: stage | milestone | item, text; items also carry
    item_id, url, evidence and, when they propose one, proposes)."""
    settings = load_settings(home)
    catalogue = _catalogue(settings)
    instrument = catalogue.get(instrument_id)
    if instrument is None:
        known = ", ".join(each.id for each in catalogue.instruments)
        fail([f"no instrument '{instrument_id}'; known instruments: {known}"])
    store = _proposals(settings)
    confirmed = (store.confirmed_events() if store else {}).get(instrument.id, [])
    open_proposals = {
        proposal.item_id: proposal.stage
        for proposal in (store.find("proposed") if store else [])
        if proposal.instrument_id == instrument.id
    }
    linked = linked_items(instrument, catalogue.instruments, _all_items(settings))
    entries = timeline(instrument, confirmed, linked, open_proposals)
    if json_output:
        out.print_json(
            data={
                **instrument_row(instrument, confirmed, date.today()),
                "obligations": [
                    obligation.model_dump(mode="json", by_alias=True)
                    for obligation in instrument.obligations
                ],
                "timeline": entries,
            }
        )
        return
    stage = instrument.stage(confirmed)
    out.print(f"[bold]{instrument.name}[/bold] ({instrument.jurisdiction}, {instrument.kind} law)")
    out.print(f"stage: {stage.stage}" + (f" since {stage.date}" if stage.date else ""))
    for entry in entries:
        extra = f"  [proposes {entry['proposes']}]" if "proposes" in entry else ""
        out.print(f"{entry['date'] or '    —     '}  {entry['kind']:<9} {entry['text']}{extra}")


@instruments_app.command("propose")
def propose_command(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Read every stored item for stage changes ("enters into force", "signed into law",
    "delayed to", "repealed", "adopted") and store them as proposals to confirm.

    Prints the open proposals; with --json a list of objects: id, instrument, item_id, stage,
    date, cue, evidence, status, decided_by, decided_at, rationale."""
    settings = load_settings(home)
    catalogue = _catalogue(settings)
    if not settings.state_db.exists():
        fail([f"{settings.state_db}: no run state yet; run `horizon run` or ingest items first"])
    store = Proposals(StateDB(settings.state_db))
    found = []
    for stored in _all_items(settings):
        item = stored.item
        links = link_item(item.id, item.title, item.summary, catalogue.instruments)
        published = item.published.date() if item.published else None
        found.extend(
            propose_stages(
                item.id, item.title, item.summary, links, catalogue.instruments, published
            )
        )
    added = store.add(found)
    err.print(f"{added} new stage proposals")
    _print_proposals(store.find("proposed"), json_output)


def _print_proposals(proposals: list[StoredProposal], json_output: bool) -> None:
    if json_output:
        out.print_json(data=[proposal.as_json() for proposal in proposals])
        return
    for proposal in proposals:
        when = proposal.date.isoformat() if proposal.date else "date not stated"
        out.print(
            f"{proposal.id}: {proposal.instrument_id} → {proposal.stage} ({when}) "
            f"from item {proposal.item_id}: “{proposal.evidence}”"
        )


def _decide(
    proposal_id: int,
    decision: Decision,
    actor: str,
    rationale: str | None,
    home: Any,
    json_output: bool,
) -> None:
    """Decide through the workspace, as the web does: role-checked, audited, evidence."""
    if not rationale or not rationale.strip():
        verb = "confirm" if decision == "confirmed" else "reject"
        fail([f"--rationale: say why you {verb} the stage change (required, as on the web)"])
    request = validated(StageDecisionRequest, {"rationale": rationale.strip()})
    runtime = make_runtime(home)
    if not runtime.settings.state_db.exists():
        fail([f"{runtime.settings.state_db}: no run state yet, so no proposals"])
    workspace = open_workspace(runtime, check_controls=False)
    with plain_errors():
        decided = workspace.decide_stage(
            workspace.active_user(actor), proposal_id, decision, request
        )
    _print_proposals([decided], json_output)


@instruments_app.command("confirm")
def confirm_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    rationale: RationaleOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Confirm a stage proposal, saying why: the stage joins the instrument's history.

    Decided as the workspace user named by --as (an analyst or admin), audited
    (`stage.confirm`) and kept in their evidence log, as on the web's proposals page."""
    _decide(proposal_id, "confirmed", actor, rationale, home, json_output)


@instruments_app.command("reject")
def reject_command(
    proposal_id: ProposalArgument,
    actor: ActorOption,
    rationale: RationaleOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reject a stage proposal, saying why; it stays on record as rejected.

    Decided as the workspace user named by --as (an analyst or admin), audited
    (`stage.reject`) and kept in their evidence log, as on the web's proposals page."""
    _decide(proposal_id, "rejected", actor, rationale, home, json_output)
