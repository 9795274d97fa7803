"""Peak memory of each ingest stage, each stage in a process of its own.

One process cannot tell its stages apart by `ru_maxrss` (the peak of the whole process), so
each stage runs in a fresh `python -m bench.memory STAGE HOME BATCH`: it loads what the stage
needs (the model, the classifier, the store, the batch), resets the kernel's peak resident-set
mark (`/proc/self/clear_refs`), runs the stage, and reports the peak resident set during the
stage (`VmHWM`) and the resident set it started from. Where the mark cannot be reset (not
Linux), the peak is `ru_maxrss`, the process's peak since it started, and the output says so.

Stages: parse (`parse_feed` over the benchmark's feed bodies), dedupe (`plan_batch` and
`fold_near_duplicates` against the store, vectors given), embed (`embed_batch` with the
packaged model), tag (`tag_batch` with the classifier built beforehand), commit
(`commit_batch` into the store, passages embedded). The batch is written by `write_batch`.
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from horizon.item import Item

STAGES = ("parse", "dedupe", "embed", "tag", "commit")
ITEMS_FILE = "items.jsonl"
VECTORS_FILE = "vectors.npy"


@dataclass(frozen=True)
class StageMemory:
    stage: str
    items: int
    start_mb: float
    peak_mb: float
    peak_of: str  # "stage" (mark reset before it) or "process" (ru_maxrss since start)

    @property
    def rise_mb(self) -> float:
        return max(0.0, self.peak_mb - self.start_mb)


def write_batch(folder: Path, items: Sequence[Item], vectors: np.ndarray) -> Path:
    """The batch the stages read, as JSON Lines items and their vectors, row for row."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [item.model_dump_json() + "\n" for item in items]
    (folder / ITEMS_FILE).write_text("".join(lines), encoding="utf-8")
    np.save(folder / VECTORS_FILE, vectors)
    return folder


def measure_stage(stage: str, home: Path, batch: Path) -> StageMemory:
    """Run one stage in a fresh interpreter and read its report."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.memory", stage, str(home), str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    return StageMemory(**json.loads(completed.stdout.strip().splitlines()[-1]))


def describe(stages: Sequence[StageMemory]) -> list[str]:
    lines = [
        "| stage | items | resident at start (MB) | peak during the stage (MB) | rise (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in stages:
        note = "" if row.peak_of == "stage" else " (process peak)"
        lines.append(
            f"| {row.stage} | {row.items:,} | {row.start_mb:.0f} | {row.peak_mb:.0f}{note} "
            f"| {row.rise_mb:.0f} |"
        )
    return lines


def _status_mb(field: str) -> float | None:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _load_batch(batch: Path) -> tuple[list[Item], np.ndarray]:
    lines = (batch / ITEMS_FILE).read_text(encoding="utf-8").splitlines()
    return [Item.model_validate_json(line) for line in lines], np.load(batch / VECTORS_FILE)


def _prepare(stage: str, home: Path, batch: Path) -> tuple[Callable[[], object], int]:
    """Everything the stage needs, loaded; returns the stage to run and its item count."""
    from bench.raw import feed_bodies
    from horizon.classify import Classifier
    from horizon.config import PROJECT_ROOT, load_catalogue, load_settings
    from horizon.embed import default_embedder
    from horizon.ingest import (
        commit_batch,
        embed_batch,
        fold_near_duplicates,
        plan_batch,
        tag_batch,
    )
    from horizon.parse import ParseError, parse_feed
    from horizon.store import open_store

    if stage == "parse":
        bodies = feed_bodies()

        def parse() -> None:
            for feed in bodies:
                with contextlib.suppress(ParseError):  # a broken feed's output is its error
                    parse_feed(feed.body, feed.content_type, feed.url)

        return parse, len(bodies)
    items, vectors = _load_batch(batch)
    store = open_store(load_settings(home=home, env={}))
    if stage == "dedupe":

        def dedupe() -> int:
            plan = plan_batch(items, store)
            plan.embeddings.update(enumerate(vectors))
            return fold_near_duplicates(plan, store)

        return dedupe, len(items)
    plan = plan_batch(items, store)
    embedder = default_embedder()
    embedder.embed(["warm"])
    if stage == "embed":
        return lambda: embed_batch(plan, embedder), len(items)
    plan.embeddings.update(enumerate(vectors))
    if stage == "tag":
        tagger = Classifier(load_catalogue([PROJECT_ROOT / "controls.yaml"]), embedder)
        return lambda: tag_batch(plan, tagger), len(items)
    if stage == "commit":
        seen_at = datetime.now(UTC)
        return lambda: commit_batch(plan, store, seen_at, embedder), len(items)
    raise SystemExit(f"bench.memory: unknown stage {stage!r}; one of {', '.join(STAGES)}")


def main(argv: Sequence[str]) -> int:
    stage, home, batch = argv
    run, items = _prepare(stage, Path(home), Path(batch))
    start_mb = _status_mb("VmRSS") or 0.0
    reset = _reset_peak()
    run()
    stage_peak = _status_mb("VmHWM") if reset else None
    unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes there, KiB on Linux
    process_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / unit
    report = StageMemory(
        stage=stage,
        items=items,
        start_mb=start_mb,
        peak_mb=stage_peak if stage_peak is not None else process_peak,
        peak_of="stage" if stage_peak is not None else "process",
    )
    print(json.dumps(report.__dict__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
