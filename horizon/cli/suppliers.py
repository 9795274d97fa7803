"""`horizon suppliers`: vendor changes that affect the organisation's AI systems, by vendor
and date, from the stored items matched to inventory.yaml."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from horizon.cli.common import HomeOption, JsonOption, app, err, fail, out
from horizon.config import ConfigError, inventory_path, load_inventory, load_settings
from horizon.readiness.suppliers import (
    SupplierHit,
    hit_json,
    match_item,
    supplier_calendar,
    supplier_timeline,
)
from horizon.state import StateDB


@app.command("suppliers")
def suppliers_command(
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
    that affect our AI systems, by vendor then date.

    With --json, a list of objects: item_id, title, url, system_id, system_name, affects,
    vendor, model, kind, date (the change's date or null), evidence, matched."""
    settings = load_settings(home)
    try:
        systems = load_inventory(inventory or inventory_path(settings)).systems
    except ConfigError as error:
        fail(error.problems)
    hits: list[SupplierHit] = []
    if settings.state_db.exists():
        state = StateDB(settings.state_db)
        for stored in state.get_items(state.item_ids()).values():
            item = stored.item
            hits += match_item(item.id, item.title, item.summary, item.url, item.publisher, systems)
    hits = supplier_timeline(hits)
    if ics_file is not None:
        ics_file.write_bytes(supplier_calendar(hits, datetime.now(UTC)))
        err.print(f"wrote {ics_file}")
    if json_output:
        out.print_json(data=[hit_json(hit) for hit in hits])
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
