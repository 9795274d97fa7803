"""A fault-injecting HTTP server for tests, bound to a loopback address on port 0.

Each route is a function that writes the whole answer, so a route can misbehave in any way a
real server does: drip bytes slowly, stream 200 MB without holding it in memory, cut a body
short, lie about its content type. Every request is logged with its path and headers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Seen:
    path: str
    at: float
    headers: dict[str, str]


class FaultServer:
    """A real HTTP server on `host` (127.0.0.1, another 127.x address or ::1) and a free port."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1") -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                server.seen.append(Seen(self.path, time.monotonic(), dict(self.headers)))
                route = server.routes.get(self.path.split("?", 1)[0], not_found)
                try:
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up, as a crawler should on some faults

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self.server = Server((host, 0), Handler)
        port = self.server.server_address[1]
        self.base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def __enter__(self) -> FaultServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]


def answer(
    body: bytes,
    content_type: str = "application/rss+xml; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Route:
    """A route that answers `body` in full."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    return answer(b"", "text/plain", status, {"Location": location})


def not_found(handler: BaseHTTPRequestHandler) -> None:
    answer(b"not here", "text/plain", 404)(handler)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, on a loopback address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
