"""`horizon backfill`: paging back to a date through real loopback servers (a Federal
Register-style JSON API, a GitHub-style releases API paged by Link headers, an HTML listing),
resuming after a real kill -9, and the same ids on a real Dask LocalCluster."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from horizon.bulk.backfill import BackfillSummary, run_backfill
from horizon.bulk.cluster import ClusterEmbedder
from horizon.bulk.ledger import Ledger
from horizon.bulk.paging import link_header_next, next_page_url, stop_reason
from horizon.config import CrawlSettings, JsonApiFields, ListingSelectors, Source, load_settings
from horizon.embed import HashingEmbedder
from horizon.item import Entry
from horizon.store import Store, open_store
from spiders.backfill import stream_pages
from tests.conftest import KeywordTagger
from tests.loopback_site import loopback_source

REPO = Path(__file__).resolve().parent.parent
SINCE = date(2025, 1, 1)
BACKSTOP_S = 300
CRAWL = CrawlSettings(delay_seconds=0, retries=0, timeout_seconds=20)
FR_PATH = "/api/v1/documents.json?order=newest&page="
GH_PATH = "/repos/acme/sdk/releases?per_page=2&page="
LISTING_PATH = "/news?page="


class PagedSite:
    """Pages by path and query on 127.0.0.1 (404 otherwise); every request is logged, and a
    path in `held` is answered only once `release` is set."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.requested: list[str] = []
        self.held: set[str] = set()
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                site.requested.append(self.path)
                if self.path in site.held:
                    site.release.wait(BACKSTOP_S)
                body, content_type, headers = site.pages.get(
                    self.path, (b"not here", "text/plain", {})
                )
                self.send_response(200 if self.path in site.pages else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a client killed mid-request (the kill -9 test) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PagedSite:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, path: str) -> int:
        return self.requested.count(path)


def _record(tag: str, day: str) -> dict[str, str]:
    """Words of their own per entry, so that no two entries read alike (no folding)."""
    return {"tag": tag, "title": f"{tag} {tag}b {tag}c", "summary": f"{tag}d {tag}e.", "day": day}


FR_PAGES = [
    [_record("fra", "2025-09-03"), _record("frb", "2025-08-14"), _record("frc", "2025-07-01")],
    [_record("frd", "2025-05-20"), _record("fre", "2025-04-02"), _record("frf", "2025-03-11")],
    [_record("frg", "2025-01-10"), _record("frh", "2024-12-20"), _record("fri", "2024-12-01")],
    [_record("frj", "2024-10-09"), _record("frk", "2024-09-18"), _record("frl", "2024-08-01")],
    [_record("frm", "2024-06-09")],
]
GH_PAGES = [
    [_record("gha", "2025-08-01T10:00:00Z"), _record("ghb", "2025-07-01T10:00:00Z")],
    [_record("ghc", "2025-05-01T10:00:00Z"), _record("ghd", "2025-04-01T10:00:00Z")],
    [_record("ghe", "2025-02-01T10:00:00Z")],
]
LISTING_PAGES = [
    [_record("lsa", "2025-06-30"), _record("lsb", "2025-06-01")],
    [_record("lsc", "2025-04-30"), _record("lsd", "2025-04-01")],
    [_record("lse", "2025-02-28")],
]


def serve_federal_register(site: PagedSite) -> Source:
    for number, records in enumerate(FR_PAGES, start=1):
        document: dict[str, Any] = {
            "count": sum(len(page) for page in FR_PAGES),
            "total_pages": len(FR_PAGES),
            "results": [
                {
                    "document_number": record["tag"],
                    "title": record["title"],
                    "html_url": f"{site.base}/documents/{record['tag']}",
                    "abstract": record["summary"],
                    "publication_date": record["day"],
                }
                for record in records
            ],
        }
        if number < len(FR_PAGES):
            document["next_page_url"] = f"{site.base}{FR_PATH}{number + 1}"
        site.pages[f"{FR_PATH}{number}"] = (json.dumps(document).encode(), "application/json", {})
    return loopback_source(
        "fr-documents",
        f"{site.base}{FR_PATH}1",
        kind="json-api",
        fields=JsonApiFields(
            items="results",
            title="title",
            url="html_url",
            summary="abstract",
            published="publication_date",
            id="document_number",
            next="next_page_url",
        ),
    )


def serve_github_releases(site: PagedSite) -> Source:
    for number, records in enumerate(GH_PAGES, start=1):
        releases = [
            {
                "id": 1000 + index + 10 * number,
                "name": record["title"],
                "html_url": f"{site.base}/acme/sdk/releases/tag/{record['tag']}",
                "body": record["summary"],
                "published_at": record["day"],
            }
            for index, record in enumerate(records)
        ]
        links = [f'<{site.base}{GH_PATH}{len(GH_PAGES)}>; rel="last"']
        if number < len(GH_PAGES):
            links.insert(0, f'<{site.base}{GH_PATH}{number + 1}>; rel="next"')
        site.pages[f"{GH_PATH}{number}"] = (
            json.dumps(releases).encode(),
            "application/json",
            {"Link": ", ".join(links)},
        )
    return loopback_source(
        "gh-acme-sdk",
        f"{site.base}{GH_PATH}1",
        kind="json-api",
        fields=JsonApiFields(
            items="", title="name", url="html_url", summary="body", published="published_at"
        ),
    )


def serve_listing(site: PagedSite) -> Source:
    for number, records in enumerate(LISTING_PAGES, start=1):
        rows = "".join(
            f'<li class="news"><a href="/news/{r["tag"]}">{r["title"]}</a>'
            f"<time>{r['day']}</time><p>{r['summary']}</p></li>"
            for r in records
        )
        older = (
            f'<a class="older" href="{LISTING_PATH}{number + 1}">Older news</a>'
            if number < len(LISTING_PAGES)
            else ""
        )
        page = f"<html><body><ul>{rows}</ul>{older}</body></html>"
        site.pages[f"{LISTING_PATH}{number}"] = (page.encode(), "text/html; charset=utf-8", {})
    return loopback_source(
        "agency-news",
        f"{site.base}{LISTING_PATH}1",
        kind="html-listing",
        selectors=ListingSelectors(
            item="li.news",
            title="a",
            link="a::attr(href)",
            date="time::text",
            summary="p",
            next="a.older::attr(href)",
        ),
    )


def expected_tags(pages: list[list[dict[str, str]]], until_page: int | None = None) -> set[str]:
    return {
        record["tag"]
        for page in pages[:until_page]
        for record in page
        if date.fromisoformat(record["day"][:10]) >= SINCE
    }


def stored_tags(store: Store) -> list[str]:
    """The tag of every stored item (each title starts with it), one per row: repeats show."""
    items = store.state.get_items(store.state.item_ids())
    return sorted(stored.item.title.split()[0] for stored in items.values())


def backfill(
    store: Store, sources: list[Source], workdir: Path, max_pages: int = 10, **kwargs: Any
) -> BackfillSummary:
    return run_backfill(
        store,
        kwargs.get("embedder", HashingEmbedder()),
        KeywordTagger(),
        CRAWL,
        sources,
        SINCE,
        max_pages,
        lambda job: stream_pages(job, workdir),
    )


@pytest.fixture
def site() -> Iterator[PagedSite]:
    with PagedSite() as serving:
        yield serving


# ----- finding the next page and where to stop (pure) ---------------------------------------


def test_the_next_link_of_an_http_link_header_is_found_among_other_relations() -> None:
    header = (
        '<https://api.example/r?page=3>; rel="last", <https://api.example/r?page=2>; rel="next"'
    )
    assert link_header_next(header) == "https://api.example/r?page=2"
    assert link_header_next('<https://a.example/2>; rel="prev first"') is None
    assert link_header_next("<https://a.example/2>; rel=next") == "https://a.example/2"
    assert link_header_next(None) is None


def test_a_paged_atom_feed_and_a_json_feed_name_their_next_page() -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        b'<link rel="next" href="/releases.atom?page=2"/><entry><title>v1</title>'
        b"<id>urn:1</id><updated>2025-01-01T00:00:00Z</updated></entry></feed>"
    )
    feed = loopback_source("gh-feed", "https://github.example/releases.atom", kind="atom")
    json_feed = loopback_source("json-feed", "https://j.example/feed.json", kind="jsonfeed")
    assert (
        next_page_url(feed, atom, "application/atom+xml", None, feed.url)
        == "https://github.example/releases.atom?page=2"
    )
    body = json.dumps({"version": "x", "items": [], "next_url": "feed.json?p=2"}).encode()
    assert next_page_url(json_feed, body, None, None, json_feed.url) == (
        "https://j.example/feed.json?p=2"
    )
    not_http = json.dumps({"items": [], "next_url": "file:///etc/passwd"}).encode()
    assert next_page_url(json_feed, not_http, None, None, json_feed.url) is None


def test_a_listing_without_a_next_selector_follows_its_rel_next_link() -> None:
    listing = loopback_source(
        "plain-listing",
        "https://agency.example/news",
        kind="html-listing",
        selectors=ListingSelectors(item="li", title="a", link="a::attr(href)"),
    )
    page = b'<html><head><link rel="next" href="/news?page=2"></head><body></body></html>'
    assert next_page_url(listing, page, "text/html", None, listing.url) == (
        "https://agency.example/news?page=2"
    )


def test_a_source_stops_at_a_page_of_only_older_entries_or_without_a_next_link() -> None:
    older = [Entry(title="a", published="2024-12-31"), Entry(title="b", published="2024-01-02")]
    mixed = [*older, Entry(title="c", published="2025-02-01")]
    undated = [Entry(title="d")]
    following = "https://x.example/?page=3"
    assert "older than 2025-01-01" in (stop_reason(older, following, SINCE) or "")
    assert stop_reason(mixed, following, SINCE) is None
    assert stop_reason(undated, following, SINCE) is None
    assert "no link" in (stop_reason(mixed, None, SINCE) or "")
    assert "already read" in (stop_reason(mixed, following, SINCE, {following}) or "")
    assert "no entries" in (stop_reason([], following, SINCE) or "")


def test_a_next_selector_is_validated_with_its_source_and_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="nxt"):
        JsonApiFields.model_validate({"items": "r", "title": "t", "url": "u", "nxt": "n"})
    assert ListingSelectors(item="li", title="a", link="a", next="a.older").next == "a.older"


# ----- real crawls on loopback ---------------------------------------------------------------


def test_backfill_pages_back_through_three_kinds_of_paged_source_to_the_since_date(
    site: PagedSite, settings: Any, tmp_path: Path
) -> None:
    sources = [serve_federal_register(site), serve_github_releases(site), serve_listing(site)]
    store = open_store(settings)
    summary = backfill(store, sources, tmp_path / "work")

    expected = expected_tags(FR_PAGES) | expected_tags(GH_PAGES) | expected_tags(LISTING_PAGES)
    assert stored_tags(store) == sorted(expected)
    assert store.index.count() == len(expected)
    reports = {report.source: report for report in summary.sources}
    assert reports["fr-documents"].pages == 4
    assert "older than 2025-01-01" in reports["fr-documents"].detail
    assert reports["fr-documents"].older_skipped == 2 + 3
    assert site.count(f"{FR_PATH}5") == 0, "a page after the stop was fetched"
    assert (reports["gh-acme-sdk"].pages, reports["agency-news"].pages) == (3, 3)
    assert all(report.status == "done" for report in summary.sources)
    assert "no link to an older page" in reports["gh-acme-sdk"].detail
    ledger = Ledger(store.state)
    assert ledger.pages_done(SINCE, "gh-acme-sdk") == [
        f"{site.base}{GH_PATH}{n}" for n in (1, 2, 3)
    ]

    requests_before = list(site.requested)
    again = backfill(store, sources, tmp_path / "work-again")
    assert site.requested == requests_before, "a finished backfill fetched pages again"
    assert all(report.detail.startswith("finished earlier") for report in again.sources)
    assert stored_tags(store) == sorted(expected)


def test_a_page_cap_stops_a_source_and_a_higher_cap_continues_without_refetching(
    site: PagedSite, settings: Any, tmp_path: Path
) -> None:
    source = serve_federal_register(site)
    store = open_store(settings)
    first = backfill(store, [source], tmp_path / "one", max_pages=2)
    assert "page cap (2 pages)" in first.sources[0].detail
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES, 2))

    resumed = backfill(store, [source], tmp_path / "two", max_pages=2)
    assert "page cap" in resumed.sources[0].detail and resumed.sources[0].pages == 0
    more = backfill(store, [source], tmp_path / "three", max_pages=6)
    assert more.sources[0].resumed_at_page == 3 and more.sources[0].pages == 2
    assert [site.count(f"{FR_PATH}{n}") for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 1, 0]
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES))


def test_a_failing_page_ends_its_source_and_the_others_go_on_and_a_rerun_retries_it(
    site: PagedSite, settings: Any, tmp_path: Path
) -> None:
    source, listing = serve_federal_register(site), serve_listing(site)
    missing = site.pages.pop(f"{FR_PATH}3")
    store = open_store(settings)
    summary = backfill(store, [source, listing], tmp_path / "one")
    reports = {report.source: report for report in summary.sources}
    assert reports["fr-documents"].status == "failed"
    assert "page 3" in reports["fr-documents"].detail and "404" in reports["fr-documents"].detail
    assert reports["agency-news"].status == "done"

    site.pages[f"{FR_PATH}3"] = missing
    retried = backfill(store, [source, listing], tmp_path / "two")
    assert retried.sources[0].status == "done" and retried.sources[0].resumed_at_page == 3
    assert [site.count(f"{FR_PATH}{n}") for n in (1, 2, 3)] == [1, 1, 2]
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES) | expected_tags(LISTING_PAGES))


def test_a_next_link_to_an_address_the_source_does_not_allow_is_refused(
    site: PagedSite, settings: Any, tmp_path: Path
) -> None:
    source = serve_federal_register(site)
    page_one = json.loads(site.pages[f"{FR_PATH}1"][0])
    port = site.base.rsplit(":", 1)[1]
    page_one["next_page_url"] = f"http://127.0.0.2:{port}{FR_PATH}2"
    site.pages[f"{FR_PATH}1"] = (json.dumps(page_one).encode(), "application/json", {})
    only_here = source.model_copy(update={"allow_private_hosts": ["127.0.0.1/32"]})
    store = open_store(settings)
    summary = backfill(store, [only_here], tmp_path / "work")
    assert summary.sources[0].status == "failed"
    assert "page 2" in summary.sources[0].detail and "127.0.0.2" in summary.sources[0].detail
    assert site.count(f"{FR_PATH}2") == 0
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES, 1))


def test_robots_txt_is_obeyed_for_older_pages_too(
    site: PagedSite, settings: Any, tmp_path: Path
) -> None:
    source = serve_listing(site)
    site.pages["/robots.txt"] = (
        f"User-agent: *\nDisallow: {LISTING_PATH}2\n".encode(),
        "text/plain",
        {},
    )
    store = open_store(settings)
    summary = backfill(store, [source], tmp_path / "work")
    assert summary.sources[0].status == "failed"
    assert "page 2" in summary.sources[0].detail and "robots.txt" in summary.sources[0].detail
    assert site.count(f"{LISTING_PATH}2") == 0
    assert stored_tags(store) == sorted(expected_tags(LISTING_PAGES, 1))


# ----- a real kill -9 mid-run, then a rerun ---------------------------------------------------

DRIVER = """
import sys
from datetime import date
from pathlib import Path
from horizon.bulk.backfill import run_backfill
from horizon.config import CrawlSettings, Source, load_settings
from horizon.embed import HashingEmbedder
from horizon.runtime import exclusive_home
from horizon.store import open_store
from spiders.backfill import stream_pages
from tests.conftest import KeywordTagger

home, source_json, workdir = sys.argv[1:4]
settings = load_settings(home=Path(home), env={})
with exclusive_home(settings):
    run_backfill(
        open_store(settings), HashingEmbedder(), KeywordTagger(),
        CrawlSettings(delay_seconds=0, retries=0, timeout_seconds=60),
        [Source.model_validate_json(Path(source_json).read_text())],
        date(2025, 1, 1), 10, lambda job: stream_pages(job, Path(workdir)),
    )
"""


def pages_recorded(home: Path, source: str) -> int:
    database = home / "state.db"
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        try:
            row = connection.execute(
                "SELECT COUNT(*) FROM backfill_pages WHERE source = ?", (source,)
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0])


def crawlers_of(workdir: Path) -> list[int]:
    """Processes still running the backfill crawl of `workdir` (zombies are not running)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            running = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            continue
        if (
            running
            and b"spiders.backfill" in command
            and str(workdir).encode() in b" ".join(command)
        ):
            found.append(int(entry.name))
    return found


def start_driver(home: Path, source_json: Path, workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(home), str(source_json), str(workdir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_backfill_killed_mid_run_continues_without_refetching_duplicating_or_losing(
    site: PagedSite, tmp_path: Path
) -> None:
    source = serve_federal_register(site)
    source_json = tmp_path / "source.json"
    source_json.write_text(source.model_dump_json(), encoding="utf-8")
    home = tmp_path / "home"
    site.held.add(f"{FR_PATH}3")  # page 3 is answered only after the kill

    process = start_driver(home, source_json, tmp_path / "work-1")
    try:
        deadline = time.monotonic() + BACKSTOP_S
        while pages_recorded(home, source.id) < 2:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "pages 1 and 2 were never committed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=BACKSTOP_S)
        # its crawler, orphaned, notices and stops itself; only then is page 3 answered
        while crawlers_of(tmp_path / "work-1"):
            assert time.monotonic() < deadline, "the orphaned crawler never stopped"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=BACKSTOP_S)
        site.release.set()
    assert process.returncode == -signal.SIGKILL
    store = open_store(load_settings(home=home, env={}))
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES, 2))

    rerun = start_driver(home, source_json, tmp_path / "work-2")
    _, errors = rerun.communicate(timeout=BACKSTOP_S)
    assert rerun.returncode == 0, errors
    assert [site.count(f"{FR_PATH}{n}") for n in (1, 2, 3, 4, 5)] == [1, 1, 2, 1, 0]
    assert stored_tags(store) == sorted(expected_tags(FR_PAGES))
    assert store.index.count() == len(expected_tags(FR_PAGES))
    resume = Ledger(store.state).resume_point(SINCE, source.id, source.url)
    assert resume.cursor is None and "older than" in (resume.finished or "")


# ----- the same on a Dask cluster, and the command line --------------------------------------


@pytest.fixture
def cluster() -> Iterator[Any]:
    """A real LocalCluster of 2 workers (threads of this process, reached over TCP), one per
    test, so that the tasks a test finds on it are its own."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as local_cluster:
        yield local_cluster


def test_a_backfill_on_a_two_worker_dask_cluster_stores_the_same_ids_and_vectors(
    site: PagedSite, tmp_path: Path, cluster: Any
) -> None:
    from distributed import Client

    sources = [serve_federal_register(site), serve_github_releases(site), serve_listing(site)]
    local = open_store(load_settings(home=tmp_path / "local", env={}))
    backfill(local, sources, tmp_path / "work-local")
    with Client(cluster.scheduler_address) as client:
        parallel = open_store(load_settings(home=tmp_path / "dask", env={}))
        embedder = ClusterEmbedder(client, HashingEmbedder(), chunk=2)
        backfill(parallel, sources, tmp_path / "work-dask", embedder=embedder)
    assert "embed_on_worker" in set(cluster.scheduler.task_prefixes)
    ids = local.state.item_ids()
    assert parallel.state.item_ids() == ids and len(ids) > 0
    assert sorted(parallel.index.ids()) == sorted(local.index.ids()) == ids
    local_vectors, parallel_vectors = local.index.embeddings(ids), parallel.index.embeddings(ids)
    for item_id in ids:
        np.testing.assert_allclose(parallel_vectors[item_id], local_vectors[item_id], atol=1e-6)


runner = CliRunner()


def sources_file_for(sources: list[Source], path: Path) -> Path:
    crawl = {"delay_seconds": 0, "retries": 0, "timeout_seconds": 20}
    listed = [source.model_dump(exclude_defaults=True) for source in sources]
    path.write_text(yaml.safe_dump({"crawl": crawl, "sources": listed}), encoding="utf-8")
    return path


def test_the_backfill_command_prints_json_and_refuses_bad_input_in_plain_words(
    site: PagedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.cli import app

    monkeypatch.setattr("horizon.runtime.embedder_for", lambda _: HashingEmbedder())
    sources_file = sources_file_for([serve_federal_register(site)], tmp_path / "sources.yaml")
    common = ["--home", str(tmp_path / "home"), "--sources", str(sources_file)]
    bad_day = runner.invoke(app, ["backfill", "--since", "2025-13-01", *common])
    assert bad_day.exit_code == 2 and "YYYY-MM-DD" in bad_day.output
    unknown = runner.invoke(app, ["backfill", "--since", "2025-01-01", "--source", "nope", *common])
    assert unknown.exit_code == 2 and "--source nope: no such source" in unknown.output
    bad_dask = runner.invoke(app, ["backfill", "--since", "2025-01-01", "--dask", "x", *common])
    assert bad_dask.exit_code == 2 and "local[N]" in bad_dask.output

    result = runner.invoke(app, ["backfill", "--since", "2025-01-01", "--json", *common])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["since"] == "2025-01-01" and printed["failed"] == []
    assert printed["totals"]["new"] == len(expected_tags(FR_PAGES))
    assert printed["sources"][0]["status"] == "done"
    assert printed["index_model"] == HashingEmbedder.name

    again = runner.invoke(app, ["backfill", "--since", "2025-01-01", *common])
    assert again.exit_code == 0 and "fr-documents: 0 pages (from page 5)" in again.stdout
    assert "finished earlier: every entry on this page is older than" in again.stdout

    reindexed = runner.invoke(app, ["reindex", "--json", "--home", str(tmp_path / "home")])
    assert reindexed.exit_code == 0, reindexed.output
    assert json.loads(reindexed.stdout)["embedded_items"] == len(expected_tags(FR_PAGES))
    told = runner.invoke(app, ["reindex", "--home", str(tmp_path / "home")]).stdout
    assert f"Re-embedded {len(expected_tags(FR_PAGES))} items" in told
    assert "--since" in runner.invoke(app, ["backfill", "--help"]).output


def test_the_backfill_command_with_a_dask_address_embeds_on_the_cluster(
    site: PagedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cluster: Any
) -> None:
    from pipelines.cli import app

    monkeypatch.setattr("horizon.runtime.embedder_for", lambda _: HashingEmbedder())
    monkeypatch.setattr("horizon.bulk.cluster.default_embedder", HashingEmbedder)
    sources = [serve_github_releases(site), serve_listing(site)]
    sources_file = sources_file_for(sources, tmp_path / "sources.yaml")
    homes = {"local": tmp_path / "local", "dask": tmp_path / "dask"}
    for name, home in homes.items():
        dask = ["--dask", str(cluster.scheduler_address)] if name == "dask" else []
        command = ["backfill", "--since", "2025-01-01", "--json", *dask]
        result = runner.invoke(app, [*command, "--home", str(home), "--sources", str(sources_file)])
        assert result.exit_code == 0, result.output
    assert "embed_on_worker" in set(cluster.scheduler.task_prefixes)
    local, parallel = (open_store(load_settings(home=home, env={})) for home in homes.values())
    assert parallel.state.item_ids() == local.state.item_ids()
    assert len(local.state.item_ids()) == len(
        expected_tags(GH_PAGES) | expected_tags(LISTING_PAGES)
    )
