"""A warm weekly run against a cold one: `horizon run --replay demo/snapshot`, as `make demo`
runs it, first into an empty home, then again into the same home, where every source answers
"304 Not Modified" and nothing is new. Issue 10's target is warm ÷ cold ≤ 0.10.

Each run is a real `horizon run` process (Python start-up, the local Prefect server, the crawl
process and chromium included): what a user waits for. The figure is the median warm run over
the cold one, with the load average beside it, because on a shared machine only runs made close
together compare.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from horizon.config import PROJECT_ROOT

TARGET = 0.10
DEMO_SNAPSHOT = PROJECT_ROOT / "demo" / "snapshot"


class NotWarm(RuntimeError):
    """A run meant to be warm embedded items: the figure would compare two cold runs."""


@dataclass(frozen=True)
class DemoRun:
    """One `horizon run`: its wall time, its stages' seconds and what it embedded."""

    seconds: float
    stages: dict[str, float]
    embedded: int
    load: float

    @classmethod
    def from_summary(cls, seconds: float, summary: dict[str, Any], load: float) -> DemoRun:
        return cls(
            seconds=seconds,
            stages={name: float(value) for name, value in summary["stage_seconds"].items()},
            embedded=int(summary["items"]["embedded"]),
            load=load,
        )


@dataclass(frozen=True)
class WarmCold:
    cold: DemoRun
    warm: list[DemoRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.warm:
            raise ValueError("a warm ÷ cold figure needs at least one warm run")
        for run in self.warm:
            if run.embedded:
                raise NotWarm(
                    f"a warm run embedded {run.embedded} items; the demo home was not warm"
                )

    @property
    def ratio(self) -> float:
        return statistics.median(run.seconds for run in self.warm) / self.cold.seconds

    def line(self) -> str:
        warm = " · ".join(f"{run.seconds:.1f}" for run in self.warm)
        verdict = "met" if self.ratio <= TARGET else "not met"
        loads = [self.cold.load] + [run.load for run in self.warm]
        return (
            f"demo warm ÷ cold: {warm} s ÷ {self.cold.seconds:.1f} s = {self.ratio:.2f} "
            f"(target ≤ {TARGET:.2f}: {verdict}; load {min(loads):.1f}–{max(loads):.1f})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "cold": self.cold.__dict__,
            "warm": [run.__dict__ for run in self.warm],
            "ratio": self.ratio,
            "target": TARGET,
            "met": self.ratio <= TARGET,
        }


def timed_run(home: Path, snapshot: Path) -> DemoRun:
    """One `horizon run --replay SNAPSHOT --json` into `home`, in its own process."""
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--replay", str(snapshot), "--json"],
        cwd=PROJECT_ROOT,
        env=os.environ | {"HORIZON_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if finished.returncode != 0:
        raise RuntimeError(
            f"horizon run exited with {finished.returncode}: {finished.stderr.strip()[-400:]}"
        )
    return DemoRun.from_summary(seconds, json.loads(finished.stdout), os.getloadavg()[0])


def measure_warm_cold(snapshot: Path = DEMO_SNAPSHOT, warm_runs: int = 2) -> WarmCold:
    """A cold run into a fresh home, then `warm_runs` runs into the same home."""
    with tempfile.TemporaryDirectory(prefix="horizon-bench-demo-") as directory:
        home = Path(directory)
        cold = timed_run(home, snapshot)
        return WarmCold(cold, [timed_run(home, snapshot) for _ in range(warm_runs)])
