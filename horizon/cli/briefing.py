"""`horizon briefing`: the board briefing pack for a period, as Markdown, HTML and PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from horizon.briefing.gather import gather_briefing
from horizon.briefing.packs import write_pack
from horizon.cli.common import HomeOption, JsonOption, app, fail, out
from horizon.config import (
    ConfigError,
    instruments_path,
    inventory_path,
    load_instruments,
    load_inventory,
    load_organisation,
    load_settings,
    organisation_path,
)
from horizon.state import StateDB


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail([f"{option}: '{text}' is not a date like 2026-01-01"])


@app.command("briefing")
def briefing_command(
    start_text: Annotated[
        str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
    ],
    end_text: Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")],
    output: Annotated[
        Path | None,
        typer.Option("--out", file_okay=False, help="Folder to write to. Default: HOME/briefings."),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who writes the pack (a workspace user, for the evidence log)."),
    ] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the board briefing for a period (a quarter): what we need from the board, the
    risks (medium or high impact) and the opportunities, each with its reason, stage changes,
    readiness by control with a chart, supplier changes and the team's decisions, as Markdown,
    HTML and PDF. The pack is recorded in the run state, so the evidence log cites it.

    Prints the paths written; with --json an object: paths, developments (risks plus
    opportunities), risks, opportunities, stage_changes, supplier_hits, decisions (counts) and
    asks (as text)."""
    start, end = _day("--from", start_text), _day("--to", end_text)
    if end < start:
        fail([f"--to {end} is before --from {start}; give the period's first day first"])
    settings = load_settings(home)
    try:
        catalogue = load_instruments(instruments_path(settings))
        organisation = load_organisation(organisation_path(settings)).organisation
        systems = load_inventory(inventory_path(settings)).systems
    except ConfigError as error:
        fail(error.problems)
    state = StateDB(settings.state_db) if settings.state_db.exists() else None
    briefing = gather_briefing(state, catalogue, organisation, systems, start, end)
    paths = write_pack(briefing, output or settings.home / "briefings", state, by)
    if json_output:
        out.print_json(
            data={
                "paths": [str(path) for path in paths],
                "developments": len(briefing.risks) + len(briefing.opportunities),
                "risks": len(briefing.risks),
                "opportunities": len(briefing.opportunities),
                "stage_changes": len(briefing.stage_changes),
                "supplier_hits": len(briefing.supplier_hits),
                "decisions": len(briefing.decisions),
                "asks": briefing.asks,
            }
        )
        return
    for path in paths:
        out.print(str(path))
