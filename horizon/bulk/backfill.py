"""`horizon backfill`: page back through sources to a date, storing what a run would store.

Each page's entries go through the same stages as a run's new items — normalise, plan,
de-duplicate (stored neighbours plus the linear in-batch index), embed, tag, store — in chunks
of at most `INGEST_CHUNK`, and the page is recorded in the ledger once they are committed.
Fetching is injected (`PageFetcher`): the command line passes the Scrapy backfill crawl
(`spiders.backfill`), which keeps every politeness and address rule of a run's crawl.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from horizon.bulk.ledger import Ledger, PageCounts
from horizon.bulk.model import BackfillJob, PageOutcome
from horizon.bulk.paging import cap_message, wanted
from horizon.config import CrawlSettings, Source
from horizon.embed import Embedder
from horizon.ingest import INGEST_CHUNK, Ingestor, IngestResult, Tagger
from horizon.item import Item
from horizon.normalise import normalise_entry
from horizon.parallel import chunked
from horizon.progress import reporter
from horizon.store import Store

PageFetcher = Callable[[BackfillJob], Iterator[PageOutcome]]
DEFAULT_MAX_PAGES = 50
PAGEABLE_KINDS = frozenset({"rss", "atom", "rdf", "jsonfeed", "json-api", "html-listing"})


def backfill_refusal(source: Source) -> str | None:
    """Why a source cannot be backfilled, or None."""
    if source.kind not in PAGEABLE_KINDS:
        return f"source {source.id}: a {source.kind} source has no history pages to go back through"
    if source.render:
        return f"source {source.id}: pages rendered in a browser (render: true) are not backfilled"
    return None


@dataclass
class SourceReport:
    """One source's backfill in this invocation, and where it stands."""

    source: str
    status: str = "pending"  # done | failed | incomplete
    detail: str = ""
    resumed_at_page: int = 1
    pages: int = 0
    entries: int = 0
    older_skipped: int = 0
    new: int = 0
    duplicate: int = 0
    unchanged: int = 0


@dataclass
class BackfillSummary:
    since: date
    sources: list[SourceReport]
    model: str
    index_model: str | None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        totals = Counter[str]()
        for report in self.sources:
            totals.update(
                {key: getattr(report, key) for key in ("pages", "entries", "new", "duplicate")}
            )
            totals["unchanged"] += report.unchanged
            totals["older_skipped"] += report.older_skipped
        return {
            "since": self.since.isoformat(),
            "model": self.model,
            "index_model": self.index_model,
            "sources": [asdict(report) for report in self.sources],
            "totals": dict(totals),
            "failed": [r.source for r in self.sources if r.status in ("failed", "incomplete")],
            "warnings": self.warnings,
        }


def run_backfill(
    store: Store,
    embedder: Embedder,
    tagger: Tagger,
    crawl: CrawlSettings,
    sources: Sequence[Source],
    since: date,
    max_pages: int,
    fetch_pages: PageFetcher,
) -> BackfillSummary:
    """Backfill `sources` to `since`, at most `max_pages` pages each (counting pages done by
    earlier, interrupted invocations); sources already finished for `since` are skipped."""
    ledger = Ledger(store.state)
    index_model = ledger.index_model()
    if index_model is None and store.index.count() == 0:
        ledger.record_index_model(embedder.name)
        index_model = embedder.name
    summary = BackfillSummary(since, [], embedder.name, index_model)
    if index_model is not None and index_model != embedder.name:
        summary.warnings.append(
            f"the index was embedded with {index_model}, this backfill embeds with "
            f"{embedder.name}: run `horizon reindex` so that every vector is comparable"
        )
    reports: dict[str, SourceReport] = {}
    job = BackfillJob(crawl=crawl, sources=[], cursors={}, since=since, max_pages=max_pages)
    for source in sources:
        point = ledger.resume_point(since, source.id, source.url)
        report = SourceReport(source.id, resumed_at_page=point.pages_done + 1)
        reports[source.id] = report
        summary.sources.append(report)
        if point.cursor is None:
            report.status, report.detail = "done", f"finished earlier: {point.finished}"
        elif point.cursor.page > max_pages:
            report.status, report.detail = "done", cap_message(max_pages)
        else:
            job.sources.append(source)
            job.cursors[source.id] = point.cursor
    if not job.sources:
        return summary
    budget = {s.id: max_pages - job.cursors[s.id].page + 1 for s in job.sources}
    reporter().start("Backfilling pages", total=sum(budget.values()))
    by_id = {source.id: source for source in job.sources}
    ingestor = Ingestor(store, embedder, tagger)
    for outcome in fetch_pages(job):
        report = reports[outcome.source]
        if outcome.outcome == "failed":
            report.status, report.detail = "failed", outcome.error or "the page failed"
            reporter().advance(budget[outcome.source])
            continue
        kept = [entry for entry in outcome.entries if wanted(entry, since)]
        notes: list[str] = []
        source = by_id[outcome.source]
        items = [normalise_entry(entry, source, outcome.final_url, notes) for entry in kept]
        summary.warnings += [f"{source.id} page {outcome.page}: {note}" for note in notes]
        if outcome.warning:
            summary.warnings.append(f"{source.id} page {outcome.page}: {outcome.warning}")
        statuses = Counter(result.status for result in _ingest(ingestor, items))
        ledger.record_page(
            since,
            outcome,
            PageCounts(
                len(outcome.entries),
                len(kept),
                statuses["new"],
                statuses["duplicate"],
                statuses["unchanged"],
            ),
        )
        report.pages += 1
        report.entries += len(outcome.entries)
        report.older_skipped += len(outcome.entries) - len(kept)
        report.new += statuses["new"]
        report.duplicate += statuses["duplicate"]
        report.unchanged += statuses["unchanged"]
        budget[outcome.source] -= 1
        if outcome.stop is not None or outcome.page >= max_pages:
            report.status, report.detail = "done", outcome.stop or cap_message(max_pages)
            reporter().advance(1 + budget[outcome.source])
        else:
            reporter().advance(1)
    for report in reports.values():
        if report.status == "pending":
            report.status = "incomplete"
            report.detail = (
                "the crawl stopped before this source's next page was read; run the same "
                "command again to continue"
            )
    reporter().finish("Backfilling pages", f"{sum(r.pages for r in reports.values())} pages")
    return summary


def _ingest(ingestor: Ingestor, items: list[Item]) -> list[IngestResult]:
    """The ingest stages over one page, committed chunk by chunk."""
    seen_at = datetime.now(UTC)
    return [
        result
        for chunk in chunked(items, INGEST_CHUNK)
        for result in ingestor.ingest(chunk, seen_at)
    ]
