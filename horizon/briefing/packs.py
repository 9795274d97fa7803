"""Writing a briefing pack (Markdown, HTML, PDF) and recording it in the run state, so the
learner's evidence log cites every pack, wherever it was written (`horizon briefing --out`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from horizon.briefing.build import Briefing
from horizon.briefing.render import render_html, render_markdown, render_pdf
from horizon.state import StateDB, utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS briefing_packs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    paths TEXT NOT NULL,
    written_by TEXT,
    written_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class PackRecord:
    start: date
    end: date
    paths: tuple[Path, ...]
    written_by: str | None
    written_at: datetime


def write_pack(
    briefing: Briefing, folder: Path, state: StateDB | None, by: str | None = None
) -> list[Path]:
    """Write `briefing-FROM-TO.md`, `.html` and `.pdf` into `folder` and, given a state, record
    the pack (its period, absolute paths and who wrote it)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"briefing-{briefing.start}-{briefing.end}"
    paths = [stem.with_suffix(".md"), stem.with_suffix(".html"), stem.with_suffix(".pdf")]
    paths[0].write_text(render_markdown(briefing), encoding="utf-8")
    paths[1].write_text(render_html(briefing), encoding="utf-8")
    paths[2].write_bytes(render_pdf(briefing))
    if state is not None:
        state.ensure_schema(SCHEMA)
        with state.connect() as connection:
            connection.execute(
                "INSERT INTO briefing_packs (period_start, period_end, paths, written_by,"
                " written_at) VALUES (?, ?, ?, ?, ?)",
                (
                    briefing.start.isoformat(),
                    briefing.end.isoformat(),
                    json.dumps([str(path.resolve()) for path in paths]),
                    by,
                    utc_now().isoformat(),
                ),
            )
    return paths


def recorded_packs(state: StateDB) -> list[PackRecord]:
    """Every pack written with a state, oldest first."""
    state.ensure_schema(SCHEMA)
    with state.connect() as connection:
        rows = connection.execute("SELECT * FROM briefing_packs ORDER BY id").fetchall()
    return [
        PackRecord(
            start=date.fromisoformat(row["period_start"]),
            end=date.fromisoformat(row["period_end"]),
            paths=tuple(Path(path) for path in json.loads(row["paths"])),
            written_by=row["written_by"],
            written_at=datetime.fromisoformat(row["written_at"]),
        )
        for row in rows
    ]
