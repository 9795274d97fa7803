"""The shared spider: one request per source, one `FetchOutcome` per source, whatever happens.

Every way a fetch can go wrong (DNS, refused connection, timeout, HTTP error after retries,
robots.txt, a body that is not what the source promised, or no entries at all) ends as a failed
outcome whose `error` says what failed and what to do. Nothing a source does stops the others.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectError, ConnectionLost
from twisted.python.failure import Failure

from horizon.config import Source, SourceKind
from horizon.discover import fallback_feed, fallback_note
from horizon.enrich.model import EnrichJob
from horizon.fetch import FetchOutcome, Outcome, Validators
from horizon.parse import MAX_BODY_BYTES, ParseError, decode_html, parse_response
from spiders.address_check import AddressRefused
from spiders.enrich import FullTextFetcher
from spiders.middlewares import RetryLater
from spiders.render import RENDER_GOTO

OutcomeSink = Callable[[FetchOutcome], None]
MAX_REDIRECTS = 20  # Scrapy's REDIRECT_MAX_TIMES

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
    "*/*;q=0.8"
)
NO_ENTRIES = (
    "the page/feed parsed but held no items — its layout or address may have changed; open it "
    "in a browser and update the source in sources.yaml"
)


class SourceSpider(Spider):
    """Fetches a list of sources of the kinds it handles and reports each one exactly once."""

    name = "sources"
    kinds: ClassVar[frozenset[str]] = frozenset()
    accept: ClassVar[str] = "*/*"
    follows_item_links: ClassVar[bool] = True  # for full text, when the crawl enriches

    def __init__(
        self,
        sources: list[Source],
        report: OutcomeSink,
        validators: dict[str, Validators] | None = None,
        enrich: EnrichJob | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        wrong_kind = [source.id for source in sources if source.kind not in self.kinds]
        if wrong_kind:
            raise ValueError(f"{type(self).__name__} cannot fetch sources {wrong_kind}")
        self.sources = sources
        self.validators = validators or {}
        self.report = report
        self.enrich = enrich
        self.full_texts: FullTextFetcher | None = None
        self._started: dict[str, float] = {}
        self._reported: set[str] = set()

    async def start(self) -> AsyncIterator[Request]:
        if self.enrich is not None and self.follows_item_links:
            timeout_s = self.settings.getfloat("DOWNLOAD_TIMEOUT")
            self.full_texts = FullTextFetcher(
                self.enrich,
                lambda error, request: describe_failure(error, request, timeout_s),
                replaying=bool(self.settings.get("HORIZON_REPLAY_DIR")),
            )
        for source in self.sources:
            self._started[source.id] = time.monotonic()
            try:
                request = self.request_for(source)
            except ValueError as error:
                self._finish(
                    source, "failed", error=f"{source.url}: not a usable address ({error})"
                )
                continue
            yield request

    def request_for(self, source: Source) -> Request:
        """A GET for the source, conditional on what the last successful fetch returned."""
        headers = {"Accept": self.accept}
        known = self.validators.get(source.id)
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        return Request(
            source.url,
            headers=headers,
            callback=self.parse_source,
            errback=self.source_failed,
            cb_kwargs={"source": source},
            meta={
                "handle_httpstatus_list": [HTTPStatus.NOT_MODIFIED],
                "playwright": source.render,
                "playwright_page_goto_kwargs": dict(RENDER_GOTO) if source.render else {},
            },
            dont_filter=True,
        )

    def parse_source(self, response: Response, source: Source) -> Iterable[Any]:
        etag = _header(response, "ETag")
        last_modified = _header(response, "Last-Modified")
        if response.status == HTTPStatus.NOT_MODIFIED:
            known = self.validators.get(source.id, Validators())
            self._finish(
                source,
                "unchanged",
                response=response,
                etag=etag or known.etag,
                last_modified=last_modified or known.last_modified,
            )
            return ()
        warnings: list[str] = []
        try:
            entries = parse_response(
                source, response.body, _header(response, "Content-Type"), response.url, warnings
            )
        except ParseError as error:
            self._finish(source, "failed", response=response, error=f"{response.url}: {error}")
            return ()
        if not entries:
            fallback = self._feed_fallback(source, response)
            if fallback is not None:
                return (fallback,)
            self._finish(source, "failed", response=response, error=f"{response.url}: {NO_ENTRIES}")
            return ()
        self._finish(
            source,
            "ok",
            response=response,
            entries=entries,
            etag=etag,
            last_modified=last_modified,
            warning="; ".join(warnings) or None,
        )
        if self.full_texts is None:
            return ()
        return self.full_texts.requests_for(source, entries, response.url)

    def _feed_fallback(self, source: Source, response: Response) -> Request | None:
        """A listing whose selectors matched nothing: a request for the feed its page
        announces (`<link rel="alternate">`), if it announces one."""
        if source.kind != "html-listing":
            return None
        found = fallback_feed(
            decode_html(response.body, _header(response, "Content-Type")), response.url
        )
        if found is None:
            return None
        feed_url, kind = found
        return Request(
            feed_url,
            headers={"Accept": FEED_ACCEPT},
            callback=self.parse_fallback_feed,
            errback=self.fallback_failed,
            cb_kwargs={"source": source, "kind": kind, "listing_url": response.url},
            dont_filter=True,
        )

    def parse_fallback_feed(
        self, response: Response, source: Source, kind: SourceKind, listing_url: str
    ) -> Iterable[Any]:
        """The announced feed's entries stand in for the listing's; no validators are kept, so
        the next run reads the listing again."""
        as_feed = source.model_copy(update={"kind": kind})
        warnings: list[str] = []
        try:
            entries = parse_response(
                as_feed, response.body, _header(response, "Content-Type"), response.url, warnings
            )
        except ParseError as error:
            entries, warnings = [], [str(error)]
        if not entries:
            why = "; ".join(warnings) or "it held no items"
            self._finish(
                source,
                "failed",
                response=response,
                error=f"{listing_url}: {NO_ENTRIES} (the feed it announces, {response.url}, "
                f"did not help: {why})",
            )
            return ()
        self._finish(
            source,
            "ok",
            response=response,
            entries=entries,
            warning="; ".join([fallback_note(response.url, kind), *warnings]),
        )
        if self.full_texts is None:
            return ()
        return self.full_texts.requests_for(source, entries, response.url)

    def fallback_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source: Source = request.cb_kwargs["source"]
        explanation = describe_failure(
            failure.value, request, self.settings.getfloat("DOWNLOAD_TIMEOUT")
        )
        self._finish(
            source,
            "failed",
            final_url=request.url,
            error=f"{request.cb_kwargs['listing_url']}: {NO_ENTRIES} (the feed it announces, "
            f"{request.url}, could not be fetched: {explanation})",
        )

    def source_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        source: Source = request.cb_kwargs["source"]
        response = getattr(failure.value, "response", None)
        url = response.url if response is not None else request.url
        explanation = describe_failure(
            failure.value, request, self.settings.getfloat("DOWNLOAD_TIMEOUT")
        )
        self._finish(
            source, "failed", response=response, final_url=url, error=f"{url}: {explanation}"
        )

    def _finish(
        self,
        source: Source,
        outcome: Outcome,
        *,
        response: Response | None = None,
        final_url: str | None = None,
        **fields: Any,
    ) -> None:
        if source.id in self._reported:
            return
        self._reported.add(source.id)
        started = self._started.get(source.id, time.monotonic())
        self.report(
            FetchOutcome(
                source=source.id,
                outcome=outcome,
                http_status=response.status if response is not None else None,
                final_url=final_url or (response.url if response is not None else None),
                elapsed_s=round(time.monotonic() - started, 3),
                **fields,
            )
        )


def describe_failure(error: BaseException, request: Request, timeout_s: float) -> str:
    """What went wrong with a request, and what to do about it, in plain words."""
    host = urlsplit(request.url).hostname or request.url
    attempts = int(request.meta.get("retry_times", 0)) + 1
    on_attempts = f" on all {attempts} attempts" if attempts > 1 else ""
    if isinstance(error, HttpError):
        location = _header(error.response, "Location")
        if 300 <= error.response.status < 400 and location:
            return (
                f"the server redirected to {location[:200]}, which Horizon does not follow: it "
                "fetches only http:// and https:// addresses — open the url in a browser and "
                "update it"
            )
        return _describe_status(error.response.status, on_attempts)
    if isinstance(error, AddressRefused | RetryLater):
        return str(error)
    if isinstance(error, IgnoreRequest):
        message = str(error)
        if "robots.txt" in message:
            parts = urlsplit(request.url)
            return (
                f"robots.txt at {parts.scheme}://{parts.netloc}/robots.txt does not allow "
                f"fetching {parts.path or '/'} — Horizon respects it; ask the publisher or "
                "remove the source"
            )
        if "DOWNLOAD_MAXSIZE" in message:
            return _too_large()
        if "redirection" in message:
            return (
                "the address redirects too many times (a redirect loop, or a chain of more than "
                f"{MAX_REDIRECTS} redirects) — open it in a browser and update the source's url"
            )
        return f"the request was dropped ({message})"
    if isinstance(error, CannotResolveHostError):
        return (
            f"the host name {host} could not be found (DNS) — check the source's url for a "
            "typo, and this machine's network connection"
        )
    if isinstance(error, DownloadTimeoutError):
        return (
            f"{host} did not answer within {timeout_s:g} s{on_attempts} — the site may be down "
            "or slow; try again later, or raise timeout_seconds in sources.yaml"
        )
    if isinstance(error, DownloadConnectionRefusedError | ConnectError):
        return (
            f"could not connect to {host}{on_attempts} ({error}) — the site may be down; try "
            "again later"
        )
    if isinstance(error, DownloadCancelledError):
        return _too_large()
    if isinstance(error, ResponseDataLossError | DownloadFailedError | ConnectionLost):
        return (
            f"the connection to {host} broke before the response was complete{on_attempts} — "
            "try again later"
        )
    if isinstance(error, UnsupportedURLSchemeError):
        return "the address does not start with http:// or https:// — fix the source's url"
    return (
        f"the fetch failed unexpectedly ({type(error).__name__}: {error}) — try again later; "
        "if it keeps happening, report it with this message"
    )


def _too_large() -> str:
    return (
        f"the response was larger than {MAX_BODY_BYTES // 1_048_576} MB, so it was not read — "
        "check that the address points at a feed or listing page, not a data dump"
    )


def _describe_status(status: int, on_attempts: str) -> str:
    try:
        label = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        label = str(status)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
        return (
            f"the server answered {label} — the address may have moved or been removed; find "
            "the new address and update the source's url in sources.yaml"
        )
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        return (
            f"the server refused access ({label}) — the site may block automated clients or "
            "need a login; check the address in a browser"
        )
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return (
            f"the server answered {label}{on_attempts} — it is rate-limiting Horizon; raise "
            "delay_seconds in sources.yaml or try again later"
        )
    if status >= 500:
        return (
            f"the server answered {label}{on_attempts} — the site is having trouble; try "
            "again later"
        )
    if 300 <= status < 400:
        return (
            f"the server answered {label} without a usable redirect address — open the url "
            "in a browser and update it"
        )
    return f"the server answered {label} — the request was refused; check the source's url"


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else None
