"""`horizon sources`: list and validate the watched sources, with each one's health."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from horizon.cli.common import (
    HomeOption,
    JsonOption,
    SourcesOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.config import ConfigError


@app.command("sources")
def sources_command(
    home: HomeOption = None, sources: SourcesOption = None, json_output: JsonOption = False
) -> None:
    """List the watched sources, validate the sources file, and show each source's health."""
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
    except ConfigError as error:
        fail(error.problems)
    health = runtime.store.state.source_health() if runtime.settings.state_db.exists() else {}
    rows: list[dict[str, Any]] = []
    for source in config.sources:
        state = health.get(source.id)
        rows.append(
            {
                "id": source.id,
                "name": source.name,
                "publisher": source.publisher,
                "category": source.category,
                "jurisdiction": source.jurisdiction,
                "kind": source.kind,
                "url": source.url,
                "enabled": source.enabled,
                "last_checked": state.last_checked.isoformat()
                if state and state.last_checked
                else None,
                "last_outcome": state.last_outcome if state else None,
                "last_error": state.last_error if state else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
            }
        )
    if json_output:
        out.print_json(data=rows)
        return
    table = Table(title=f"{len(rows)} sources in {runtime.settings.sources_file}")
    for column in ("id", "kind", "category", "jur.", "last check", "health"):
        table.add_column(column)
    for row in rows:
        health_text = row["last_outcome"] or "never checked"
        if row["last_outcome"] == "failed":
            health_text = f"[red]failed ×{row['consecutive_failures']}[/red]: {row['last_error']}"
        table.add_row(
            row["id"] + ("" if row["enabled"] else " (disabled)"),
            row["kind"],
            row["category"],
            row["jurisdiction"],
            (row["last_checked"] or "")[:16],
            health_text,
        )
    out.print(table)
    err.print(f"{runtime.settings.sources_file} is valid.")
