"""The workspace from a terminal: users, triage, flags, comments and the audit CSV, as a named
user whose role is checked, with plain one-line errors and nothing changed on refusal."""

from __future__ import annotations

import csv
import io
import json
import os
import selectors
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from horizon.cli import app
from horizon.config import Settings
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.state import StateDB
from horizon.workspace import Workspace

PASSWORD = "a long enough password\n"
REPO = Path(__file__).resolve().parents[1]
HORIZON = [sys.executable, "-c", "from pipelines.cli import main; main()"]
START_BACKSTOP_S = 120


@pytest.fixture
def home(settings: Settings) -> Path:
    title = "EU AI Office publishes GPAI code of practice"
    StateDB(settings.state_db).save_new_items(
        [
            Item(
                id="gpai-code",
                title=title,
                publisher="European Commission",
                published=datetime(2025, 7, 10, tzinfo=UTC),
                content_hash=content_hash(title, ""),
                tags=Tags(
                    relevant=True,
                    controls=[ControlTag(id="GPAI-MODELS", score=0.95, evidence=title)],
                    type="guidance",
                    jurisdiction="EU",
                ),
            )
        ],
        datetime(2025, 7, 11, tzinfo=UTC),
    )
    for name, role in (("ann", "analyst"), ("vic", "viewer")):
        result = run(
            settings.home, "users", "add", name, "--role", role, "--password-stdin", stdin=PASSWORD
        )
        assert result.exit_code == 0, result.output
    return settings.home


def run(home: Path, *arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, [*arguments, "--home", str(home)], input=stdin)


def test_an_analyst_triages_flags_comments_and_closes_from_the_terminal(home: Path) -> None:
    assert run(home, "triage", "move", "gpai-code", "under-review", "--as", "ann").exit_code == 0
    flagged = run(
        home,
        "flag",
        "add",
        "gpai-code",
        "--as",
        "ann",
        "--control",
        "GPAI-MODELS",
        "--control",
        "THIRD-PARTY",
        "--severity",
        "critical",
        "--owner",
        "Procurement",
        "--due",
        "2025-08-02",
        "--rationale",
        "Our model supplier must sign the code.",
    )
    assert flagged.exit_code == 0, flagged.output
    assert flagged.stdout.strip() == "1"
    assert (
        run(home, "comment", "add", "gpai-code", "Asked the supplier.", "--as", "ann").exit_code
        == 0
    )
    queue = json.loads(run(home, "triage", "list", "--state", "impact", "--json").stdout)
    assert [(entry["item_id"], entry["open_flags"]) for entry in queue] == [("gpai-code", 1)]
    assert run(home, "flag", "close", "1", "--as", "ann", "--note", "Signed").exit_code == 0
    [flag] = json.loads(run(home, "flag", "list", "--json").stdout)
    assert (flag["status"], flag["controls"], flag["close_note"]) == (
        "closed",
        ["GPAI-MODELS", "THIRD-PARTY"],
        "Signed",
    )
    shown = json.loads(run(home, "triage", "show", "gpai-code", "--json").stdout)
    assert shown["triage"]["state"] == "impact"
    assert [c["body"] for c in shown["comments"]] == ["Asked the supplier."]
    rows = list(
        csv.DictReader(io.StringIO(run(home, "triage", "audit", "--item", "gpai-code").stdout))
    )
    assert [row["action"] for row in rows] == [
        "triage.move",
        "flag.raise",
        "triage.move",
        "comment.add",
        "flag.close",
    ]
    assert {row["actor"] for row in rows} == {"ann"}


def test_a_viewer_is_refused_with_a_plain_line_and_nothing_changes(home: Path) -> None:
    refused = run(home, "triage", "move", "gpai-code", "under-review", "--as", "vic")
    assert refused.exit_code == 2
    assert "vic is a viewer; triaging items needs the analyst role or higher" in refused.output
    assert run(home, "triage", "audit").stdout.count("\n") == 3  # header and two user.add rows


def test_bad_options_are_named_and_nothing_is_stored(home: Path) -> None:
    bad = run(
        home,
        "flag",
        "add",
        "gpai-code",
        "--as",
        "ann",
        "--control",
        "gpai",
        "--severity",
        "extreme",
        "--owner",
        "x",
        "--due",
        "soon",
        "--rationale",
        "r",
    )
    assert bad.exit_code == 2
    for expected in ("--control: 'gpai' is not a control id", "--severity:", "--due:"):
        assert expected in bad.output
    wrong_step = run(home, "triage", "move", "gpai-code", "closed", "--as", "ann")
    assert wrong_step.exit_code == 2
    assert "state: an item that is 'new' can move to 'under-review', not 'closed'" in (
        wrong_step.output
    )
    unknown_user = run(home, "comment", "add", "gpai-code", "hi", "--as", "zoe")
    assert unknown_user.exit_code == 2 and "no user called 'zoe'" in unknown_user.output
    assert json.loads(run(home, "flag", "list", "--json").stdout) == []


def test_users_are_listed_disabled_and_given_api_tokens(home: Path) -> None:
    token = run(home, "users", "token", "ann", "--label", "nightly report")
    assert token.exit_code == 0 and token.stdout.startswith("hzn_")
    assert run(home, "users", "disable", "ann").exit_code == 0
    users = {u["name"]: u for u in json.loads(run(home, "users", "list", "--json").stdout)}
    assert (users["ann"]["active"], users["vic"]["role"]) == (False, "viewer")
    disabled = run(home, "comment", "add", "gpai-code", "hi", "--as", "ann")
    assert disabled.exit_code == 2 and "user 'ann' is disabled" in disabled.output
    short = run(home, "users", "add", "eve", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "password: String should have at least 10" in short.output


def test_the_web_command_refuses_to_start_without_a_readable_control_catalogue(
    home: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "controls.yaml"
    result = run(home, "web", "--controls", str(missing), "--port", "0")
    assert result.exit_code == 2
    assert f"{missing}: file not found" in result.output


def test_the_web_command_on_any_free_port_prints_where_it_listens_as_one_json_line(
    home: Path, tmp_path: Path
) -> None:
    log = tmp_path / "web.log"
    with (
        log.open("wb") as errors,
        subprocess.Popen(
            [*HORIZON, "web", "--home", str(home), "--port", "0", "--json"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            text=True,
        ) as process,
    ):
        try:
            assert process.stdout is not None
            with selectors.DefaultSelector() as selector:  # epoll: no limit on the fd number
                selector.register(process.stdout, selectors.EVENT_READ)
                ready = selector.select(START_BACKSTOP_S)
            line = process.stdout.readline() if ready else ""
            assert line, log.read_text(errors="replace")
            shown = json.loads(line)
            assert set(shown) == {"url", "api", "openapi", "home"}
            assert shown["home"] == str(home) and not shown["url"].endswith(":0/")
            assert httpx.get(f"{shown['url']}login", timeout=30).status_code == 200
            assert httpx.get(shown["openapi"], timeout=30).json()["openapi"]
        finally:
            process.terminate()
            process.wait(timeout=60)


def test_the_web_command_names_a_port_in_use_in_one_line(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(home, "web", "--port", str(port))
    assert result.exit_code == 2
    assert f"--port: cannot listen on 127.0.0.1:{port}" in result.output
    assert "choose another port, or 0 for any free one" in result.output


def test_a_password_typed_with_spaces_is_kept_exactly_and_a_weak_one_refused(
    home: Path, settings: Settings
) -> None:
    spaced = "  spaced harbour lantern  "
    added = run(home, "users", "add", "sam", "--password-stdin", stdin=spaced + "\n")
    assert added.exit_code == 0, added.output
    workspace = Workspace(StateDB(settings.state_db))
    assert workspace.authenticate("sam", spaced) is not None
    assert workspace.authenticate("sam", spaced.strip()) is None
    weak = run(home, "users", "add", "pat", "--password-stdin", stdin="password12\n")
    assert weak.exit_code == 2 and "password: this is one of the" in weak.output


def test_users_are_disabled_enabled_and_given_new_passwords_but_never_the_last_admin(
    home: Path, settings: Settings
) -> None:
    admin = run(home, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert admin.exit_code == 0
    last = run(home, "users", "disable", "ada")
    assert last.exit_code == 2 and "ada is the last active admin" in last.output
    assert json.loads(run(home, "users", "disable", "ann", "--json").stdout)["active"] is False
    assert json.loads(run(home, "users", "enable", "ann", "--json").stdout)["active"] is True
    reset = run(home, "users", "password", "ann", "--password-stdin", stdin=" new harbour tide \n")
    assert reset.exit_code == 0, reset.output
    workspace = Workspace(StateDB(settings.state_db))
    assert workspace.authenticate("ann", " new harbour tide ") is not None
    weak = run(home, "users", "password", "ann", "--password-stdin", stdin="aaaaaaaaaaaa\n")
    assert weak.exit_code == 2 and "password: too easy to guess" in weak.output


def test_an_api_token_can_be_made_to_expire(home: Path) -> None:
    made = run(home, "users", "token", "vic", "--expires", "30", "--json")
    assert made.exit_code == 0, made.output
    answer = json.loads(made.stdout)
    assert answer["token"].startswith("hzn_") and answer["record"]["expires"]
    never = run(home, "users", "token", "vic", "--expires", "0")
    assert never.exit_code == 2 and "--expires: Input should be greater than or equal to 1" in (
        never.output
    )


def test_every_decision_from_the_terminal_can_answer_in_json(home: Path) -> None:
    """Scripts read what a command did from --json, as from the list commands."""

    def answer(*arguments: str, stdin: str | None = None) -> dict:
        result = run(home, *arguments, "--json", stdin=stdin)
        assert result.exit_code == 0, result.output
        value = json.loads(result.stdout)
        assert isinstance(value, dict)
        return value

    added = answer("users", "add", "cat", "--role", "analyst", "--password-stdin", stdin=PASSWORD)
    assert (added["name"], added["role"], added["active"]) == ("cat", "analyst", True)
    assert "password" not in json.dumps(added)
    moved = answer("triage", "move", "gpai-code", "under-review", "--as", "ann")
    assert (moved["item_id"], moved["state"], moved["updated_by"]) == (
        "gpai-code",
        "under-review",
        "ann",
    )
    flag = answer(
        "flag", "add", "gpai-code", "--as", "ann", "--control", "GPAI-MODELS",
        "--severity", "high", "--owner", "Procurement", "--due", "2025-08-02",
        "--rationale", "Our supplier must sign.",
    )  # fmt: skip
    assert (flag["status"], flag["controls"], flag["due"]) == (
        "open",
        ["GPAI-MODELS"],
        "2025-08-02",
    )
    closed = answer("flag", "close", str(flag["id"]), "--as", "ann", "--note", "Signed.")
    assert (closed["id"], closed["status"]) == (flag["id"], "closed")
    comment = answer("comment", "add", "gpai-code", "Read it.", "--as", "ann")
    assert (comment["author"], comment["body"]) == ("ann", "Read it.")
    verdict = answer("tag", "reject", "gpai-code", "GPAI-MODELS", "--as", "ann")
    assert (verdict["control"], verdict["confirmed"], verdict["user"]) == (
        "GPAI-MODELS",
        False,
        "ann",
    )
    audit = run(home, "triage", "audit", "--item", "gpai-code", "--json")
    assert audit.exit_code == 0, audit.output
    actions = [entry["action"] for entry in json.loads(audit.stdout)]
    assert {"triage.move", "flag.raise", "flag.close", "comment.add"} <= set(actions)
