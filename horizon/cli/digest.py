"""`horizon digest`: write a week's digest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from horizon.cli.common import HomeOption, SourcesOption, app, fail, make_runtime, out
from horizon.config import ConfigError
from horizon.digest import Week, WeekError, build_digest, write_digest
from horizon.runtime import Runtime


@app.command("digest")
def digest_command(
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            help="ISO week, e.g. 2025-W37. Default: the last complete week before the latest run.",
        ),
    ] = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
) -> None:
    """Write the weekly digest (Markdown and HTML) under HOME/digests/ and print the paths."""
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
        chosen = Week.parse(week) if week else default_week(runtime)
    except ConfigError as error:
        fail(error.problems)
    except WeekError as error:
        fail([str(error)])
    digest = build_digest(runtime.store.state, chosen, config.sources)
    for path in write_digest(digest, runtime.settings.digests_dir):
        out.print(str(path))


def default_week(runtime: Runtime) -> Week:
    last = runtime.store.state.last_run()
    moment = datetime.fromisoformat(last["as_of"]) if last else datetime.now(UTC)
    return Week.last_complete(moment)
