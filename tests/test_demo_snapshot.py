"""The bundled demo snapshot: its own checks, and what a replay of it gives beyond feeds — full
texts of recorded pages and PDFs, a watched page's history, and the page built by JavaScript."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from horizon.config import load_sources
from horizon.enrich.model import EnrichJob
from horizon.enrich.store import FullTextStore
from horizon.fetch import CrawlJob, FetchOutcome
from horizon.snapshot import load_manifest, page_history
from horizon.state import StateDB
from horizon.watch import PageVersions, check_fetch, check_history, history_texts
from pipelines.cli import print_full_text, print_page_watch
from spiders.crawl import run_crawl
from spiders.render import CHROMIUM, chromium_available

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "demo" / "snapshot"
WATCHED = "anthropic-model-deprecations"
# A subset of the demo that exercises each addition: the rendered listing, HTML pages, PDFs.
REPLAYED = ("ec-ai-office", "ftc-press", "drcf-publications", "edps-news", WATCHED)
FTC_PAGE = (
    "https://www.ftc.gov/news-events/news/press-releases/2025/09/"
    "ftc-launches-inquiry-ai-chatbots-acting-companions"
)
DRCF_PDF = "https://www.drcf.org.uk/siteassets/drcf/pdf-files/fairness-in-ai.pdf"


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_snapshot", ROOT / "demo" / "build_snapshot.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_committed_snapshot_is_what_the_builder_writes_and_passes_its_checks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    builder = load_builder()
    sources = load_sources(ROOT / "sources.yaml")
    built = builder.build_snapshot(sources)
    for name, body in built.bodies.items():
        assert (SNAPSHOT / "bodies" / name).read_bytes() == body, f"rebuild the snapshot: {name}"
    assert sorted(path.name for path in (SNAPSHOT / "bodies").iterdir()) == sorted(built.bodies)
    assert builder.check(sources, SNAPSHOT) == 0, capsys.readouterr().out
    report = capsys.readouterr().out
    assert "anthropic-model-deprecations: 3 versions — baseline, changed, noise-only" in report
    assert "17 HTML pages and 3 PDFs" in report


@pytest.fixture(scope="module")
def replayed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, FetchOutcome], StateDB]]:
    home = tmp_path_factory.mktemp("demo-replay")
    config = load_sources(ROOT / "sources.yaml")
    sources = [source for source in config.sources if source.id in REPLAYED]
    state = StateDB(home / "state.db")
    FullTextStore(state)  # the table the crawler writes into
    job = CrawlJob(
        crawl=config.crawl,
        sources=sources,
        replay_dir=str(SNAPSHOT),
        enrich=EnrichJob(state_db=str(home / "state.db")),
    )
    outcomes = run_crawl(job, home / "work", time_limit_s=300)
    yield {outcome.source: outcome for outcome in outcomes}, state


def test_replay_stores_the_full_text_of_recorded_pages_and_pdfs(
    replayed: tuple[dict[str, FetchOutcome], StateDB],
) -> None:
    _, state = replayed
    store = FullTextStore(state)
    page, pdf = store.get(FTC_PAGE), store.get(DRCF_PDF)
    assert page is not None and page.status == "ok" and page.kind == "html", page
    assert "respond within 45 days" in page.text
    assert "Related content" not in page.text and "cookies" not in page.text  # page chrome
    assert pdf is not None and pdf.status == "ok" and pdf.kind == "pdf", pdf
    assert "joint guidance on fairness testing in 2026" in " ".join(pdf.text.split())
    unrecorded = store.get(
        "https://www.ftc.gov/news-events/news/press-releases/2025/09/"
        "ftc-highlights-childrens-privacy-ai-toys-apps"
    )
    assert unrecorded is not None and unrecorded.status == "failed"
    assert "holds no recording" in (unrecorded.error or "")
    summary = store.fetched_since(datetime(2000, 1, 1, tzinfo=UTC))
    # FTC's page, the AI Office's (its listing is read only when rendered), DRCF's and EDPS's PDFs
    assert summary["by_kind"] == {"html": 2 if chromium_available() else 1, "pdf": 2}


def test_rendered_ai_office_listing_is_built_by_its_script_or_skipped_saying_why(
    replayed: tuple[dict[str, FetchOutcome], StateDB],
) -> None:
    outcome = replayed[0]["ec-ai-office"]
    if not chromium_available():
        assert outcome.outcome == "failed"
        assert (outcome.error or "").startswith("skipped, not fetched: render: true needs")
        assert str(CHROMIUM) in (outcome.error or "")
        pytest.skip(f"Debian's chromium is not at {CHROMIUM}: the skip message was checked")
    assert outcome.outcome == "ok", outcome.error
    assert len(outcome.entries) == 6
    assert (
        outcome.entries[0].title == "AI Pact webinar: getting ready for the high-risk requirements"
    )
    assert outcome.entries[0].url == (
        "https://digital-strategy.ec.europa.eu/en/events/ai-pact-webinar-high-risk-requirements"
    )


def test_watched_page_history_gives_one_change_item_and_none_for_the_noise_only_version(
    replayed: tuple[dict[str, FetchOutcome], StateDB], tmp_path: Path
) -> None:
    outcomes, _ = replayed
    source = next(s for s in load_sources(ROOT / "sources.yaml").sources if s.id == WATCHED)
    versions = PageVersions(StateDB(tmp_path / "state.db"))
    as_of = load_manifest(SNAPSHOT).recorded_at

    def replay_once() -> list[tuple[str, str | None]]:
        history = history_texts(source, page_history(SNAPSHOT, source.url))
        checks = check_history(source, history, versions)
        current = check_fetch(outcomes[WATCHED], source, versions, as_of)
        checks += [current] if current is not None else []
        return [(check.verdict, check.item.summary if check.item else None) for check in checks]

    first = replay_once()
    assert [verdict for verdict, _ in first] == ["baseline", "changed", "noise-only"]
    diff = first[1][1] or ""
    assert diff.splitlines() == [
        "Added: Customers still using Claude Sonnet 3.5 should migrate to Claude Sonnet 4 before "
        "October 22, 2025, when both Claude Sonnet 3.5 models are retired.",
        "Added: Batch requests submitted to a retired model are rejected and are not billed.",
    ]
    assert first[2][1] is None  # "Last updated", the view counter and the banner changed only
    # A second replay into the same home compares only the current version, and finds it equal.
    assert replay_once() == [("unchanged", None)]


def test_run_summary_shows_full_texts_and_the_page_change_with_its_diff(
    replayed: tuple[dict[str, FetchOutcome], StateDB],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, state = replayed
    source = next(s for s in load_sources(ROOT / "sources.yaml").sources if s.id == WATCHED)
    versions = PageVersions(StateDB(tmp_path / "state.db"))
    checks = check_history(
        source, history_texts(source, page_history(SNAPSHOT, source.url)), versions
    )
    capsys.readouterr()

    print_full_text(FullTextStore(state).fetched_since(datetime(2000, 1, 1, tzinfo=UTC)))
    print_page_watch([check.to_dict() for check in checks])
    printed = " ".join(capsys.readouterr().out.split())

    assert "linked pages read (" in printed and "2 PDF" in printed
    assert "× the snapshot being replayed holds no recording of the item's page" in printed
    assert (
        "e.g. https://www.drcf.org.uk/siteassets/drcf/pdf-files/fairness-in-ai.pdf (pdf" in printed
    )
    assert (
        "anthropic-model-deprecations (2025-09-01): first version stored as the baseline" in printed
    )
    assert (
        "anthropic-model-deprecations (2025-09-08): Anthropic model deprecations: page changed "
        "Added: Customers still using Claude Sonnet 3.5" in printed
    )
