"""`horizon sources`: list and validate the watched sources, with each one's health; export
them as OPML or JSON (`horizon sources export --opml|--json`). `horizon sources import
FILE.opml` is added by `pipelines.cli`, since it checks each new feed with a crawl."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
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
from horizon.opml import OPML_FEED_KINDS, render_opml

sources_app = typer.Typer(
    help="List and validate the watched sources, with each one's health; export or import "
    "them as OPML.",
    invoke_without_command=True,
)
app.add_typer(sources_app, name="sources")


@sources_app.callback()
def sources_command(
    context: typer.Context,
    home: HomeOption = None,
    sources: SourcesOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the watched sources, validate the sources file, and show each source's health."""
    if context.invoked_subcommand is not None:
        return
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


@sources_app.command("export")
def export_command(
    opml: Annotated[
        bool, typer.Option("--opml", help="Write OPML 2.0 (the format feed readers import).")
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Write every source, feed or not, as a JSON list."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
) -> None:
    """Export the sources: the feeds (rss, atom, rdf, JSON Feed) as OPML for a feed reader or
    another Horizon (json-api and html-listing sources have no feed and are left out, and
    counted), or every source as JSON, as validated from the sources file."""
    if opml == json_output:
        fail(["choose one format: --opml (feeds, for feed readers) or --json (every source)"])
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
    except ConfigError as error:
        fail(error.problems)
    if json_output:
        listed = [source.model_dump(mode="json", exclude_none=True) for source in config.sources]
        document = (json.dumps(listed, indent=2) + "\n").encode("utf-8")
        exported = len(listed)
    else:
        document = render_opml(config.sources, title=f"Horizon sources ({runtime.settings.home})")
        exported = sum(1 for source in config.sources if source.kind in OPML_FEED_KINDS)
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        output.write_bytes(document)
    noun = "sources" if json_output else "feeds"
    err.print(
        f"{exported} {noun} exported"
        + (
            f"; {len(config.sources) - exported} non-feed sources left out"
            if exported < len(config.sources)
            else ""
        )
        + (f" to {output}" if output else "")
    )
