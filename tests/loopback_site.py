"""A small real web site on 127.0.0.1 (port 0) whose pages a test can change between crawls."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from horizon.config import Source


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackSite:
    """Serves `pages` by path (404 otherwise) and logs every requested path."""

    def __init__(self, pages: dict[str, Page]) -> None:
        self.pages = pages
        self.requested: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                site.requested.append(self.path)
                page = site.pages.get(self.path, Page(b"not here", "text/plain", 404))
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(page.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LoopbackSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def loopback_source(source_id: str, url: str, kind: str = "rss", **extra: Any) -> Source:
    """A source on a loopback site, which it must explicitly allow."""
    return Source(
        id=source_id,
        name=source_id.replace("-", " "),
        publisher="Test publisher",
        category="regulator",
        jurisdiction="UK",
        kind=kind,
        url=url,
        **{"allow_private_hosts": True, **extra},
    )
