"""Sources in and out as OPML, and out as JSON: export, a safe parser, import planning, and
`horizon sources import` checking each new feed with a real crawl of a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from horizon.config import PROJECT_ROOT, Source, load_sources
from horizon.opml import OpmlError, parse_opml, plan_import, render_opml
from pipelines.cli import app

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Good</title>
<item><title>AI guidance published</title><link>https://example.org/a</link></item>
</channel></rss>"""


def watched(identifier: str, url: str, kind: str = "rss") -> Source:
    return Source(
        id=identifier,
        name=f"Feed {identifier}",
        publisher="Regulator",
        category="regulator",
        jurisdiction="UK",
        kind=kind,  # type: ignore[arg-type]
        url=url,
    )


def test_an_export_reads_back_as_the_same_feeds_and_every_one_is_a_duplicate() -> None:
    sources = [
        watched("ico", "https://ico.org.uk/feed/"),
        watched("fr", "https://www.federalregister.gov/api/v1/documents.json").model_copy(
            update={"kind": "json-api"}
        ),
        watched("hn", "https://hnrss.org/newest.jsonfeed", "jsonfeed"),
    ]
    feeds = parse_opml(render_opml(sources))
    assert [feed.xml_url for feed in feeds] == [sources[0].url, sources[2].url]
    assert feeds[0].folder == "regulator"
    plan = plan_import(feeds, sources, "secondary", "GLOBAL")
    assert plan.new == [] and [why for _, why in plan.duplicates] == [
        "already watched as 'ico'",
        "already watched as 'hn'",
    ]


def test_import_planning_makes_unique_ids_and_refuses_other_schemes_and_repeats() -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
    <outline text="AI"><outline text="AI news" xmlUrl="https://a.example.org/feed"/>
    <outline text="AI news" xmlUrl="https://b.example.org/feed.json" version="json"/>
    <outline text="Again" xmlUrl="https://A.example.org/feed/"/></outline>
    <outline text="Local" xmlUrl="file:///etc/passwd"/></body></opml>"""
    plan = plan_import(parse_opml(opml), [], "secondary", "GLOBAL")
    assert [(s.id, s.kind) for s in plan.new] == [("ai-news", "rss"), ("ai-news-2", "jsonfeed")]
    assert [why for _, why in plan.duplicates] == ["already watched as 'ai-news'"]
    assert "only http(s) feeds" in plan.refused[0][1]


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        b"<opml><body><outline text='&b;' xmlUrl='https://x.org/f'/></body></opml>",
        b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>',
        b"<opml><body><outline",
        b"<html><body/></html>",
    ],
)
def test_a_hostile_or_broken_opml_file_is_refused_with_a_reason(document: bytes) -> None:
    with pytest.raises(OpmlError):
        parse_opml(document)


@pytest.fixture
def feeds_server() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/robots.txt" or self.path != "/good.xml":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_import_adds_feeds_that_answer_and_reports_dead_ones_and_duplicates(
    tmp_path: Path, feeds_server: int
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sources_file = home / "sources.yaml"
    sources_file.write_text(
        "# our sources\ncrawl:\n  delay_seconds: 0\n  retries: 0\nsources:\n"
        "- id: existing\n  name: Existing\n  publisher: X\n  category: regulator\n"
        "  jurisdiction: UK\n  kind: rss\n  url: https://existing.example.org/feed\n",
        encoding="utf-8",
    )
    base = f"http://127.0.0.1:{feeds_server}"
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(
        f"""<?xml version="1.0"?><opml version="2.0"><body>
        <outline text="Good feed" xmlUrl="{base}/good.xml"/>
        <outline text="Dead feed" xmlUrl="{base}/dead.xml"/>
        <outline text="Existing" xmlUrl="https://existing.example.org/feed"/>
        </body></opml>""",
        encoding="utf-8",
    )
    refused = CliRunner().invoke(
        app, ["sources", "import", str(opml), "--home", str(home), "--json"]
    )
    assert refused.exit_code == 0, refused.output
    assert len(json.loads(refused.stdout)["refused"]) == 2, "loopback needs --allow-private-hosts"
    arguments = ["sources", "import", str(opml), "--home", str(home), "--allow-private-hosts"]
    result = CliRunner().invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [entry["id"] for entry in report["added"]] == ["good-feed"]
    assert report["dead"][0]["url"].endswith("/dead.xml") and "404" in report["dead"][0]["reason"]
    assert report["duplicates"][0]["reason"] == "already watched as 'existing'"
    text = sources_file.read_text(encoding="utf-8")
    assert text.startswith("# our sources\n"), "existing lines and comments are kept"
    assert [s.id for s in load_sources(sources_file).sources] == ["existing", "good-feed"]
    again = CliRunner().invoke(app, [*arguments, "--json"])
    assert json.loads(again.stdout)["added"] == []


def test_every_source_exports_as_json_that_validates_back_to_the_same_sources(
    tmp_path: Path,
) -> None:
    project_sources = PROJECT_ROOT / "sources.yaml"
    arguments = ["sources", "export", "--home", str(tmp_path), "--sources", str(project_sources)]

    result = CliRunner().invoke(app, [*arguments, "--json"])

    assert result.exit_code == 0, result.output
    exported = [Source.model_validate(entry) for entry in json.loads(result.stdout)]
    assert exported == load_sources(project_sources).sources
    both = CliRunner().invoke(app, [*arguments, "--json", "--opml"])
    assert both.exit_code == 2 and "choose one format" in both.output
