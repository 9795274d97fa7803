from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from horizon.config import Source
from horizon.digest import Week, WeekError, build_digest, render_html, render_markdown
from horizon.digest import write_digest
from horizon.embed import HashingEmbedder
from horizon.fetch import FetchOutcome
from horizon.ingest import Ingestor
from horizon.item import ControlTag, Tags
from horizon.normalise import item_from_record
from horizon.state import IngestCounts
from horizon.store import Store

AS_OF = datetime(2025, 9, 15, 6, tzinfo=UTC)
W37 = Week.parse("2025-W37")


def source(source_id: str, name: str) -> Source:
    return Source(
        id=source_id,
        name=name,
        publisher=name,
        category="regulator",
        jurisdiction="EU",
        kind="rss",
        url=f"https://{source_id}.example.org/feed",
    )


SOURCES = [source("ec", "Commission"), source("tracker", "AI Act tracker"), source("ico", "ICO")]


@pytest.fixture
def filled(store: Store, tagger) -> Store:  # type: ignore[no-untyped-def]
    records = [
        {
            "id": "consult",
            "title": "Commission consults on AI Act transparency guidelines",
            "summary": "Respond by 9 October 2025.",
            "published": "2025-09-04",
            "source": "ec",
            "publisher": "Commission",
            "url": "https://ec.example.org/consult",
        },
        {
            "id": "consult-copy",
            "title": "Commission consults on AI Act transparency guidelines",
            "summary": "Respond by 9 October 2025.",
            "published": "2025-09-05",
            "source": "tracker",
            "publisher": "AI Act tracker",
            "url": "https://tracker.example.org/p/1",
        },
        {
            "id": "code",
            "title": "AI code of practice signatories listed",
            "published": "2025-09-10",
            "source": "ec",
            "publisher": "Commission",
            "url": "https://ec.example.org/code",
        },
        {
            "id": "noise",
            "title": "Interest rates held",
            "published": "2025-09-11",
            "source": "ec",
            "url": "https://ec.example.org/rates",
        },
        {
            "id": "old",
            "title": "Earlier AI guidance",
            "published": "2025-08-01",
            "source": "ec",
            "publisher": "Commission",
            "url": "https://ec.example.org/old",
        },
    ]
    items = [item_from_record(r) for r in records]
    Ingestor(store, HashingEmbedder(), tagger).ingest(items, AS_OF)
    store.state.set_tags(
        [
            (
                "consult",
                Tags(
                    relevant=True,
                    controls=[
                        ControlTag(
                            id="TRANSPARENCY",
                            score=0.94,
                            evidence="guidelines on <b>transparent</b> marking",
                        )
                    ],
                    themes=["communication"],
                    type="consultation",
                    jurisdiction="EU",
                    deadline=date(2025, 10, 9),
                ),
            )
        ]
    )
    run_id = store.state.start_run("replay", AS_OF)
    store.state.record_check(run_id, FetchOutcome(source="ec", outcome="ok"), IngestCounts(), AS_OF)
    store.state.record_check(
        run_id, FetchOutcome(source="tracker", outcome="unchanged"), IngestCounts(), AS_OF
    )
    store.state.record_check(
        run_id,
        FetchOutcome(
            source="ico",
            outcome="failed",
            http_status=503,
            error="HTTP 503 Service Unavailable after 3 tries; try again later",
        ),
        IngestCounts(),
        AS_OF,
    )
    return store


def test_week_labels_parse_and_know_their_bounds() -> None:
    assert W37.start == datetime(2025, 9, 8, tzinfo=UTC)
    assert W37.end == datetime(2025, 9, 15, tzinfo=UTC)
    assert Week.last_complete(AS_OF) == W37
    with pytest.raises(WeekError, match="YYYY-Www"):
        Week.parse("2025-37")
    with pytest.raises(WeekError, match="no week 53"):
        Week.parse("2025-W53")


def test_digest_puts_the_deadline_first_folds_reports_and_leaves_out_noise(filled: Store) -> None:
    digest = build_digest(filled.state, W37, SOURCES, as_of=AS_OF)
    assert [e.item.id for e in digest.act_on] == []  # published the week before
    everything = [e.item.id for entries in digest.by_control.values() for e in entries]
    assert everything == ["code"]
    assert digest.scanned == 2
    coming = [(when, what, e.item.id) for when, what, e in digest.coming_up]
    assert coming == [(date(2025, 10, 9), "closes", "consult")]
    assert digest.coming_up[0][2].also_reported_by[0].source == "tracker"


def test_previous_week_digest_shows_the_consultation_as_action(filled: Store) -> None:
    digest = build_digest(filled.state, W37.previous(), SOURCES, as_of=AS_OF)
    (entry,) = digest.act_on
    assert entry.item.id == "consult"
    assert entry.action == "closes 9 Oct 2025 (in 24 days)"
    assert [r.reported_id for r in entry.also_reported_by] == ["consult-copy"]


def test_coverage_names_failed_sources_with_the_reason(filled: Store) -> None:
    coverage = build_digest(filled.state, W37, SOURCES, as_of=AS_OF).coverage
    assert (coverage.checked, coverage.ok, coverage.unchanged) == (3, 1, 1)
    assert [(line.source, line.detail) for line in coverage.failed] == [
        ("ico", "HTTP 503 Service Unavailable after 3 tries; try again later")
    ]
    assert coverage.statement == (
        "3 sources checked: 2 OK (1 unchanged since the last check), 1 failed."
    )


def test_rendered_digests_show_items_evidence_and_coverage_and_escape_scraped_text(
    filled: Store, tmp_path: Path
) -> None:
    digest = build_digest(filled.state, W37.previous(), SOURCES, as_of=AS_OF)
    markdown, html = render_markdown(digest), render_html(digest)
    assert "## Act on these" in markdown
    assert "closes 9 Oct 2025 (in 24 days)" in markdown
    assert "TRANSPARENCY 0.94" in markdown
    assert "Also reported by: AI Act tracker (tracker)" in markdown
    assert "**ico** (ICO): HTTP 503" in markdown
    assert "\\<b\\>transparent\\</b\\>" in markdown
    assert "&lt;b&gt;transparent&lt;/b&gt;" in html and "<b>transparent" not in html
    paths = write_digest(digest, tmp_path)
    assert [p.name for p in paths] == ["2025-W36.md", "2025-W36.html"]
    assert paths[0].read_text(encoding="utf-8") == markdown


def test_an_empty_week_says_so_and_still_reports_coverage(filled: Store) -> None:
    digest = build_digest(filled.state, Week.parse("2025-W30"), SOURCES, as_of=AS_OF)
    markdown = render_markdown(digest)
    assert "Nothing relevant to AI governance was published this week" in markdown
    assert "3 sources checked" in markdown
