"""The weekly scan through a real Prefect server and worker, end to end: `prefect server start`
on a free loopback port, `horizon deploy` to a process work pool, `prefect worker start`, one
flow run of the small snapshot triggered through the API, and the digest it writes; then the
shipped `prefect.yaml` through `prefect deploy`. Also: `horizon run` finds the server that
`horizon serve` runs for its home only while that server answers."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import free_port

from horizon.config import PROJECT_ROOT, Settings, load_settings
from pipelines.schedule import API_URL_FILE, FLOW_ENTRYPOINT, flow_parameters, running_local_api

SNAPSHOT = Path(__file__).parent / "snapshots" / "small"
POOL = "horizon-test"
BACKSTOP_S = 240.0
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class Processes:
    """Children started in their own process groups, each group killed at the end."""

    def __init__(self, logs: Path, environment: dict[str, str]) -> None:
        self.logs = logs
        self.environment = environment
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                command,
                env=self.environment,
                cwd=self.logs,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def run(self, name: str, *command: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            command,
            env=self.environment,
            cwd=cwd or self.logs,
            capture_output=True,
            text=True,
            timeout=BACKSTOP_S,
        )
        assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop_all(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # children left behind in its group


def wait_for(condition: Any, what: str, deadline: float, alive: list[Any] = ()) -> Any:  # type: ignore[assignment]
    """Poll `condition` until it returns something truthy; fail if a process dies or at the
    backstop."""
    while True:
        for process, name, logs in alive:
            assert process.poll() is None, f"{name} stopped:\n{logs.log(name)}"
        with contextlib.suppress(httpx.HTTPError):
            result = condition()
            if result:
                return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture
def prefect_processes(tmp_path: Path) -> Iterator[tuple[Processes, str]]:
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")
    }
    environment.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_WORKER_QUERY_SECONDS="1",
        DO_NOT_TRACK="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    )
    processes = Processes(tmp_path, environment)
    try:
        yield processes, api_url
    finally:
        processes.stop_all()


@pytest.mark.slow
def test_a_worker_runs_the_deployed_weekly_scan_and_writes_the_digest(
    prefect_processes: tuple[Processes, str], tmp_path: Path
) -> None:
    processes, api_url = prefect_processes
    deadline = time.monotonic() + BACKSTOP_S
    prefect = [sys.executable, "-m", "prefect"]
    port = api_url.split(":")[-1].split("/")[0]
    server = processes.start(
        "server", *prefect, "server", "start", "--host", "127.0.0.1", "--port", port
    )
    wait_for(
        lambda: httpx.get(f"{api_url}/health", timeout=5).status_code == 200,
        "the Prefect server",
        deadline,
        [(server, "server", processes)],
    )
    processes.run("work-pool", *prefect, "work-pool", "create", POOL, "--type", "process")
    home = tmp_path / "home"
    horizon = [sys.executable, "-c", "from pipelines.cli import main; main()"]
    deployed = processes.run(
        "deploy",
        *horizon,
        "deploy",
        "--work-pool",
        POOL,
        "--home",
        str(home),
        "--sources",
        str(SNAPSHOT / "sources.yaml"),
        "--replay",
        str(SNAPSHOT),
        "--json",
    )
    answer, _ = json.JSONDecoder().raw_decode(deployed)
    deployment = httpx.get(
        f"{api_url}/deployments/name/horizon-weekly-scan/weekly", timeout=10
    ).json()
    assert (answer["deployment_id"], answer["work_pool"]) == (deployment["id"], POOL)
    assert answer["parameters"] == deployment["parameters"]
    assert deployment["parameters"]["replay_dir"] == str(SNAPSHOT.resolve())
    worker = processes.start("worker", *prefect, "worker", "start", "--pool", POOL)
    flow_run = httpx.post(
        f"{api_url}/deployments/{deployment['id']}/create_flow_run", json={}, timeout=10
    ).json()

    def finished() -> dict[str, Any] | None:
        run = httpx.get(f"{api_url}/flow_runs/{flow_run['id']}", timeout=10).json()
        return run if run["state_type"] in FINAL_STATES else None

    run = wait_for(
        finished,
        "the flow run",
        deadline,
        [(server, "server", processes), (worker, "worker", processes)],
    )
    assert run["state_type"] == "COMPLETED", processes.log("worker")
    markdown = (home / "digests" / "2025-W37.md").read_text(encoding="utf-8")
    assert "FTC Launches Inquiry into AI Chatbots Acting as Companions" in markdown
    assert "5 sources checked: 4 OK, 1 failed." in markdown
    assert (home / "digests" / "2025-W37.html").exists()
    assert list((home / "digests" / "outbox").glob("*.eml"))

    # The shipped prefect.yaml registers the same flow through `prefect deploy`.
    processes.run("work-pool", *prefect, "work-pool", "create", "horizon", "--type", "process")
    processes.environment.update(HORIZON_HOME=str(tmp_path / "other-home"), PWD=str(PROJECT_ROOT))
    processes.run("prefect-deploy", *prefect, "--no-prompt", "deploy", "--all", cwd=PROJECT_ROOT)
    from_yaml = httpx.get(
        f"{api_url}/deployments/name/horizon-weekly-scan/weekly", timeout=10
    ).json()
    assert from_yaml["work_pool_name"] == "horizon"
    assert from_yaml["parameters"]["home"] == str(tmp_path / "other-home")
    assert from_yaml["parameters"]["controls_file"] == str(PROJECT_ROOT / "controls.yaml")


def test_prefect_yaml_deploys_the_same_flow_with_the_same_parameters() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    (deployment,) = project["deployments"]
    assert deployment["entrypoint"] == FLOW_ENTRYPOINT
    assert deployment["name"] == "weekly"
    expected = flow_parameters(load_settings(PROJECT_ROOT, env={}))
    assert set(deployment["parameters"]) == set(expected)
    (schedule,) = deployment["schedules"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 7 * * 1", "Europe/London")


class HealthHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


def test_horizon_run_uses_the_server_horizon_serve_runs_for_the_home_only_while_it_answers(
    settings: Settings,
) -> None:
    assert running_local_api(settings) is None
    settings.prefect_home.mkdir(parents=True)
    record = settings.prefect_home / API_URL_FILE
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), HealthHandler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/api"
            record.write_text(url, encoding="utf-8")
            assert running_local_api(settings) == url
        finally:
            server.shutdown()
            thread.join()
    assert running_local_api(settings) is None  # recorded, but no longer answering


@pytest.mark.slow
def test_horizon_run_crawls_while_its_own_server_boots_and_the_flow_records_that_crawl(
    tmp_path: Path,
) -> None:
    """Without a Prefect API, `horizon run` starts a local server for the run and, while it
    boots, opens the run and starts the crawl (pipelines/opening.py); the flow's crawl task
    collects it. Run twice: the second run sends the first's validators."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
    )
    home = tmp_path / "home"
    command = [
        sys.executable,
        "-c",
        "from pipelines.cli import main; main()",
        "run",
        "--replay",
        str(SNAPSHOT),
        "--sources",
        str(SNAPSHOT / "sources.yaml"),
        "--home",
        str(home),
        "--no-send",
        "--json",
    ]
    summaries = []
    for _ in range(2):
        done = subprocess.run(
            command,
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=BACKSTOP_S,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        summaries.append(json.loads(done.stdout))
    first, second = summaries
    assert first["items"]["new"] > 0 and first["stage_seconds"]["crawl"] > 0
    assert (first["sources"]["checked"], first["sources"]["failed"]) == (5, 1)
    assert second["items"]["new"] == 0 and second["sources"]["unchanged"] > 0
    assert (home / "digests" / "2025-W37.md").exists()
    with sqlite3.connect(home / ".prefect" / "prefect.db") as prefect_db:
        flow_runs = prefect_db.execute(
            "SELECT state_type, created FROM flow_run ORDER BY created"
        ).fetchall()
        crawls = prefect_db.execute(
            "SELECT state_type FROM task_run WHERE name LIKE 'crawl%'"
        ).fetchall()
    with sqlite3.connect(home / "state.db") as state_db:
        opened = [row[0] for row in state_db.execute("SELECT started FROM runs ORDER BY id")]
    assert [state for state, _ in flow_runs] == ["COMPLETED", "COMPLETED"]
    assert crawls == [("COMPLETED",), ("COMPLETED",)]
    # each run was opened (and its crawl started) before Prefect's flow run existed
    for started, (_, created) in zip(opened, flow_runs, strict=True):
        flow_created = datetime.fromisoformat(created).replace(tzinfo=UTC)
        assert datetime.fromisoformat(started) < flow_created
    assert not list((home / "runs").glob("crawl-*"))  # each run's scratch files removed
