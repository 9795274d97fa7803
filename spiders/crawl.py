"""Run one crawl in a child process and collect exactly one outcome per source.

Scrapy's Twisted reactor cannot be restarted within a process, and the caller (a Prefect flow)
may crawl many times, so every crawl runs as `python -m spiders.crawl JOB.json RESULTS.jsonl`.
The child appends one JSON line per finished source, so whatever it finished survives a crash;
the parent turns any source it never reported into a failed outcome that says why.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import ValidationError

from horizon.address_policy import AddressPolicy
from horizon.config import Source
from horizon.fetch import CrawlJob, FetchOutcome
from horizon.snapshot import SnapshotError

if TYPE_CHECKING:
    from scrapy.settings import Settings

JOB_FILE = "crawl-job.json"
RESULTS_FILE = "crawl-results.jsonl"
LOG_FILE = "crawl.log"
STATS_FILE = "crawl-stats.json"
STOP_GRACE_S = 2.0
PARENT_CHECK_S = 0.5
EXIT_INCOMPLETE = 3
EXIT_ORPHANED = 4
_CODE_ROOT = Path(__file__).resolve().parent.parent


def run_crawl(
    job: CrawlJob, workdir: Path, *, time_limit_s: float | None = None
) -> list[FetchOutcome]:
    """Crawl `job` in a child process; one outcome per job source, in job order, always.

    The job, the results, the crawler's log and its figures (`crawl-stats.json`: seconds and
    peak memory) are kept in `workdir`. Interrupting this call
    (Ctrl-C) or passing `time_limit_s` stops the child; if this process dies, the child notices
    and stops itself.
    """
    if not job.sources:
        return []
    return RunningCrawl(job, workdir).outcomes(time_limit_s)


class RunningCrawl:
    """A crawl child started now and collected later (`outcomes`), so that a caller can do
    other work meanwhile: `horizon run` crawls while Prefect's local server boots."""

    def __init__(self, job: CrawlJob, workdir: Path) -> None:
        workdir = workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        job_path = workdir / JOB_FILE
        self.job = job
        self.results_path = workdir / RESULTS_FILE
        self.log_path = workdir / LOG_FILE
        job_path.write_text(job.model_dump_json(), encoding="utf-8")
        self.results_path.write_bytes(b"")
        (workdir / STATS_FILE).unlink(missing_ok=True)
        self.started = time.monotonic()
        self.seconds: float | None = None
        with self.log_path.open("wb") as log:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "spiders.crawl", str(job_path), str(self.results_path)],
                cwd=_CODE_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def outcomes(self, time_limit_s: float | None = None) -> list[FetchOutcome]:
        """Wait for the child (stopping it past `time_limit_s` or when interrupted) and give
        one outcome per job source; `seconds` is then the crawl's time since it started."""
        stop_reason = None
        try:
            self.child.wait(timeout=time_limit_s)
        except subprocess.TimeoutExpired:
            _stop(self.child)
            stop_reason = f"the crawl ran past its time limit of {time_limit_s:g} s"
        except BaseException:
            _stop(self.child)
            raise
        self.seconds = time.monotonic() - self.started
        return collect_outcomes(
            self.job, self.results_path, self.log_path, self.child.returncode, stop_reason
        )

    def stop(self) -> None:
        """Stop the child if it still runs (what it finished stays in the results)."""
        _stop(self.child)


def collect_outcomes(
    job: CrawlJob,
    results_path: Path,
    log_path: Path,
    returncode: int,
    stop_reason: str | None = None,
) -> list[FetchOutcome]:
    """The child's outcomes in job order, with a failed outcome for every source it missed."""
    reported: dict[str, FetchOutcome] = {}
    for line in results_path.read_text(encoding="utf-8").splitlines():
        try:
            outcome = FetchOutcome.model_validate_json(line)
        except ValidationError:
            continue
        reported.setdefault(outcome.source, outcome)
    if stop_reason is None:
        stop_reason = (
            f"the crawler process stopped unexpectedly (exit code {returncode}"
            f"{_last_line(log_path)})"
            if returncode != 0
            else "the crawler finished without reporting this source"
        )
    return [
        reported.get(source.id)
        or FetchOutcome(
            source=source.id,
            outcome="failed",
            error=f"{source.url}: {stop_reason} before this source was fetched — see {log_path}",
        )
        for source in job.sources
    ]


def main(arguments: list[str] | None = None) -> int:
    """`python -m spiders.crawl JOB.json RESULTS.jsonl`: crawl and append outcomes.

    Exits with EXIT_INCOMPLETE when the crawl was stopped (e.g. by a signal) before every
    source had an outcome.
    """
    arguments = sys.argv[1:] if arguments is None else arguments
    if len(arguments) != 2:
        print("usage: python -m spiders.crawl JOB.json RESULTS.jsonl", file=sys.stderr)
        return 2
    job = CrawlJob.model_validate_json(Path(arguments[0]).read_text(encoding="utf-8"))
    reported: set[str] = set()
    with Path(arguments[1]).open("a", encoding="utf-8") as results:

        def report(outcome: FetchOutcome) -> None:
            results.write(outcome.model_dump_json() + "\n")
            results.flush()
            reported.add(outcome.source)

        watch_parent(os.getppid())
        started = time.monotonic()
        crawl_in_this_process(job, report)
    Path(arguments[1]).with_name(STATS_FILE).write_text(
        json.dumps(
            {
                "sources": len(job.sources),
                "seconds": round(time.monotonic() - started, 3),
                "peak_rss_mb": peak_rss_mb(),
            }
        ),
        encoding="utf-8",
    )
    if any(source.id not in reported for source in job.sources):
        print("the crawl was stopped before every source was fetched", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def crawl_in_this_process(job: CrawlJob, report: Callable[[FetchOutcome], None]) -> None:
    """Run every source of `job` through its kind's spider, all in one reactor run."""
    # Scrapy is imported only here, in the child, so that callers of run_crawl never load it.
    from scrapy.crawler import AsyncCrawlerProcess, Crawler

    from spiders.address_check import crawl_policy
    from spiders.archive import close_shared_writers
    from spiders.feeds import FeedSpider
    from spiders.html_listing import HtmlListingSpider
    from spiders.json_api import JsonApiSpider
    from spiders.page_watch import PageWatchSpider
    from spiders.render import NO_CHROMIUM, chromium_available
    from spiders.replay import load_snapshot
    from spiders.settings import scrapy_settings

    if job.replay_dir is not None:
        try:
            load_snapshot(Path(job.replay_dir))
        except SnapshotError as error:
            for source in job.sources:
                report(
                    FetchOutcome(
                        source=source.id,
                        outcome="failed",
                        error=(
                            f"{source.url}: cannot replay the snapshot: {error} — check the "
                            "snapshot directory given to replay"
                        ),
                    )
                )
            return
    sources = job.sources
    rendered = [source for source in sources if source.render]
    if rendered and not chromium_available():
        for source in rendered:
            report(FetchOutcome(source=source.id, outcome="failed", error=NO_CHROMIUM))
        sources = [source for source in sources if not source.render]
        if not sources:
            return
    policy = crawl_policy(sources)
    process = AsyncCrawlerProcess(scrapy_settings(job.crawl, job.replay_dir, policy, job.archive))
    for spider_class in (FeedSpider, JsonApiSpider, HtmlListingSpider, PageWatchSpider):
        of_kind = [source for source in sources if source.kind in spider_class.kinds]
        if of_kind:
            process.crawl(
                Crawler(spider_class, crawler_settings(job, of_kind, policy)),
                sources=of_kind,
                report=report,
                validators=job.validators,
                enrich=job.enrich,
            )
    try:
        process.start()
    finally:
        close_shared_writers()


def crawler_settings(job: CrawlJob, sources: Sequence[Source], policy: AddressPolicy) -> Settings:
    """The settings of the crawler of `sources` (one spider kind's): the browser's download
    handler only when some of them are rendered in chromium. Every instance of that handler
    starts a Playwright driver as the crawl begins, one per crawler and scheme (eight in a
    demo run when every crawler had it, about 1.5 s of a warm demo crawl's 4), though only
    the rendered sources' requests use it. They are at the spider's priority, so that the
    process's own settings (the same, with no browser) do not overwrite them when the process
    adopts the crawler."""
    from scrapy.settings import Settings

    from spiders.settings import scrapy_settings

    hosts = sorted({urlsplit(source.url).hostname or "" for source in sources if source.render})
    return Settings(
        scrapy_settings(job.crawl, job.replay_dir, policy, job.archive, hosts), priority="spider"
    )


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Linux keeps `ru_maxrss` across exec, so a
    crawler started by a large parent would report the parent's size; VmHWM belongs to this
    process image alone."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def watch_parent(parent_pid: int) -> None:
    """End this process when the one that started it is gone (killed, or crashed).

    Nobody is left to read the results, and every outcome so far is already on disk.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Ask the child to shut down (Scrapy closes its spiders on SIGTERM), then insist."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _last_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1].strip()[:300]}" if lines else ""


if __name__ == "__main__":
    sys.exit(main())
