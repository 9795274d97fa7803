"""The board briefing: `horizon briefing --from --to` writes Markdown, HTML and PDF with the
asks of the board, developments ranked by impact, stage changes, readiness, supplier changes
and the team's decisions with rationales."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from horizon.cli import app
from horizon.item import ControlTag, Item, Tags
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagRequest, TriageRequest


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    seen = datetime(2026, 2, 10, tzinfo=UTC)
    items = [
        Item(
            id="co",
            title="Colorado AI Act <script>alert(1)</script> delayed again",
            url="javascript:alert(2)",
            summary="A special session bill amends the Colorado AI Act; deployers must now "
            "comply from 30 June 2026.",
            published=datetime(2026, 2, 3, tzinfo=UTC),
            content_hash="a",
        ),
        Item(
            id="az",
            title="Azure OpenAI model retirements",
            summary="Microsoft will retire gpt-4o version 2024-08-06 on 15 March 2026.",
            publisher="Microsoft",
            published=datetime(2026, 2, 5, tzinfo=UTC),
            content_hash="b",
        ),
        Item(
            id="old",
            title="EU AI Act guidance from last year",
            published=datetime(2025, 5, 1, tzinfo=UTC),
            content_hash="c",
        ),
    ]
    state.save_new_items(items, seen)
    legislation = Tags(
        relevant=True,
        type="legislation",
        controls=[ControlTag(id="RISK-IMPACT", score=0.9, evidence="")],
    )
    state.set_tags([("co", legislation), ("old", legislation)])
    workspace = Workspace(state, clock=lambda: datetime(2026, 2, 12, tzinfo=UTC))
    workspace.move(COMMAND_LINE, "co", TriageRequest(state="under-review"))
    workspace.raise_flag(
        COMMAND_LINE,
        "co",
        FlagRequest(
            controls=["RISK-IMPACT"],
            severity="high",
            owner="Head of risk",
            due=date(2026, 5, 1),
            rationale="Our pricing model is deployed in Colorado.",
        ),
    )
    return home


def test_briefing_writes_three_formats_with_every_section(tmp_path: Path) -> None:
    home = _home(tmp_path)
    result = CliRunner().invoke(
        app,
        ["briefing", "--from", "2026-02-01", "--to", "2026-04-30", "--home", str(home), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    markdown_path, html_path, pdf_path = (Path(path) for path in summary["paths"])
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "affects: claims triage" in markdown
    assert "colorado-ai-act → amended" in markdown
    assert "Our pricing model is deployed in Colorado." in markdown
    assert "EU AI Act guidance from last year" not in markdown
    # raising the flag moved the item to 'impact' with the same rationale: two decisions
    assert summary["supplier_hits"] == 1 and summary["decisions"] == 2
    assert "triaged impact" in markdown and "high impact flag (open" in markdown
    assert any("Colorado AI Act" in ask and "2026-06-30" in ask for ask in summary["asks"])
    html = html_path.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "javascript:" not in html  # a link only for http(s) addresses
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "data:image/png;base64," in html
    pdf = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    assert len(pdf.pages) <= 2
    assert "claims triage" in "".join(page.extract_text() for page in pdf.pages)


def test_developments_rank_by_impact_score_and_evidence_is_not_the_title(
    tmp_path: Path,
) -> None:
    home = _home(tmp_path)
    CliRunner().invoke(
        app, ["briefing", "--from", "2026-01-01", "--to", "2026-03-31", "--home", str(home)]
    )
    markdown = (home / "briefings" / "briefing-2026-01-01-2026-03-31.md").read_text()
    developments = markdown.split("## Risks")[1].split("## Opportunities")[0]
    colorado, azure = developments.index("Colorado"), developments.index("Azure OpenAI model")
    assert colorado < azure
    assert developments.count("Impact high") == 2
    assert "retirement date 2026-03-15 is 38 days away" in developments
    assert "> A special session bill amends the Colorado AI Act" in developments


def test_period_ending_before_it_starts_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["briefing", "--from", "2026-03-01", "--to", "2026-01-01", "--home", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "is before --from" in result.output
