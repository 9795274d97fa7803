"""A run `horizon run` opens before its flow starts (its crawl running while Prefect's local
server boots): what happens when the flow never takes it over. The path where the flow does
is run end to end, through a real local server, in tests/test_prefect_server.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from horizon.config import load_settings
from horizon.runtime import Runtime
from pipelines.opening import (
    INTERRUPTED_LOGS_KEPT,
    clear_abandoned_scratch,
    open_run,
    release,
    start_early,
    take_over,
)

SNAPSHOT = Path(__file__).parent / "snapshots" / "small"


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    """A home of its own, with the small snapshot's sources."""
    return Runtime(
        load_settings(home=tmp_path / "home", sources_file=SNAPSHOT / "sources.yaml", env={})
    )


def test_a_run_the_flow_never_took_over_stops_its_crawl_and_is_marked_interrupted(
    runtime: Runtime,
) -> None:
    opened = start_early(runtime, SNAPSHOT, send=False)
    assert opened.crawl is not None
    assert runtime.store.state.last_run()["status"] == "running"  # type: ignore[index]

    release(runtime, opened)

    assert opened.crawl.child.poll() is not None
    assert runtime.store.state.last_run()["status"] == "interrupted"  # type: ignore[index]
    assert not opened.workdir.exists()
    with pytest.raises(LookupError, match="was not opened by this process"):
        take_over(opened.run_id)


def test_a_flow_run_started_elsewhere_cannot_take_over_a_run_it_did_not_open() -> None:
    with pytest.raises(LookupError, match="leave opened_run unset"):
        take_over(10_000)


def test_the_next_run_removes_killed_commands_scratch_folders_and_keeps_their_logs(
    runtime: Runtime,
) -> None:
    killed = start_early(runtime, SNAPSHOT, send=False)
    assert killed.crawl is not None
    killed.crawl.outcomes()  # crawled, then the process died before the flow ended the run
    take_over(killed.run_id)
    with (killed.workdir / "crawl.log").open("a") as log:  # a quiet crawl logs nothing
        log.write("WARNING: what the crawler said before the kill\n")
    runs = runtime.settings.runs_dir
    (runs / "backfill-killed").mkdir()  # a killed backfill's: no live command holds the home
    (runs / "backfill-killed" / "backfill.log").write_text("page 3 of 9\n")
    (runs / "notes").mkdir()  # not scratch: left alone

    following = open_run(runtime, SNAPSHOT, send=False)

    assert not killed.workdir.exists() and following.workdir.is_dir()
    crawl_log, backfill_log = sorted((runs / "interrupted").iterdir(), reverse=True)
    assert crawl_log.name == f"{killed.workdir.name}-crawl.log"
    assert "before the kill" in crawl_log.read_text()
    assert backfill_log.name == "backfill-killed-backfill.log"
    assert not (runs / "backfill-killed").exists() and (runs / "notes").is_dir()
    with runtime.store.state.connect() as connection:
        statuses = [row[0] for row in connection.execute("SELECT status FROM runs ORDER BY id")]
    assert statuses == ["interrupted", "running"]


def test_only_the_newest_logs_of_killed_runs_are_kept(tmp_path: Path) -> None:
    for number in range(INTERRUPTED_LOGS_KEPT + 3):
        folder = tmp_path / f"crawl-{number:02}"
        folder.mkdir()
        (folder / "crawl.log").write_text(f"crawl {number}\n")
        (folder / "crawl-results.jsonl").write_text("{}\n")
        os.utime(folder / "crawl.log", (1_000_000 + number, 1_000_000 + number))
    (tmp_path / "crawl-without-log").mkdir()
    (tmp_path / "crawl-quiet").mkdir()
    (tmp_path / "crawl-quiet" / "crawl.log").write_text("")  # nothing to explain: not kept

    clear_abandoned_scratch(tmp_path)

    assert [path.name for path in tmp_path.iterdir()] == ["interrupted"]
    kept = sorted(path.name for path in (tmp_path / "interrupted").iterdir())
    assert kept == [
        f"crawl-{number:02}-crawl.log" for number in range(3, INTERRUPTED_LOGS_KEPT + 3)
    ]
