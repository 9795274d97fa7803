"""`horizon search` and `horizon similar`: find stored items by meaning and wording, with
filters, as a table or as JSON; `horizon search --batch FILE` answers many queries in one
process (JSON Lines in, JSON Lines out), loading the model once."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.config import ConfigError, Settings, load_catalogue
from horizon.runtime import Runtime
from horizon.search import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    FilterError,
    SearchFilters,
    SearchHit,
    UnknownItemError,
    search,
    search_many,
    similar,
)
from horizon.store import Store

OPTION_OF_FILTER = {
    "since": "--since",
    "until": "--until",
    "publishers": "--publisher",
    "categories": "--category",
    "jurisdictions": "--jurisdiction",
    "controls": "--control",
    "themes": "--theme",
    "types": "--type",
}

SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only items published on or after this date.")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Only items published on or before this date.")
]
PublisherOption = Annotated[
    list[str] | None,
    typer.Option(
        "--publisher",
        help="Only this publisher: whole words of its name, any case ('ICO', 'european "
        "commission'). Repeat for any of several.",
    ),
]
CategoryOption = Annotated[
    list[str] | None,
    typer.Option("--category", help="Only this source category (regulator, vendor, …)."),
]
JurisdictionOption = Annotated[
    list[str] | None,
    typer.Option("--jurisdiction", help="Only this jurisdiction (UK, EU, US, INT, GLOBAL, …)."),
]
ControlOption = Annotated[
    list[str] | None, typer.Option("--control", help="Only items tagged with this control.")
]
ThemeOption = Annotated[
    list[str] | None, typer.Option("--theme", help="Only items tagged with this theme.")
]
TypeOption = Annotated[
    list[str] | None,
    typer.Option("--type", help="Only this item type (legislation, guidance, consultation, …)."),
]
DeadlineOption = Annotated[
    bool | None,
    typer.Option(
        "--has-deadline/--no-deadline",
        help="Only items with (or without) a response deadline.",
        show_default=False,
    ),
]
RelevantOption = Annotated[
    bool, typer.Option("--relevant", help="Only items tagged as relevant to AI governance.")
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, max=500, help="How many results.")]
BatchOption = Annotated[
    Path | None,
    typer.Option(
        "--batch",
        help="Answer every query of this JSON Lines file ('-' for standard input), one "
        '{"qid", "query", filters…} per line, writing one {"qid", "hits"} (or {"qid", '
        '"error"}) line each, in order. Line filters: since, until, publisher, category, '
        "jurisdiction, control, theme, type (a string or a list), has_deadline, relevant "
        "(true/false), limit; options given on the command line apply to every line a line "
        "does not override.",
        show_default=False,
    ),
]
BATCH_CHUNK = 256
# Filter keys a --batch line may carry -> the SearchFilters field they set.
BATCH_FILTERS = {
    "since": "since",
    "until": "until",
    "publisher": "publishers",
    "category": "categories",
    "jurisdiction": "jurisdictions",
    "control": "controls",
    "theme": "themes",
    "type": "types",
    "has_deadline": "has_deadline",
    "relevant": "relevant_only",
}


@app.command("search")
def search_command(
    query: Annotated[
        str | None,
        typer.Argument(help="What to look for: words, a title, an identifier, a question."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    publisher: PublisherOption = None,
    category: CategoryOption = None,
    jurisdiction: JurisdictionOption = None,
    control: ControlOption = None,
    theme: ThemeOption = None,
    item_type: TypeOption = None,
    has_deadline: DeadlineOption = None,
    relevant: RelevantOption = False,
    limit: LimitOption = 10,
    batch: BatchOption = None,
    home: HomeOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find stored items by meaning and by wording, best first.

    Filters combine with the query and with each other; a filter given several times (or with
    comma-separated values) matches any of its values. With --json, a list of objects: id,
    title, url, publisher, published, score, controls, themes, type, jurisdiction, deadline,
    effective, snippet (matched words between ⟦ and ⟧) and passage (the passage of a long
    item that matched, or null). With --batch FILE, JSON Lines: one {"qid", "hits": [those
    objects]} per input line.
    """
    if (query is None) == (batch is None):
        fail(["give either a QUERY or --batch FILE (not both)"])
    runtime = make_runtime(home, controls=controls)
    filters = _filters(
        runtime.settings,
        since,
        until,
        publisher,
        category,
        jurisdiction,
        control,
        theme,
        item_type,
        has_deadline,
        relevant,
    )
    if batch is not None:
        _run_batch(runtime, batch, filters, limit)
        return
    store = _stored_items(runtime, json_output)
    if store is None:
        return
    _show(search(store, runtime.embedder, query or "", filters, limit), json_output)


def _run_batch(runtime: Runtime, path: Path, defaults: SearchFilters, limit: int) -> None:
    """Answer each line of a --batch file, in chunks that share one call of the model."""
    if str(path) != "-" and not path.is_file():
        fail([f"--batch {path}: no such file"])
    empty = not (runtime.settings.state_db.exists() and runtime.store.state.count_items() > 0)
    if empty:
        err.print(f"The index at {runtime.settings.home} is empty: every query finds nothing.")
    lines = _batch_lines(path)
    while chunk := [line for _, line in zip(range(BATCH_CHUNK), lines, strict=False)]:
        requests: list[tuple[Any, str, SearchFilters, int]] = []
        answers: list[dict[str, Any]] = []
        for number, text in chunk:
            qid, request = _batch_request(runtime.settings, number, text, defaults, limit)
            if isinstance(request, str):
                answers.append({"qid": qid, "error": request})
            else:
                answers.append({"qid": qid})
                requests.append((qid, *request))
        if not empty and requests:
            results = search_many(
                runtime.store, runtime.embedder, [(q, f, n) for _, q, f, n in requests]
            )
        else:
            results = [[] for _ in requests]
        pending = iter(results)
        for answer in answers:
            if "error" not in answer:
                result = next(pending)
                if isinstance(result, FilterError):
                    answer["error"] = _filter_problem(result)
                else:
                    answer["hits"] = [hit.as_json() for hit in result]
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def _batch_lines(path: Path) -> Iterator[tuple[int, str]]:
    handle = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
    try:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line
    finally:
        if handle is not sys.stdin:
            handle.close()


def _batch_request(
    settings: Settings, number: int, text: str, defaults: SearchFilters, limit: int
) -> tuple[Any, tuple[str, SearchFilters, int] | str]:
    """A --batch line as (qid, (query, filters, limit)), or (qid, the problem in plain words);
    a line without a qid is named by its line number."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        return f"line {number}", f"line {number} is not JSON ({error.msg}); write one object a line"
    if not isinstance(row, dict):
        return f"line {number}", f"line {number} is not a JSON object"
    qid = row.get("qid", f"line {number}")
    query = row.get("query")
    if not isinstance(query, str):
        return qid, 'no "query" string on this line'
    unknown = sorted(set(row) - {"qid", "query", "limit", *BATCH_FILTERS})
    if unknown:
        return qid, (
            f"unknown key {', '.join(unknown)}; a line may have qid, query, limit and "
            f"{', '.join(BATCH_FILTERS)}"
        )
    wanted = row.get("limit", limit)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or not 1 <= wanted <= 500:
        return qid, f"limit {wanted!r} is not a whole number from 1 to 500"
    try:
        filters = replace(defaults, **_line_filters(row)).checked()
        _in_catalogue(settings, filters)
    except FilterError as error:
        return qid, _filter_problem(error)
    return qid, (query, filters, wanted)


def _line_filters(row: dict[str, Any]) -> dict[str, Any]:
    """The filters a --batch line sets, as SearchFilters fields; FilterError for a bad one."""
    changes: dict[str, Any] = {}
    for key, field in BATCH_FILTERS.items():
        if key not in row:
            continue
        value = row[key]
        if field in ("since", "until"):
            if not isinstance(value, str | None):
                raise FilterError(field, f"{key} {value!r} is not a date: write it as YYYY-MM-DD")
            changes[field] = _date(field, value)
        elif field in ("has_deadline", "relevant_only"):
            if not isinstance(value, bool | None) or (field == "relevant_only" and value is None):
                raise FilterError(field, f"{key} {value!r} must be true or false")
            changes[field] = value
        else:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise FilterError(field, f"{key} {value!r} must be a string or a list of strings")
            changes[field] = tuple(values) if field == "publishers" else _values(values)
    return changes


def _filter_problem(error: FilterError) -> str:
    key = next((k for k, f in BATCH_FILTERS.items() if f == error.field), error.field)
    return f"{error} (key {key})"


@app.command("similar")
def similar_command(
    item_id: Annotated[str, typer.Argument(help="The id of a stored item (as search shows it).")],
    since: SinceOption = None,
    until: UntilOption = None,
    publisher: PublisherOption = None,
    category: CategoryOption = None,
    jurisdiction: JurisdictionOption = None,
    control: ControlOption = None,
    theme: ThemeOption = None,
    item_type: TypeOption = None,
    has_deadline: DeadlineOption = None,
    relevant: RelevantOption = False,
    limit: LimitOption = 10,
    home: HomeOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """More like this: the stored items closest in meaning to ITEM_ID, with the same filters
    and output as `horizon search` (score: cosine similarity)."""
    runtime = make_runtime(home, controls=controls)
    filters = _filters(
        runtime.settings,
        since,
        until,
        publisher,
        category,
        jurisdiction,
        control,
        theme,
        item_type,
        has_deadline,
        relevant,
    )
    store = _stored_items(runtime, json_output)
    if store is None:
        return
    try:
        hits = similar(store, item_id, filters, limit)
    except UnknownItemError as error:
        fail([f"{error}; `horizon search` shows the ids of stored items"], code=1)
    _show(hits, json_output)


def _filters(
    settings: Settings,
    since: str | None,
    until: str | None,
    publishers: Sequence[str] | None,
    categories: Sequence[str] | None,
    jurisdictions: Sequence[str] | None,
    controls: Sequence[str] | None,
    themes: Sequence[str] | None,
    types: Sequence[str] | None,
    has_deadline: bool | None,
    relevant_only: bool,
) -> SearchFilters:
    """The options as checked filters; exits 2 naming the first bad value."""
    try:
        filters = SearchFilters(
            since=_date("since", since),
            until=_date("until", until),
            publishers=tuple(publishers or ()),
            categories=_values(categories),
            jurisdictions=_values(jurisdictions),
            controls=_values(controls),
            themes=_values(themes),
            types=_values(types),
            has_deadline=has_deadline,
            relevant_only=relevant_only,
        ).checked()
        _in_catalogue(settings, filters)
    except FilterError as error:
        fail([f"{error} (option {OPTION_OF_FILTER.get(error.field, error.field)})"])
    return filters


def _values(given: Sequence[str] | None) -> tuple[str, ...]:
    """Repeated options and comma-separated values alike, blanks dropped."""
    return tuple(part.strip() for value in given or () for part in value.split(",") if part.strip())


def _date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(name, f"{name} {value!r} is not a date: write it as YYYY-MM-DD") from None


def _in_catalogue(settings: Settings, filters: SearchFilters) -> None:
    """Controls and themes must be ones the catalogue defines (when it can be read at all: a
    broken catalogue must not stop anyone searching)."""
    if not (filters.controls or filters.themes):
        return
    try:
        catalogue = load_catalogue([settings.controls_file])
    except ConfigError:
        return
    for field, wanted, known in (
        ("controls", filters.controls, [control.id for control in catalogue.controls]),
        ("themes", filters.themes, [theme.id for theme in catalogue.themes]),
    ):
        for value in wanted:
            if value not in known:
                raise FilterError(
                    field,
                    f"{field[:-1]} {value!r} is not in the catalogue {settings.controls_file}; "
                    f"known: {', '.join(known)}",
                )


def _stored_items(runtime: Runtime, json_output: bool) -> Store | None:
    """The store, or None after saying so plainly (and printing an empty JSON list) when there
    is nothing to search yet; a home that does not exist is not created."""
    if runtime.settings.state_db.exists() and runtime.store.state.count_items() > 0:
        return runtime.store
    if json_output:
        sys.stdout.write("[]\n")
    err.print(
        f"The index at {runtime.settings.home} is empty: run `horizon run` or "
        "`horizon ingest` first."
    )
    return None


def _show(hits: Sequence[SearchHit], json_output: bool) -> None:
    if json_output:
        sys.stdout.write(json.dumps([hit.as_json() for hit in hits], indent=2) + "\n")
        return
    if not hits:
        err.print("Nothing matched.")
        return
    table = Table(show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    table.add_column("publisher", max_width=24)
    table.add_column("title", ratio=1, min_width=30)
    table.add_column("tags", max_width=28)
    table.add_column("id", overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        title = Text(hit.title, style="bold")
        if hit.snippet:
            title.append("\n")
            title.append_text(highlighted(hit.snippet))
        tags = ", ".join([*hit.controls, *(tag for tag in (hit.type, hit.jurisdiction) if tag)])
        table.add_row(str(rank), (hit.published or "")[:10], hit.publisher, title, tags, hit.id)
    out.print(table)


def highlighted(snippet: str) -> Text:
    """A snippet with its marked words in bold yellow, the markers themselves removed."""
    text = Text(style="dim")
    for number, part in enumerate(snippet.split(HIGHLIGHT_OPEN)):
        marked, _, rest = part.partition(HIGHLIGHT_CLOSE) if number else ("", "", part)
        if marked:
            text.append(marked, style="bold yellow")
        text.append(rest)
    return text
