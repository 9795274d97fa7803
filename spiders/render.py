"""Rendering `render: true` sources in Debian's chromium through scrapy-playwright.

The page request itself goes through every downloader middleware (robots.txt, the address
check, the archive, which stores the rendered DOM). What the browser fetches on its own (scripts,
XHR) is limited here: only http(s) to the hosts of the crawl's rendered sources, and no images,
media or fonts, so a page's script cannot reach other hosts or the local network.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT_HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
NO_CHROMIUM = (
    f"skipped, not fetched: render: true needs Debian's chromium at {CHROMIUM}, which is not "
    "installed — install the 'chromium' package, or remove render: true from the source"
)
# A rendered page is read once its scripts have fetched what they fetch (the list they build).
RENDER_GOTO = {"wait_until": "networkidle"}


def chromium_available() -> bool:
    return CHROMIUM.is_file()


def browser_guard(hosts: Iterable[str]) -> Callable[[Any], Awaitable[bool] | bool]:
    """PLAYWRIGHT_ABORT_REQUEST: True (abort) for what the browser may not fetch."""
    allowed = frozenset(host.lower() for host in hosts)

    def abort(request: Any) -> bool:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return False
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in allowed:
            return True
        return bool(request.resource_type in SKIPPED_RESOURCES)

    return abort


def render_settings(hosts: Iterable[str], timeout_s: float, pages: int) -> dict[str, Any]:
    """Scrapy settings that send requests marked `playwright` through headless chromium; every
    other request still goes through Scrapy's own HTTP client."""
    return {
        "DOWNLOAD_HANDLERS": {"http": PLAYWRIGHT_HANDLER, "https": PLAYWRIGHT_HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(CHROMIUM),
            "headless": True,
            "args": ["--no-sandbox", "--disable-dev-shm-usage"],
        },
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_s * 1000,
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": pages,
        "PLAYWRIGHT_ABORT_REQUEST": browser_guard(hosts),
    }
