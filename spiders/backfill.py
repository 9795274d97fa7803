"""The backfill crawl: page back through sources, one `PageOutcome` per page, in a child process.

`stream_pages(job, workdir)` starts `python -m spiders.backfill JOB.json PAGES.jsonl` and yields
each page as the child appends it, so the caller commits page by page while later pages are
fetched. The child uses the settings of a run's crawl (`spiders.settings`): robots.txt,
per-domain delay and concurrency, retries with backoff, and the address check on every request,
next-page links and redirects included, by the source's own policy. It stops itself when the
caller dies (`spiders.crawl.watch_parent`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from horizon.bulk.model import BackfillJob, PageOutcome
from horizon.bulk.paging import next_page_url, stop_reason
from horizon.config import Source
from horizon.parse import ParseError, parse_response
from spiders.base import NO_ENTRIES, describe_failure
from spiders.crawl import _CODE_ROOT, _last_line, _stop, watch_parent
from spiders.feeds import FeedSpider
from spiders.html_listing import HtmlListingSpider
from spiders.json_api import JsonApiSpider

JOB_FILE = "backfill-job.json"
PAGES_FILE = "backfill-pages.jsonl"
LOG_FILE = "backfill.log"
POLL_S = 0.1
ACCEPT = {
    **{kind: FeedSpider.accept for kind in FeedSpider.kinds},
    "json-api": JsonApiSpider.accept,
    "html-listing": HtmlListingSpider.accept,
}

PageSink = Callable[[PageOutcome], None]


class BackfillSpider(Spider):
    """Reads each source's pages in order from its cursor, following next-page links until
    `paging.stop_reason` says stop; reports every page, and a failed page ends its source."""

    name = "backfill"

    def __init__(self, job: BackfillJob, report: PageSink, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.report = report
        self.read: dict[str, set[str]] = {source.id: set() for source in job.sources}

    async def start(self) -> AsyncIterator[Request]:
        for source in self.job.sources:
            cursor = self.job.cursors[source.id]
            yield self.request_for(source, cursor.url, cursor.page)

    def request_for(self, source: Source, url: str, page: int) -> Request:
        self.read[source.id].add(url)
        return Request(
            url,
            headers={"Accept": ACCEPT.get(source.kind, "*/*")},
            callback=self.parse_page,
            errback=self.page_failed,
            cb_kwargs={"source": source, "page": page, "url": url},
            dont_filter=True,
        )

    def parse_page(
        self, response: Response, source: Source, page: int, url: str
    ) -> Iterable[Request]:
        content_type = _header(response, "Content-Type")
        warnings: list[str] = []
        try:
            entries = parse_response(source, response.body, content_type, response.url, warnings)
        except ParseError as error:
            self._failed(source, page, url, f"{response.url}: {error}", response)
            return
        if page == 1 and not entries:
            self._failed(source, page, url, f"{response.url}: {NO_ENTRIES}", response)
            return
        following = next_page_url(
            source, response.body, content_type, _header(response, "Link"), response.url
        )
        stop = stop_reason(entries, following, self.job.since, self.read[source.id])
        self.report(
            PageOutcome(
                source=source.id,
                page=page,
                url=url,
                outcome="ok",
                http_status=response.status,
                final_url=response.url,
                entries=entries,
                next_url=following,
                stop=stop,
                warning="; ".join(warnings) or None,
            )
        )
        if stop is None and following is not None and page < self.job.max_pages:
            yield self.request_for(source, following, page + 1)

    def page_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        explanation = describe_failure(
            failure.value, request, self.settings.getfloat("DOWNLOAD_TIMEOUT")
        )
        source: Source = request.cb_kwargs["source"]
        page, url = request.cb_kwargs["page"], request.cb_kwargs["url"]
        self._failed(source, page, url, f"{url}: {explanation}", response)

    def _failed(
        self, source: Source, page: int, url: str, error: str, response: Response | None
    ) -> None:
        self.report(
            PageOutcome(
                source=source.id,
                page=page,
                url=url,
                outcome="failed",
                http_status=response.status if response is not None else None,
                final_url=response.url if response is not None else None,
                error=f"page {page}: {error}",
            )
        )


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else None


def stream_pages(job: BackfillJob, workdir: Path) -> Iterator[PageOutcome]:
    """Run the backfill crawl in a child process and yield its pages as they arrive.

    When the child ends without reporting a source's end, the caller sees no stop for it (and
    reports it incomplete); closing the iterator early stops the child.
    """
    if not job.sources:
        return
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    job_path, pages_path = workdir / JOB_FILE, workdir / PAGES_FILE
    job_path.write_text(job.model_dump_json(), encoding="utf-8")
    pages_path.write_bytes(b"")
    with (workdir / LOG_FILE).open("wb") as log, pages_path.open("rb") as pages:
        child = subprocess.Popen(
            [sys.executable, "-m", "spiders.backfill", str(job_path), str(pages_path)],
            cwd=_CODE_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            pending = b""
            while True:
                finished = child.poll() is not None
                pending += pages.read()
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield PageOutcome.model_validate_json(line)
                if finished:
                    break
                if not lines:
                    time.sleep(POLL_S)
        finally:
            _stop(child)
    if child.returncode != 0:
        print(
            f"the backfill crawler stopped with exit code {child.returncode}"
            f"{_last_line(workdir / LOG_FILE)}",
            file=sys.stderr,
        )


def crawl_pages(job: BackfillJob, report: PageSink) -> None:
    """Every page of `job`, in this process (the child's side)."""
    from scrapy.crawler import AsyncCrawlerProcess

    from spiders.address_check import crawl_policy
    from spiders.settings import scrapy_settings

    process = AsyncCrawlerProcess(scrapy_settings(job.crawl, None, crawl_policy(job.sources)))
    process.crawl(BackfillSpider, job=job, report=report)
    process.start()


def main(arguments: list[str] | None = None) -> int:
    """`python -m spiders.backfill JOB.json PAGES.jsonl`: crawl and append one line per page."""
    arguments = sys.argv[1:] if arguments is None else arguments
    if len(arguments) != 2:
        print("usage: python -m spiders.backfill JOB.json PAGES.jsonl", file=sys.stderr)
        return 2
    job = BackfillJob.model_validate_json(Path(arguments[0]).read_text(encoding="utf-8"))
    with Path(arguments[1]).open("a", encoding="utf-8") as pages:

        def report(outcome: PageOutcome) -> None:
            pages.write(outcome.model_dump_json() + "\n")
            pages.flush()

        watch_parent(os.getppid())
        crawl_pages(job, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
