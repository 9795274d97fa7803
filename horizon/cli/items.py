"""`horizon ingest` and `horizon classify`: items in, as JSON Lines."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.markup import escape

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
from horizon.config import ConfigError, Source
from horizon.enrich.store import FullTextStore
from horizon.ingest import (
    INGEST_CHUNK,
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

    Each item keeps its given id. The file is stored in chunks of 500 lines as it is read, so
    an interrupted ingest keeps every finished chunk and running it again completes the rest.
    With --json, prints one object per input line, in order, as each chunk is stored:
    {"id", "status": "new"|"duplicate"|"unchanged"|"error", "duplicate_of", "error"}.
    """
    runtime = make_runtime(home, sources, controls)
    try:
        known_sources = {source.id: source for source in runtime.sources.sources}
    except ConfigError:
        known_sources = {}
    try:
        handle = jsonl.open(encoding="utf-8")
        total = _count_lines(jsonl)
    except OSError as error:
        fail([f"{jsonl}: cannot be read ({error.strerror})"])
    counts: Counter[str] = Counter()
    problems: list[str] = []
    with handle, progress_bar() as progress:
        task = progress.add_task("Ingesting", total=total)
        for chunk in chunked(read_records(handle), INGEST_CHUNK):
            try:
                results = ingest_chunk(runtime, known_sources, chunk, seen_at=datetime.now(UTC))
            except ConfigError as error:
                fail(error.problems)
            for result in results:
                counts[result.status] += 1
                if result.status == "error":
                    problems.append(result.error or "")
                if json_output:
                    line = result.as_json()
                    if result.status == "error" and not result.id:
                        line["id"] = None
                    sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()
            progress.advance(task, len(chunk))
    if not json_output:
        err.print(
            f"{counts.total()} lines: {counts['new']} new, {counts['duplicate']} duplicate, "
            f"{counts['unchanged']} unchanged, {counts['error']} errors. "
            f"Index holds {runtime.store.index.count()} items."
        )
        for problem in problems:
            err.print(f"[red]error:[/red] {problem}")
    if counts["error"]:
        raise typer.Exit(1)


def _count_lines(path: Path) -> int | None:
    """Lines in a regular file, for the progress bar; None for a pipe, which cannot be read
    twice."""
    if not path.is_file():
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def ingest_chunk(
    runtime: Runtime,
    known_sources: Mapping[str, Source],
    chunk: Sequence[tuple[dict[str, Any] | None, str | None]],
    seen_at: datetime,
) -> list[IngestResult]:
    """Parse, plan, embed, fold, tag and commit one chunk of records; one result per record,
    in order (a record that is not an item gets an error result). With nothing new or changed,
    neither the model nor the classifier is loaded."""
    parsed: list[Item | IngestResult] = []
    for record, problem in chunk:
        if problem is not None:
            parsed.append(IngestResult("", None, "error", error=problem))
            continue
        notes: list[str] = []
        try:
            parsed.append(item_from_record(record or {}, known_sources, notes))
        except RecordError as error:
            given = record_id(record)
            parsed.append(IngestResult(str(given or ""), None, "error", error=str(error)))
        for note in notes:
            err.print(f"[yellow]warning:[/yellow] item {record_id(record) or '?'}: {escape(note)}")
    items = [entry for entry in parsed if isinstance(entry, Item)]
    stored = iter(ingest_items(runtime, items, seen_at))
    return [next(stored) if isinstance(entry, Item) else entry for entry in parsed]


def ingest_items(runtime: Runtime, items: list[Item], seen_at: datetime) -> list[IngestResult]:
    """The ingest stages over one chunk of items, committed before returning."""
    if not items:
        return []
    store = runtime.store
    plan = plan_batch(FullTextStore(store.state).attach(items), store)
    if plan.to_embed():
        embed_batch(plan, runtime.embedder)
        fold_near_duplicates(plan, store)
        tag_batch(plan, runtime.tagger)
    return commit_batch(plan, store, seen_at, runtime.embedder if plan.to_embed() else None)


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
