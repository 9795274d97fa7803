"""`horizon ingest` and `horizon classify`: items in, as JSON Lines."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from horizon.classify import classify_output
from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    SourcesOption,
    app,
    chunked,
    err,
    fail,
    make_runtime,
    progress_bar,
    read_records,
    record_id,
)
from horizon.config import ConfigError
from horizon.ingest import (
    IngestResult,
    commit_batch,
    embed_batch,
    fold_near_duplicates,
    plan_batch,
    tag_batch,
)
from horizon.item import Item
from horizon.normalise import RecordError, item_from_record
from horizon.runtime import Runtime

CLASSIFY_CHUNK = 256


@app.command("ingest")
def ingest_command(
    jsonl: Annotated[
        Path,
        typer.Option(
            "--jsonl",
            help="Items as JSON Lines (title required; id, summary, "
            "url, publisher, published, source optional).",
            dir_okay=False,
        ),
    ],
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add items from a JSON Lines file: de-duplicated, embedded, tagged and indexed.

    Each item keeps its given id. With --json, prints one object per input line, in order:
    {"id", "status": "new"|"duplicate"|"unchanged"|"error", "duplicate_of", "error"}.
    """
    runtime = make_runtime(home, sources, controls)
    try:
        known_sources = {source.id: source for source in runtime.sources.sources}
    except ConfigError:
        known_sources = {}
    try:
        handle = jsonl.open(encoding="utf-8")
    except OSError as error:
        fail([f"{jsonl}: cannot be read ({error.strerror})"])
    with handle:
        parsed: list[tuple[Item | None, Any, str | None]] = []
        for record, problem in read_records(handle):
            if problem is not None:
                parsed.append((None, None, problem))
                continue
            notes: list[str] = []
            try:
                parsed.append((item_from_record(record or {}, known_sources, notes), None, None))
            except RecordError as error:
                parsed.append((None, record_id(record), str(error)))
            for note in notes:
                err.print(f"[yellow]warning:[/yellow] item {len(parsed)}: {note}")
    items = [item for item, _, _ in parsed if item is not None]
    try:
        results = iter(ingest_with_progress(runtime, items))
    except ConfigError as error:
        fail(error.problems)
    ordered: list[IngestResult] = []
    for item, given_id, problem in parsed:
        if item is None:
            ordered.append(IngestResult(str(given_id or ""), None, "error", error=problem))
        else:
            ordered.append(next(results))
    if json_output:
        for result in ordered:
            line = result.as_json()
            if result.status == "error" and not result.id:
                line["id"] = None
            sys.stdout.write(json.dumps(line) + "\n")
    else:
        counts = Counter(result.status for result in ordered)
        err.print(
            f"{len(ordered)} lines: {counts['new']} new, {counts['duplicate']} duplicate, "
            f"{counts['unchanged']} unchanged, {counts['error']} errors. "
            f"Index holds {runtime.store.index.count()} items."
        )
        for result in ordered:
            if result.status == "error":
                err.print(f"[red]error:[/red] {result.error}")
    if any(result.status == "error" for result in ordered):
        raise typer.Exit(1)


def ingest_with_progress(runtime: Runtime, items: list[Item]) -> list[IngestResult]:
    """Run the ingest stages with a progress bar on the slow one (embedding). With nothing new
    or changed, neither the model nor the classifier is loaded."""
    if not items:
        return []
    store, seen_at = runtime.store, datetime.now(UTC)
    plan = plan_batch(items, store)
    if plan.to_embed():
        with progress_bar() as progress:
            task = progress.add_task("Embedding", total=len(plan.to_embed()))
            embed_batch(plan, runtime.embedder, lambda done: progress.advance(task, done))
        fold_near_duplicates(plan, store)
        tag_batch(plan, runtime.tagger)
    return commit_batch(plan, store, seen_at)


@app.command("classify")
def classify_command(
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", help="JSON Lines file to read instead of standard input.", dir_okay=False
        ),
    ] = None,
    home: HomeOption = None,
    controls: ControlsOption = None,
) -> None:
    """Tag items read as JSON Lines; write one JSON object per line, in order.

    Output: {"id", "relevant", "controls": [{"id", "score", "evidence"}], "themes", "type",
    "jurisdiction", "deadline", "effective"}. A bad line gives {"id", "error"} and the run goes
    on; the exit status is 1 if any line failed.
    """
    runtime = make_runtime(home, controls=controls)
    try:
        stream: TextIO = input_file.open(encoding="utf-8") if input_file else sys.stdin
    except OSError as error:
        fail([f"{input_file}: cannot be read ({error.strerror})"])
    failed = False
    try:
        with stream:
            for chunk in chunked(read_records(stream), CLASSIFY_CHUNK):
                failed |= _classify_chunk(runtime, chunk)
    except ConfigError as error:
        fail(error.problems)
    if failed:
        raise typer.Exit(1)


def _classify_chunk(
    runtime: Runtime, chunk: list[tuple[dict[str, Any] | None, str | None]]
) -> bool:
    lines: list[dict[str, Any] | Item] = []
    for record, problem in chunk:
        if problem is not None:
            lines.append({"id": None, "error": problem})
            continue
        try:
            lines.append(item_from_record(record or {}))
        except RecordError as error:
            lines.append({"id": record_id(record), "error": str(error)})
    items = [line for line in lines if isinstance(line, Item)]
    tags = iter(runtime.tagger.classify(items) if items else [])
    for line in lines:
        payload = classify_output(line.id, next(tags)) if isinstance(line, Item) else line
        sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()
    return any(isinstance(line, dict) for line in lines)
