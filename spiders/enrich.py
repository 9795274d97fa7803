"""Following each new item's link once, inside the same crawl, for its full text.

The requests go through the same politeness as the sources (robots.txt, per-host delay, retries,
the source's address policy, the archive), carry the source so its address policy applies, and
are capped in size (`download_maxsize`) and in number per source. Extraction and storage are
`horizon.enrich`; a failure is stored on the item's URL and never affects the source's outcome.
A failure whose cause may pass (a timeout, a refused connection, HTTP 5xx, 408, 429) is tried
again in later runs, up to `horizon.enrich.store.MAX_ATTEMPTS` attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urljoin

from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from horizon.config import Source
from horizon.enrich.extract import ExtractionError, extract_text
from horizon.enrich.model import EnrichJob
from horizon.enrich.store import FullTextStore
from horizon.item import Entry
from horizon.state import StateDB
from spiders.archive import SOURCE_META

ITEM_URL_META = "horizon_item_url"
# Answers that say "not now" rather than "no": the link is tried again in a later run.
PASSING_STATUSES = frozenset(
    {
        HTTPStatus.REQUEST_TIMEOUT,
        HTTPStatus.TOO_MANY_REQUESTS,
        *(status for status in HTTPStatus if status >= HTTPStatus.INTERNAL_SERVER_ERROR),
    }
)
DescribeFailure = Callable[[BaseException, Request], str]


class FullTextFetcher:
    """Makes the full-text requests of one spider and stores what they give."""

    def __init__(self, job: EnrichJob, describe: DescribeFailure, replaying: bool = False) -> None:
        self.caps = job.caps
        self.describe = describe
        self.replaying = replaying
        self.store = FullTextStore(StateDB(Path(job.state_db)))
        self.followed = set(job.followed_urls)
        self.stored = set(job.stored_urls)

    def requests_for(
        self, source: Source, entries: list[Entry], base_url: str
    ) -> Iterator[Request]:
        """One GET per item link of `source` never followed, at most `per_source` of them: new
        items' links first, then those of items stored without one (left over by the budget)."""
        # Imported here: horizon.normalise loads dateparser (a quarter of a second), which a
        # crawler process otherwise never needs.
        from horizon.normalise import canonical_url

        new: dict[str, str] = {}
        left_over: dict[str, str] = {}
        for entry in entries:
            item_url = canonical_url(entry.url, base_url)
            if item_url is None or item_url in self.followed or entry.url is None:
                continue
            (left_over if item_url in self.stored else new).setdefault(item_url, entry.url)
        for item_url, link in [*new.items(), *left_over.items()][: self.caps.per_source]:
            self.followed.add(item_url)
            yield Request(
                urljoin(base_url, link.strip()),
                callback=self.parsed,
                errback=self.failed,
                cb_kwargs={"source": source},
                meta={
                    SOURCE_META: source.id,
                    ITEM_URL_META: item_url,
                    "download_maxsize": self.caps.max_bytes,
                    "download_warnsize": 0,
                },
                dont_filter=True,
                priority=-1,  # sources first: a run's feeds never wait behind full texts
            )

    def parsed(self, response: Response, source: Source) -> None:
        item_url = response.meta[ITEM_URL_META]
        now = datetime.now(UTC)
        content_type = response.headers.get("Content-Type")
        try:
            extracted = extract_text(
                response.body,
                content_type.decode("latin-1") if content_type else None,
                self.caps,
            )
        except ExtractionError as error:
            self.store.record_failure(item_url, response.url, source.id, now, str(error))
            return
        self.store.record_text(item_url, response.url, source.id, now, extracted)

    def failed(self, failure: Failure) -> None:
        request: Request = failure.request  # type: ignore[attr-defined]
        source: Source = request.cb_kwargs["source"]
        error = failure.value
        # refused on purpose (too large, robots.txt, the address policy): final
        retry = False
        if isinstance(error, DownloadCancelledError) or (
            isinstance(error, IgnoreRequest) and "maxsize" in str(error).lower()
        ):
            reason = (
                f"the linked page is larger than the full-text cap of "
                f"{self.caps.max_bytes:,} bytes, so it was not read"
            )
        elif isinstance(error, HttpError):
            status = error.response.status
            reason = self._http_failure(status)
            retry = not self.replaying and status in PASSING_STATUSES
        else:
            reason = self.describe(error, request)
            retry = not self.replaying and not isinstance(error, IgnoreRequest)
        self.store.record_failure(
            request.meta[ITEM_URL_META], request.url, source.id, datetime.now(UTC), reason, retry
        )

    def _http_failure(self, status: int) -> str:
        """Why an item's link gave no page: about the link, not the source's address."""
        if self.replaying and status == HTTPStatus.NOT_FOUND:
            return "the snapshot being replayed holds no recording of the item's page"
        return f"the item's page answered HTTP {status}; the item is kept without its full text"
