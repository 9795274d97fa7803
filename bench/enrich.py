"""What following each new item's link costs: the same crawl with and without full text.

A loopback site serves one RSS feed whose entries link to article pages (HTML with navigation,
a cookie banner and several paragraphs) and PDFs (several pages of text, written with pypdf).
The crawl runs in its own process exactly as a weekly run does (`spiders.crawl.run_crawl`,
archive on), once without an `EnrichJob` and once with one, into fresh homes, alternating.
Politeness delay 0 isolates the work (fetch, trafilatura, pypdf, SQLite); with a delay, each
followed link also waits its turn on its host, which `delay_rounds` measures once.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from demo.pdf import PDF_LINE_CHARS, text_pdf
from horizon.config import PROJECT_ROOT, CrawlSettings, Source
from horizon.enrich.model import EnrichJob
from horizon.fetch import ArchiveTarget, CrawlJob
from horizon.state import StateDB
from spiders.crawl import run_crawl

ITEMS = 25  # the default per-source enrichment budget (FullTextCaps.per_source)
PDF_EVERY = 5  # every fifth entry links to a PDF
PDF_PAGES = 4
PARAGRAPHS = 8
SAMPLE = PROJECT_ROOT / "evaluation" / "data" / "items.jsonl"


@dataclass(frozen=True)
class EnrichmentCost:
    items: int
    pages: int
    pdfs: int
    delay_s: float
    without_s: float
    with_s: float
    stored_ok: int

    @property
    def ratio(self) -> float:
        """Crawl time with enrichment ÷ without it."""
        return self.with_s / self.without_s

    @property
    def per_item_ms(self) -> float:
        return 1000 * (self.with_s - self.without_s) / self.items

    def line(self) -> str:
        return (
            f"Full text for {self.items} new items ({self.pages} pages, {self.pdfs} PDFs), "
            f"politeness delay {self.delay_s:g} s: crawl {self.without_s:.2f} s without, "
            f"{self.with_s:.2f} s with enrichment = ×{self.ratio:.2f}; "
            f"{self.per_item_ms:.0f} ms per item ({self.stored_ok} texts stored)"
        )


def _sentences() -> list[str]:
    """Real wording to fill the pages: the labelled items' summaries (in the repository)."""
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    return [row["summary"] for row in rows if len(row.get("summary") or "") > 80]


def _article(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav>'
        '<div class="cookie-banner">We use cookies. Accept all cookies.</div>'
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        "<footer>Privacy notice. Accessibility statement.</footer></body></html>"
    ).encode()


def _pdf(pages: list[str]) -> bytes:
    return text_pdf("Regulatory update", [textwrap.wrap(text, PDF_LINE_CHARS) for text in pages])


def build_site(items: int = ITEMS) -> dict[str, tuple[bytes, str]]:
    """Path → (body, content type): a feed of `items` entries and what each links to."""
    sentences = _sentences()
    site: dict[str, tuple[bytes, str]] = {"/robots.txt": (b"User-agent: *\n", "text/plain")}
    entries = []
    for number in range(items):
        chosen = [sentences[(number * PARAGRAPHS + k) % len(sentences)] for k in range(PARAGRAPHS)]
        title = f"Regulatory update {number}"
        if number % PDF_EVERY == PDF_EVERY - 1:
            path = f"/docs/update-{number}.pdf"
            site[path] = (_pdf(chosen[:PDF_PAGES]), "application/pdf")
        else:
            path = f"/updates/{number}"
            site[path] = (_article(title, chosen), "text/html; charset=utf-8")
        entries.append(
            f"<item><title>{title}</title><link>{path}</link>"
            f"<description>{chosen[0][:200]}</description>"
            f"<pubDate>Mon, 01 Sep 2025 0{number % 10}:00:00 GMT</pubDate></item>"
        )
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>Updates</title>'
    site["/feed.xml"] = (
        (feed + "".join(entries) + "</channel></rss>").encode(),
        "application/rss+xml",
    )
    return site


@contextmanager
def serve(site: dict[str, tuple[bytes, str]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            body, content_type = site.get(self.path, (b"not here", "text/plain"))
            self.send_response(200 if self.path in site else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _crawl(base: str, delay_s: float, enrich: bool) -> tuple[float, int]:
    """One crawl into a fresh home: its seconds and the full texts stored."""
    source = Source(
        id="updates",
        name="Updates",
        publisher="Bench publisher",
        category="regulator",
        jurisdiction="UK",
        kind="rss",
        url=f"{base}/feed.xml",
        allow_private_hosts=True,
    )
    with tempfile.TemporaryDirectory(prefix="horizon-bench-enrich-") as scratch:
        home = Path(scratch)
        state_db = str(home / "state.db")
        job = CrawlJob(
            crawl=CrawlSettings(delay_seconds=delay_s, retries=0, timeout_seconds=30),
            sources=[source],
            archive=ArchiveTarget(warc_path=str(home / "crawl.warc.gz"), index_db=state_db),
            enrich=EnrichJob(state_db=state_db) if enrich else None,
        )
        started = time.perf_counter()
        [outcome] = run_crawl(job, home / "work")
        seconds = time.perf_counter() - started
        if outcome.outcome != "ok":
            raise RuntimeError(f"bench crawl failed: {outcome.error}")
        stored = _texts_stored(home / "state.db") if enrich else 0
    return seconds, stored


def _texts_stored(state_db: Path) -> int:
    with StateDB(state_db).connect() as connection:
        row = connection.execute("SELECT COUNT(*) FROM full_texts WHERE status = 'ok'").fetchone()
    return int(row[0])


def measure_enrichment(rounds: int = 3, delay_rounds: int = 1) -> list[EnrichmentCost]:
    """Median crawl times without and with enrichment, alternating, at delay 0 and at the
    default politeness delay (1 s)."""
    site = build_site()
    pdfs = sum(1 for path in site if path.endswith(".pdf"))
    costs = []
    with serve(site) as base:
        for delay_s, count in ((0.0, rounds), (CrawlSettings().delay_seconds, delay_rounds)):
            without, with_, stored = [], [], 0
            for _ in range(count):
                without.append(_crawl(base, delay_s, enrich=False)[0])
                seconds, stored = _crawl(base, delay_s, enrich=True)
                with_.append(seconds)
            costs.append(
                EnrichmentCost(
                    items=ITEMS,
                    pages=ITEMS - pdfs,
                    pdfs=pdfs,
                    delay_s=delay_s,
                    without_s=statistics.median(without),
                    with_s=statistics.median(with_),
                    stored_ok=stored,
                )
            )
    return costs
