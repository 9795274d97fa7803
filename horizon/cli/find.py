"""`horizon search`: find stored items by meaning."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from horizon.cli.common import HomeOption, JsonOption, app, err, make_runtime, out
from horizon.search import search


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="How many results.")] = 10,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find stored items by meaning. With --json, a list of objects, best first."""
    runtime = make_runtime(home)
    if not runtime.settings.state_db.exists():
        if json_output:
            sys.stdout.write("[]\n")
        err.print(
            f"The index at {runtime.settings.home} is empty: run `horizon run` or "
            "`horizon ingest` first."
        )
        return
    hits = search(runtime.store, runtime.embedder, query, limit)
    if json_output:
        sys.stdout.write(json.dumps([hit.as_json() for hit in hits], indent=2) + "\n")
        return
    if not hits:
        err.print("Nothing matched.")
        return
    table = Table(show_lines=False)
    for column in ("#", "score", "published", "publisher", "title", "controls"):
        table.add_column(column)
    for rank, hit in enumerate(hits, start=1):
        table.add_row(
            str(rank),
            f"{hit.score:.2f}",
            (hit.published or "")[:10],
            hit.publisher,
            hit.title,
            ", ".join(hit.controls),
        )
    out.print(table)
