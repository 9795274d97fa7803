"""The weekly scan as a Prefect flow: crawl → normalise → plan → embed → de-duplicate → tag →
store → record source health → digest → readiness (stage proposals, supplier hits, briefing).

Only the wiring lives here; every stage is a function of the `horizon` package. Given a Dask
cluster (`dask_address`), the crawl runs as shards of sources grouped by host and embedding as
chunks, each a mapped task on Prefect's Dask task runner; the workers return outcomes, items and
vectors, and only this flow process writes SQLite and Chroma. The crawl is one
Scrapy process for all sources (shared per-domain politeness), and its result is one outcome per
source, so a failing source is recorded and the others go on. Normalisation runs as one task per
source for the same reason. Source validators (ETag, Last-Modified) are recorded only after the
items they cover are stored, so an interrupted run is simply repeated by the next one.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from prefect import Flow, flow, task
from prefect.cache_policies import NONE as NO_CACHE

from horizon.config import (
    Settings,
    Source,
    load_embedding_settings,
)
from horizon.deliver import OutboxTransport
from horizon.digest import Week, publish_week
from horizon.embed import Embedder, default_embedder
from horizon.enrich.store import FullTextStore
from horizon.fetch import ArchiveTarget, CrawlJob, FetchOutcome
from horizon.ingest import (
    BatchPlan,
    IngestResult,
    commit_batch,
    embed_batch,
    fold_near_duplicates,
    plan_batch,
    tag_batch,
)
from horizon.item import Item
from horizon.normalise import normalise_entry
from horizon.parallel import DaskTarget, chunked, parse_dask_address, shard_by_host
from horizon.progress import reporter
from horizon.readiness.weekly import ReadinessConfig, readiness_run
from horizon.runtime import Runtime, exclusive_home
from horizon.snapshot import page_history
from horizon.state import IngestCounts
from horizon.watch import (
    PageVersion,
    PageVersions,
    WatchCheck,
    check_fetch,
    check_history,
    history_texts,
)
from pipelines.opening import OpenedRun, open_run, take_over
from spiders.crawl import RunningCrawl, run_crawl

T = TypeVar("T")

# Modules the stages import on first use, so that the command line starts without them (the
# digest's and briefing's charts, the page watch's text extraction): about 1.4 s of a warm run.
# `horizon run` imports them while Prefect's local server boots (`stage_imports`).
LATE_IMPORTS = (
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "matplotlib.ticker",
    "matplotlib.backends.backend_pdf",
    "trafilatura",
)


def stage_imports() -> list[Callable[[], object]]:
    """One job per module of `LATE_IMPORTS`, for a caller with time to wait."""
    return [partial(importlib.import_module, name) for name in LATE_IMPORTS]


class StageClock:
    """Seconds spent per stage, for the run summary."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(
                self.seconds.get(stage, 0.0) + time.perf_counter() - started, 3
            )


@task(cache_policy=NO_CACHE, name="crawl")
def crawl_sources(
    job: CrawlJob, workdir: Path, running: RunningCrawl | None = None
) -> list[FetchOutcome]:
    """The crawl in a child process; `running`, when given, is that child already started
    (by `horizon run`, while Prefect's local server booted), and is collected here."""
    reporter().start("Crawling", total=len(job.sources))
    outcomes = running.outcomes() if running is not None else run_crawl(job, workdir)
    reporter().advance(len(outcomes))
    reporter().finish("Crawling", f"{len(outcomes)} sources")
    return outcomes


@task(cache_policy=NO_CACHE, name="crawl-shard", task_run_name="crawl-shard-{shard}")
def crawl_shard(job: CrawlJob, shard: int) -> list[FetchOutcome]:
    """One shard of the crawl on a Dask worker, in a scratch directory of that worker."""
    workdir = Path(tempfile.mkdtemp(prefix=f"crawl-shard-{shard}-"))
    try:
        return run_crawl(job, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@task(cache_policy=NO_CACHE, name="embed-chunk", task_run_name="embed-chunk-{first}")
def embed_chunk(texts: list[str], first: int, embedder: Embedder | None) -> np.ndarray:
    """Vectors for one chunk, by the given embedder or the worker's own copy of the model."""
    return (embedder or default_embedder()).embed(texts)


@task(cache_policy=NO_CACHE, name="normalise", task_run_name="normalise-{source.id}")
def normalise_source(
    outcome: FetchOutcome, source: Source
) -> tuple[FetchOutcome, list[Item], list[str]]:
    """Normalise one source's entries; entries that cannot be used are skipped and counted,
    a source whose entries all fail is marked failed, and each field cut to its length limit
    is returned as a warning naming the source and the entry."""
    items: list[Item] = []
    warnings: list[str] = []
    skipped = 0
    for entry in outcome.entries:
        if not entry.title.strip():
            skipped += 1
            continue
        notes: list[str] = []
        items.append(normalise_entry(entry, source, outcome.final_url, notes))
        warnings += [f"{source.id}: entry '{items[-1].title[:60]}': {note}" for note in notes]
    if outcome.outcome == "ok" and not items:
        reason = (
            f"all {skipped} entries lacked a title" if skipped else "the response held no items"
        )
        outcome = outcome.model_copy(
            update={
                "outcome": "failed",
                "error": f"{reason} — its layout or address may have changed; check {source.url}",
            }
        )
    return outcome, items, warnings


@task(cache_policy=NO_CACHE, name="watch", task_run_name="watch-{source.id}")
def watch_page(
    outcome: FetchOutcome,
    source: Source,
    runtime: Runtime,
    checked_at: datetime,
    replay_dir: Path | None = None,
) -> tuple[FetchOutcome, list[Item], list[WatchCheck], list[PageVersion]]:
    """A watched page's "page changed" items, when its text changed meaningfully, what each
    comparison found, and the page's new version, which the flow stores only after the items
    (see `PageVersions`). A replayed snapshot's earlier recordings of the page (its history)
    are compared first, in date order, as the runs of their dates would have."""
    versions = PageVersions(runtime.store.state)
    history = history_texts(source, page_history(replay_dir, source.url)) if replay_dir else []
    checks = check_history(source, history, versions)
    current = check_fetch(outcome, source, versions, checked_at)
    checks += [current] if current is not None else []
    items = [check.item for check in checks if check.item is not None]
    return outcome, items, checks, list(versions.pending.values())


@task(cache_policy=NO_CACHE, name="plan")
def plan_stage(items: list[Item], runtime: Runtime) -> BatchPlan:
    return plan_batch(items, runtime.store)


@task(cache_policy=NO_CACHE, name="embed")
def embed_stage(plan: BatchPlan, runtime: Runtime) -> int:
    """Embed what is new or changed; with nothing to embed the model is not even loaded."""
    if not plan.to_embed():
        return 0
    reporter().start("Embedding", total=len(plan.to_embed()))
    embedded = embed_batch(plan, runtime.embedder, reporter().advance)
    reporter().finish("Embedding", f"{embedded} items")
    return embedded


@task(cache_policy=NO_CACHE, name="dedupe")
def dedupe_stage(plan: BatchPlan, runtime: Runtime) -> int:
    return fold_near_duplicates(plan, runtime.store)


@task(cache_policy=NO_CACHE, name="tag")
def tag_stage(plan: BatchPlan, runtime: Runtime) -> int:
    to_tag = len(plan.to_store()) + len(plan.late_text)
    if not to_tag:
        return 0
    reporter().start("Tagging", total=to_tag)
    tagged = tag_batch(plan, runtime.tagger)
    reporter().advance(tagged)
    reporter().finish("Tagging", f"{tagged} items")
    return tagged


@task(cache_policy=NO_CACHE, name="store")
def commit_stage(plan: BatchPlan, runtime: Runtime, seen_at: datetime) -> list[IngestResult]:
    """Store the batch; the embedder (for long items' passages) is only loaded when there is
    something to store or re-tag, so a run that found nothing new never loads the model."""
    embedder = runtime.embedder if plan.to_store() or plan.late_text else None
    return commit_batch(plan, runtime.store, seen_at, embedder)


@task(cache_policy=NO_CACHE, name="record-source-health")
def record_health(
    runtime: Runtime,
    run_id: int,
    outcomes: list[FetchOutcome],
    results: list[IngestResult],
    checked_at: datetime,
) -> None:
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    for result in results:
        by_source[result.source or ""][result.status] += 1
    for outcome in outcomes:
        counts = by_source[outcome.source]
        runtime.store.state.record_check(
            run_id,
            outcome,
            IngestCounts(
                entries=len(outcome.entries),
                new=counts["new"],
                duplicate=counts["duplicate"],
                unchanged=counts["unchanged"],
            ),
            checked_at,
        )


@task(cache_policy=NO_CACHE, name="digest")
def digest_stage(
    runtime: Runtime,
    week: Week,
    sources: list[Source],
    as_of: datetime,
    replaying: bool,
    send: bool,
) -> dict[str, Any]:
    """Every digest of the week in every format, each profile's sent once. A replayed snapshot
    is sample or past data: its mail always goes to the outbox, never to real recipients."""
    settings = runtime.settings
    transport = OutboxTransport(settings.digests_dir / "outbox") if replaying else None
    report = publish_week(
        runtime.store.state,
        week,
        sources,
        settings,
        as_of,
        send=send,
        transport=transport,
        to_outbox=replaying,
    )
    return report.to_dict()


@task(cache_policy=NO_CACHE, name="readiness")
def readiness_stage(runtime: Runtime, config: ReadinessConfig, as_of: datetime) -> dict[str, Any]:
    """Stage proposals from the stored items, readiness, supplier hits and the quarter's
    board briefing, written under the digests folder."""
    briefing_dir = runtime.settings.digests_dir / "briefing"
    return readiness_run(runtime.store.state, config, as_of.date(), briefing_dir)


def _timed(clock: StageClock, stage: str, call: Callable[[], T]) -> T:
    with clock.time(stage):
        return call()


@flow(name="horizon-weekly-scan", log_prints=False, validate_parameters=False)
def weekly_scan(
    home: str,
    sources_file: str,
    controls_file: str,
    replay_dir: str | None = None,
    chroma_url: str | None = None,
    week: str | None = None,
    send: bool = True,
    dask_address: str | None = None,
    opened_run: int | None = None,
) -> dict[str, Any]:
    """Run the weekly job and return its summary (see `summarise`). With `dask_address`, call
    it through `scan_flow(dask_address)` so that its mapped tasks run on that cluster.
    `opened_run`: the run `horizon run` opened in this process with its crawl started
    (`pipelines.opening.start_early`), holding the home's writer lock for the flow."""
    settings = Settings(
        home=Path(home),
        sources_file=Path(sources_file),
        controls_file=Path(controls_file),
        chroma_url=chroma_url,
        dask_address=dask_address,
        embedding=load_embedding_settings(),  # HORIZON_EMBED_BACKEND where the flow runs
    )
    runtime = Runtime(settings)
    target = parse_dask_address(dask_address) if dask_address else None
    replay = Path(replay_dir) if replay_dir else None
    if opened_run is not None:
        return run_weekly(runtime, replay, week, send, target, take_over(opened_run))
    with exclusive_home(settings):
        return run_weekly(runtime, replay, week, send, target)


def scan_flow(dask_address: str | None) -> Flow[..., dict[str, Any]]:
    """The weekly flow on the default runner, or on Prefect's Dask task runner for a cluster:
    an existing scheduler's address, or `local[N]` for a LocalCluster of N worker processes."""
    if not dask_address:
        return weekly_scan
    from prefect_dask import DaskTaskRunner

    target = parse_dask_address(dask_address)
    if target.address:
        runner = DaskTaskRunner(address=target.address)
    else:
        runner = DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": target.local_workers,
                "threads_per_worker": 1,
                "host": "127.0.0.1",
                "dashboard_address": None,
                # its /health and /metrics server on any free loopback port, never a fixed one
                "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
            },
        )
    # prefect-dask's futures are typed apart from Prefect's own; the runner is what Prefect takes
    return weekly_scan.with_options(task_runner=runner)  # type: ignore[arg-type]


def run_weekly(
    runtime: Runtime,
    replay_dir: Path | None,
    week: str | None,
    send: bool = True,
    dask: DaskTarget | None = None,
    opened: OpenedRun | None = None,
) -> dict[str, Any]:
    """The flow's body, for callers that already hold a `Runtime` (e.g. with a test embedder).

    Every configuration file is read before any work, so a bad one stops the run with nothing
    fetched or stored. `opened`: the run `horizon run` opened, its crawl already running
    (`pipelines.opening`); else the run is opened here."""
    clock = StageClock()
    opened = opened or open_run(runtime, replay_dir, send)
    clock.seconds["config"] = opened.config_seconds
    config, as_of, run_id, workdir = opened.config, opened.as_of, opened.run_id, opened.workdir
    state = runtime.store.state
    sources = opened.job.sources
    try:
        outcomes = _timed(
            clock,
            "crawl",
            lambda: (
                crawl_in_shards(opened.job, dask.shards)
                if dask
                else crawl_sources(opened.job, workdir, opened.crawl)
            ),
        )
        if opened.crawl is not None and opened.crawl.seconds is not None:
            # the whole crawl, which began before the flow did
            clock.seconds["crawl"] = round(opened.crawl.seconds, 3)
        by_id = {source.id: source for source in sources}
        with clock.time("normalise"):
            watched = {
                o.source: watch_page.submit(o, by_id[o.source], runtime, as_of, replay_dir)
                for o in outcomes
                if by_id[o.source].kind == "page-watch"
            }
            plain = {
                o.source: normalise_source.submit(o, by_id[o.source])
                for o in outcomes
                if o.source not in watched
            }
            normalised: list[tuple[FetchOutcome, list[Item], list[str]]] = []
            page_checks: list[WatchCheck] = []
            page_versions: list[PageVersion] = []
            for o in outcomes:
                if o.source in watched:
                    watched_outcome, changes, checks, seen = watched[o.source].result()
                    normalised.append((watched_outcome, changes, []))
                    page_checks += checks
                    page_versions += seen
                else:
                    normalised.append(plain[o.source].result())
        outcomes = [outcome for outcome, _, _ in normalised]
        items = order_for_dedupe([item for _, batch, _ in normalised for item in batch], sources)
        # the crawl has stored each new item's full text by now; the stages read it from here
        items = FullTextStore(state).attach(items)
        plan = _timed(clock, "plan", lambda: plan_stage(items, runtime))
        embedded = _timed(
            clock,
            "embed",
            lambda: embed_in_chunks(plan, runtime) if dask else embed_stage(plan, runtime),
        )
        folded = _timed(clock, "dedupe", lambda: dedupe_stage(plan, runtime))
        _timed(clock, "tag", lambda: tag_stage(plan, runtime))
        results = _timed(clock, "store", lambda: commit_stage(plan, runtime, as_of))
        PageVersions(state).commit(page_versions)
        record_health(runtime, run_id, outcomes, results, as_of)
        chosen = Week.parse(week) if week else Week.last_complete(as_of)
        published = _timed(
            clock,
            "digest",
            lambda: digest_stage(
                runtime, chosen, config.sources, as_of, replay_dir is not None, send
            ),
        )
        readiness = _timed(
            clock, "readiness", lambda: readiness_stage(runtime, opened.readiness, as_of)
        )
        summary = summarise(
            run_id, replay_dir, as_of, outcomes, results, embedded, folded, runtime, clock
        )
        summary["full_text"] = FullTextStore(state).fetched_since(opened.started)
        summary["page_watch"] = [check.to_dict() for check in page_checks]
        summary["digest"] = published
        summary["readiness"] = readiness
        summary["warnings"] = [warning for _, _, notes in normalised for warning in notes]
        state.finish_run(run_id, "completed", summary)
        return summary
    except BaseException:
        if opened.crawl is not None:
            opened.crawl.stop()
        state.finish_run(run_id, "interrupted", {})
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def crawl_in_shards(job: CrawlJob, shards: int) -> list[FetchOutcome]:
    """The crawl as one mapped task per shard of hosts; outcomes in the job's source order."""
    groups = shard_by_host(job.sources, shards)
    reporter().start("Crawling", total=len(job.sources))
    futures = [
        crawl_shard.submit(
            job.model_copy(
                update={
                    "sources": group,
                    "validators": {
                        s.id: job.validators[s.id] for s in group if s.id in job.validators
                    },
                    "archive": _shard_archive(job.archive, number),
                }
            ),
            number,
        )
        for number, group in enumerate(groups)
    ]
    by_source: dict[str, FetchOutcome] = {}
    for future in futures:
        shard_outcomes = future.result()
        by_source.update((outcome.source, outcome) for outcome in shard_outcomes)
        reporter().advance(len(shard_outcomes))
    reporter().finish("Crawling", f"{len(by_source)} sources in {len(groups)} shards")
    return [by_source[source.id] for source in job.sources]


def _shard_archive(archive: ArchiveTarget | None, number: int) -> ArchiveTarget | None:
    """Each shard's crawler writes its own WARC file: two processes never append to one."""
    if archive is None:
        return None
    path = Path(archive.warc_path)
    name = path.name.removesuffix(".warc.gz") + f"-shard-{number}.warc.gz"
    return archive.model_copy(update={"warc_path": str(path.with_name(name))})


def embed_in_chunks(plan: BatchPlan, runtime: Runtime) -> int:
    """What `embed_stage` embeds, as one mapped task per chunk; the vectors come back here."""
    positions = plan.to_embed()
    if not positions:
        return 0
    reporter().start("Embedding", total=len(positions))
    embedder = runtime.embedder_override
    batches = chunked(positions)
    futures = [
        embed_chunk.submit([plan.items[p].text() for p in batch], batch[0], embedder)
        for batch in batches
    ]
    for batch, future in zip(batches, futures, strict=True):
        plan.embeddings.update(zip(batch, future.result(), strict=True))
        reporter().advance(len(batch))
    reporter().finish("Embedding", f"{len(positions)} items in {len(batches)} chunks")
    return len(positions)


def order_for_dedupe(items: list[Item], sources: list[Source]) -> list[Item]:
    """Earliest report first, official sources before secondary ones on the same day, so the
    item a story is folded into is its first official report."""
    rank = {source.id: (not source.official, position) for position, source in enumerate(sources)}
    return sorted(
        items,
        key=lambda item: (
            item.published.date().isoformat() if item.published else "9999",
            rank.get(item.source or "", (True, len(rank))),
            item.published.isoformat() if item.published else "",
        ),
    )


def summarise(
    run_id: int,
    replay_dir: Path | None,
    as_of: datetime,
    outcomes: list[FetchOutcome],
    results: list[IngestResult],
    embedded: int,
    folded: int,
    runtime: Runtime,
    clock: StageClock,
) -> dict[str, Any]:
    outcome_counts = Counter(outcome.outcome for outcome in outcomes)
    status_counts = Counter(result.status for result in results)
    return {
        "run_id": run_id,
        "mode": "replay" if replay_dir else "live",
        "snapshot": str(replay_dir) if replay_dir else None,
        "as_of": as_of.isoformat(),
        "home": str(runtime.settings.home),
        "sources": {
            "checked": len(outcomes),
            "ok": outcome_counts["ok"],
            "unchanged": outcome_counts["unchanged"],
            "failed": outcome_counts["failed"],
        },
        "failed_sources": [
            {"source": o.source, "http_status": o.http_status, "error": o.error}
            for o in outcomes
            if o.outcome == "failed"
        ],
        "source_warnings": [
            {"source": o.source, "warning": o.warning} for o in outcomes if o.warning
        ],
        "items": {
            "fetched": sum(len(outcome.entries) for outcome in outcomes),
            "new": sum(1 for r in results if r.status == "new" and not r.updated),
            "updated": sum(1 for result in results if result.updated),
            "duplicate": status_counts["duplicate"],
            "near_duplicates_folded": folded,
            "unchanged": status_counts["unchanged"],
            "retagged_with_full_text": sum(1 for result in results if result.retagged),
            "embedded": embedded,
            # stored items: after every completed run the vector index holds the same ones,
            # and counting them in SQLite leaves Chroma unopened when nothing was written
            "indexed": runtime.store.state.count_items(),
        },
        "stage_seconds": clock.seconds,
    }
