"""The learner's evidence log: what one user did in one period, from the real records (run
state, workspace activity, audit log), mapped to AU0002 and written as Markdown, CSV, HTML."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from horizon.cli import app
from horizon.config import Settings, Source, load_catalogue, load_sources
from horizon.fetch import FetchOutcome
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.state import IngestCounts, StateDB
from horizon.workspace import (
    COMMAND_LINE,
    Workspace,
    build_evidence,
    catalogue_ksbs,
    render_evidence,
)
from horizon.workspace.evidence import EvidenceLog
from horizon.workspace.models import (
    FlagRequest,
    SavedSearchRequest,
    TriageRequest,
    UserRequest,
)

SOURCES_YAML = """
sources:
  - {id: ico-news, name: ICO news, publisher: ICO, category: regulator, jurisdiction: UK,
     kind: rss, url: "https://ico.org.uk/feed"}
  - {id: fca-news, name: FCA news, publisher: FCA, category: regulator, jurisdiction: UK,
     kind: rss, url: "https://www.fca.org.uk/news/rss.xml"}
  - {id: cma-news, name: CMA news, publisher: CMA, category: regulator, jurisdiction: UK,
     kind: atom, url: "https://www.gov.uk/cma.atom"}
"""
TITLE = "ICO: AI | biometrics <script>alert(1)</script>"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 9, 10, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def item(item_id: str, title: str) -> Item:
    return Item(
        id=item_id,
        title=title,
        publisher="ICO",
        published=datetime(2025, 9, 9, tzinfo=UTC),
        content_hash=content_hash(title, ""),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="DATA-PRIVACY", score=0.9, evidence=title)],
            type="enforcement",
            jurisdiction="UK",
        ),
    )


def check(state: StateDB, source: str, outcome: str, when: datetime, new: int = 0) -> None:
    run = state.start_run("live", when)
    state.record_check(
        run,
        FetchOutcome.model_validate(
            {
                "source": source,
                "outcome": outcome,
                "error": "HTTP 503 from the server; try again later"
                if outcome == "failed"
                else None,
            }
        ),
        IngestCounts(entries=new, new=new),
        when,
    )


@dataclass
class Scene:
    workspace: Workspace
    sources: list[Source]
    digests: Path
    ksbs: dict[str, tuple[str, ...]]


@pytest.fixture
def scene(settings: Settings) -> Scene:
    """A home where ann scanned during September 2025, bob worked too, and ann did more in
    October, with sources checked inside and outside the period."""
    settings.home.mkdir(parents=True)
    (settings.home / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    sources = load_sources(settings.home / "sources.yaml").sources
    state = StateDB(settings.state_db)
    state.save_new_items(
        [item("a1", TITLE), item("a2", "=cmd|' /C calc'!A0")], datetime(2025, 9, 9, tzinfo=UTC)
    )
    check(state, "ico-news", "ok", datetime(2025, 8, 25, tzinfo=UTC), new=9)
    check(state, "ico-news", "ok", datetime(2025, 9, 8, 6, tzinfo=UTC), new=2)
    check(state, "ico-news", "unchanged", datetime(2025, 9, 15, 6, tzinfo=UTC))
    check(state, "fca-news", "failed", datetime(2025, 9, 8, 6, tzinfo=UTC))
    digests = settings.digests_dir
    digests.mkdir(parents=True)
    (digests / "2025-W37.html").write_text("<p>digest</p>", encoding="utf-8")
    (digests / "2025-W37.md").write_text("digest", encoding="utf-8")
    for folder in ("data-protection", "outbox"):
        (digests / folder).mkdir()
        (digests / folder / "2025-W37.html").write_text("<p>digest</p>", encoding="utf-8")
    clock = Clock()
    catalogue = load_catalogue([settings.controls_file])
    workspace = Workspace(state, controls=catalogue.control_ids(), clock=clock)
    for name in ("ann", "bob"):
        workspace.add_user(
            COMMAND_LINE, UserRequest(name=name, role="analyst", password="a long password")
        )
    ann, bob = workspace.user("ann"), workspace.user("bob")
    clock.now = datetime(2025, 9, 15, 8, tzinfo=UTC)
    workspace.record_activity(ann, "digest-opened", "2025-W37", "same-origin")
    workspace.record_activity(ann, "item-opened", "a1", "same-origin")
    workspace.record_activity(ann, "item-opened", "a1", "same-origin")
    workspace.move(ann, "a1", TriageRequest(state="under-review"))
    clock.now = datetime(2025, 9, 16, 10, tzinfo=UTC)
    workspace.move(ann, "a1", TriageRequest(state="impact", rationale="Our staff app uses FRT."))
    workspace.raise_flag(
        ann,
        "a1",
        FlagRequest(
            controls=["MONITORING-INCIDENTS", "DATA-PRIVACY"],
            severity="high",
            owner="Head of data",
            due=date(2025, 10, 15),
            rationale="Incident process must cover biometric misuse.",
        ),
    )
    workspace.judge_tag(ann, "a1", "DATA-PRIVACY", "confirm")
    workspace.save_search(
        ann,
        SavedSearchRequest(
            name="biometrics", query="facial recognition", filters={"type": ["enforcement"]}
        ),
    )
    workspace.move(bob, "a2", TriageRequest(state="under-review"))
    clock.now = datetime(2025, 10, 2, 10, tzinfo=UTC)
    workspace.move(ann, "a2", TriageRequest(state="impact", rationale="October decision"))
    return Scene(workspace, sources, digests, catalogue_ksbs(catalogue))


def september(scene: Scene) -> EvidenceLog:
    return build_evidence(
        scene.workspace,
        "ann",
        date(2025, 9, 1),
        date(2025, 9, 30),
        scene.sources,
        scene.digests,
        scene.ksbs,
        now=datetime(2025, 10, 3, tzinfo=UTC),
    )


def test_the_log_holds_the_learners_decisions_flags_verdicts_and_searches_in_the_period(
    scene: Scene,
) -> None:
    log = september(scene)
    triage = log.section("triage")
    assert [(entry.activity, entry.item_id) for entry in triage] == [
        ("Triage: new → under review", "a1"),
        ("Triage: under review → impact", "a1"),
    ]
    assert triage[1].detail == "Our staff app uses FRT."
    assert triage[1].ksbs == ("K14", "S9", "S14")
    [flag] = log.section("flags")
    assert "high severity on MONITORING-INCIDENTS, DATA-PRIVACY" in flag.detail
    assert "owner Head of data, due 2025-10-15" in flag.detail
    assert {"K7", "S7", "K14", "S14", "K11"} <= set(flag.ksbs)
    [verdict] = log.section("tags")
    assert verdict.activity == "Tag DATA-PRIVACY confirmed"
    [saved] = log.section("searches")
    assert saved.detail == "query: facial recognition; filters: type=['enforcement']"
    everything = " ".join(f"{e.activity} {e.detail} {e.item_id}" for e in log.entries)
    assert "October decision" not in everything and "a2" not in everything


def test_the_log_shows_sources_coverage_digests_and_items_opened(
    scene: Scene,
) -> None:
    log = september(scene)
    by_source = {line.source: line for line in log.coverage}
    ico, fca, cma = by_source["ico-news"], by_source["fca-news"], by_source["cma-news"]
    assert (ico.checks, ico.ok, ico.unchanged, ico.new_items) == (2, 1, 1, 2)
    assert (fca.checks, fca.failed, fca.last_error) == (
        1,
        1,
        "HTTP 503 from the server; try again later",
    )
    assert cma.checks == 0
    assert log.coverage_statement == (
        "3 sources monitored; 2 checked in the period (3 checks, 1 failed), 1 answered at "
        "least once (33% coverage)."
    )
    sources = {entry.title: entry for entry in log.section("sources")}
    assert sources["CMA news"].detail == "not checked in this period"
    assert sources["CMA news"].ksbs == ()
    assert sources["ICO news"].ksbs == ("K14", "S14")
    [digest] = log.section("digests")
    assert digest.activity == "Weekly digest 2025-W37"
    assert "received (2025-W37.html, 2025-W37.md, data-protection/2025-W37.html)" in (digest.detail)
    assert "opened 15 Sep 2025 08:00" in digest.detail
    [opened] = log.section("opened")
    assert (opened.item_id, opened.title) == ("a1", TITLE)
    summary = {code: count for code, count, _ in log.ksb_summary()}
    assert summary["K14"] == summary["S14"] == len(log.entries) - 1
    assert summary["K11"] == 1


def test_markdown_csv_and_html_show_the_same_entries_with_scraped_text_made_harmless(
    scene: Scene,
) -> None:
    log = september(scene)
    markdown = render_evidence(log, "md")
    assert markdown.startswith("# Horizon-scanning log — ann, 1 Sep 2025 to 30 Sep 2025")
    for heading in (
        "## Sources monitored",
        "## Digests received and opened",
        "## Items opened",
        "## Items triaged: decisions and rationales",
        "## Impact flags raised",
        "## Searches saved",
    ):
        assert heading in markdown
    assert "ICO: AI \\| biometrics &lt;script&gt;" in markdown
    rows = list(csv.DictReader(io.StringIO(render_evidence(log, "csv"))))
    assert len(rows) == len(log.entries)
    flag_row = next(row for row in rows if row["section"] == "Impact flags raised")
    assert "AU0002 K11" in flag_row["ksbs"] and "AU0002 S7" in flag_row["ksbs"]
    assert {row["learner"] for row in rows} == {"ann"}
    html = render_evidence(log, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Our staff app uses FRT." in html


def test_the_json_log_holds_the_same_entries_coverage_and_ksb_summary_as_the_others(
    scene: Scene, settings: Settings
) -> None:
    log = september(scene)
    data = json.loads(render_evidence(log, "json"))
    rows = list(csv.DictReader(io.StringIO(render_evidence(log, "csv"))))
    assert (data["learner"], data["from"], data["to"]) == ("ann", "2025-09-01", "2025-09-30")
    assert [(e["heading"], e["activity"], e["detail"]) for e in data["entries"]] == [
        (row["section"], row["activity"], row["detail"]) for row in rows
    ]
    flag = next(e for e in data["entries"] if e["section"] == "flags")
    assert {"K7", "S7", "K11"} <= set(flag["ksbs"])
    assert data["coverage_statement"] == log.coverage_statement
    fca = next(line for line in data["coverage"] if line["source"] == "fca-news")
    assert (fca["checks"], fca["failed"]) == (1, 1)
    assert {s["code"]: s["entries"] for s in data["ksb_summary"]}["K11"] == 1
    period = ["--from", "2025-09-01", "--to", "2025-09-30", "--home", str(settings.home)]
    done = CliRunner().invoke(app, ["evidence", "--user", "ann", *period, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["entries"] == data["entries"]


def test_the_evidence_command_writes_the_log_and_names_bad_options(
    scene: Scene, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    output = tmp_path / "ann.csv"
    done = runner.invoke(
        app,
        [
            "evidence",
            "--user",
            "ann",
            "--from",
            "2025-09-01",
            "--to",
            "2025-09-30",
            "--format",
            "csv",
            "--output",
            str(output),
            *home,
        ],
    )
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    assert any(row["activity"] == "Raised impact flag 1" for row in rows)
    assert any(row["title"] == "CMA news" for row in rows)
    bad = runner.invoke(
        app,
        [
            "evidence",
            "--user",
            "ann",
            "--from",
            "2025-13-01",
            "--to",
            "2025-09-01",
            "--format",
            "pdf",
            *home,
        ],
    )
    assert bad.exit_code == 2
    assert "--from: '2025-13-01' is not a date" in bad.output
    assert "--format: 'pdf' is not one of md, csv, html, json" in bad.output
    unknown = runner.invoke(
        app, ["evidence", "--user", "zoe", "--from", "2025-09-01", "--to", "2025-09-30", *home]
    )
    assert unknown.exit_code == 2 and "no user called 'zoe'" in unknown.output
    far = runner.invoke(
        app, ["evidence", "--user", "ann", "--from", "2025-09-01", "--to", "9999-12-31", *home]
    )
    assert far.exit_code == 2 and "--to: a date between 1900-01-01 and 2999-12-31" in far.output
    assert "Traceback" not in far.output


def test_stage_decisions_and_board_briefings_are_evidence_for_k6_and_s12(scene: Scene) -> None:
    from horizon.instruments.proposals import Proposals
    from horizon.instruments.stages import StageProposal

    proposals = Proposals(scene.workspace.state)
    proposals.add(
        [
            StageProposal("a1", "colorado-ai-act", "amended", date(2025, 8, 28), "signed", "S1."),
            StageProposal("a2", "eu-ai-act", "amended", None, "amended", "S2."),
        ]
    )
    first, second = proposals.find()
    proposals.decide(first.id, "confirmed", "ann")
    proposals.decide(second.id, "rejected", "bob")
    folder = scene.digests / "briefing"
    folder.mkdir()
    for stem in ("briefing-2025-07-01-2025-09-30", "briefing-2025-10-01-2025-12-31"):
        for suffix in (".md", ".html", ".pdf"):
            (folder / f"{stem}{suffix}").write_text("pack", encoding="utf-8")
    today = datetime.now(UTC).date()

    now_log = build_evidence(
        scene.workspace, "ann", today, today, scene.sources, scene.digests, scene.ksbs
    )
    [stage] = now_log.section("stages")
    assert stage.activity == "Stage confirmed: colorado-ai-act amended on 2025-08-28"
    assert (stage.item_id, stage.detail, stage.ksbs) == ("a1", "S1.", ("K6", "K14", "S14"))

    september_log = september(scene)
    assert september_log.section("stages") == []
    [briefing] = september_log.section("briefings")
    assert briefing.activity == "Board briefing 2025-07-01 to 2025-09-30"
    assert briefing.ksbs == ("K14", "S12", "S14")
    assert "briefing-2025-07-01-2025-09-30.pdf" in briefing.detail
    assert "S12" in render_evidence(september_log, "md")


def test_a_briefing_written_anywhere_is_cited_once_for_whoever_wrote_it(
    scene: Scene, tmp_path: Path
) -> None:
    from horizon.briefing.build import Briefing
    from horizon.briefing.packs import write_pack

    state = scene.workspace.state
    quarter = Briefing(start=date(2025, 7, 1), end=date(2025, 9, 30), organisation="Example")
    elsewhere = tmp_path / "board-papers"
    write_pack(quarter, elsewhere, state, by="ann")
    written = write_pack(quarter, elsewhere, state, by="ann")
    write_pack(quarter, tmp_path / "bobs", state, by="bob")

    [briefing] = september(scene).section("briefings")
    assert briefing.activity == "Board briefing 2025-07-01 to 2025-09-30"
    assert str(written[2].resolve()) in briefing.detail
    assert "bobs" not in briefing.detail
    assert briefing.ksbs == ("K14", "S12", "S14")
