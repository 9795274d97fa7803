"""Impact levels: low, medium or high with reasons, from type, stage change, date proximity,
obligations touched and supplier hits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from horizon.instruments.stages import StageProposal
from horizon.readiness.impact import impact_level
from horizon.readiness.suppliers import SupplierHit
from horizon.readiness.tracker import ReadinessRow

TODAY = date(2026, 3, 1)


def _obligation(status: str) -> ReadinessRow:
    return ReadinessRow(
        control="RISK-IMPACT",
        instrument_id="colorado-ai-act",
        instrument_name="Colorado AI Act",
        obligation_id="deployer-risk-programme",
        who=("deployer",),
        what="Risk programme",
        from_date=date(2026, 6, 30),
        articles=(),
        status=status,  # type: ignore[arg-type]
    )


def _retirement() -> SupplierHit:
    return SupplierHit(
        item_id="i",
        title="t",
        url=None,
        system_id="claims-triage",
        system_name="claims triage",
        vendor="Microsoft",
        model="gpt-4o",
        kind="retirement",
        date=date(2026, 3, 15),
        evidence="e",
        matched="gpt-4o",
    )


def test_plain_report_is_low_with_no_reasons() -> None:
    impact = impact_level("report", TODAY)
    assert (impact.level, impact.reasons) == ("low", ())


def test_guidance_with_a_far_effective_date_stays_low() -> None:
    impact = impact_level("guidance", TODAY, effective=date(2027, 6, 1))
    assert impact.level == "low"
    assert impact.reasons == ("type: guidance",)


def test_consultation_closing_within_30_days_is_medium() -> None:
    impact = impact_level("consultation", TODAY, deadline=date(2026, 3, 20))
    assert impact.score == 4 and impact.level == "medium"
    assert "deadline 2026-03-20 is 19 days away" in impact.reasons


def test_past_dates_add_nothing() -> None:
    assert impact_level("consultation", TODAY, deadline=date(2026, 2, 1)).score == 1


def test_legislation_with_stage_change_is_high_and_says_why() -> None:
    change = StageProposal("i", "colorado-ai-act", "amended", date(2025, 8, 28), "delayed", "s")
    impact = impact_level("legislation", TODAY, stage_changes=[change])
    assert impact.level == "medium"
    with_obligation = impact_level(
        "legislation", TODAY, stage_changes=[change], obligations=[_obligation("not-started")]
    )
    assert with_obligation.level == "high"
    assert "stage change: colorado-ai-act amended on 2025-08-28" in with_obligation.reasons
    assert any("1 not ready" in reason for reason in with_obligation.reasons)


def test_ready_obligation_weighs_less_than_an_unready_one() -> None:
    ready = impact_level("guidance", TODAY, obligations=[_obligation("ready")])
    unready = impact_level("guidance", TODAY, obligations=[_obligation("in-progress")])
    assert ready.score + 1 == unready.score


def test_near_retirement_of_our_model_is_high_and_undated_one_medium() -> None:
    impact = impact_level("vendor-change", TODAY, supplier_hits=[_retirement()])
    assert impact.level == "high"
    assert "retirement of Microsoft gpt-4o on 2026-03-15 affects claims triage" in impact.reasons
    assert "retirement date 2026-03-15 is 14 days away" in impact.reasons
    undated = replace(_retirement(), date=None)
    assert impact_level("vendor-change", TODAY, supplier_hits=[undated]).level == "medium"
