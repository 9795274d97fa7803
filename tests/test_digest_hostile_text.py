"""Hostile text in every field of the digest, in every text format.

A source's name and publisher, an item's title, summary and evidence, a reporting source and a
failed check's reason all come from outside (sources.yaml, a feed, an error message). Whatever
they hold, the Markdown digest rendered by python-markdown and by markdown-it-py has no live
HTML, no link other than an http(s) address, and no heading, list, table or code block that
the template did not write; the text digest has no line a field started.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from test_digest import AS_OF, SOURCES, W37, Seed, seed_week

from horizon.config import Source
from horizon.digest import (
    Digest,
    Week,
    WeekError,
    build_digest,
    escape_markdown,
    render_markdown,
    render_text,
)
from horizon.fetch import FetchOutcome
from horizon.state import IngestCounts, StateDB

SCRIPTED = "<svg onload=alert(1)><img src=x onerror=alert(2)><script>alert(3)</script>"
LINKS = (
    "[md](javascript:alert(4)) ![i](javascript:alert(5)) <javascript:alert(6)> [r]: javascript:x"
)
LAYOUT = "\n# INJECTED heading\n\n| a | b |\n|---|---|\n| c | d |\n```\ncode\n```\n- list\n> quote"
HOSTILE = f"{SCRIPTED} {LINKS}{LAYOUT}\r\n1. ordered\u2028## INJECTED too\x1b[31m"

ALLOWED_TAGS = {"h1", "h2", "h3", "p", "ol", "ul", "li", "strong", "em", "a", "img", "hr"}


def hostile_sources() -> list[Source]:
    evil = Source(
        id="evil",
        name=f"Evil {HOSTILE}",
        publisher=f"Evil {HOSTILE}",
        category="secondary",
        jurisdiction="GLOBAL",
        kind="rss",
        url="https://evil.example.org/feed",
    )
    return [*SOURCES, evil]


@pytest.fixture(scope="module")
def digest(tmp_path_factory: pytest.TempPathFactory) -> Digest:
    return build_hostile_digest(tmp_path_factory.mktemp("home"))


def build_hostile_digest(home: Path) -> Digest:
    """The test week plus hostile text in every field that comes from outside."""
    state = StateDB(home / "state.db")
    seed_week(state)
    closing = Seed(
        "evil-item",
        f"{HOSTILE} title",
        "2025-09-12",
        "ec",
        [("TRANSPARENCY", 0.99, f"{HOSTILE} evidence")],
        type="consultation",
        deadline=date(2025, 9, 30),
        summary=f"- {HOSTILE} summary",
    ).item()
    state.save_new_items(
        [closing.model_copy(update={"publisher": f"# {HOSTILE}", "url": "javascript:alert(7)"})],
        AS_OF,
    )
    report = Seed("evil-report", "t", "2025-09-10", "hn", [("AI-POLICY", 0.5, "x")]).item()
    report = report.model_copy(
        update={
            "publisher": f"{HOSTILE} publisher",
            "source": f"{HOSTILE} source",
            "url": "javascript:alert(8)",
        }
    )
    state.save_reports([(report, "consult")], "near-duplicate", AS_OF)
    run_id = state.start_run("live", AS_OF)
    failed = FetchOutcome(source="evil", outcome="failed", error=f"{HOSTILE} error")
    state.record_check(run_id, failed, IngestCounts(), AS_OF)
    state.finish_run(run_id, "completed", {})
    return build_digest(state, W37, hostile_sources(), as_of=AS_OF)


def rendered_by_both(markdown_text: str) -> dict[str, str]:
    return {
        "python-markdown": markdown.markdown(
            markdown_text, extensions=["tables", "fenced_code", "sane_lists"]
        ),
        "markdown-it-py": MarkdownIt("commonmark").enable("table").render(markdown_text),
    }


def faults_in(html: str) -> list[str]:
    """Whatever in the rendered page the digest's template could not have written."""
    page = BeautifulSoup(html, "html.parser")
    faults = [f"<{tag.name}>" for tag in page.find_all(True) if tag.name not in ALLOWED_TAGS]
    for tag in page.find_all(True):
        faults += [f"{tag.name} {name}" for name in tag.attrs if name.lower().startswith("on")]
    for link in page.find_all("a"):
        if not link.get("href", "").startswith(("https://", "http://")):
            faults.append(f"link to {link.get('href')!r}")
    faults += [f"<img src={img.get('src')!r}>" for img in page.find_all("img")]
    faults += [
        f"heading {heading.get_text()!r}"
        for heading in page.find_all(["h1", "h2", "h3"])
        if "INJECTED" in heading.get_text() or "Evil" in heading.get_text()
    ]
    return faults


@pytest.mark.parametrize("renderer", ["python-markdown", "markdown-it-py"])
def test_markdown_digest_renders_hostile_fields_as_text_only(digest: Digest, renderer: str) -> None:
    html = rendered_by_both(render_markdown(digest))[renderer]
    assert faults_in(html) == []
    shown = BeautifulSoup(html, "html.parser").get_text()
    assert "<svg onload=alert(1)>" in shown
    assert "[md](javascript:alert(4))" in shown
    assert shown.count("INJECTED heading") >= 6


def test_the_fault_check_sees_what_unescaped_markdown_would_do() -> None:
    """The check above is able to fail: the raw text, unescaped, is caught by both."""
    for html in rendered_by_both(f"Source: {HOSTILE}").values():
        assert any("javascript" in fault or "<" in fault for fault in faults_in(html))


def test_each_field_stays_on_its_line_of_the_markdown(digest: Digest) -> None:
    """Every hostile field is whole on one line: the layout after its line breaks never
    reaches the start of a line."""
    injected = [line for line in render_markdown(digest).splitlines() if "INJECTED" in line]
    assert len(injected) >= 6
    assert all("svg onload=alert" in line for line in injected)
    assert not any("\x1b" in line or "\u2028" in line for line in injected)


def test_text_digest_keeps_every_field_on_its_own_line(digest: Digest) -> None:
    text = render_text(digest)
    injected = [line for line in text.splitlines() if "INJECTED" in line]
    assert len(injected) >= 6
    assert all("<svg onload=alert(1)>" in line for line in injected)
    assert "\x1b" not in text and "\u2028" not in text and "\r" not in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a <b> & c", "a &lt;b&gt; &amp; c"),
        ("[x](javascript:y)", "\\[x\\]\\(javascript:y\\)"),
        ("line\nbreak\r\n# heading", "line break \\# heading"),
        ("- item", "\\- item"),
        ("12. item", "12\\. item"),
        ("~~~", "\\~~~"),
        ("a|b `c` *d* _e_", "a\\|b \\`c\\` \\*d\\* \\_e\\_"),
        (None, ""),
    ],
)
def test_escape_markdown_covers_html_links_and_layout(raw: str | None, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


def test_a_bad_week_is_quoted_on_one_short_line() -> None:
    with pytest.raises(WeekError) as raised:
        Week.parse("2025-W37\n" + "x" * 10_000)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 200
