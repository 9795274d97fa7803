"""The readiness table as CSV and as an iCalendar file of the dates obligations apply from."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from horizon.calendar import CalendarEvent, build_calendar
from horizon.readiness.tracker import ReadinessRow

CSV_COLUMNS = (
    "control",
    "instrument",
    "obligation",
    "who",
    "what",
    "from",
    "articles",
    "status",
    "reasons",
)


def row_json(row: ReadinessRow) -> dict[str, Any]:
    return {
        "control": row.control,
        "instrument": row.instrument_id,
        "obligation": row.obligation_id,
        "who": list(row.who),
        "what": row.what,
        "from": row.from_date.isoformat() if row.from_date else None,
        "articles": list(row.articles),
        "status": row.status,
        "reasons": list(row.reasons),
    }


def readiness_csv(rows: Sequence[ReadinessRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        record = row_json(row)
        writer.writerow(
            [
                record["control"],
                record["instrument"],
                record["obligation"],
                "; ".join(record["who"]),
                record["what"],
                record["from"] or "",
                "; ".join(record["articles"]),
                record["status"],
                "; ".join(record["reasons"]),
            ]
        )
    return buffer.getvalue()


def readiness_calendar(rows: Sequence[ReadinessRow], stamped: datetime) -> bytes:
    """One all-day event per dated obligation; its UID stays the same across exports."""
    events = [
        CalendarEvent(
            uid=f"{row.instrument_id}.{row.obligation_id}@horizon-readiness",
            day=row.from_date,
            summary=f"{row.control}: {row.instrument_name} applies ({row.status})",
            description=f"{row.what} ({', '.join(row.articles) or 'no article given'})",
            categories=(row.control, row.status),
        )
        for row in rows
        if row.from_date is not None
    ]
    return build_calendar(events, "Horizon readiness", stamped)
