"""`render: true`: a listing built by JavaScript, fetched through Debian's chromium on loopback."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from loopback_site import LoopbackSite, Page, loopback_source

from horizon.config import CrawlSettings
from horizon.fetch import CrawlJob
from spiders.crawl import run_crawl
from spiders.render import CHROMIUM, browser_guard, chromium_available

SCRIPTED_LISTING = b"""<!doctype html><html><head><title>AI Office news</title></head><body>
<ul id="news"></ul>
<script src="/list.js"></script></body></html>"""
LIST_JS = b"""const items = [["/news/code-of-practice", "Code of practice published"],
                ["/news/guidelines", "Guidelines on prohibited practices"]];
const list = document.getElementById("news");
for (const [href, title] of items) {
  const li = document.createElement("li");
  li.className = "news-item";
  li.innerHTML = `<a href="${href}">${title}</a>`;
  list.appendChild(li);
}"""
SELECTORS = {"item": "li.news-item", "title": "a::text", "link": "a::attr(href)"}


def test_browser_may_fetch_only_the_rendered_sources_hosts() -> None:
    abort = browser_guard(["127.0.0.1"])

    def request(url: str, kind: str = "script") -> SimpleNamespace:
        return SimpleNamespace(url=url, resource_type=kind)

    assert abort(request("http://127.0.0.1:8000/list.js")) is False
    assert abort(request("http://10.0.0.1/admin")) is True
    assert abort(request("http://metadata.internal/latest")) is True
    assert abort(request("file:///etc/passwd")) is True
    assert abort(request("http://127.0.0.1:8000/logo.png", "image")) is True


@pytest.mark.skipif(not chromium_available(), reason=f"Debian's chromium is not at {CHROMIUM}")
def test_rendered_listing_gives_the_items_its_script_builds(tmp_path: Path) -> None:
    pages = {
        "/robots.txt": Page(b"User-agent: *\n", "text/plain"),
        "/news": Page(SCRIPTED_LISTING),
        "/list.js": Page(LIST_JS, "text/javascript"),
    }
    with LoopbackSite(pages) as site:
        url = f"{site.base}/news"
        sources = [
            loopback_source("rendered", url, kind="html-listing", selectors=SELECTORS, render=True),
            loopback_source("not-rendered", url, kind="html-listing", selectors=SELECTORS),
        ]
        job = CrawlJob(crawl=CrawlSettings(delay_seconds=0, retries=0), sources=sources)
        rendered, plain = run_crawl(job, tmp_path / "work", time_limit_s=120)
    assert rendered.outcome == "ok", rendered.error
    assert [entry.title for entry in rendered.entries] == [
        "Code of practice published",
        "Guidelines on prohibited practices",
    ]
    assert rendered.entries[0].url == f"{site.base}/news/code-of-practice"
    assert plain.outcome == "failed" and "held no items" in (plain.error or "")
    assert "/list.js" in site.requested  # the browser ran the page's script
