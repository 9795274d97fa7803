"""The `horizon` console script: the domain commands of `horizon.cli` plus the commands that
start Prefect flows (`run`). Prefect reads its settings when first imported, so the flow module
is imported only after the home's Prefect environment (local API, analytics off) is set."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

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
from horizon.cli.digest import print_deliveries
from horizon.config import ConfigError, load_profiles, profiles_path
from horizon.digest import PublishReport, Week, WeekError
from horizon.parallel import DaskAddressError, parse_dask_address
from horizon.progress import use_reporter
from horizon.runtime import HomeBusyError, Runtime, exclusive_home
from horizon.snapshot import SnapshotError, load_manifest
from pipelines import bulk_cli, schedule, sources_cli
from pipelines.opening import OpenedRun, release, start_early

# importing `schedule` registers `serve` and `deploy`; `sources_cli`, `sources import`;
# `bulk_cli`, `backfill` and `reindex`
__all__ = ["app", "bulk_cli", "main", "schedule", "sources_cli"]


@app.command("run")
def run_command(
    replay: Annotated[
        Path | None,
        typer.Option(
            "--replay",
            help="Replay a recorded snapshot directory instead of fetching "
            "live (e.g. demo/snapshot).",
            file_okay=False,
        ),
    ] = None,
    week: Annotated[
        str | None,
        typer.Option(
            "--week", help="Write the digest of this ISO week (default: the last complete week)."
        ),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send/--no-send",
            help="Email each profile's digest (once per week; "
            "to digests/outbox/ without SMTP settings or when replaying).",
        ),
    ] = True,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Run the crawl, normalisation and embedding on a Dask cluster: a scheduler "
            "address (tcp://HOST:8786) or local[N] for N local workers. Default: "
            "HORIZON_DASK_ADDRESS, else one process.",
        ),
    ] = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run the weekly scan: crawl every source, de-duplicate, embed, tag, store, write the digest.

    Exit status 0 when the run completed, even if some sources failed (the summary names them);
    non-zero when it could not run.
    """
    runtime = make_runtime(home, sources, controls)
    settings = runtime.settings
    try:
        enabled = runtime.sources.enabled()
        if week:
            Week.parse(week)
        load_profiles(profiles_path(settings))
        if replay is not None:
            replay = replay.resolve()
            load_manifest(replay)
        dask_address = dask or settings.dask_address
        if dask_address:
            parse_dask_address(dask_address)
    except ConfigError as error:
        fail(error.problems)
    except (WeekError, SnapshotError, DaskAddressError) as error:
        fail([str(error)])
    err.print(f"{len(enabled)} sources enabled in {settings.sources_file}; home {settings.home}")
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.prefect_environment())
    # The Prefect API: one configured, or `horizon serve`'s for this home while it runs, or a
    # local server started now, booting while the flow's modules import.
    api_url = schedule.configured_api_url() or schedule.running_local_api(settings)
    server = None if api_url else schedule.LocalServer(settings, schedule.free_loopback_port())
    try:
        with ExitStack() as held:
            opened = None
            if server is not None and not dask_address:
                # crawl while the server boots; the flow takes the run over (pipelines/opening.py)
                held.enter_context(exclusive_home(settings))
                opened = start_early(runtime, replay, send)
                held.callback(release, runtime, opened)
            summary = _run_flow(runtime, server, api_url, replay, week, send, dask_address, opened)
    # a busy home or a bad configuration found here or inside the flow, said in plain words
    except (schedule.ServerStartError, HomeBusyError) as error:
        fail([str(error)])
    except ConfigError as error:
        fail(error.problems)
    finally:
        if server is not None:
            server.stop()
    if json_output:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        print_summary(summary)


def _run_flow(
    runtime: Runtime,
    server: schedule.LocalServer | None,
    api_url: str | None,
    replay: Path | None,
    week: str | None,
    send: bool,
    dask_address: str | None,
    opened: OpenedRun | None = None,
) -> dict[str, Any]:
    """The flow on the chosen Prefect API, with progress bars on standard error; `opened`:
    the run already opened here, its crawl running. Its errors are reported by the caller."""
    settings = runtime.settings
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.weekly import scan_flow, stage_imports

    api_url = api_url or (server.ready(meanwhile=stage_imports()) if server else None)
    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        progress_bar(transient=False) as progress,
        use_reporter(ProgressReporter(progress)),
    ):
        return scan_flow(dask_address)(
            home=str(settings.home),
            sources_file=str(settings.sources_file),
            controls_file=str(settings.controls_file),
            replay_dir=str(replay) if replay else None,
            chroma_url=settings.chroma_url,
            week=week,
            send=send,
            dask_address=dask_address,
            opened_run=opened.run_id if opened else None,
        )


def print_summary(summary: dict[str, Any]) -> None:
    sources, items = summary["sources"], summary["items"]
    where = (
        f"replay of {summary['snapshot']}, as of {summary['as_of'][:16].replace('T', ' ')} UTC"
        if summary["mode"] == "replay"
        else f"live, {summary['as_of'][:16].replace('T', ' ')} UTC"
    )
    total = sum(summary["stage_seconds"].values())
    out.print(f"[bold]Horizon run {summary['run_id']}[/bold] ({where}) completed in {total:.1f} s")
    out.print(
        f"Sources: {sources['checked']} checked — {sources['ok']} OK, "
        f"{sources['unchanged']} unchanged, {sources['failed']} failed"
    )
    for failure in summary["failed_sources"]:
        out.print(f"  [red]✗ {failure['source']}[/red]: {escape(failure['error'] or '')}")
    for warned in summary.get("source_warnings", []):
        out.print(f"  [yellow]! {warned['source']}[/yellow]: {escape(warned['warning'])}")
    for warning in summary.get("warnings", []):
        out.print(f"  [yellow]! {escape(warning)}[/yellow]")
    out.print(
        f"Items: {items['fetched']} fetched — {items['new']} new, {items['updated']} updated, "
        f"{items['duplicate']} duplicate, {items['unchanged']} unchanged; "
        f"{items['embedded']} embedded; the index holds {items['indexed']}"
    )
    if items.get("retagged_with_full_text"):
        out.print(
            f"  {items['retagged_with_full_text']} unchanged items re-tagged and re-indexed with"
            " a full text read after they were stored (not re-embedded)"
        )
    if summary.get("full_text"):
        print_full_text(summary["full_text"])
    if summary.get("page_watch"):
        print_page_watch(summary["page_watch"])
    out.print(
        "Time per stage: "
        + " · ".join(
            f"{stage} {seconds:.1f} s" for stage, seconds in summary["stage_seconds"].items()
        )
    )
    report = PublishReport.model_validate(summary["digest"])
    out.print(f"Digests for {report.week} ({len(report.paths)} files), the all-items digest:")
    for path in report.paths[:2]:
        out.print(f"  {path}")
    print_deliveries(report)
    if "readiness" in summary:
        print_readiness(summary["readiness"])


def print_full_text(block: dict[str, Any]) -> None:
    """How many new items' linked pages and PDFs were read, and one of them as evidence."""
    kinds = ", ".join(f"{count} {kind.upper()}" for kind, count in sorted(block["by_kind"].items()))
    out.print(
        f"Full text: {block['read']} linked pages read ({kinds or 'none'}; "
        f"{block['characters']:,} characters stored), {block['failed']} not read"
    )
    for reason, count in list(block["failures"].items())[:3]:
        out.print(f"  {count} × {escape(reason)}")
    example = block.get("example")
    if example:
        out.print(
            f"  e.g. {escape(example['url'])} ({example['kind']}, {example['chars']:,} "
            f"characters, {example['text_hash'][:19]}…): “{escape(example['excerpt'])}…”"
        )


def print_page_watch(checks: list[dict[str, Any]]) -> None:
    """Every comparison of a watched page: baseline, noise only, or the change item and diff."""
    out.print("Watched pages:")
    for check in checks:
        when = check["checked_at"][:10]
        if check["verdict"] != "changed":
            out.print(f"  {check['source']} ({when}): {check['words']}")
            continue
        out.print(f"  {check['source']} ({when}): [bold]{escape(check['item_title'])}[/bold]")
        for line in (check["diff"] or "").splitlines():
            out.print(f"    {escape(line)}")


def print_readiness(block: dict[str, Any]) -> None:
    """The run's readiness block: instruments by stage, proposals, what applies soon,
    supplier hits and the briefing pack."""
    stages = ", ".join(f"{count} {stage}" for stage, count in sorted(block["stages"].items()))
    out.print(f"[bold]Readiness[/bold]: {block['instruments']} instruments ({stages})")
    proposals = block["proposals"]
    out.print(f"  Stage changes: {proposals['new']} new proposals, {proposals['open']} to confirm")
    duties = block["obligation_proposals"]
    out.print(
        f"  Obligations from items: {duties['new']} new proposals, {duties['open']} to confirm "
        "(horizon readiness propose)"
    )
    for proposal in block["proposed_stages"][:5]:
        when = proposal["date"] or "date not stated"
        out.print(
            f"    {escape(proposal['instrument'])} → {proposal['stage']} ({when}), "
            f"item {proposal['item_id']}"
        )
    obligations = block["obligations"]
    out.print(
        f"  Obligations that apply: {len(obligations)}, "
        f"{len(block['applies_soon'])} of them in the next 90 days"
    )
    for row in obligations:
        out.print(
            f"    {row['from'] or 'not set':<10}  {row['control']:<16} "
            f"{escape(row['instrument'])}: {escape(row['what'][:60])} [{row['status']}]"
        )
    flags = block["supplier_flag_proposals"]
    out.print(
        f"  Supplier hits: {len(block['supplier_hits'])}; impact flags proposed: "
        f"{flags['new']} new, {flags['open']} to confirm (horizon suppliers)"
    )
    for hit in block["supplier_hits"][:5]:
        out.print(
            f"    {escape(hit['vendor'])} {escape(hit['model'])}: {hit['kind']} "
            f"{hit['date'] or 'no date given'} — affects: {escape(hit['affects'])}"
        )
    period = " to ".join(block["briefing"]["period"])
    out.print(f"  Briefing for {period}:")
    for path in block["briefing"]["paths"]:
        out.print(f"    {path}")


def main() -> None:
    try:
        app()
    except ConfigError as error:  # a bad HORIZON_* setting met where a command did not expect it
        for problem in error.problems:
            err.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
