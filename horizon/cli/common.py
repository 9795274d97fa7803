"""What every `horizon` command shares: the Typer app, the --home/--sources/--controls/--json
options, plain error reporting, progress bars, and JSON Lines reading.

Data goes to standard output, messages and progress bars to standard error, so every command
can be piped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from horizon.config import ConfigError, load_settings
from horizon.runtime import Runtime

app = typer.Typer(
    help="Horizon: regulatory horizon scanning for AI governance.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Where the index, run state and digests live. Default: $HORIZON_HOME, "
        "else the current directory.",
        file_okay=False,
    ),
]
SourcesOption = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        help="The sources file. Default: HOME/sources.yaml, else the project's sources.yaml.",
        dir_okay=False,
    ),
]
ControlsOption = Annotated[
    Path | None,
    typer.Option(
        "--controls",
        help="The controls catalogue. Default: HOME/controls.yaml, else "
        "the project's controls.yaml.",
        dir_okay=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(problems: Iterable[str], code: int = 2) -> NoReturn:
    """Print each problem on its own plain line and exit."""
    for problem in problems:
        err.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
    raise typer.Exit(code)


def make_runtime(
    home: Path | None, sources: Path | None = None, controls: Path | None = None
) -> Runtime:
    """The runtime for these options; a bad HORIZON_* setting stops here, one line each."""
    try:
        return Runtime(load_settings(home, sources_file=sources, controls_file=controls))
    except ConfigError as error:
        fail(error.problems)


def progress_bar(transient: bool = True, eta: bool = False) -> Progress:
    """A progress bar on standard error; with `eta`, also the estimated time left."""
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if eta:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return Progress(*columns, console=err, transient=transient)


class ProgressReporter:
    """Shows each stage of long work (`horizon.progress`) as a Rich progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.current: TaskID | None = None

    def start(self, stage: str, total: int | None = None) -> None:
        self.current = self.progress.add_task(stage, total=total)

    def advance(self, amount: int = 1) -> None:
        if self.current is not None:
            self.progress.advance(self.current, amount)

    def finish(self, stage: str, detail: str = "") -> None:
        if self.current is not None:
            total = self.progress.tasks[-1].total
            self.progress.update(
                self.current, completed=total, description=f"{stage}: {detail}" if detail else stage
            )


def read_records(lines: Iterable[str]) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """Each non-blank line as a JSON object, or None and the reason it is not one."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield None, f"line {number}: not valid JSON ({error.msg})"
            continue
        if not isinstance(record, dict):
            yield None, f"line {number}: expected a JSON object"
            continue
        yield record, None


def record_id(record: dict[str, Any] | None) -> Any:
    return record.get("id") if record else None


def chunked(
    records: Iterator[tuple[dict[str, Any] | None, str | None]], size: int
) -> Iterator[list[tuple[dict[str, Any] | None, str | None]]]:
    chunk: list[tuple[dict[str, Any] | None, str | None]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
