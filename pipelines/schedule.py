"""`horizon serve` and `horizon deploy`: the weekly scan on a cron schedule with Prefect.

`serve` keeps one process running that registers the deployment and runs each scheduled flow
run itself. Schedules are turned into runs by a Prefect server's scheduler, so with no
PREFECT_API_URL set, `serve` starts a local server on 127.0.0.1 for as long as it runs (its data
under HOME/.prefect, its UI at the address it prints). `deploy` registers the same deployment
with an existing server's work pool instead; a worker polling that pool runs it.

Prefect reads its settings when first imported, so it is imported only inside the commands,
after the home's Prefect environment is in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import typer

from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    SourcesOption,
    app,
    err,
    fail,
    make_runtime,
)
from horizon.config import (
    PROJECT_ROOT,
    ConfigError,
    Settings,
    load_profiles,
    load_smtp_settings,
    profiles_path,
)
from horizon.runtime import Runtime
from horizon.snapshot import SnapshotError, load_manifest

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_CRON = "0 7 * * 1"
DEFAULT_TIMEZONE = "Europe/London"
DEFAULT_DEPLOYMENT = "weekly"
DEFAULT_PREFECT_PORT = 4200
FLOW_ENTRYPOINT = "pipelines/weekly.py:weekly_scan"
SERVER_START_TIMEOUT_S = 120.0
SERVER_POLL_INTERVAL_S = 0.1
API_URL_FILE = "api-url"


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message says how to fix it."""


class ServerStartError(RuntimeError):
    """The local Prefect server could not be started."""


@dataclass(frozen=True)
class WeeklySchedule:
    """When the weekly scan runs: a cron expression read in a time zone (so 07:00 stays 07:00
    local time across daylight-saving changes)."""

    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE

    def check(self) -> None:
        from prefect.schedules import Cron

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(
                f"'{self.timezone}' is not a time zone; use an IANA name such as Europe/London"
            ) from None
        try:
            Cron(self.cron, timezone=self.timezone)
        except ValueError:
            raise ScheduleError(
                f"'{self.cron}' is not a cron expression; write five fields, minute hour "
                f"day-of-month month day-of-week, e.g. '{DEFAULT_CRON}' for Monday 07:00"
            ) from None


def flow_parameters(settings: Settings, replay: Path | None = None) -> dict[str, Any]:
    """The parameters of `pipelines.weekly.weekly_scan` for this installation; the week is
    left out so each run digests the last complete week before it."""
    return {
        "home": str(settings.home),
        "sources_file": str(settings.sources_file.resolve()),
        "controls_file": str(settings.controls_file.resolve()),
        "replay_dir": str(replay.resolve()) if replay else None,
        "chroma_url": settings.chroma_url,
        "week": None,
    }


def build_deployment(
    settings: Settings,
    schedule: WeeklySchedule,
    name: str = DEFAULT_DEPLOYMENT,
    replay: Path | None = None,
) -> RunnerDeployment:
    """The served deployment: the weekly flow, by module path, on the schedule."""
    from prefect.deployments.runner import EntrypointType, RunnerDeployment
    from prefect.schedules import Cron

    from pipelines.weekly import weekly_scan

    deployment = weekly_scan.to_deployment(
        name=name,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters=flow_parameters(settings, replay),
        description=f"Horizon weekly scan of {settings.sources_file}, home {settings.home}",
        tags=["horizon"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    if not isinstance(deployment, RunnerDeployment):
        raise TypeError("build_deployment must be called outside an event loop")
    return deployment


class LocalServer:
    """A `prefect server start` on 127.0.0.1 for this home (data under HOME/.prefect, log in its
    server.log), started at once and waited for only when the API is first needed."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/api"
        settings.prefect_home.mkdir(parents=True, exist_ok=True)
        self.log_path = settings.prefect_home / "server.log"
        command = [sys.executable, "-m", "prefect", "server", "start", "--analytics-off"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self, meanwhile: Iterable[Callable[[], object]] = ()) -> str:
        """The API's address once the server answers; while it does not yet, run the
        `meanwhile` jobs one at a time instead of sleeping (those left when it answers are
        skipped), so work the caller would do later costs no extra time."""
        _wait_for_server(self.url, self.process, self.log_path, list(meanwhile))
        return self.url

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def prefect_api(settings: Settings, port: int) -> Iterator[str]:
    """The Prefect API to use: Prefect's own PREFECT_API_URL setting when there is one, else a
    local server started here (bound to 127.0.0.1, its UI at the same address without /api,
    inheriting this process's Prefect environment) and stopped on exit. While it runs, its
    address is recorded in the home for `horizon run` to use."""
    configured = configured_api_url()
    if configured:
        yield configured
        return
    server = LocalServer(settings, port)
    record = settings.prefect_home / API_URL_FILE
    try:
        url = server.ready()
        record.write_text(url, encoding="utf-8")
        yield url
    finally:
        record.unlink(missing_ok=True)
        server.stop()


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def running_local_api(settings: Settings) -> str | None:
    """The API of the local server `horizon serve` runs for this home, if it answers now: a
    `horizon run` beside it uses that server instead of starting Prefect's own for one run."""
    record = settings.prefect_home / API_URL_FILE
    try:
        url = record.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        healthy = httpx.get(f"{url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        healthy = False
    return url if healthy else None


def configured_api_url() -> str | None:
    """The Prefect server this process is pointed at (environment or Prefect profile)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _wait_for_server(
    url: str,
    server: subprocess.Popen[bytes],
    log_path: Path,
    meanwhile: list[Callable[[], object]] | None = None,
) -> None:
    """Poll the health check through one client: a client per poll builds a TLS context each
    time (about 0.1 s of CPU apiece, 2.6 s of a loaded warm run), even for plain http."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise ServerStartError(
                    f"the local Prefect server stopped at start-up (exit status "
                    f"{server.returncode}); see {log_path}. Is port "
                    f"{url.split(':')[-1].split('/')[0]} in use? Try --prefect-port"
                )
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if meanwhile:
                meanwhile.pop(0)()
            else:
                time.sleep(SERVER_POLL_INTERVAL_S)
    raise ServerStartError(
        f"the local Prefect server did not answer at {url} within "
        f"{SERVER_START_TIMEOUT_S:.0f} s; see {log_path}"
    )


CronOption = Annotated[
    str,
    typer.Option(
        "--cron",
        help="When to run, as a cron expression (minute hour day month weekday). "
        "Default: Monday 07:00.",
    ),
]
TimezoneOption = Annotated[
    str,
    typer.Option("--timezone", help="The time zone the cron expression is read in (IANA name)."),
]
NameOption = Annotated[str, typer.Option("--name", help="The deployment's name in Prefect.")]
ReplayOption = Annotated[
    Path | None,
    typer.Option(
        "--replay",
        help="Replay a recorded snapshot on every run instead of fetching live (for trials).",
        file_okay=False,
    ),
]


def check_configuration(runtime: Runtime, replay: Path | None, schedule: WeeklySchedule) -> None:
    """Every configuration problem now, at start-up, rather than at 07:00 next Monday."""
    try:
        runtime.sources.enabled()
        load_profiles(profiles_path(runtime.settings))
        load_smtp_settings()
        schedule.check()
        if replay is not None:
            load_manifest(replay.resolve())
    except ConfigError as error:
        fail(error.problems)
    except (ScheduleError, SnapshotError) as error:
        fail([str(error)])


@app.command("serve")
def serve_command(
    cron: CronOption = DEFAULT_CRON,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    name: NameOption = DEFAULT_DEPLOYMENT,
    prefect_port: Annotated[
        int,
        typer.Option(
            "--prefect-port",
            help="Port of the local Prefect server started when PREFECT_API_URL is not set.",
        ),
    ] = DEFAULT_PREFECT_PORT,
    replay: ReplayOption = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Once serving, print one JSON line: deployment, cron, timezone, prefect_api, "
            "home.",
        ),
    ] = False,
) -> None:
    """Run the weekly scan on a schedule (default Monday 07:00 Europe/London) until stopped.

    Each run crawls, stores, writes every digest and sends each team's email once.
    """
    schedule = WeeklySchedule(cron, timezone)
    runtime = make_runtime(home, sources, controls)
    settings = runtime.settings
    os.environ.update(settings.prefect_environment())
    check_configuration(runtime, replay, schedule)
    try:
        with prefect_api(settings, prefect_port) as api_url:
            from prefect import serve
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: api_url}):
                deployment = build_deployment(settings, schedule, name, replay)
                if json_output:
                    shown = {
                        "deployment": deployment.name,
                        "cron": cron,
                        "timezone": timezone,
                        "prefect_api": api_url,
                        "home": str(settings.home),
                    }
                    sys.stdout.write(json.dumps(shown) + "\n")
                    sys.stdout.flush()
                else:
                    err.print(
                        f"Serving '{deployment.name}' on '{cron}' ({timezone}) with the Prefect "
                        f"server at {api_url.removesuffix('/api')} (runs and logs in its UI); "
                        f"home {settings.home}. Stop with Ctrl-C."
                    )
                serve(deployment, print_starting_message=False)
    except ServerStartError as error:
        fail([str(error)])


@app.command("deploy")
def deploy_command(
    work_pool: Annotated[
        str,
        typer.Option("--work-pool", help="The Prefect work pool whose worker runs the scan."),
    ],
    cron: CronOption = DEFAULT_CRON,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    name: NameOption = DEFAULT_DEPLOYMENT,
    replay: ReplayOption = None,
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """Register the scheduled weekly scan with the Prefect server at PREFECT_API_URL, to be run
    by a worker of WORK_POOL (`prefect worker start --pool WORK_POOL`) on this machine."""
    if not configured_api_url():
        fail(
            [
                "PREFECT_API_URL is not set; point it at your Prefect server, e.g. "
                "export PREFECT_API_URL=http://127.0.0.1:4200/api"
            ]
        )
    schedule = WeeklySchedule(cron, timezone)
    runtime = make_runtime(home, sources, controls)
    check_configuration(runtime, replay, schedule)
    from prefect import Flow
    from prefect.schedules import Cron

    source_flow = Flow.from_source(source=str(PROJECT_ROOT), entrypoint=FLOW_ENTRYPOINT)
    if not isinstance(source_flow, Flow):
        raise TypeError("deploy must be called outside an event loop")
    # Prefect prints its own table of deployments; it goes to standard error, so that standard
    # output holds only the JSON asked for.
    with contextlib.redirect_stdout(sys.stderr):
        deployment_id = source_flow.deploy(
            name=name,
            work_pool_name=work_pool,
            schedules=[Cron(cron, timezone=timezone)],
            parameters=flow_parameters(runtime.settings, replay),
            tags=["horizon"],
            build=False,
            push=False,
            print_next_steps=False,
        )
    if json_output:
        sys.stdout.write(
            json.dumps(
                {
                    "deployment_id": str(deployment_id),
                    "name": f"horizon-weekly-scan/{name}",
                    "work_pool": work_pool,
                    "cron": cron,
                    "timezone": timezone,
                    "parameters": flow_parameters(runtime.settings, replay),
                },
                indent=2,
            )
            + "\n"
        )
        return
    err.print(
        f"Deployed 'horizon-weekly-scan/{name}' ({deployment_id}) to work pool '{work_pool}' "
        f"on '{cron}' ({timezone}). Start a worker with: prefect worker start --pool {work_pool}"
    )
