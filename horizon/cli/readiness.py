"""`horizon readiness`: per control, the obligations that apply to the organisation, from
when, and how ready it is; as a table, JSON, CSV or iCalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from horizon.cli.common import HomeOption, JsonOption, app, err, fail, out
from horizon.config import (
    ConfigError,
    instruments_path,
    load_instruments,
    load_organisation,
    load_settings,
    organisation_path,
)
from horizon.readiness.export import readiness_calendar, readiness_csv, row_json
from horizon.readiness.facts import read_team_facts
from horizon.readiness.tracker import readiness
from horizon.state import StateDB


@app.command("readiness")
def readiness_command(
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

    With --json, a list of objects: control, instrument, obligation, who, what, from,
    articles, status, reasons."""
    settings = load_settings(home)
    try:
        catalogue = load_instruments(instruments_path(settings))
        profile = load_organisation(organisation or organisation_path(settings)).organisation
    except ConfigError as error:
        fail(error.problems)
    state = StateDB(settings.state_db) if settings.state_db.exists() else None
    facts = read_team_facts(state, catalogue.instruments)
    rows = readiness(
        catalogue.instruments, profile, facts.links, facts.item_controls, facts.triage, facts.flags
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
