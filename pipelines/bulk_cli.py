"""`horizon backfill` and `horizon reindex`: history back to a date, and every vector again.

Thin wiring: the work is `horizon.bulk`; the pages come from the Scrapy backfill crawl
(`spiders.backfill`). With a Dask address, embedding (items and passages) runs on the cluster's
workers and only this process writes SQLite and Chroma.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from horizon.bulk.backfill import DEFAULT_MAX_PAGES, BackfillSummary, backfill_refusal, run_backfill
from horizon.bulk.cluster import ClusterEmbedder, dask_client
from horizon.bulk.reindex import REINDEX_CHUNK, run_reindex
from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    ProgressReporter,
    SourcesOption,
    app,
    err,
    fail,
    make_runtime,
    out,
    progress_bar,
)
from horizon.config import ConfigError, Source
from horizon.parallel import DaskAddressError, parse_dask_address
from horizon.progress import use_reporter
from horizon.runtime import HomeBusyError, Runtime, exclusive_home
from pipelines.opening import BACKFILL_PREFIX, clear_abandoned_scratch

DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Embed on a Dask cluster: a scheduler address (tcp://HOST:8786) or local[N] for N "
        "local workers. Default: HORIZON_DASK_ADDRESS, else this process.",
    ),
]


@contextmanager
def _working(runtime: Runtime, dask: str | None) -> Iterator[Runtime]:
    """The home's writer lock held, and a runtime that embeds on the cluster when one is named."""
    address = dask or runtime.settings.dask_address
    try:
        target = parse_dask_address(address) if address else None
    except DaskAddressError as error:
        fail([str(error)])
    try:
        with exclusive_home(runtime.settings):
            if target is None:
                yield runtime
                return
            with dask_client(target) as client:
                embedder = ClusterEmbedder(client, runtime.embedder_override)
                yield Runtime(runtime.settings, embedder_override=embedder)
    except HomeBusyError as error:
        fail([str(error)])


@app.command("backfill")
def backfill_command(
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Go back to this day (YYYY-MM-DD): a source stops at its first page whose "
            "entries are all older; older entries are not stored.",
        ),
    ],
    source_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="Backfill only this source id (repeatable). Default: every enabled source "
            "that has pages (not page-watch or rendered ones).",
        ),
    ] = None,
    max_pages: Annotated[
        int,
        typer.Option("--max-pages", min=1, help="At most this many pages per source."),
    ] = DEFAULT_MAX_PAGES,
    dask: DaskOption = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Fetch sources' older pages back to --since and store their items as a run would
    (normalise, de-duplicate, embed, tag, store), committing page by page.

    Pages are followed by the HTTP Link rel="next" header, a source's fields.next (JSON API)
    or selectors.next (listing), a JSON Feed's next_url or a feed's rel="next" link, with the
    crawl's politeness and address rules. Killed, it is continued by running it again: finished
    pages are not fetched again and nothing is stored twice. Exit status 0 when it completed,
    even if some sources failed (they are listed); non-zero when it could not run.
    """
    runtime = make_runtime(home, sources, controls)
    try:
        day = date.fromisoformat(since)
    except ValueError:
        fail([f"--since '{since}' is not a day; write it as YYYY-MM-DD, e.g. 2024-01-01"])
    try:
        config = runtime.sources
    except ConfigError as error:
        fail(error.problems)
    chosen = _chosen_sources(config.sources, source_ids or [])
    from spiders.backfill import stream_pages  # Scrapy: only for a backfill, not at start-up

    with _working(runtime, dask) as working:
        runs_dir = _runs_dir(working)
        clear_abandoned_scratch(runs_dir)
        workdir = Path(tempfile.mkdtemp(prefix=BACKFILL_PREFIX, dir=runs_dir))
        try:
            with (
                progress_bar(transient=False, eta=True) as progress,
                use_reporter(ProgressReporter(progress)),
            ):
                summary = run_backfill(
                    working.store,
                    working.embedder,
                    working.tagger,
                    config.crawl,
                    chosen,
                    day,
                    max_pages,
                    lambda job: stream_pages(job, workdir),
                )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if json_output:
        sys.stdout.write(json.dumps(summary.as_json(), indent=2) + "\n")
    else:
        _print_backfill(summary)


def _chosen_sources(known: list[Source], wanted: list[str]) -> list[Source]:
    by_id = {source.id: source for source in known}
    if not wanted:
        return [s for s in known if s.enabled and backfill_refusal(s) is None]
    problems = [
        f"--source {name}: no such source in sources.yaml (`horizon sources` lists them)"
        for name in wanted
        if name not in by_id
    ]
    problems += [
        refusal for name in wanted if name in by_id and (refusal := backfill_refusal(by_id[name]))
    ]
    if problems:
        fail(problems)
    return [by_id[name] for name in dict.fromkeys(wanted)]


def _runs_dir(runtime: Runtime) -> Path:
    runtime.settings.runs_dir.mkdir(parents=True, exist_ok=True)
    return runtime.settings.runs_dir


def _print_backfill(summary: BackfillSummary) -> None:
    out.print(
        f"[bold]Backfill to {summary.since.isoformat()}[/bold] (embedded with {summary.model})"
    )
    marks = {
        "done": "[green]✓[/green]",
        "failed": "[red]✗[/red]",
        "incomplete": "[yellow]…[/yellow]",
    }
    for report in summary.sources:
        out.print(
            f"  {marks.get(report.status, '?')} {report.source}: {report.pages} pages "
            f"(from page {report.resumed_at_page}), {report.entries} entries — {report.new} new, "
            f"{report.duplicate} duplicate, {report.unchanged} unchanged, "
            f"{report.older_skipped} older than --since — {escape(report.detail)}"
        )
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")


@app.command("reindex")
def reindex_command(
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="Items embedded and written together.")
    ] = REINDEX_CHUNK,
    dask: DaskOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Re-embed every stored item with the current model and rewrite its vector and its
    passages' vectors in the index, chunk by chunk (for example after a model change).

    Killed, it is continued by running it again: chunks already rewritten are not embedded
    again. The index's recorded model changes when every item is done.
    """
    runtime = make_runtime(home)
    with (
        _working(runtime, dask) as working,
        progress_bar(transient=False, eta=True) as progress,
        use_reporter(ProgressReporter(progress)),
    ):
        summary = run_reindex(working.store, working.embedder, chunk)
    if json_output:
        sys.stdout.write(json.dumps(summary.as_json(), indent=2) + "\n")
        return
    resumed = f", continuing after {summary.resumed_after}" if summary.resumed_after else ""
    out.print(
        f"Re-embedded {summary.embedded_items} items and {summary.embedded_passages} passages "
        f"with {summary.model}{resumed}; the index was embedded with "
        f"{summary.previous_model or 'an unrecorded model'} and now with {summary.model}."
    )
