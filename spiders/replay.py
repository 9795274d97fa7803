"""A download handler that answers from a recorded snapshot instead of the network.

Installed for http and https (see `spiders.settings`), it sits where Scrapy's HTTP client sits,
so robots.txt, redirects, retries, conditional GET and parsing run exactly as in a live crawl.
The snapshot format is docs/snapshot-format.md.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from w3lib.url import canonicalize_url

from horizon.snapshot import RecordedResponse, SnapshotError, SnapshotManifest, load_manifest

_ENTITY_HEADERS = frozenset({"content-type", "content-length", "content-encoding"})


class ReplayDownloadHandler(BaseDownloadHandler):
    """Answers each request with the snapshot's recorded response, or 404 when none exists."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        directory = crawler.settings.get("HORIZON_REPLAY_DIR")
        if not directory:
            raise NotConfigured("HORIZON_REPLAY_DIR names no snapshot directory")
        self.directory = Path(directory)
        manifest = load_snapshot(self.directory)
        self.recorded = {replay_key(entry.url): entry for entry in manifest.served()}

    async def download_request(self, request: Request) -> Response:
        recorded = self.recorded.get(replay_key(request.url))
        if recorded is None:
            return Response(request.url, status=HTTPStatus.NOT_FOUND, request=request)
        if request.method in ("GET", "HEAD") and is_not_modified(request.headers, recorded):
            headers = {
                name: value
                for name, value in recorded.headers.items()
                if name.lower() not in _ENTITY_HEADERS
            }
            return Response(
                request.url,
                status=HTTPStatus.NOT_MODIFIED,
                headers=Headers(headers),
                request=request,
            )
        body = (self.directory / recorded.body).read_bytes() if recorded.body else b""
        headers = Headers(recorded.headers)
        response_class = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return response_class(
            request.url, status=recorded.status, headers=headers, body=body, request=request
        )


class ReplayRenderingHandler(ScrapyPlaywrightDownloadHandler):
    """A replay with `render: true` sources: chromium renders their recorded pages.

    Every request the browser makes (the page itself, its scripts, the data its scripts fetch)
    is answered from the snapshot, after the same guard as a live crawl (spiders.render), so a
    replayed page is built by its own JavaScript exactly as it was live, and the browser
    connects to nothing. Every other request is answered by `ReplayDownloadHandler`.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.replay = ReplayDownloadHandler(crawler)

    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("playwright"):
            return await self.replay.download_request(request)
        request.meta["playwright_page_init_callback"] = self._answer_from_snapshot
        response: Response = await super().download_request(request)
        return response

    async def _answer_from_snapshot(self, page: Any, request: Request) -> None:
        # Routes registered last run first: this one answers before scrapy-playwright's own,
        # which would let the request through to the network.
        await page.route("**/*", self._fulfil)

    async def _fulfil(self, route: Any, browser_request: Any) -> None:
        if self.abort_request is not None:
            refused = self.abort_request(browser_request)
            if inspect.isawaitable(refused):
                refused = await refused
            if refused:
                await route.abort()
                return
        recorded = self.replay.recorded.get(replay_key(browser_request.url))
        if recorded is None:
            await route.fulfill(status=HTTPStatus.NOT_FOUND, body=b"")
            return
        body = (self.replay.directory / recorded.body).read_bytes() if recorded.body else b""
        await route.fulfill(status=recorded.status, headers=recorded.headers, body=body)


def load_snapshot(directory: Path) -> SnapshotManifest:
    """A snapshot's manifest, once every body it names is known to be a file inside it."""
    manifest = load_manifest(directory)
    root = directory.resolve()
    for recorded in manifest.responses:
        if recorded.body is None:
            continue
        body_path = (root / recorded.body).resolve()
        if not body_path.is_relative_to(root):
            raise SnapshotError(
                f"{directory}: the body '{recorded.body}' for {recorded.url} lies outside the "
                "snapshot directory; bodies must be inside it"
            )
        if not body_path.is_file():
            raise SnapshotError(
                f"{directory}: the body '{recorded.body}' for {recorded.url} is missing"
            )
    return manifest


def replay_key(url: str) -> str:
    """The form both a request's URL and a recorded URL are compared in."""
    return canonicalize_url(url)


def is_not_modified(request_headers: Headers, recorded: RecordedResponse) -> bool:
    """Whether a live server would answer 304: If-None-Match matches the recorded ETag, or
    (without If-None-Match) If-Modified-Since is not older than the recorded Last-Modified."""
    if recorded.status != HTTPStatus.OK:
        return False
    recorded_headers = {name.lower(): value for name, value in recorded.headers.items()}
    if_none_match = request_headers.get("If-None-Match")
    if if_none_match is not None:
        etag = recorded_headers.get("etag")
        if etag is None:
            return False
        wanted = {_weak_free(tag) for tag in if_none_match.decode("latin-1").split(",")}
        return "*" in wanted or _weak_free(etag) in wanted
    if_modified_since = request_headers.get("If-Modified-Since")
    last_modified = recorded_headers.get("last-modified")
    if if_modified_since is None or last_modified is None:
        return False
    since = _http_date(if_modified_since.decode("latin-1"))
    modified = _http_date(last_modified)
    return since is not None and modified is not None and since >= modified


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _weak_free(tag: str) -> str:
    return tag.strip().removeprefix("W/")
