"""A downloader middleware that archives every response the crawl receives (horizon.archive).

It sits next to the download handler, so it sees each response as it came off the wire (or out
of a snapshot): redirects, retried errors, robots.txt and 304s included, before decompression.
One WARC file is shared by every spider of the crawl process. An archive that cannot be written
is logged and never stops a fetch.
"""

from __future__ import annotations

import logging
import sqlite3

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from horizon.archive import ArchiveWriter
from horizon.fetch import ArchiveTarget

ARCHIVE_SETTING = "HORIZON_ARCHIVE"
SOURCE_META = "horizon_source"
_writers: dict[str, ArchiveWriter] = {}
log = logging.getLogger(__name__)


def shared_writer(target: ArchiveTarget) -> ArchiveWriter:
    """The crawl process's one writer for `target` (each spider has its own middleware)."""
    if target.warc_path not in _writers:
        _writers[target.warc_path] = ArchiveWriter(target)
    return _writers[target.warc_path]


def close_shared_writers() -> None:
    while _writers:
        _writers.popitem()[1].close()


def source_of(request: Request) -> str:
    """The id of the source a request was made for ('' for robots.txt)."""
    if request.meta.get(SOURCE_META):
        return str(request.meta[SOURCE_META])
    source = request.cb_kwargs.get("source")
    return str(getattr(source, "id", ""))


class ArchiveMiddleware:
    def __init__(self, writer: ArchiveWriter) -> None:
        self.writer = writer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveMiddleware:
        setting = crawler.settings.getdict(ARCHIVE_SETTING)
        if not setting:
            raise NotConfigured("no archive for this crawl")
        return cls(shared_writer(ArchiveTarget.model_validate(setting)))

    def process_response(self, request: Request, response: Response) -> Response:
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in response.headers.items()
            for value in values
        ]
        try:
            self.writer.write(
                response.url, response.status, headers, response.body, source_of(request)
            )
        except (OSError, sqlite3.Error) as error:
            log.warning("could not archive %s: %s", response.url, error)
        return response
