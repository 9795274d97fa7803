"""`horizon sources import FILE.opml`: add a feed reader's subscriptions to sources.yaml.

Each new feed is fetched once through the same crawl as a weekly run (robots.txt, politeness,
size caps, the same error messages); only feeds that answer with entries are written. Feeds
already watched, listed twice, dead or not http(s) are reported and left out.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from horizon.cli.common import HomeOption, JsonOption, SourcesOption, err, fail, make_runtime, out
from horizon.cli.sources import sources_app
from horizon.config import ConfigError, SourceCategory, append_sources
from horizon.fetch import CrawlJob
from horizon.opml import OpmlError, parse_opml, plan_import
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
