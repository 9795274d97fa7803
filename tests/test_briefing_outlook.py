"""A balanced briefing: each development is an opportunity or a risk, with the reason shown;
the pack has both sections and asks the board for what open high-impact work needs."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from horizon.briefing.outlook import classify_development
from horizon.cli import app
from horizon.instruments.stages import StageProposal
from horizon.item import ControlTag, Item, Tags
from horizon.readiness.impact import Impact
from horizon.readiness.suppliers import SupplierHit
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagRequest

LOW = Impact(level="low", score=1, reasons=("type: guidance",))


def _hit(kind: str) -> SupplierHit:
    return SupplierHit(
        item_id="v",
        title="t",
        url=None,
        system_id="claims-triage",
        system_name="claims triage",
        vendor="Microsoft",
        model="gpt-4o",
        kind=kind,  # type: ignore[arg-type]
        date=date(2026, 3, 15),
        evidence="",
        matched="gpt-4o",
    )


@pytest.mark.parametrize(
    ("title", "summary", "reason"),
    [
        ("ICO opens its regulatory sandbox to AI projects", "Apply by March.", "sandbox"),
        ("Innovate UK funding for responsible AI", "Grants of up to £500k.", "funding"),
        ("Digital omnibus to simplify AI Act reporting", "", "simplification"),
        ("Guidelines clarify the definition of an AI system", "", "guidance that clarifies"),
        (
            "ISO/IEC 42006 published",
            "Certification bodies can now certify AI management systems.",
            "certification",
        ),
        ("Colorado postpones its AI rules", "", "more time"),
    ],
)
def test_opportunities_are_told_apart_with_their_reason(
    title: str, summary: str, reason: str
) -> None:
    outlook = classify_development(title, summary, "guidance", LOW)
    assert outlook.side == "opportunity"
    assert reason in outlook.reason


@pytest.mark.parametrize(
    ("title", "summary", "item_type", "reason"),
    [
        ("Deployers must register high-risk systems", "", "legislation", "a new obligation"),
        ("Regulator fines insurer over AI pricing", "", "enforcement", "enforcement"),
        ("Regulator opens a case", "No details yet.", "enforcement", "enforcement (type)"),
    ],
)
def test_risks_are_told_apart_with_their_reason(
    title: str, summary: str, item_type: str, reason: str
) -> None:
    outlook = classify_development(title, summary, item_type, LOW)
    assert outlook.side == "risk"
    assert reason in outlook.reason


def test_a_retirement_is_a_risk_and_a_region_launch_an_opportunity() -> None:
    retirement = classify_development(
        "Model retirements", "", "vendor-change", LOW, (), [_hit("retirement")]
    )
    assert retirement.side == "risk"
    assert "retirement of Microsoft gpt-4o on 2026-03-15 affects claims triage" in retirement.reason
    region = classify_development("New regions", "", "vendor-change", LOW, (), [_hit("region")])
    assert region.side == "opportunity"


def test_a_stage_change_that_makes_duties_apply_is_a_risk() -> None:
    change = StageProposal("i", "eu-ai-act", "in-force", date(2024, 8, 1), "enters into force", "")
    outlook = classify_development("The AI Act", "", "legislation", LOW, [change])
    assert outlook.side == "risk" and "eu-ai-act in-force" in outlook.reason


def test_a_tie_is_a_risk_and_names_what_speaks_against_it() -> None:
    outlook = classify_development(
        "Rules delayed", "Deployers must comply from 30 June 2026.", "legislation", LOW
    )
    assert outlook.side == "risk"
    assert outlook.reason == "a new obligation (“must”) (but: more time (“delayed”))"


def _item(item_id: str, title: str, summary: str, day: int) -> Item:
    return Item(
        id=item_id,
        title=title,
        summary=summary,
        published=datetime(2026, 2, day, tzinfo=UTC),
        content_hash=item_id,
    )


def test_briefing_has_risks_and_opportunities_and_asks_from_open_high_flags(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    items = [
        _item(
            "sandbox",
            "EU AI Act regulatory sandboxes open for applications",
            "Providers and deployers can test high-risk systems with supervisors in an AI Act "
            "sandbox; funding is available for small firms.",
            3,
        ),
        _item(
            "fine",
            "Colorado AI Act enforcement",
            "Deployers must complete impact assessments; the attorney general may seek penalties.",
            4,
        ),
    ]
    state.save_new_items(items, datetime(2026, 2, 10, tzinfo=UTC))
    state.set_tags(
        [
            (
                "sandbox",
                Tags(
                    relevant=True,
                    type="guidance",
                    controls=[ControlTag(id="RISK-IMPACT", score=0.9, evidence="")],
                ),
            ),
            (
                "fine",
                Tags(
                    relevant=True,
                    type="enforcement",
                    controls=[ControlTag(id="RISK-IMPACT", score=0.9, evidence="")],
                ),
            ),
        ]
    )
    workspace = Workspace(state, clock=lambda: datetime(2026, 2, 12, tzinfo=UTC))
    workspace.raise_flag(
        COMMAND_LINE,
        "fine",
        FlagRequest(
            controls=["RISK-IMPACT"],
            severity="critical",
            owner="Head of risk",
            due=date(2026, 4, 1),
            rationale="Our pricing model is deployed in Colorado.",
        ),
    )
    result = CliRunner().invoke(
        app,
        ["briefing", "--from", "2026-01-01", "--to", "2026-03-31", "--home", str(home), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["risks"], summary["opportunities"]) == (1, 1)
    markdown = Path(summary["paths"][0]).read_text(encoding="utf-8")
    risks = markdown.split("## Risks")[1].split("## Opportunities")[0]
    opportunities = markdown.split("## Opportunities")[1].split("## Stage changes")[0]
    assert "Colorado AI Act enforcement" in risks and "enforcement (“penalties”)" in risks
    assert "regulatory sandboxes" in opportunities
    assert "a regulatory sandbox (“sandboxes”)" in opportunities and "funding" in opportunities
    asks = markdown.split("## What we need from the board")[1].split("## Risks")[0]
    assert "open critical impact flag, owner Head of risk, due 2026-04-01" in asks
    html = Path(summary["paths"][1]).read_text(encoding="utf-8")
    assert "<h2>Risks</h2>" in html and "<h2>Opportunities</h2>" in html
    pdf = PdfReader(io.BytesIO(Path(summary["paths"][2]).read_bytes()))
    assert len(pdf.pages) <= 2
