"""The team workspace from a terminal: `web` serves it; `triage`, `flag`, `comment` and `tag`
do what the web pages do, as a named user (`--as NAME`, checked for their role); `users`
manages accounts; `evidence` writes a learner's horizon-scanning log."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Table

from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    SourcesOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.config import ConfigError, load_catalogue
from horizon.runtime import Runtime
from horizon.state import StateDB
from horizon.tagging.home import stored_home_model
from horizon.workspace import (
    COMMAND_LINE,
    Workspace,
    WorkspaceError,
    audit_csv,
    build_evidence,
    catalogue_ksbs,
    render_evidence,
)
from horizon.workspace.evidence import FORMATS, EvidenceFormat, period_problem
from horizon.workspace.models import (
    OPEN_STATES,
    ROLES,
    SEVERITIES,
    STATE_LABELS,
    TRIAGE_STATES,
    CommentRequest,
    FlagCloseRequest,
    FlagRequest,
    PasswordReset,
    TokenRequest,
    TriageRequest,
    TriageState,
    UserRequest,
    Verdict,
)

users_app = typer.Typer(
    help="Workspace users: add, list, disable, enable, reset a password, API tokens.",
    no_args_is_help=True,
)
triage_app = typer.Typer(help="The triage queue and moving items along it.", no_args_is_help=True)
flag_app = typer.Typer(help="Impact flags: raise, list, close.", no_args_is_help=True)
comment_app = typer.Typer(help="Comments on items.", no_args_is_help=True)
tag_app = typer.Typer(
    help="Confirm or reject a control on an item (the classifier learns from it).",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
app.add_typer(triage_app, name="triage")
app.add_typer(flag_app, name="flag")
app.add_typer(comment_app, name="comment")
app.add_typer(tag_app, name="tag")

ActorOption = Annotated[
    str, typer.Option("--as", help="The workspace user making the change (an analyst or admin).")
]
ItemArgument = Annotated[str, typer.Argument(help="The item's id.")]
Request = TypeVar("Request", bound=BaseModel)


def open_workspace(runtime: Runtime, check_controls: bool = True) -> Workspace:
    """The workspace over the home's state database (without opening the vector index)."""
    controls = None
    if check_controls:
        try:
            controls = load_catalogue([runtime.settings.controls_file]).control_ids()
        except ConfigError as error:
            fail(error.problems)
    return Workspace(StateDB(runtime.settings.state_db), controls=controls)


@contextmanager
def plain_errors() -> Iterator[None]:
    """Workspace refusals and bad fields as one plain line each, exit status 2."""
    try:
        yield
    except WorkspaceError as error:
        fail([str(error)])


def validated(
    model: type[Request], fields: dict[str, Any], named: dict[str, str] | None = None
) -> Request:
    """The request, or exit naming each bad field as the user wrote it (`named` maps fields
    given as arguments or under another option name; others are `--field`)."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        labels = named or {}
        problems = []
        for problem in error.errors():
            field = str(problem["loc"][0])
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{labels.get(field, '--' + field)}: {message}")
        fail(problems)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


# ----- web -------------------------------------------------------------------------------


@app.command("web")
def web_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free one).")
    ] = 8000,
    secure_cookies: Annotated[
        bool,
        typer.Option("--secure-cookies", help="Send cookies over HTTPS only (behind a TLS proxy)."),
    ] = False,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Once listening, print one JSON line: url, api, openapi, home.",
        ),
    ] = False,
) -> None:
    """Serve the team workspace (search, items, triage, digest, audit, instruments, stage
    proposals, readiness, suppliers) and its JSON API."""
    import uvicorn

    from horizon.web import create_app

    runtime = make_runtime(home, sources, controls)
    try:
        application = create_app(runtime, secure_cookies=secure_cookies)
    except ConfigError as error:
        fail(error.problems)
    listening = _listening_socket(host, port)
    bound = listening.getsockname()[1]
    url = f"http://{f'[{host}]' if ':' in host else host}:{bound}/"
    if json_output:
        sys.stdout.write(
            json.dumps(
                {
                    "url": url,
                    "api": f"{url}api/v1/",
                    "openapi": f"{url}api/openapi.json",
                    "home": str(runtime.settings.home),
                }
            )
            + "\n"
        )
        sys.stdout.flush()
    else:
        err.print(
            f"Horizon workspace for {runtime.settings.home} on {url} "
            "(API description at /api/openapi.json). Stop with Ctrl+C."
        )
    config = uvicorn.Config(
        application, host=host, port=bound, log_level="warning", server_header=False
    )
    uvicorn.Server(config).run(sockets=[listening])


WEB_BACKLOG = 2048  # uvicorn's own default


def _listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening here so that port 0 can be reported as the
    port it got (a client that reads it can connect at once), and a port in use is one plain
    line rather than a server log."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        fail(
            [
                f"--port: cannot listen on {host}:{port} ({error.strerror}); choose another "
                "port, or 0 for any free one"
            ]
        )
    listening.listen(WEB_BACKLOG)
    return listening


# ----- users -----------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, . _ -")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "analyst",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a user. The password is asked for (twice) unless --password-stdin is given; it is
    kept exactly as typed, spaces included."""
    password = _read_password(password_stdin)
    request = validated(
        UserRequest,
        {"name": name, "role": role, "password": password},
        {"name": "NAME", "password": "password"},
    )
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        user = workspace.add_user(COMMAND_LINE, request)
    if json_output:
        print_json(user.model_dump(mode="json"))
        return
    err.print(f"Added {user.name} ({user.role}).")


@users_app.command("list")
def users_list(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """List users, their roles and whether they are active."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    users = workspace.list_users(COMMAND_LINE)
    if json_output:
        print_json([user.model_dump(mode="json") for user in users])
        return
    table = Table()
    for column in ("name", "role", "status", "created"):
        table.add_column(column)
    for user in users:
        status = "active" if user.active else "disabled"
        table.add_row(user.name, user.role, status, f"{user.created:%Y-%m-%d}")
    out.print(table)


def _read_password(from_stdin: bool) -> str:
    """A password exactly as typed: only the line break that ends it is dropped."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Disable a user: they cannot sign in, and their sessions and API tokens stop working.
    The last active admin cannot be disabled."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        user = workspace.disable_user(COMMAND_LINE, name)
    if json_output:
        print_json(user.model_dump(mode="json"))
    err.print(f"Disabled {name}.")


@users_app.command("enable")
def users_enable(
    name: Annotated[str, typer.Argument(help="The user to enable again.")],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Let a disabled user sign in again (their old API tokens stay revoked)."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        user = workspace.enable_user(COMMAND_LINE, name)
    if json_output:
        print_json(user.model_dump(mode="json"))
    err.print(f"Enabled {name}.")


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="The user whose password is set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Set a user's password (asked for twice unless --password-stdin), exactly as typed.
    Their browser sessions end; their API tokens keep working until revoked."""
    request = validated(PasswordReset, {"password": _read_password(password_stdin)})
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        user = workspace.reset_password(COMMAND_LINE, name, request)
    if json_output:
        print_json(user.model_dump(mode="json"))
    err.print(f"Set a new password for {name}; their sessions have ended.")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "script",
    expires: Annotated[
        int | None,
        typer.Option("--expires", help="Days until the token stops working (default: never)."),
    ] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create an API token for a user and print it (it is shown only this once)."""
    request = validated(
        TokenRequest, {"label": label, "expires_in_days": expires}, {"expires_in_days": "--expires"}
    )
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        user = workspace.active_user(name)
        record, token = workspace.create_token(user, request)
    if json_output:
        print_json({"token": token, "record": record.model_dump(mode="json")})
        return
    sys.stdout.write(token + "\n")


# ----- triage ----------------------------------------------------------------------------


@triage_app.command("list")
def triage_list(
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help=f"Repeatable; one of {', '.join(TRIAGE_STATES)}."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 100,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """The triage queue: relevant items in the given states (default: every open state)."""
    unknown = [value for value in state or [] if value not in TRIAGE_STATES]
    if unknown:
        fail([f"--state: '{unknown[0]}' is not one of {', '.join(TRIAGE_STATES)}"])
    states: list[TriageState] = [s for s in TRIAGE_STATES if s in (state or [])] or list(
        OPEN_STATES
    )
    workspace = open_workspace(make_runtime(home), check_controls=False)
    entries = workspace.queue(states, limit=limit)
    if json_output:
        print_json([entry.model_dump(mode="json") for entry in entries])
        return
    table = Table()
    for column in ("id", "published", "state", "flags", "controls", "title"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.item_id,
            f"{entry.published:%Y-%m-%d}" if entry.published else "",
            STATE_LABELS[entry.state],
            str(entry.open_flags or ""),
            ", ".join(entry.controls),
            entry.title,
        )
    out.print(table)


@triage_app.command("move")
def triage_move(
    item: ItemArgument,
    state: Annotated[str, typer.Argument(help=f"One of {', '.join(TRIAGE_STATES)}.")],
    actor: ActorOption,
    rationale: Annotated[
        str, typer.Option("--rationale", help="Why; required for impact and no-impact.")
    ] = "",
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Move an item: new → under-review → impact / no-impact → actioned → closed."""
    request = validated(TriageRequest, {"state": state, "rationale": rationale}, {"state": "STATE"})
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        record = workspace.move(workspace.active_user(actor), item, request)
    if json_output:
        print_json(record.model_dump(mode="json"))
        return
    err.print(f"{item} is now '{STATE_LABELS[record.state]}'.")


@triage_app.command("show")
def triage_show(
    item: ItemArgument, home: HomeOption = None, json_output: JsonOption = False
) -> None:
    """An item's triage state, flags, comments and audit trail."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        record = workspace.triage(item)
    flags, comments = workspace.flags(item_id=item), workspace.comments(item)
    trail = workspace.audit(item_id=item)
    if json_output:
        print_json(
            {
                "triage": record.model_dump(mode="json"),
                "flags": [flag.model_dump(mode="json") for flag in flags],
                "comments": [comment.model_dump(mode="json") for comment in comments],
                "audit": [entry.model_dump(mode="json") for entry in trail],
            }
        )
        return
    by = (
        f" (by {record.updated_by}, {record.updated_at:%Y-%m-%d %H:%M})"
        if record.updated_at
        else ""
    )
    out.print(f"State: {STATE_LABELS[record.state]}{by}")
    if record.rationale:
        out.print(f"Rationale: {record.rationale}")
    for flag in flags:
        out.print(
            f"Flag {flag.id} [{flag.status}] {flag.severity} on {', '.join(flag.controls)}, "
            f"owner {flag.owner}, due {flag.due}: {flag.rationale}"
        )
    for comment in comments:
        out.print(f"{comment.author} ({comment.at:%Y-%m-%d %H:%M}): {comment.body}")
    for entry in trail:
        out.print(f"{entry.at:%Y-%m-%d %H:%M} {entry.actor} {entry.action} {entry.subject}")


@triage_app.command("audit")
def triage_audit(
    item: Annotated[str | None, typer.Option("--item", help="Only this item's changes.")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this user's changes.")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """The audit log as CSV on standard output (who, when, what, before, after); with --json,
    a list of entries."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    entries = workspace.audit(item_id=item, actor=actor)
    if json_output:
        print_json([entry.model_dump(mode="json") for entry in entries])
        return
    sys.stdout.write(audit_csv(entries))


# ----- flags, comments, tags -------------------------------------------------------------


@flag_app.command("add")
def flag_add(
    item: ItemArgument,
    actor: ActorOption,
    control: Annotated[
        list[str], typer.Option("--control", help="An affected control id; repeatable.")
    ],
    severity: Annotated[str, typer.Option("--severity", help=f"One of {', '.join(SEVERITIES)}.")],
    owner: Annotated[str, typer.Option("--owner", help="Who acts on it.")],
    due: Annotated[str, typer.Option("--due", help="Due date, e.g. 2025-10-31.")],
    rationale: Annotated[str, typer.Option("--rationale", help="Why it matters.")],
    home: HomeOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Raise an impact flag on an item; an undecided item moves to 'impact'. Prints the flag's
    number (with --json, the flag)."""
    request = validated(
        FlagRequest,
        {
            "controls": control,
            "severity": severity,
            "owner": owner,
            "due": due,
            "rationale": rationale,
        },
        {"controls": "--control"},
    )
    workspace = open_workspace(make_runtime(home, controls=controls))
    with plain_errors():
        flag = workspace.raise_flag(workspace.active_user(actor), item, request)
    if json_output:
        print_json(flag.model_dump(mode="json"))
        return
    sys.stdout.write(f"{flag.id}\n")
    err.print(f"Raised flag {flag.id} on {item}.")


@flag_app.command("list")
def flag_list(
    item: Annotated[str | None, typer.Option("--item", help="Only this item's flags.")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Impact flags, oldest first."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    flags = workspace.flags(item_id=item)
    if json_output:
        print_json([flag.model_dump(mode="json") for flag in flags])
        return
    table = Table()
    for column in ("id", "item", "status", "severity", "controls", "owner", "due", "rationale"):
        table.add_column(column)
    for flag in flags:
        table.add_row(
            str(flag.id),
            flag.item_id,
            flag.status,
            flag.severity,
            ", ".join(flag.controls),
            flag.owner,
            flag.due.isoformat(),
            flag.rationale,
        )
    out.print(table)


@flag_app.command("close")
def flag_close(
    flag_id: Annotated[int, typer.Argument(help="The flag's number.")],
    actor: ActorOption,
    note: Annotated[str, typer.Option("--note", help="What was done.")] = "",
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Close an impact flag."""
    request = validated(FlagCloseRequest, {"note": note})
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        flag = workspace.close_flag(workspace.active_user(actor), flag_id, request)
    if json_output:
        print_json(flag.model_dump(mode="json"))
        return
    err.print(f"Closed flag {flag_id}.")


@comment_app.command("add")
def comment_add(
    item: ItemArgument,
    text: Annotated[str, typer.Argument(help="The comment.")],
    actor: ActorOption,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Comment on an item."""
    request = validated(CommentRequest, {"body": text}, {"body": "TEXT"})
    workspace = open_workspace(make_runtime(home), check_controls=False)
    with plain_errors():
        comment = workspace.add_comment(workspace.active_user(actor), item, request)
    if json_output:
        print_json(comment.model_dump(mode="json"))
        return
    err.print(f"Commented on {item}.")


@comment_app.command("list")
def comment_list(
    item: ItemArgument, home: HomeOption = None, json_output: JsonOption = False
) -> None:
    """An item's comments, oldest first."""
    workspace = open_workspace(make_runtime(home), check_controls=False)
    comments = workspace.comments(item)
    if json_output:
        print_json([comment.model_dump(mode="json") for comment in comments])
        return
    for comment in comments:
        out.print(f"{comment.author} ({comment.at:%Y-%m-%d %H:%M}): {comment.body}")


def _judge(verdict: Verdict) -> Callable[..., None]:
    def command(
        item: ItemArgument,
        control: Annotated[str, typer.Argument(help="The control id, e.g. DATA-PRIVACY.")],
        actor: ActorOption,
        home: HomeOption = None,
        controls: ControlsOption = None,
        json_output: JsonOption = False,
    ) -> None:
        workspace = open_workspace(make_runtime(home, controls=controls))
        with plain_errors():
            judged = workspace.judge_tag(workspace.active_user(actor), item, control, verdict)
        if json_output:
            print_json(judged.model_dump(mode="json"))
            return
        err.print(f"{control} {verdict}ed on {item}.")

    command.__doc__ = (
        "Confirm that CONTROL applies to ITEM (adding it if the classifier missed it)."
        if verdict == "confirm"
        else "Reject CONTROL on ITEM: the classifier was wrong to give it."
    )
    return command


tag_app.command("confirm")(_judge("confirm"))
tag_app.command("reject")(_judge("reject"))


@tag_app.command("list")
def tag_list(
    item: Annotated[str | None, typer.Option("--item", help="Only this item's verdicts.")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Every current verdict, and whether the home's tagger has learned from it yet (it
    learns at the next run, or now with `horizon train`)."""
    runtime = make_runtime(home)
    verdicts = open_workspace(runtime, check_controls=False).verdicts(item_id=item)
    stored = stored_home_model(runtime.settings.home)
    learned = {
        (entry["item_id"], entry["control"], entry["confirmed"])
        for entry in (stored.metadata.get("learned_from", []) if stored else [])
    }
    rows = [
        {**v.model_dump(mode="json"), "learned": (v.item_id, v.control, v.confirmed) in learned}
        for v in verdicts
    ]
    if json_output:
        print_json(rows)
        return
    for row in rows:
        call = "confirmed" if row["confirmed"] else "rejected"
        state = "learned" if row["learned"] else "not learned yet"
        out.print(f"{row['item_id']}  {row['control']}  {call} by {row['user']}  ({state})")


# ----- evidence --------------------------------------------------------------------------


@app.command("evidence")
def evidence_command(
    user: Annotated[str, typer.Option("--user", help="The learner's workspace user name.")],
    start: Annotated[str, typer.Option("--from", help="First day, e.g. 2025-09-01.")],
    end: Annotated[str, typer.Option("--to", help="Last day (included).")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv, html or json.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here instead of standard output.")
    ] = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="The log as JSON (the same as --format json).")
    ] = False,
) -> None:
    """A learner's horizon-scanning log for an assessor: sources and coverage, digests and
    items read, triage decisions, flags, tag verdicts and saved searches, mapped to AU0002."""
    first, last, chosen = _evidence_arguments(start, end, "json" if json_output else fmt)
    runtime = make_runtime(home, sources, controls)
    try:
        catalogue = load_catalogue([runtime.settings.controls_file])
        monitored = runtime.sources.enabled()
    except ConfigError as error:
        fail(error.problems)
    workspace = Workspace(StateDB(runtime.settings.state_db), controls=catalogue.control_ids())
    with plain_errors():
        log = build_evidence(
            workspace,
            user,
            first,
            last,
            monitored,
            runtime.settings.digests_dir,
            catalogue_ksbs(catalogue),
        )
    text = render_evidence(log, chosen)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"Wrote {output}")


def _evidence_arguments(start: str, end: str, fmt: str) -> tuple[date, date, EvidenceFormat]:
    problems = []
    dates: dict[str, date] = {}
    for option, value in (("--from", start), ("--to", end)):
        try:
            dates[option] = date.fromisoformat(value)
        except ValueError:
            problems.append(f"{option}: '{value}' is not a date; write it like 2025-09-30")
    if fmt not in FORMATS:
        problems.append(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}")
    if not problems:
        problem = period_problem(dates["--from"], dates["--to"])
        if problem is not None:
            problems.append(f"--{problem[0]}: {problem[1]}")
    if problems:
        fail(problems)
    chosen = next(known for known in FORMATS if known == fmt)
    return dates["--from"], dates["--to"], chosen
