"""Opening a weekly run: its configuration read, its record in the run state, its crawl job.

`pipelines.weekly.run_weekly` opens its own run. `horizon run`, when it has to start Prefect's
local server (4-5 s of booting on two cores, most of it importing the server), opens the run
itself while the server boots and starts the crawl process at once (`start_early`), holding the
home's writer lock; the flow then takes the opened run over (`take_over`) and its crawl task
collects that crawl instead of starting one. If the flow never takes it over (the server did
not start, the user pressed Ctrl-C), `release` stops the crawl and marks the run interrupted,
as a run killed mid-crawl is marked. Nothing here imports Prefect, so the crawl starts before
the flow engine's imports do.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from horizon.archive import warc_path_for
from horizon.config import (
    SourcesFile,
    load_profiles,
    load_smtp_settings,
    load_sources,
    profiles_path,
)
from horizon.enrich.model import EnrichJob
from horizon.enrich.store import FullTextStore
from horizon.fetch import ArchiveTarget, CrawlJob
from horizon.readiness.weekly import ReadinessConfig, load_readiness_config
from horizon.runtime import Runtime
from horizon.snapshot import load_manifest
from spiders.crawl import RunningCrawl

CRAWL_PREFIX = "crawl-"
BACKFILL_PREFIX = "backfill-"
SCRATCH_PREFIXES = (CRAWL_PREFIX, BACKFILL_PREFIX)
INTERRUPTED_LOGS = "interrupted"
INTERRUPTED_LOGS_KEPT = 5


@dataclass
class OpenedRun:
    """A run recorded as started, with what its stages need from before the crawl; `crawl`
    is its crawl process when one was started early."""

    config: SourcesFile
    readiness: ReadinessConfig
    as_of: datetime
    run_id: int
    job: CrawlJob
    workdir: Path
    started: datetime
    config_seconds: float
    crawl: RunningCrawl | None = None


def open_run(runtime: Runtime, replay_dir: Path | None, send: bool) -> OpenedRun:
    """Read every configuration file (a bad one stops the run with nothing fetched or
    stored), record the run as started and build its crawl job."""
    began = time.perf_counter()
    config = load_sources(runtime.settings.sources_file)
    load_profiles(profiles_path(runtime.settings))
    readiness = load_readiness_config(runtime.settings)
    if send and replay_dir is None:
        load_smtp_settings()
    config_seconds = round(time.perf_counter() - began, 3)
    as_of = load_manifest(replay_dir).recorded_at if replay_dir else datetime.now(UTC)
    state = runtime.store.state
    state.mark_interrupted_runs()
    runs_dir = runtime.settings.runs_dir
    clear_abandoned_scratch(runs_dir)
    run_id = state.start_run("replay" if replay_dir else "live", as_of)
    runs_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=CRAWL_PREFIX, dir=runs_dir))
    started = datetime.now(UTC)
    try:
        job = _crawl_job(runtime, config, replay_dir, run_id, started)
    except BaseException:
        state.finish_run(run_id, "interrupted", {})
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return OpenedRun(config, readiness, as_of, run_id, job, workdir, started, config_seconds)


def clear_abandoned_scratch(runs_dir: Path) -> None:
    """Remove the scratch folders that killed runs and backfills left (their jobs and fetched
    results, which can be large), keeping each one's non-empty logs as
    `interrupted/FOLDER-LOG.log`, the newest `INTERRUPTED_LOGS_KEPT`, since a log can explain
    the kill. Called by a command that holds the home's writer lock, so no folder left belongs
    to a live one."""
    if not runs_dir.is_dir():
        return
    logs = runs_dir / INTERRUPTED_LOGS
    for prefix in SCRATCH_PREFIXES:
        for folder in sorted(runs_dir.glob(f"{prefix}*")):
            if not folder.is_dir():
                continue
            for log in sorted(folder.glob("*.log")):
                if log.is_file() and log.stat().st_size:
                    logs.mkdir(exist_ok=True)
                    log.replace(logs / f"{folder.name}-{log.name}")
            shutil.rmtree(folder, ignore_errors=True)
    if logs.is_dir():
        newest_first = sorted(logs.glob("*.log"), key=lambda path: path.stat().st_mtime)[::-1]
        for old in newest_first[INTERRUPTED_LOGS_KEPT:]:
            old.unlink(missing_ok=True)


def _crawl_job(
    runtime: Runtime,
    config: SourcesFile,
    replay_dir: Path | None,
    run_id: int,
    started: datetime,
) -> CrawlJob:
    state = runtime.store.state
    sources = config.enabled()
    full_texts = FullTextStore(state)
    return CrawlJob(
        crawl=config.crawl,
        sources=sources,
        validators=state.validators(source.id for source in sources),
        replay_dir=str(replay_dir) if replay_dir else None,
        archive=ArchiveTarget(
            warc_path=str(warc_path_for(runtime.settings.home, started.date(), run_id)),
            index_db=str(runtime.settings.state_db),
            replayed=replay_dir is not None,
        ),
        enrich=EnrichJob(
            state_db=str(runtime.settings.state_db),
            followed_urls=full_texts.followed_urls(),
            stored_urls=full_texts.waiting_item_urls(),
        ),
    )


# Runs opened by `start_early` in this process, by run id, until their flow takes them over.
_WAITING: dict[int, OpenedRun] = {}


def start_early(runtime: Runtime, replay_dir: Path | None, send: bool) -> OpenedRun:
    """Open the run and start its crawl now; the caller holds the home's writer lock until
    the flow has finished, and calls `release` afterwards whatever happened."""
    opened = open_run(runtime, replay_dir, send)
    if opened.job.sources:
        opened.crawl = RunningCrawl(opened.job, opened.workdir)
    _WAITING[opened.run_id] = opened
    return opened


def take_over(run_id: int) -> OpenedRun:
    """The run `start_early` opened in this process, for its flow."""
    try:
        return _WAITING.pop(run_id)
    except KeyError:
        raise LookupError(
            f"run {run_id} was not opened by this process; a flow run started elsewhere opens "
            "its own run (leave opened_run unset)"
        ) from None


def release(runtime: Runtime, opened: OpenedRun) -> None:
    """After the flow: nothing when it took the run over (it finished or marked the run
    itself); otherwise stop the crawl, mark the run interrupted and remove its scratch files."""
    if _WAITING.pop(opened.run_id, None) is None:
        return
    if opened.crawl is not None:
        opened.crawl.stop()
    runtime.store.state.finish_run(opened.run_id, "interrupted", {})
    shutil.rmtree(opened.workdir, ignore_errors=True)
