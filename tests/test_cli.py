"""The command line as users and scripts meet it (in-process, real model and store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def horizon(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_every_command_has_help() -> None:
    top = horizon("--help")
    assert top.exit_code == 0
    for command in ("run", "sources", "ingest", "classify", "search", "digest"):
        assert command in top.stdout
        result = horizon(command, "--help")
        assert result.exit_code == 0, command
        assert "--home" in result.stdout, command


def test_help_flows_each_paragraph_instead_of_keeping_the_docstrings_line_breaks() -> None:
    wide = runner.invoke(app, ["--help"], env={"COLUMNS": "240"}, catch_exceptions=False)
    rows = [row for row in wide.stdout.splitlines() if "briefing" in row]
    assert rows and "from the board, the risks (medium or high impact)" in rows[0]


def leaf_commands() -> dict[str, Any]:
    """Every command a user can run, by its full name ("sources export"); Typer's groups are
    walked by what they do (`list_commands`), as Typer carries its own copy of Click."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str], context: Any) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                walk(sub, [*path, name], type(context)(sub, parent=context, info_name=name))
        else:
            found[" ".join(path)] = command

    root = typer.main.get_command(app)
    walk(root, [], root.context_class(root, info_name="horizon"))
    return found


def test_every_command_takes_json_but_classify_which_always_writes_json_lines() -> None:
    commands = leaf_commands()
    without = sorted(
        name
        for name, command in commands.items()
        if "--json" not in {option for p in command.params for option in p.opts}
    )
    assert len(commands) > 40 and without == ["classify"]


def test_sources_lists_and_validates_the_project_file(tmp_path: Path) -> None:
    result = horizon("sources", "--home", str(tmp_path), "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) >= 30
    assert {"id", "kind", "url", "last_outcome"} <= set(rows[0])


def test_malformed_sources_file_stops_with_one_plain_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "sources:\n  - id: x1\n    name: X\n    publisher: X\n    category: regulator\n"
        "    jurisdiction: UK\n    kind: carrier-pigeon\n    colour: red\n",
        encoding="utf-8",
    )
    for command in (["sources"], ["run", "--replay", str(tmp_path)]):
        result = horizon(*command, "--home", str(tmp_path), "--sources", str(bad))
        assert result.exit_code == 2
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 3
        assert any("'colour': unknown key" in line for line in lines)
        assert any("'url': missing" in line for line in lines)
        assert any("'carrier-pigeon' is not allowed" in line for line in lines)
        assert "Traceback" not in result.stderr


def test_run_refuses_a_directory_that_is_not_a_snapshot(tmp_path: Path) -> None:
    result = horizon("run", "--replay", str(tmp_path), "--home", str(tmp_path / "home"))
    assert result.exit_code == 2
    assert "not a recorded snapshot" in result.stderr


@pytest.mark.slow
def test_ingest_json_reports_each_line_in_order_and_keeps_given_ids(tmp_path: Path) -> None:
    lines = [
        {
            "id": "k1",
            "title": "FTC launches inquiry into AI chatbots acting as companions",
            "published": "2025-09-11",
            "publisher": "FTC",
        },
        "not json",
        {"id": "k2", "summary": "no title"},
        {
            "id": "k3",
            "title": "FTC launches an inquiry into AI chatbots that act as companions",
            "published": "2025-09-11",
            "publisher": "Federal Register",
        },
    ]
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    result = horizon("ingest", "--jsonl", str(jsonl), "--json", "--home", str(home))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["id"], r["status"], r["duplicate_of"]) for r in rows] == [
        ("k1", "new", None),
        (None, "error", None),
        ("k2", "error", None),
        ("k3", "duplicate", "k1"),
    ]
    assert "not valid JSON" in rows[1]["error"] and "'title' is required" in rows[2]["error"]
    again = horizon("ingest", "--jsonl", str(jsonl), "--json", "--home", str(home))
    statuses = [json.loads(line)["status"] for line in again.stdout.splitlines()]
    assert statuses == ["unchanged", "error", "error", "unchanged"]
    found = horizon(
        "search", "AI companion chatbots", "--json", "--limit", "5", "--home", str(home)
    )
    hits = json.loads(found.stdout)
    assert hits[0]["id"] == "k1"
    assert {
        "id",
        "title",
        "url",
        "publisher",
        "published",
        "score",
        "controls",
        "type",
        "jurisdiction",
    } <= set(hits[0])


@pytest.mark.slow
def test_classify_answers_every_line_in_order_and_fails_at_the_end_on_bad_lines() -> None:
    stdin = "\n".join(
        [
            json.dumps({"id": "c1", "title": "ICO fines company for AI facial recognition"}),
            "{broken",
            json.dumps({"id": "c3"}),
            json.dumps({"title": "Bank of England holds interest rates"}),
        ]
    )
    result = horizon("classify", stdin=stdin + "\n")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4
    assert rows[0]["id"] == "c1" and set(rows[0]) == {
        "id",
        "relevant",
        "controls",
        "themes",
        "type",
        "jurisdiction",
        "deadline",
        "effective",
    }
    assert "error" in rows[1] and rows[2] == {"id": "c3", "error": rows[2]["error"]}
    assert rows[3]["id"] is not None and rows[3]["relevant"] is False


def test_search_on_an_empty_home_prints_an_empty_list_and_a_plain_message(tmp_path: Path) -> None:
    result = horizon("search", "anything", "--json", "--home", str(tmp_path))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "empty" in result.stderr


def test_digest_with_a_malformed_week_is_a_plain_error(tmp_path: Path) -> None:
    result = horizon("digest", "--week", "week 37", "--home", str(tmp_path))
    assert result.exit_code == 2
    assert "write it as YYYY-Www" in result.stderr
