"""Downloader middlewares: retries with backoff, and robots.txt checked for every request.

Backoff gives a struggling server room to recover. The robots.txt middleware works around a
Scrapy 2.13+ regression (scrapy/scrapy#6802): while robots.txt is being fetched, only the first
waiting request receives the parsed rules and later ones skip the check.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred


class BackoffRetryMiddleware:
    """Scrapy's retry rules (codes, exceptions, RETRY_TIMES) with exponential backoff.

    The n-th retry waits HORIZON_RETRY_BACKOFF_S × 2^(n-1), or longer when the server's
    Retry-After asks for it. A server asking for more than HORIZON_MAX_RETRY_AFTER_S is not
    retried in this run at all: waiting would hold up the run, and a shorter wait would ignore
    what the server asked, so the source is skipped until the next run (`RetryLater`). A replay
    (HORIZON_MAX_RETRY_AFTER_S 0) never waits. Deciding whether to retry stays with Scrapy's own
    RetryMiddleware, which this wraps.
    """

    def __init__(self, retry: RetryMiddleware, backoff_s: float, max_retry_after_s: float):
        self.retry = retry
        self.backoff_s = backoff_s
        self.max_retry_after_s = max_retry_after_s

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(
            RetryMiddleware.from_crawler(crawler),
            crawler.settings.getfloat("HORIZON_RETRY_BACKOFF_S"),
            crawler.settings.getfloat("HORIZON_MAX_RETRY_AFTER_S"),
        )

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        result = self.retry.process_response(request, response)
        if isinstance(result, Request):
            server_asked_s = retry_after_s(response)
            if self.max_retry_after_s > 0 and (server_asked_s or 0) > self.max_retry_after_s:
                raise RetryLater(response, server_asked_s or 0)
            await asyncio.sleep(self.wait_before(result, server_asked_s))
        return result

    async def process_exception(
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        result = self.retry.process_exception(request, exception)
        if isinstance(result, Request):
            await asyncio.sleep(self.wait_before(result, None))
        return result

    def wait_before(self, retry: Request, server_asked_s: float | None) -> float:
        """Seconds to wait before sending `retry`."""
        attempt = int(retry.meta.get("retry_times", 1))
        backoff = self.backoff_s * 2 ** (attempt - 1)
        if server_asked_s is None:
            return backoff
        return max(backoff, min(server_asked_s, self.max_retry_after_s))


class RetryLater(IgnoreRequest):
    """The server asked for a longer wait than a run allows; the source waits for the next run."""

    def __init__(self, response: Response, wait_s: float) -> None:
        self.response = response
        super().__init__(
            f"the server answered {response.status} and asked Horizon to wait {_duration(wait_s)} "
            "before asking again (Retry-After) — Horizon respects that and skips this source "
            "until the next run, without retrying now"
        )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours ({seconds:.0f} s)"
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes ({seconds:.0f} s)"
    return f"{seconds:.0f} s"


def retry_after_s(response: Response) -> float | None:
    """The wait a Retry-After header asks for (seconds or an HTTP date), if any."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    value = raw.decode("latin-1").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with the parsed rules shared by every waiting request.

    Scrapy awaits the pending robots.txt Deferred directly, and awaiting consumes its result, so
    the third and later requests to a host would see no rules and be let through.
    """

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            return await maybe_deferred_to_future(_shared(pending))
        return await super().robot_parser(request)


_Result = TypeVar("_Result")


def _shared(deferred: Deferred[_Result]) -> Deferred[_Result]:
    """A Deferred that fires with `deferred`'s result while leaving it for later callbacks."""
    copy: Deferred[_Result] = Deferred()

    def pass_on(result: _Result) -> _Result:
        copy.callback(result)
        return result

    deferred.addCallback(pass_on)
    return copy
