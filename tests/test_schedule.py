"""The weekly scan on a schedule: the deployment `horizon serve` registers, the Monday 07:00
London schedule across daylight-saving changes, plain errors for bad settings, and (slow) a real
`horizon serve` whose local Prefect server schedules the runs."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

import pipelines.schedule  # noqa: F401  (registers `serve` and `deploy` on the app)
from horizon.cli.common import app
from horizon.config import PROJECT_ROOT, Settings
from pipelines.schedule import (
    ScheduleError,
    WeeklySchedule,
    _wait_for_server,
    build_deployment,
    flow_parameters,
)

LONDON = ZoneInfo("Europe/London")


def next_runs(schedule: WeeklySchedule, start: datetime, count: int = 3) -> list[datetime]:
    """The run times Prefect's scheduler derives from the deployment's schedule."""
    from prefect.server.schemas.schedules import CronSchedule

    server_schedule = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    return [
        moment.astimezone(UTC) for moment in asyncio.run(server_schedule.get_dates(count, start))
    ]


def test_serve_deploys_the_weekly_flow_for_this_home_on_monday_mornings(settings: Settings) -> None:
    deployment = build_deployment(settings, WeeklySchedule())
    assert deployment.name == "weekly"
    assert deployment.entrypoint == "pipelines.weekly.weekly_scan"
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 7 * * 1", "Europe/London")
    assert deployment.parameters == {
        "home": str(settings.home),
        "sources_file": str(PROJECT_ROOT / "sources.yaml"),
        "controls_file": str(PROJECT_ROOT / "controls.yaml"),
        "replay_dir": None,
        "chroma_url": None,
        "week": None,
    }


def test_another_time_zone_schedule_and_a_replayed_snapshot_are_passed_on(
    settings: Settings, tmp_path: Path
) -> None:
    deployment = build_deployment(
        settings, WeeklySchedule("30 6 * * 2", "America/New_York"), "trial", tmp_path
    )
    (schedule,) = deployment.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == (
        "30 6 * * 2",
        "America/New_York",
    )
    assert deployment.name == "trial"
    assert flow_parameters(settings, tmp_path)["replay_dir"] == str(tmp_path.resolve())


def test_07_00_stays_07_00_in_london_when_the_clocks_change() -> None:
    runs = next_runs(WeeklySchedule(), datetime(2025, 10, 14, tzinfo=UTC))
    assert runs == [
        datetime(2025, 10, 20, 6, tzinfo=UTC),
        datetime(2025, 10, 27, 7, tzinfo=UTC),
        datetime(2025, 11, 3, 7, tzinfo=UTC),
    ]
    assert {run.astimezone(LONDON).strftime("%a %H:%M") for run in runs} == {"Mon 07:00"}


def test_a_bad_cron_expression_or_time_zone_is_explained() -> None:
    with pytest.raises(
        ScheduleError, match="'61 7 \\* \\* 1' is not a cron expression; write five"
    ):
        WeeklySchedule("61 7 * * 1").check()
    with pytest.raises(ScheduleError, match="'Europe/Lndon' is not a time zone; use an IANA"):
        WeeklySchedule(timezone="Europe/Lndon").check()
    WeeklySchedule().check()


def test_serve_refuses_bad_settings_before_starting_anything(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(
        app, ["serve", "--home", str(home), "--cron", "every monday", "--prefect-port", "1"]
    )
    assert result.exit_code == 2
    assert "'every monday' is not a cron expression" in result.stderr
    assert not (home / ".prefect" / "server.log").exists()
    home.mkdir(parents=True)
    (home / "profiles.yaml").write_text("profiles:\n  - name: Bad Name\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--home", str(home)])
    assert result.exit_code == 2
    assert "'name': use lowercase letters, digits and hyphens" in result.stderr


def test_deploy_needs_a_prefect_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(
        app, ["deploy", "--work-pool", "horizon", "--home", str(tmp_path / "home")]
    )
    assert result.exit_code == 2
    assert "PREFECT_API_URL is not set; point it at your Prefect server" in result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api(port: int, path: str) -> Any:
    response = httpx.post(f"http://127.0.0.1:{port}/api/{path}", json={}, timeout=5.0)
    response.raise_for_status()
    return response.json()


@pytest.mark.slow
def test_horizon_serve_starts_a_local_server_that_schedules_the_runs(tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH")])
    )
    command = "import pipelines.schedule; from pipelines.cli import main; main()"
    log = (tmp_path / "serve.log").open("wb")
    shown_file = (tmp_path / "serve.json").open("wb")
    process = subprocess.Popen(
        [
            *[sys.executable, "-c", command, "serve", "--home", str(home)],
            *["--prefect-port", str(port), "--json"],
        ],
        env=environment,
        cwd=tmp_path,
        stdout=shown_file,
        stderr=log,
    )
    try:
        runs: list[dict[str, Any]] = []
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not runs:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                runs = api(port, "flow_runs/filter")
            time.sleep(1)
        assert runs, (tmp_path / "serve.log").read_text()
        (deployment,) = api(port, "deployments/filter")
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
        shown_file.close()
    assert json.loads((tmp_path / "serve.json").read_text()) == {
        "deployment": "weekly",
        "cron": "0 7 * * 1",
        "timezone": "Europe/London",
        "prefect_api": f"http://127.0.0.1:{port}/api",
        "home": str(home.resolve()),
    }
    assert deployment["name"] == "weekly"
    assert deployment["parameters"]["home"] == str(home.resolve())
    assert deployment["schedules"][0]["schedule"] == {
        "cron": "0 7 * * 1",
        "timezone": "Europe/London",
        "day_or": True,
    }
    starts = [datetime.fromisoformat(run["expected_start_time"]) for run in runs]
    assert {start.astimezone(LONDON).strftime("%a %H:%M") for start in starts} == {"Mon 07:00"}
    assert {run["state_type"] for run in runs} == {"SCHEDULED"}
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2.0)


class _BootingHealth(http.server.BaseHTTPRequestHandler):
    """A server's health check that fails its first `failures` requests, as one booting."""

    failures = 2
    asked = 0

    def do_GET(self) -> None:
        type(self).asked += 1
        status = 503 if type(self).asked <= self.failures else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_while_the_server_boots_the_waiting_jobs_run_and_those_left_are_skipped(
    tmp_path: Path,
) -> None:
    _BootingHealth.asked = 0
    health = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BootingHealth)
    threading.Thread(target=health.serve_forever, daemon=True).start()
    booting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ran: list[int] = []
    try:
        _wait_for_server(
            f"http://127.0.0.1:{health.server_address[1]}/api",
            booting,
            tmp_path / "server.log",
            [partial(ran.append, number) for number in range(5)],
        )
    finally:
        booting.kill()
        booting.wait()
        health.shutdown()
        health.server_close()
    assert ran == [0, 1]  # one job after each unanswered check, none once it answered
    assert _BootingHealth.asked == 3
