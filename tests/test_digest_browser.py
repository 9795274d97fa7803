"""The HTML digest in a real browser: headless Chromium (Debian's, driven by Playwright) shows
the items, the chart loads, and none of the XSS vectors in ../shared/data/xss/ — put into
every scraped field of the digest — runs a script, loads a remote resource or navigates away.
The Markdown digest, rendered by python-markdown and markdown-it-py, is loaded the same way.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from test_digest import AS_OF, SOURCES, W37, Seed, seed_week
from test_digest_hostile_text import build_hostile_digest, rendered_by_both

from horizon.config import Settings
from horizon.digest import build_digest, render_markdown, write_formats
from horizon.state import StateDB

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TRAP = """
window.__calls = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  window[name] = function (...args) { window.__calls.push(name); return undefined; };
}
"""
SETTLED = """
() => new Promise(resolve => setTimeout(() => requestAnimationFrame(() => resolve(true)), 0))
"""
DOM_FAULTS = """
() => {
  const faults = [];
  if (document.scripts.length) faults.push(`${document.scripts.length} script elements`);
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith("on")) faults.push(`${element.tagName} ${attribute.name}`);
      if (/^\\s*(javascript|vbscript|data):/i.test(attribute.value))
        faults.push(`${element.tagName} ${attribute.name}=${attribute.value.slice(0, 40)}`);
    }
  }
  const banned = "body iframe, body object, body embed, body style, body link, body meta, " +
    "body form, body input, body base, body svg, body math, body applet, body frame";
  for (const element of document.querySelectorAll(banned)) faults.push(element.tagName);
  return faults;
}
"""


def chromium() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found and os.access(found, os.X_OK):
            return found
    pytest.skip(
        "no Chromium found (looked for /usr/bin/chromium, chromium and chromium-browser); "
        "install Debian's chromium package to run the browser tests"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


def xss_vectors(shared: Path) -> list[str]:
    """Every input of the bleach, html5lib and feedparser sanitiser corpora, once each."""
    folder = shared / "data" / "xss"
    vectors = [
        Path(path).read_text(encoding="utf-8").split("\n--\n")[0]
        for path in sorted(glob.glob(str(folder / "bleach" / "*.test")))
    ]
    cases = json.loads((folder / "html5lib" / "sanitizer-tests1.dat").read_text(encoding="utf-8"))
    vectors += [case["input"] for case in cases]
    for path in sorted(glob.glob(str(folder / "feedparser-sanitize" / "*.xml"))):
        parsed = feedparser.parse(path, sanitize_html=False)
        for entry in parsed.entries:
            vectors += [content.value for content in entry.get("content", [])]
            vectors += [entry.summary] if "summary" in entry else []
    return list(dict.fromkeys(vector for vector in vectors if vector.strip()))


def hostile_seeds(vectors: list[str]) -> list[Seed]:
    """One relevant item per vector, the vector in its title, summary and evidence; every
    third one also links to the vector as if it were its address."""
    return [
        Seed(
            f"xss-{number}",
            vector,
            "2025-09-12",
            "ec",
            [("TRANSPARENCY", 0.6, vector)],
            summary=vector,
            url=vector if number % 3 == 0 else None,
        )
        for number, vector in enumerate(vectors)
    ]


def visible(text: str) -> str:
    """Text as a reader sees it: no control characters, whitespace collapsed."""
    return " ".join(re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text).split())


@pytest.fixture(scope="module")
def hostile_digest(
    tmp_path_factory: pytest.TempPathFactory, shared_vectors: list[str]
) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("home")
    state = StateDB(folder / "state.db")
    seed_week(state, extra=hostile_seeds(shared_vectors))
    hostile_report = Seed("consult-xss", "t", "2025-09-10", "hn", [("AI-POLICY", 0.5, "x")])
    item = hostile_report.item().model_copy(
        update={"url": "javascript:alert('report')", "publisher": '<img src=x onerror="alert(9)">'}
    )
    state.save_reports([(item, "consult")], "near-duplicate", AS_OF)
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    _, paths = write_formats(digest, folder / "digests")
    return paths[1], [entry.item.title for entry in digest.entries]


@pytest.fixture(scope="module")
def shared_vectors() -> list[str]:
    shared = Path(__file__).resolve().parents[2] / "shared"
    if not shared.is_dir():
        pytest.skip("../shared is not present in this checkout (the XSS corpora live there)")
    return xss_vectors(shared)


def open_page(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The digest loaded from disk, with every dialog and every non-file request recorded
    (and refused, so nothing can leave the machine). The page's Content-Security-Policy is
    switched off, so what is tested is the escaping and the sanitiser alone."""
    page = browser.new_page(bypass_csp=True)
    dialogs: list[str] = []
    requests: list[str] = []

    def record(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.add_init_script(TRAP)
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate(SETTLED)
    return page, dialogs, requests


def test_the_digest_renders_its_sections_items_and_chart(browser: Any, settings: Settings) -> None:
    state = StateDB(settings.state_db)
    seed_week(state)
    _, paths = write_formats(build_digest(state, W37, SOURCES, as_of=AS_OF), settings.digests_dir)
    page, dialogs, requests = open_page(browser, paths[1])
    try:
        assert page.title().startswith("Horizon — AI regulatory horizon scan, week 2025-W37")
        for heading in ("Top changes", "Worth knowing — by control and theme", "Coverage"):
            assert page.get_by_role("heading", name=heading).is_visible()
        link = page.get_by_role(
            "link", name="Commission consults on AI Act transparency guidelines"
        )
        assert link.first.get_attribute("href") == "https://ec.example.org/consult"
        assert page.locator("ol > li").count() == 5
        assert page.get_by_text("closes 9 Oct 2025 (in 24 days)").first.is_visible()
        chart = page.get_by_role("img", name=re.compile("Relevant items per week by theme"))
        assert chart.evaluate("image => image.complete && image.naturalWidth") == 720
        assert page.evaluate(DOM_FAULTS) == []
        assert (dialogs, requests, page.evaluate("window.__calls")) == ([], [], [])
    finally:
        page.close()


def test_no_scraped_markup_runs_loads_or_navigates_and_all_of_it_is_shown_as_text(
    browser: Any, hostile_digest: tuple[Path, list[str]]
) -> None:
    path, titles = hostile_digest
    page, dialogs, requests = open_page(browser, path)
    try:
        assert page.url == path.as_uri()
        assert dialogs == []
        assert page.evaluate("window.__calls") == []
        assert requests == []
        assert page.evaluate(DOM_FAULTS) == []
        shown = visible(page.evaluate("document.body.textContent"))
        missing = [title for title in titles if visible(title) not in shown]
        assert missing == []
        assert page.locator("ol > li").count() == len(titles)
    finally:
        page.close()


def test_the_corpus_is_large_enough_to_mean_something(shared_vectors: list[str]) -> None:
    assert len(shared_vectors) > 150
    assert any("<script" in vector.lower() for vector in shared_vectors)
    assert any("onerror" in vector.lower() for vector in shared_vectors)


@pytest.mark.parametrize("renderer", ["python-markdown", "markdown-it-py"])
def test_the_markdown_digest_rendered_by_a_standard_renderer_runs_no_script(
    browser: Any, tmp_path: Path, renderer: str
) -> None:
    """Our own vectors (scripts, event handlers, javascript: links, forged layout) in every
    field that comes from outside, through the .md file a reader might render."""
    markdown_text = render_markdown(build_hostile_digest(tmp_path))
    path = tmp_path / "digest.html"
    body = rendered_by_both(markdown_text)[renderer]
    path.write_text(f"<!doctype html><meta charset=utf-8><body>{body}</body>", encoding="utf-8")
    page, dialogs, requests = open_page(browser, path)
    try:
        assert page.url == path.as_uri()
        assert (dialogs, requests, page.evaluate("window.__calls")) == ([], [], [])
        assert page.evaluate(DOM_FAULTS) == []
        assert "<svg onload=alert(1)>" in page.evaluate("document.body.textContent")
    finally:
        page.close()
