"""The workspace served by a real uvicorn server on 127.0.0.1 (port 0): people working while
the pipeline writes to the same state database, and a real browser (Debian's Chromium driven
by Playwright, headless) for the analyst's path, a viewer's refused flag, and the XSS corpus
stored as item content."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from horizon.config import Settings, load_settings
from horizon.embed import HashingEmbedder
from horizon.ingest import Ingestor
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash, item_from_record
from horizon.runtime import Runtime
from horizon.store import open_store
from horizon.web import create_app
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import CommentRequest, TokenRequest, UserRequest

PASSWORD = "a long enough password"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1 and a free port; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def tagged(item: Item, control: str = "DATA-PRIVACY", evidence: str | None = None) -> Item:
    return item.model_copy(
        update={
            "tags": Tags(
                relevant=True,
                controls=[ControlTag(id=control, score=0.8, evidence=evidence or item.title)],
                type="guidance",
                jurisdiction="UK",
            )
        }
    )


def add_users(workspace: Workspace, *people: tuple[str, str]) -> None:
    for name, role in people:
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))


# ----- a writer and the web app at the same time ------------------------------------------


class PrivacyTagger:
    """Tags every item as relevant to DATA-PRIVACY (the ingest thread needs a tagger; the
    test is about the database, not about tagging)."""

    def classify(self, items: Sequence[Item], embeddings: Any = None) -> list[Tags]:
        return [tag for item in items if (tag := tagged(item).tags) is not None]


def test_people_work_in_the_web_app_while_the_pipeline_ingests_without_locking_errors(
    settings: Settings,
) -> None:
    embedder = HashingEmbedder()
    runtime = Runtime(settings, embedder_override=embedder)
    seed = [
        tagged(item_from_record({"id": f"seed-{n}", "title": f"ICO AI guidance part {n}"}))
        for n in range(20)
    ]
    runtime.store.index.upsert(seed, embedder.embed([item.text() for item in seed]))
    runtime.store.state.save_new_items(seed, datetime.now(UTC))
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    add_users(workspace, ("ann", "analyst"))
    token = workspace.create_token(workspace.user("ann"), TokenRequest(label="load"))[1]
    writer_errors: list[BaseException] = []
    ingested: list[str] = []
    ingesting = threading.Event()
    batches, batch_size = 12, 25

    def ingest() -> None:
        store = open_store(settings)
        ingestor = Ingestor(store, embedder, PrivacyTagger())
        ingesting.set()
        try:
            for batch in range(batches):
                items = [
                    item_from_record(
                        {"id": f"new-{batch}-{n}", "title": f"Regulator update {batch} {n} on AI"}
                    )
                    for n in range(batch_size)
                ]
                results = ingestor.ingest(items, datetime.now(UTC))
                ingested.extend(result.status for result in results)
        except BaseException as error:
            writer_errors.append(error)

    with served(app) as base:
        headers = {"Authorization": f"Bearer {token}"}

        def work(n: int) -> list[int]:
            item_id = f"seed-{n % 20}"
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                return [
                    client.post(
                        f"/api/v1/items/{item_id}/comments", json={"body": f"c{n}"}
                    ).status_code,
                    client.get(f"/api/v1/items/{item_id}").status_code,
                    client.get("/api/v1/triage?limit=50").status_code,
                    client.get("/api/v1/search", params={"q": "AI guidance"}).status_code,
                    client.post(
                        f"/api/v1/items/{item_id}/tags/DATA-PRIVACY", json={"verdict": "confirm"}
                    ).status_code,
                ]

        writer = threading.Thread(target=ingest, name="ingest")
        writer.start()
        ingesting.wait(timeout=30)
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = [status for result in pool.map(work, range(60)) for status in result]
        writer.join(timeout=300)

    assert writer_errors == []
    assert set(statuses) == {200, 201}, sorted(set(statuses))
    assert len(ingested) == batches * batch_size and "error" not in ingested
    assert runtime.store.state.count_items() == 20 + ingested.count("new")
    assert sum(len(workspace.comments(f"seed-{n}")) for n in range(20)) == 60
    assert len([e for e in workspace.audit() if e.action == "comment.add"]) == 60


# ----- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; a plain skip where it is missing."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium: install Debian's chromium to run the browser tests"
        )
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=CHROMIUM_FLAGS,
        )
        yield browser
        browser.close()


@dataclass
class BrowserSite:
    base: str
    workspace: Workspace


def site_item(item_id: str, title: str, summary: str = "", url: str | None = None) -> Item:
    return tagged(
        Item(
            id=item_id,
            title=title,
            summary=summary,
            url=url,
            publisher="ICO",
            published=datetime(2025, 9, 10, 9, tzinfo=UTC),
            source="ico-news",
            content_hash=content_hash(title, summary),
        )
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[BrowserSite]:
    home = Path(tmp_path_factory.mktemp("browser")) / "home"
    runtime = Runtime(load_settings(home=home, env={}), embedder_override=HashingEmbedder())
    items = [
        site_item(
            "ico-chatbots",
            "ICO guidance on AI chatbots and personal data",
            "Organisations deploying AI chatbots must tell people how their personal data is used.",
            "https://ico.org.uk/about-the-ico/news/chatbots/",
        ),
        site_item("viewer-target", "FCA statement on AI in financial advice"),
    ]
    runtime.store.index.upsert(items, runtime.embedder.embed([item.text() for item in items]))
    runtime.store.state.save_new_items(items, datetime(2025, 9, 11, 6, tzinfo=UTC))
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    add_users(workspace, ("ann", "analyst"), ("vic", "viewer"))
    with served(app) as base:
        yield BrowserSite(base, workspace)


def signed_in(chromium: Any, site: BrowserSite, name: str, **options: Any) -> Any:
    """A fresh browser context signed in as `name`, on the page the login lands on."""
    context = chromium.new_context(**options)
    page = context.new_page()
    page.goto(f"{site.base}/search")
    assert page.url.startswith(f"{site.base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{site.base}/search")
    return page


def test_an_analyst_signs_in_searches_opens_an_item_flags_it_sees_the_audit_and_signs_out(
    chromium: Any, site: BrowserSite
) -> None:
    page = signed_in(chromium, site, "ann")
    page.fill("#q", "chatbots personal data")
    page.click("form.search button[type=submit]")
    page.click("ol.results a.title >> nth=0")
    page.wait_for_url(f"{site.base}/items/ico-chatbots")
    assert page.inner_text("#item-title") == "ICO guidance on AI chatbots and personal data"
    page.select_option("#flag-controls", ["DATA-PRIVACY", "TRANSPARENCY"])
    page.select_option("#flag-severity", "high")
    page.fill("#flag-owner", "Data Protection Officer")
    page.fill("#flag-due", "2025-10-31")
    page.fill("#flag-rationale", "Our support chatbot must explain its use of personal data.")
    page.click("#flag-form button[type=submit]")
    page.wait_for_url(f"{site.base}/items/ico-chatbots#flags")
    assert "DATA-PRIVACY, TRANSPARENCY" in page.inner_text("#flag-1")
    assert page.inner_text("#triage-state") == "impact"
    page.click("header nav >> text=Audit trail")
    trail = page.inner_text("table.audit")
    assert "flag.raise · flag 1" in trail and "ann" in trail
    assert "Data Protection Officer" in trail
    page.click("text=Sign out")
    page.wait_for_url(f"{site.base}/login")
    page.goto(f"{site.base}/items/ico-chatbots")
    assert page.url.startswith(f"{site.base}/login")
    page.context.close()


def test_a_viewer_is_shown_no_flag_form_and_a_flag_posted_from_the_browser_is_refused(
    chromium: Any, site: BrowserSite
) -> None:
    page = signed_in(chromium, site, "vic")
    page.goto(f"{site.base}/items/viewer-target")
    assert page.locator("#flag-form").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        f"{site.base}/items/viewer-target/flags",
        form={
            "csrf_token": token,
            "controls": "DATA-PRIVACY",
            "severity": "critical",
            "owner": "vic",
            "due": "2025-10-31",
            "rationale": "A viewer tries anyway.",
        },
    )
    assert refused.status == 403
    assert "needs the analyst role" in refused.text()
    page.reload()
    assert page.locator(".flag").count() == 0
    assert site.workspace.flags(item_id="viewer-target") == []
    page.context.close()


def xss_vectors(shared: Path) -> list[str]:
    """Attack strings from ../shared/data/xss: bleach's tests, html5lib's sanitizer tests and
    the HTML inside feedparser's sanitizer feeds."""
    from lxml import etree

    folder = shared / "data" / "xss"
    vectors = [
        path.read_text(encoding="utf-8").split("\n--\n")[0]
        for path in sorted((folder / "bleach").glob("*.test"))
    ]
    cases = json.loads((folder / "html5lib" / "sanitizer-tests1.dat").read_text(encoding="utf-8"))
    vectors += [case["input"] for case in cases]
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    for path in sorted((folder / "feedparser-sanitize").glob("*.xml")):
        root = etree.fromstring(path.read_bytes(), parser)
        if root is None:
            continue
        vectors += [
            element.text
            for element in root.iter()
            if isinstance(element.tag, str)
            and etree.QName(element).localname in ("description", "content", "summary", "title")
            and element.text
            and "<" in element.text
        ]
    return [vector for vector in dict.fromkeys(vectors) if vector.strip()]


FIND_ACTIVE_CONTENT = """() => {
  const docs = [document, ...[...document.querySelectorAll('iframe')]
    .map(frame => frame.contentDocument).filter(Boolean)];
  const found = [];
  for (const doc of docs) {
    for (const element of doc.querySelectorAll('*')) {
      if (element.tagName === 'SCRIPT') found.push('script element');
      for (const attribute of element.attributes) {
        const value = attribute.value.trim().toLowerCase();
        if (attribute.name.startsWith('on')) found.push(attribute.name + ' attribute');
        if (['href', 'src', 'action', 'formaction', 'data'].includes(attribute.name)
            && /^(javascript|vbscript|data):/.test(value)) found.push(attribute.name + '=' + value);
      }
    }
  }
  return found;
}"""


def test_the_xss_corpus_stored_as_item_content_never_runs_even_without_the_csp(
    chromium: Any, site: BrowserSite, shared: Path
) -> None:
    vectors = xss_vectors(shared)
    assert len(vectors) > 150
    ann = site.workspace.user("ann")
    hostile = []
    for number, start in enumerate(range(0, len(vectors), 4)):
        title, summary, url, evidence = (vectors[start : start + 4] + vectors[:4])[:4]
        hostile.append(tagged(site_item(f"xss-{number}", title, summary, url), evidence=evidence))
    state = site.workspace.state
    state.save_new_items(hostile, datetime(2025, 9, 11, 6, tzinfo=UTC))
    for item in hostile[:10]:
        site.workspace.add_comment(ann, item.id, CommentRequest(body=item.summary or "x"))
    page = signed_in(chromium, site, "ann", bypass_csp=True)
    dialogs: list[str] = []
    outside: list[str] = []

    def record_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_dialog)

    def only_this_site(route: Any) -> None:
        if route.request.url.startswith(site.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_this_site)
    paths = [f"/items/{item.id}" for item in hostile]
    paths += ["/triage", "/triage?offset=100", "/digest?week=2025-W37", "/audit"]
    paths += ["/search?q=alert+script+XSS&limit=200", "/search?q=javascript+img+onerror&limit=200"]
    for path in paths:
        page.goto(site.base + path)
        page.wait_for_load_state("load")
        assert page.evaluate(FIND_ACTIVE_CONTENT) == [], path
        assert page.url.startswith(site.base + path.split("?")[0]), path
    assert dialogs == []
    assert outside == []
    page.goto(f"{site.base}/items/xss-0")
    shown = " ".join(page.inner_text("#item-title").split())
    assert shown == " ".join(hostile[0].title.split())
    page.context.close()
