"""The warm ÷ cold demo figure compares a warm run with a cold one, never two cold runs."""

from __future__ import annotations

import pytest

from bench.warm import TARGET, DemoRun, NotWarm, WarmCold


def _run(seconds: float, embedded: int) -> DemoRun:
    return DemoRun.from_summary(
        seconds,
        {"stage_seconds": {"crawl": 1.5, "embed": 0.0}, "items": {"embedded": embedded}},
        load=1.2,
    )


def test_the_ratio_is_the_median_warm_run_over_the_cold_one_with_its_verdict() -> None:
    figure = WarmCold(_run(60.0, 721), [_run(30.0, 0), _run(3.0, 0), _run(5.4, 0)])
    assert figure.ratio == pytest.approx(5.4 / 60.0)
    assert figure.ratio <= TARGET
    assert "= 0.09 (target ≤ 0.10: met; load 1.2–1.2)" in figure.line()
    assert WarmCold(_run(60.0, 721), [_run(24.0, 0)]).as_json()["met"] is False


def test_a_warm_run_that_embedded_items_is_refused() -> None:
    with pytest.raises(NotWarm, match="embedded 3 items"):
        WarmCold(_run(60.0, 721), [_run(20.0, 0), _run(40.0, 3)])
    with pytest.raises(ValueError, match="at least one warm run"):
        WarmCold(_run(60.0, 721), [])
