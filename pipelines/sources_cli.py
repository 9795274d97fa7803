"""`horizon sources import FILE.opml`: add a feed reader's subscriptions to sources.yaml.
`horizon sources add URL`: detect what an address is and add it (horizon.discover).

Each new feed is fetched once through the same crawl as a weekly run (robots.txt, politeness,
size caps, the same error messages); only feeds that answer with entries are written. Feeds
already watched, listed twice, dead or not http(s) are reported and left out.
"""

from __future__ import annotations

import json
import sys
import tempfile
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError

from horizon.archive import ArchiveIndex, archive_dir
from horizon.cli.common import HomeOption, JsonOption, SourcesOption, err, fail, make_runtime, out
from horizon.cli.sources import sources_app
from horizon.config import ConfigError, CrawlSettings, Source, SourceCategory, append_sources
from horizon.discover import (
    autodiscovered_feeds,
    feed_kind,
    page_title,
    propose_selectors,
    source_id_for,
)
from horizon.fetch import ArchiveTarget, CrawlJob, FetchOutcome
from horizon.item import Entry
from horizon.opml import OpmlError, parse_opml, plan_import
from horizon.parse import ParseError, parse_response
from horizon.state import StateDB
from spiders.crawl import run_crawl


@sources_app.command("import")
def import_command(
    opml_file: Annotated[Path, typer.Argument(help="An OPML file (a feed reader's export).")],
    category: Annotated[
        str,
        typer.Option(
            help="Category of the new sources: regulator, government, legislature, "
            "standards-body, vendor or secondary."
        ),
    ] = "secondary",
    jurisdiction: Annotated[
        str, typer.Option(help="Jurisdiction of the new sources (UK, EU, US, INT, GLOBAL…).")
    ] = "GLOBAL",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report, but write nothing.")
    ] = False,
    allow_private_hosts: Annotated[
        bool,
        typer.Option(
            "--allow-private-hosts",
            help="Let the new sources reach private, loopback and link-local addresses "
            "(an intranet feed); refused by default, see docs/network-safety.md.",
        ),
    ] = False,
    home: HomeOption = None,
    sources: SourcesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check each feed of an OPML file and add the ones that answer to the sources file."""
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
        feeds = parse_opml(opml_file.read_bytes())
        plan = plan_import(
            feeds, config.sources, _category(category), jurisdiction, allow_private_hosts
        )
    except ConfigError as error:
        fail(error.problems)
    except OpmlError as error:
        fail([f"{opml_file}: {error}"])
    except OSError as error:
        fail([f"{opml_file}: cannot be read ({error.strerror or error})"])
    err.print(f"{opml_file}: {len(feeds)} feeds; checking {len(plan.new)} new ones")
    with tempfile.TemporaryDirectory(prefix="horizon-import-") as workdir:
        outcomes = run_crawl(CrawlJob(crawl=config.crawl, sources=plan.new), Path(workdir))
    by_id = {outcome.source: outcome for outcome in outcomes}
    added = [s for s in plan.new if by_id[s.id].outcome == "ok" and by_id[s.id].entries]
    dead = [
        (source, by_id[source.id].error or "it answered with no entries")
        for source in plan.new
        if source not in added
    ]
    if added and not dry_run:
        try:
            append_sources(runtime.settings.sources_file, added)
        except ConfigError as error:
            fail(error.problems)
    report: dict[str, Any] = {
        "file": str(opml_file),
        "sources_file": str(runtime.settings.sources_file),
        "written": bool(added) and not dry_run,
        "added": [{"id": s.id, "url": s.url, "entries": len(by_id[s.id].entries)} for s in added],
        "duplicates": [{"url": f.xml_url, "reason": why} for f, why in plan.duplicates],
        "dead": [{"url": s.url, "title": s.name, "reason": why} for s, why in dead],
        "refused": [{"url": f.xml_url, "reason": why} for f, why in plan.refused],
    }
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        for entry in report["added"]:
            out.print(f"+ {entry['id']}: {entry['url']} ({entry['entries']} entries)", markup=False)
        for kind in ("duplicates", "dead", "refused"):
            for entry in report[kind]:
                out.print(
                    f"- {kind[:-1] if kind != 'dead' else 'dead'}: {entry['url']}: "
                    f"{entry['reason']}",
                    markup=False,
                )
    verb = "would add" if dry_run else "added"
    err.print(
        f"{verb} {len(added)}; {len(plan.duplicates)} duplicates, {len(dead)} dead, "
        f"{len(plan.refused)} refused"
        + ("" if dry_run or not added else "; run `horizon sources` to review them")
    )


def _category(value: str) -> SourceCategory:
    allowed: tuple[SourceCategory, ...] = (
        "regulator",
        "government",
        "legislature",
        "standards-body",
        "vendor",
        "secondary",
    )
    for category in allowed:
        if value == category:
            return category
    fail([f"--category: '{value}' is not one of {', '.join(allowed)}"])


@sources_app.command("add")
def add_command(
    url: Annotated[str, typer.Argument(help="The address of a feed, a page or a listing.")],
    category: Annotated[
        str,
        typer.Option(
            help="Category of the new source: regulator, government, legislature, "
            "standards-body, vendor or secondary."
        ),
    ] = "secondary",
    jurisdiction: Annotated[
        str, typer.Option(help="Jurisdiction of the new source (UK, EU, US, INT, GLOBAL…).")
    ] = "GLOBAL",
    yes: Annotated[bool, typer.Option("--yes", help="Write the entry without asking.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Detect and show, but write nothing.")
    ] = False,
    allow_private_hosts: Annotated[
        bool,
        typer.Option(
            "--allow-private-hosts",
            help="Let the new source reach private, loopback and link-local addresses "
            "(an intranet page); refused by default, see docs/network-safety.md.",
        ),
    ] = False,
    home: HomeOption = None,
    sources: SourcesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Detect what URL is — a feed, a page announcing a feed, a JSON Feed, or a listing (with
    proposed selectors) — show the items it would give, and add it on confirmation."""
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
    except ConfigError as error:
        fail(error.problems)
    taken = {source.id for source in config.sources}
    watched = next((s.id for s in config.sources if s.url.rstrip("/") == url.rstrip("/")), None)
    if watched is not None:
        fail([f"{url} is already watched as '{watched}'"])
    template = {
        "category": _category(category),
        "jurisdiction": jurisdiction,
        "allow_private_hosts": allow_private_hosts,
    }
    with tempfile.TemporaryDirectory(prefix="horizon-add-") as workdir:
        found = _discover(url, template, taken, config.crawl, Path(workdir))
    source, how, entries = found
    report: dict[str, Any] = {
        "sources_file": str(runtime.settings.sources_file),
        "kind": source.kind,
        "how": how,
        "source": source.model_dump(mode="json", exclude_defaults=True),
        "items": [{"title": e.title, "url": e.url} for e in entries[:PREVIEW_ITEMS]],
        "item_count": len(entries),
        "written": False,
    }
    if not json_output:
        out.print(f"{source.id}: {source.kind} — {how}", markup=False)
        if source.selectors is not None:
            out.print(f"  selectors: {source.selectors.model_dump(exclude_none=True)}")
        for item in report["items"]:
            out.print(f"  • {item['title']} <{item['url']}>", markup=False)
        out.print(f"  ({len(entries)} items)", markup=False)
    write = not dry_run and (yes or typer.confirm(f"Add it to {runtime.settings.sources_file}?"))
    if write:
        try:
            append_sources(runtime.settings.sources_file, [source])
        except ConfigError as error:
            fail(error.problems)
        report["written"] = True
    if json_output:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    err.print(f"added '{source.id}'" if write else "nothing written")


PREVIEW_ITEMS = 5
Found = tuple[Source, str, list[Entry]]


def _discover(
    url: str, template: dict[str, Any], taken: set[str], crawl: CrawlSettings, workdir: Path
) -> Found:
    """Fetch `url` through the crawl (and the feed it announces, if any) and decide its kind."""
    probe = _source(url, "rss", template, taken)
    outcome, body, content_type = _probe(probe, crawl, workdir, 1)
    if outcome.outcome == "ok" and outcome.entries:
        kind = feed_kind(body or b"") or "rss"
        return probe.model_copy(update={"kind": kind}), "a feed", outcome.entries
    if body is None:
        fail([outcome.error or f"{url}: the address gave no response"])
    final_url = outcome.final_url or url
    if feed_kind(body) == "jsonfeed":
        source = probe.model_copy(update={"kind": "jsonfeed"})
        return source, "a JSON Feed", _entries(source, body, content_type, final_url)
    html = body.decode("utf-8", errors="replace")
    name = page_title(html) or probe.name
    for feed_url, kind in autodiscovered_feeds(html, final_url):
        feed = _source(feed_url, kind, {**template, "name": name}, taken)
        feed_outcome, _, _ = _probe(feed, crawl, workdir, 2)
        if feed_outcome.outcome == "ok" and feed_outcome.entries:
            return feed, f"the feed the page announces ({feed_url})", feed_outcome.entries
    selectors = propose_selectors(html)
    if selectors is None:
        fail(
            [
                f"{url}: no feed, no announced feed and no repeated list of links was found — "
                "add it by hand as kind html-listing with selectors, or as kind page-watch"
            ]
        )
    source = _source(url, "html-listing", {**template, "name": name}, taken, selectors=selectors)
    entries = _entries(source, body, content_type, final_url)
    if not entries:
        fail([f"{url}: the proposed selectors ({selectors.item}) give no items"])
    return source, "a listing page, with proposed selectors", entries


def _source(url: str, kind: str, template: dict[str, Any], taken: set[str], **extra: Any) -> Source:
    host = urlsplit(url).hostname or url
    fields = {"name": host, "publisher": host, **template, **extra}
    try:
        return Source(id=source_id_for(url, taken), kind=kind, url=url, **fields)
    except ValidationError as error:
        fail([f"{url}: {problem['msg']}" for problem in error.errors()])


def _probe(
    source: Source, crawl: CrawlSettings, workdir: Path, attempt: int
) -> tuple[FetchOutcome, bytes | None, str | None]:
    """One crawl of `source`, archived, so the body is at hand whatever the parse said."""
    target = ArchiveTarget(
        warc_path=str(archive_dir(workdir) / f"probe-{attempt}.warc.gz"),
        index_db=str(workdir / "probe.db"),
    )
    job = CrawlJob(crawl=crawl, sources=[source], archive=target)
    [outcome] = run_crawl(job, workdir / f"crawl-{attempt}")
    if not Path(target.index_db).exists():
        return outcome, None, None
    index = ArchiveIndex(StateDB(Path(target.index_db)), workdir)
    answered = [r for r in index.for_source(source.id) if r.http_status == HTTPStatus.OK]
    if not answered:
        return outcome, None, None
    return outcome, index.body(answered[-1]), answered[-1].content_type


def _entries(source: Source, body: bytes, content_type: str | None, url: str) -> list[Entry]:
    try:
        return parse_response(source, body, content_type, url)
    except ParseError as error:
        fail([f"{url}: {error}"])
