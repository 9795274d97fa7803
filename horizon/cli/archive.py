"""`horizon archive show ITEM`: what was fetched for an item, when and from where, and replay."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from horizon.archive import ArchivedResponse, ArchiveIndex, last_verified
from horizon.cli.common import HomeOption, JsonOption, app, fail, out
from horizon.config import load_settings
from horizon.enrich.store import FullText, FullTextStore
from horizon.provenance import item_page_urls
from horizon.state import StateDB

archive_app = typer.Typer(help="The archive of every fetched response (WARC files).")
app.add_typer(archive_app, name="archive")


@archive_app.command("show")
def show_command(
    item_id: Annotated[str, typer.Argument(metavar="ITEM", help="The item's id.")],
    home: HomeOption = None,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Print the stored body of the item's page (else of its source's last "
            "fetch) instead of the list of fetches.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Every archived fetch of ITEM's page and of its source: when, status, hash, WARC file.

    "last verified" is the latest fetch that confirmed the content (200, or 304 unchanged).
    """
    settings = load_settings(home)
    if not settings.state_db.is_file():
        fail([f"{settings.home} holds no Horizon state yet; run `horizon run` first"])
    state = StateDB(settings.state_db)
    stored = state.get_items([item_id]).get(item_id)
    if stored is None:
        fail([f"no item '{item_id}' in {settings.home}; `horizon find` lists item ids"])
    index = ArchiveIndex(state, settings.home)
    full_text = FullTextStore(state).get(stored.item.url) if stored.item.url else None
    # The item's URL is canonical; the page was fetched at the address its feed linked to.
    page_urls = {stored.item.url, full_text.fetched_url if full_text else None} - {None}
    page = sorted(
        (record for url in page_urls for record in index.for_url(str(url))),
        key=lambda record: record.fetched_at,
    )
    source = index.for_source(stored.item.source) if stored.item.source else []
    # the source's own fetches, not the pages of its other items fetched for their full text
    feed = [record for record in source if record.url not in item_page_urls(state)]
    if replay:
        chosen = last_verified(page) or last_verified(feed)
        if chosen is None:
            fail([f"nothing confirming item '{item_id}' is archived (no 200 or 304 response)"])
        body = index.body(chosen)
        if json_output:
            text = body.decode("utf-8", errors="replace")
            sys.stdout.write(json.dumps({"record": chosen.to_dict(), "body": text}) + "\n")
        else:
            sys.stdout.buffer.write(body)
        return
    verified = last_verified(page) or last_verified(feed)
    if json_output:
        report: dict[str, Any] = {
            "item": item_id,
            "url": stored.item.url,
            "source": stored.item.source,
            "last_verified": verified.to_dict() if verified else None,
            "full_text": _full_text_json(full_text),
            "page_fetches": [record.to_dict() for record in page],
            "source_fetches": [record.to_dict() for record in source],
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    out.print(f"{item_id}: {stored.item.title}", markup=False)
    out.print(
        "last verified: "
        + (f"{verified.fetched_at.isoformat()} ({verified.content_hash})" if verified else "never"),
        markup=False,
    )
    out.print(_full_text_line(full_text), markup=False)
    for heading, records in (("page", page), (f"source {stored.item.source}", source)):
        out.print(f"{heading}: {len(records)} archived fetches", markup=False)
        for record in records:
            out.print("  " + _line(record), markup=False)


def _line(record: ArchivedResponse) -> str:
    replayed = " (replayed from a snapshot)" if record.replayed else ""
    return (
        f"{record.fetched_at.isoformat()} {record.http_status} {record.url} "
        f"{record.content_hash[:19]} {record.warc_file}@{record.warc_offset}{replayed}"
    )


def _full_text_json(full_text: FullText | None) -> dict[str, Any] | None:
    if full_text is None:
        return None
    return {
        "status": full_text.status,
        "kind": full_text.kind,
        "chars": len(full_text.text),
        "text_hash": full_text.text_hash,
        "fetched_at": full_text.fetched_at.isoformat(),
        "notes": full_text.notes,
        "error": full_text.error,
        "attempts": full_text.attempts,
        "will_retry": full_text.will_retry,
    }


def _full_text_line(full_text: FullText | None) -> str:
    if full_text is None:
        return "full text: not fetched"
    if full_text.status != "ok":
        again = "; tried again when its source lists the item" if full_text.will_retry else ""
        return (
            f"full text: failed at {full_text.fetched_at.isoformat()} (attempt"
            f" {full_text.attempts}) — {full_text.error}{again}"
        )
    notes = f"; {full_text.notes}" if full_text.notes else ""
    return (
        f"full text: {full_text.kind}, {len(full_text.text)} characters, {full_text.text_hash}, "
        f"fetched {full_text.fetched_at.isoformat()}{notes}"
    )
