"""The weekly digest: what it picks for each profile, how it ranks, its sections and formats.

The digest reads the real state database; the items are written into it directly with known
tags, so every expectation below follows from data visible in this file. `seed_week` is shared
with the delivery, feed, calendar and browser tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from icalendar import Calendar

from horizon.config import Profile, Settings, Source
from horizon.digest import (
    Week,
    WeekError,
    build_digest,
    digest_record,
    rank_score,
    render_html,
    render_json,
    render_markdown,
    render_text,
    sanitise_html,
    web_url,
    write_digest,
    write_formats,
)
from horizon.fetch import FetchOutcome
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.state import IngestCounts, StateDB, StoredItem

AS_OF = datetime(2025, 9, 15, 6, tzinfo=UTC)
W37 = Week.parse("2025-W37")


def source(source_id: str, name: str, jurisdiction: str = "EU") -> Source:
    return Source(
        id=source_id,
        name=name,
        publisher=name,
        category="regulator",
        jurisdiction=jurisdiction,
        kind="rss",
        url=f"https://{source_id}.example.org/feed",
    )


SOURCES = [
    source("ec", "European Commission"),
    source("tracker", "AI Act tracker"),
    source("ico", "ICO", "UK"),
    source("ftc", "FTC", "US"),
    source("anthropic", "Anthropic", "GLOBAL"),
    source("colorado", "Colorado General Assembly", "US"),
    source("hn", "Hacker News", "GLOBAL"),
]


@dataclass
class Seed:
    """One item to store: what was published and the tags the classifier gave it."""

    id: str
    title: str
    published: str
    source: str
    controls: list[tuple[str, float, str]]
    type: str = "guidance"
    jurisdiction: str = "EU"
    themes: tuple[str, ...] = ("governance",)
    deadline: date | None = None
    effective: date | None = None
    summary: str = ""
    first_seen: datetime | None = None
    url: str | None = None

    def item(self) -> Item:
        publisher = next(s.publisher for s in SOURCES if s.id == self.source)
        return Item(
            id=self.id,
            title=self.title,
            summary=self.summary,
            url=self.url or f"https://{self.source}.example.org/{self.id}",
            publisher=publisher,
            published=datetime.fromisoformat(self.published).replace(tzinfo=UTC),
            source=self.source,
            content_hash=content_hash(self.title, self.summary),
            tags=Tags(
                relevant=bool(self.controls),
                controls=[ControlTag(id=c, score=s, evidence=e) for c, s, e in self.controls],
                themes=list(self.themes) if self.controls else [],
                type=self.type,
                jurisdiction=self.jurisdiction,
                deadline=self.deadline,
                effective=self.effective,
            ),
        )


WEEK_ITEMS = [
    Seed(
        "consult",
        "Commission consults on AI Act transparency guidelines",
        "2025-09-09",
        "ec",
        [("TRANSPARENCY", 0.94, "guidelines on the <b>transparent</b> marking of AI content")],
        type="consultation",
        themes=("communication", "governance"),
        deadline=date(2025, 10, 9),
        summary="The AI Office asks for input on Article 50. Respond by 9 October 2025.",
    ),
    Seed(
        "ftc",
        "FTC opens an inquiry into AI chatbots acting as companions",
        "2025-09-11",
        "ftc",
        [("CONSUMER-PROTECTION", 0.88, "orders to seven companies offering AI chatbots")],
        type="enforcement",
        jurisdiction="US",
        themes=("risk",),
    ),
    Seed(
        "ico",
        "ICO updates its guidance on AI and data protection",
        "2025-09-10",
        "ico",
        [("DATA-PRIVACY", 0.72, "how data protection law applies to AI systems")],
        jurisdiction="UK",
    ),
    Seed(
        "blog",
        "Thoughts on AI regulation this week",
        "2025-09-12",
        "hn",
        [("AI-POLICY", 0.45, "a discussion of AI regulation")],
        type="report",
        jurisdiction="GLOBAL",
        themes=("strategy",),
    ),
    Seed("noise", "Interest rates held", "2025-09-11", "ec", []),
]
EARLIER_ITEMS = [
    Seed(
        "colorado",
        "Colorado delays its AI Act to 30 June 2026",
        "2025-08-28",
        "colorado",
        [("FAIRNESS", 0.81, "algorithmic discrimination duties now apply from 30 June 2026")],
        type="legislation",
        jurisdiction="US",
        themes=("risk",),
        effective=date(2026, 6, 30),
    ),
    Seed(
        "old-guidance",
        "Earlier AI guidance",
        "2025-08-01",
        "ec",
        [("AI-POLICY", 0.6, "AI governance")],
    ),
]
LATE_ITEM = Seed(
    "vendor",
    "Anthropic retires Claude Sonnet 3.5 snapshots on 22 October 2025",
    "2025-08-13",
    "anthropic",
    [("THIRD-PARTY", 0.97, "claude-3-5-sonnet-20240620 will be retired")],
    type="vendor-change",
    jurisdiction="GLOBAL",
    themes=("procurement",),
    effective=date(2025, 10, 22),
    first_seen=datetime(2025, 9, 10, 7, tzinfo=UTC),
)


def seed_week(state: StateDB, extra: list[Seed] | None = None) -> None:
    """A first run on 1 Sep, a week of news (with one late discovery and one story reported
    twice), and source checks with one failure, as of Monday 15 Sep 06:00."""
    first_run = state.start_run("live", datetime(2025, 9, 1, 7, tzinfo=UTC))
    state.save_new_items(
        [seed.item() for seed in EARLIER_ITEMS], datetime(2025, 9, 1, 7, tzinfo=UTC)
    )
    state.finish_run(first_run, "completed", {})
    later = [*WEEK_ITEMS, LATE_ITEM, *(extra or [])]
    for seen_at in sorted({seed.first_seen or AS_OF for seed in later}):
        batch = [seed.item() for seed in later if (seed.first_seen or AS_OF) == seen_at]
        state.save_new_items(batch, seen_at)
    copy = Seed(
        "consult-copy",
        "EU asks for comments on transparency guidelines",
        "2025-09-10",
        "tracker",
        [("TRANSPARENCY", 0.9, "transparency")],
    ).item()
    state.save_reports([(copy, "consult")], "near-duplicate", AS_OF)
    run_id = state.start_run("live", AS_OF)
    checks = {
        "ec": FetchOutcome(source="ec", outcome="ok"),
        "tracker": FetchOutcome(source="tracker", outcome="unchanged"),
        "ico": FetchOutcome(
            source="ico",
            outcome="failed",
            http_status=503,
            error="HTTP 503 Service Unavailable after 3 tries; try again later",
        ),
        "ftc": FetchOutcome(source="ftc", outcome="ok"),
        "anthropic": FetchOutcome(source="anthropic", outcome="ok"),
        "hn": FetchOutcome(source="hn", outcome="ok", warning=LISTING_FELL_BACK),
    }
    for outcome in checks.values():
        state.record_check(run_id, outcome, IngestCounts(), AS_OF)
    state.finish_run(run_id, "completed", {})


LISTING_FELL_BACK = (
    "the listing's selectors matched nothing; used the autodiscovered feed URL instead — "
    "update sources.yaml (kind: rss, url: https://example.org/feed.xml) or fix the selectors"
)


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> StateDB:
    """Seeded once for the module: building a digest only reads the state."""
    database = StateDB(tmp_path_factory.mktemp("home") / "state.db")
    seed_week(database)
    return database


def titles(entries: list[Any]) -> list[str]:
    return [entry.item.id for entry in entries]


DATA_PROTECTION = Profile(
    name="data-protection",
    title="Data protection team",
    recipients=["dpo@example.org"],
    controls=["DATA-PRIVACY", "TRANSPARENCY"],
    jurisdictions=["UK", "EU"],
    min_relevance=0.5,
)


def test_week_labels_parse_and_know_their_bounds() -> None:
    assert W37.start == datetime(2025, 9, 8, tzinfo=UTC)
    assert W37.end == datetime(2025, 9, 15, tzinfo=UTC)
    assert Week.last_complete(AS_OF) == W37
    assert W37.previous(2).label == "2025-W35"
    with pytest.raises(WeekError, match="YYYY-Www"):
        Week.parse("2025-37")
    with pytest.raises(WeekError, match="no week 53"):
        Week.parse("2025-W53")


def test_top_changes_put_action_first_then_the_strongest_and_leave_out_noise(
    state: StateDB,
) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert titles(digest.top) == ["consult", "vendor", "ftc", "ico"]
    assert [entry.action for entry in digest.top[:2]] == [
        "closes 9 Oct 2025 (in 24 days)",
        "effective 22 Oct 2025 (in 37 days)",
    ]
    assert titles(digest.need_action) == ["consult", "vendor"]
    assert digest.act_on == digest.top
    assert {control: titles(entries) for control, entries in digest.by_control.items()} == {
        "AI-POLICY": ["blog"]
    }
    assert "noise" not in titles(digest.entries)
    assert digest.scanned == 6
    assert digest.relevant_count == 5


def test_an_item_first_seen_after_its_weeks_digest_is_shown_as_a_late_discovery(
    state: StateDB,
) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    (vendor,) = [entry for entry in digest.entries if entry.item.id == "vendor"]
    assert vendor.first_seen_late
    assert "(first seen this week)" in render_markdown(digest)
    earlier = build_digest(state, W37.previous(2), SOURCES, as_of=AS_OF)
    assert "colorado" in titles(earlier.entries)
    assert not any(entry.first_seen_late for entry in earlier.entries)


def test_nothing_counts_as_late_before_the_first_run(settings: Settings) -> None:
    state = StateDB(settings.state_db)
    state.start_run("live", AS_OF)
    state.save_new_items([LATE_ITEM.item()], datetime(2025, 9, 10, 7, tzinfo=UTC))
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert digest.entries == []


def test_reports_from_other_sources_are_folded_into_one_entry(state: StateDB) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    (consult,) = [entry for entry in digest.top if entry.item.id == "consult"]
    assert [(r.source, r.publisher) for r in consult.also_reported_by] == [
        ("tracker", "AI Act tracker")
    ]
    assert "Also reported by: AI Act tracker (tracker)" in render_markdown(digest)


def test_dated_sections_list_consultations_closing_and_rules_taking_effect(
    state: StateDB,
) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert [(d.when, d.what, d.entry.item.id, d.days_away) for d in digest.closing] == [
        (date(2025, 10, 9), "closes", "consult", 24)
    ]
    assert [(d.when, d.entry.item.id) for d in digest.taking_effect] == [
        (date(2025, 10, 22), "vendor")
    ]
    assert [(d.when, d.entry.item.id) for d in digest.calendar] == [
        (date(2025, 10, 9), "consult"),
        (date(2025, 10, 22), "vendor"),
        (date(2026, 6, 30), "colorado"),
    ]
    assert digest.coming_up[0][:2] == (date(2025, 10, 9), "closes")


def test_a_profile_sees_only_its_controls_jurisdictions_and_relevance(state: StateDB) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF, profile=DATA_PROTECTION)
    assert titles(digest.entries) == ["consult", "ico"]
    assert digest.profile == "Data protection team"
    assert titles([d.entry for d in digest.calendar]) == ["consult"]
    stricter = DATA_PROTECTION.model_copy(update={"min_relevance": 0.8})
    assert titles(build_digest(state, W37, SOURCES, AS_OF, stricter).entries) == ["consult"]


def test_an_excluded_source_takes_its_items_and_coverage_line_away(state: StateDB) -> None:
    everything = Profile(name="lead", exclude_sources=["hn", "ico"])
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF, profile=everything)
    assert "blog" not in titles(digest.entries) and "ico" not in titles(digest.entries)
    assert digest.coverage.excluded == ["hn", "ico"]
    assert digest.coverage.failed == []
    assert "Left out by this profile: hn, ico." in render_markdown(digest)


def test_a_story_reported_elsewhere_survives_the_exclusion_of_one_source(
    state: StateDB,
) -> None:
    without_the_commission = Profile(name="lead", exclude_sources=["ec"])
    digest = build_digest(state, W37, SOURCES, AS_OF, without_the_commission)
    assert "consult" in titles(digest.entries)


def test_ranking_weighs_type_sources_deadline_recency_and_the_profiles_controls() -> None:
    today = date(2025, 9, 15)

    def stored(**changes: Any) -> StoredItem:
        seed = Seed("x", "AI item", "2025-09-08", "ec", [("AI-POLICY", 0.7, "AI")])
        for key, value in changes.items():
            setattr(seed, key, value)
        return StoredItem(item=seed.item(), first_seen=AS_OF, last_seen=AS_OF)

    base = rank_score(stored(), today)
    assert rank_score(stored(type="legislation"), today) > base
    assert rank_score(stored(type="enforcement"), today) > base
    assert rank_score(stored(type="report"), today) < base
    assert rank_score(stored(deadline=date(2025, 10, 1)), today) > base
    assert rank_score(stored(deadline=date(2025, 9, 1)), today) == base
    assert rank_score(stored(published="2025-09-14"), today) > base
    assert rank_score(stored(published="2025-08-01"), today) < base
    twice = stored()
    twice.reports = [
        _report("x", "ec", "European Commission"),
        _report("x2", "tracker", "AI Act tracker"),
    ]
    same_publisher = stored()
    same_publisher.reports = [_report("x", "ec", "European Commission")] * 2
    assert rank_score(twice, today) == pytest.approx(base + 0.1)
    assert rank_score(same_publisher, today) == base
    privacy = Profile(name="p", controls=["DATA-PRIVACY"])
    mixed = stored(controls=[("AI-POLICY", 0.9, "AI"), ("DATA-PRIVACY", 0.4, "data")])
    assert rank_score(mixed, today, privacy) == pytest.approx(rank_score(mixed, today) - 0.5)


def _report(reported_id: str, source_id: str, publisher: str) -> Any:
    from horizon.state import Report

    return Report(reported_id, "x", source_id, publisher, None, "t", "h", "original")


def test_coverage_names_failed_sources_with_the_reason(state: StateDB) -> None:
    coverage = build_digest(state, W37, SOURCES, as_of=AS_OF).coverage
    assert (coverage.checked, coverage.ok, coverage.unchanged) == (6, 4, 1)
    assert [(line.source, line.detail) for line in coverage.failed] == [
        ("ico", "HTTP 503 Service Unavailable after 3 tries; try again later")
    ]
    assert coverage.never_checked == ["colorado"]
    assert coverage.statement == (
        "6 sources checked: 5 OK (1 unchanged since the last check), 1 failed."
    )


def test_coverage_lists_sources_that_answered_with_a_warning_in_every_format(
    state: StateDB,
) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert [(line.source, line.detail) for line in digest.coverage.warned] == [
        ("hn", LISTING_FELL_BACK)
    ]
    assert digest.coverage.ok == 4
    for rendered in (render_markdown(digest), render_text(digest), render_html(digest)):
        assert "Answered, with a problem worth fixing" in rendered
        assert "autodiscovered feed URL instead" in rendered
    warnings = json.loads(render_json(digest))["coverage"]["warnings"]
    assert warnings == [{"source": "hn", "name": "Hacker News", "warning": LISTING_FELL_BACK}]


def test_the_trend_counts_relevant_items_per_week_and_theme(state: StateDB) -> None:
    trend = build_digest(state, W37, SOURCES, as_of=AS_OF).trend
    assert len(trend.weeks) == 12 and trend.weeks[-1] == "2025-W37"
    assert trend.weeks[0] == "2025-W26"
    by_week = dict(zip(trend.weeks, trend.totals, strict=True))
    assert by_week["2025-W37"] == 4
    assert by_week["2025-W35"] == 1
    assert by_week["2025-W33"] == 1
    assert by_week["2025-W31"] == 1
    assert sum(trend.totals) == 7
    assert trend.series["risk"][-1] == 1 and trend.series["risk"][-3] == 1


def test_markdown_follows_the_exemplar_order_with_evidence_and_links(state: StateDB) -> None:
    markdown = render_markdown(build_digest(state, W37, SOURCES, as_of=AS_OF))
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## At a glance",
        "## Top changes",
        "## Worth knowing — by control and theme",
        "## Consultations closing in the next 30 days",
        "## Taking effect soon",
        "## Trend",
        "## Coverage",
    ]
    assert (
        "1. **[Commission consults on AI Act transparency guidelines]"
        "(https://ec.example.org/consult)** — European Commission, 9 Sep 2025 · EU · "
        "consultation · **closes 9 Oct 2025 (in 24 days)**" in markdown
    )
    assert "Controls: TRANSPARENCY 0.94 · Themes: communication, governance" in markdown
    assert 'Why TRANSPARENCY: "guidelines on the &lt;b&gt;transparent&lt;/b&gt; marking' in markdown
    assert "5. **[Thoughts on AI regulation this week]" in markdown
    assert "- **22 Oct 2025** (in 37 days) — takes effect: [Anthropic retires" in markdown
    assert "**ico** (ICO): HTTP 503" in markdown
    assert "Relevant items per week, 2025-W26 to 2025-W37: 0, 0, 0, 0, 0, 1, 0, 1" in markdown


def test_plain_text_carries_the_same_content_without_markup(state: StateDB) -> None:
    text = render_text(build_digest(state, W37, SOURCES, as_of=AS_OF))
    assert "TOP CHANGES" in text and "COVERAGE" in text
    assert "CLOSES 9 OCT 2025 (IN 24 DAYS)" in text
    assert "https://ec.example.org/consult" in text
    assert 'Why TRANSPARENCY: "guidelines on the <b>transparent</b> marking' in text
    assert "**" not in text and "<a " not in text


def test_html_escapes_scraped_text_and_keeps_only_safe_markup(state: StateDB) -> None:
    html = render_html(build_digest(state, W37, SOURCES, as_of=AS_OF), chart_src="2025-W37.png")
    assert "&lt;b&gt;transparent&lt;/b&gt;" in html and "<b>transparent" not in html
    page = BeautifulSoup(html, "html.parser")
    links = {a.get_text(): a["href"] for a in page.find_all("a")}
    assert links["Commission consults on AI Act transparency guidelines"] == (
        "https://ec.example.org/consult"
    )
    assert page.find("img")["src"] == "2025-W37.png"
    assert page.find("script") is None and page.find("style") is None
    assert all(tag.get("style") is not None for tag in page.find_all(["h1", "h2"]))


def test_the_sanitiser_removes_what_a_template_could_never_produce() -> None:
    dirty = (
        '<p onclick="alert(1)" style="color:red;position:fixed">x</p><script>alert(2)</script>'
        '<a href="javascript:alert(3)">y</a><iframe src="https://e.org"></iframe>'
        '<img src="cid:trend@horizon" onerror="alert(4)">'
    )
    assert sanitise_html(dirty) == (
        '<p style="color:red">x</p><a rel="noopener noreferrer">y</a><img src="cid:trend@horizon">'
    )


def test_only_web_addresses_become_links() -> None:
    assert web_url("https://ec.example.org/a b)") == "https://ec.example.org/a%20b%29"
    assert web_url("javascript:alert(1)") == ""
    assert web_url("data:text/html,<script>") == ""
    assert web_url(None) == ""


def test_json_record_holds_the_sections_for_machines(state: StateDB) -> None:
    record = digest_record(build_digest(state, W37, SOURCES, as_of=AS_OF))
    json.dumps(record)
    assert record["week"] == "2025-W37"
    assert record["profile"] == {"name": "all", "title": "AI governance (all controls)"}
    assert record["counts"] == {"items_this_week": 6, "relevant": 5, "need_action": 2}
    consult = record["top_changes"][0]
    assert consult["controls"][0]["evidence"].startswith("guidelines on the <b>")
    assert consult["also_reported_by"][0]["source"] == "tracker"
    assert consult["deadline"] == "2025-10-09"
    assert record["closing_soon"][0]["days_away"] == 24
    assert record["coverage"]["failed"][0]["source"] == "ico"


def test_every_format_is_written_and_readable(state: StateDB, tmp_path: Path) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF, profile=DATA_PROTECTION)
    _, paths = write_formats(digest, tmp_path)
    assert [path.name for path in paths] == [
        f"2025-W37.{suffix}" for suffix in ("md", "html", "txt", "json", "png", "ics")
    ]
    record = json.loads((tmp_path / "2025-W37.json").read_text(encoding="utf-8"))
    assert record["files"]["png"] == "2025-W37.png"
    png = (tmp_path / "2025-W37.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (720, 280)
    calendar = Calendar.from_ical((tmp_path / "2025-W37.ics").read_bytes())
    assert [str(event["summary"]) for event in calendar.walk("VEVENT")] == [
        "Consultation closes: Commission consults on AI Act transparency guidelines"
    ]
    assert "![Relevant items per week" in (tmp_path / "2025-W37.md").read_text(encoding="utf-8")


def test_write_digest_keeps_writing_markdown_and_html(state: StateDB, tmp_path: Path) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    paths = write_digest(digest, tmp_path)
    assert [path.name for path in paths] == ["2025-W37.md", "2025-W37.html"]
    assert paths[0].read_text(encoding="utf-8") == render_markdown(digest)


def test_an_empty_week_says_so_and_still_reports_coverage(state: StateDB) -> None:
    digest = build_digest(state, Week.parse("2025-W30"), SOURCES, as_of=AS_OF)
    markdown = render_markdown(digest)
    assert "Nothing relevant to AI governance was published this week" in markdown
    assert "6 sources checked" in markdown
    team = build_digest(state, Week.parse("2025-W30"), SOURCES, AS_OF, DATA_PROTECTION)
    assert "Nothing relevant to this profile was published this week" in render_text(team)


def test_a_week_before_any_run_asks_for_one(settings: Settings) -> None:
    digest = build_digest(StateDB(settings.state_db), W37, SOURCES, as_of=AS_OF)
    assert "No source was checked for this week: run `horizon run` first." in render_html(digest)
    assert digest.trend.empty


def test_dates_far_ahead_go_to_the_calendar_but_not_to_the_soon_sections(
    state: StateDB,
) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert "colorado" not in [d.entry.item.id for d in digest.taking_effect]
    later = build_digest(state, W37, SOURCES, as_of=datetime(2026, 5, 1, tzinfo=UTC))
    assert [(d.entry.item.id, d.days_away) for d in later.taking_effect] == [("colorado", 60)]


SIGNED = Seed(
    "co-signed",
    "Colorado governor signs the AI Act delay",
    "2025-09-10",
    "colorado",
    [("FAIRNESS", 0.81, "algorithmic discrimination duties")],
    type="legislation",
    jurisdiction="US",
    summary="SB 25B-004 was signed into law on 28 August 2025, moving the Colorado AI Act to "
    "30 June 2026.",
)


def _readiness_context() -> Any:
    from horizon.config import PROJECT_ROOT, load_instruments
    from horizon.readiness.glance import ReadinessContext
    from horizon.readiness.profile import System

    catalogue = load_instruments(PROJECT_ROOT / "instruments.yaml")
    summaries = System(
        id="summaries", name="summaries <beta> *v2*", vendor="Anthropic", model="Claude Sonnet 3.5"
    )
    return ReadinessContext(catalogue.instruments, [summaries], [])


def test_digest_opens_at_a_glance_and_ranks_top_changes_by_impact_with_reasons(
    tmp_path: Path,
) -> None:
    database = StateDB(tmp_path / "state.db")
    seed_week(database, extra=[SIGNED])
    digest = build_digest(database, W37, SOURCES, as_of=AS_OF, context=_readiness_context())

    # the retirement that affects one of our systems outranks the consultation closing first
    assert titles(digest.need_action) == ["vendor", "consult"]
    rest = [entry for entry in digest.top if not entry.action]
    assert [entry.readiness.impact.level for entry in rest if entry.readiness] == sorted(
        (entry.readiness.impact.level for entry in rest if entry.readiness),
        key=["high", "medium", "low"].index,
    )
    assert rest[0].item.id == "co-signed"
    assert rest[0].readiness is not None and rest[0].readiness.impact.level == "medium"
    assert any("stage change: colorado-ai-act" in r for r in rest[0].readiness.impact.reasons)
    assert [(c, [when for when, _ in lines]) for c, lines in digest.glance_actions.items()] == [
        ("THIRD-PARTY", ["effective 22 Oct 2025 (in 37 days)"]),
        ("TRANSPARENCY", ["closes 9 Oct 2025 (in 24 days)"]),
    ]
    assert [change.instrument_id for change, _ in digest.stage_changes] == ["colorado-ai-act"]
    [hit] = digest.supplier_hits
    assert (hit.kind, hit.date) == ("retirement", date(2025, 10, 22))

    markdown = render_markdown(digest)
    glance = markdown.split("## Top changes")[0]
    assert "## At a glance" in glance
    assert "- **THIRD-PARTY**: effective 22 Oct 2025 \\(in 37 days\\)" in glance
    assert "Stage change to confirm: colorado-ai-act" in glance
    assert "affects: summaries &lt;beta&gt; \\*v2\\*" in glance
    assert "Impact: **medium** — type: legislation; stage change: colorado-ai-act" in markdown
    assert "affects: summaries <beta> *v2*" in render_text(digest).split("TOP CHANGES")[0]
    html = render_html(digest)
    assert "affects: summaries &lt;beta&gt; *v2*" in html and "<beta>" not in html
    record = digest_record(digest)
    assert record["at_a_glance"]["supplier_hits"][0]["affects"] == "summaries <beta> *v2*"
    assert record["top_changes"][0]["impact"]["level"] in {"high", "medium", "low"}


def test_without_readiness_context_entries_carry_no_impact(state: StateDB) -> None:
    digest = build_digest(state, W37, SOURCES, as_of=AS_OF)
    assert all(entry.readiness is None for entry in digest.entries)
    assert digest.stage_changes == [] and digest.supplier_hits == []
    assert "Impact:" not in render_markdown(digest)
