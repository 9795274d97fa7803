"""The audit trail as CSV, for whoever must check what was changed, by whom and when."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from horizon.workspace.models import AuditEntry

AUDIT_COLUMNS = ("id", "at", "actor", "action", "item_id", "subject", "before", "after")
# Spreadsheet programs run a cell that starts with one of these as a formula; scraped titles
# and user text reach this file, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def audit_csv(entries: Iterable[AuditEntry]) -> str:
    """One row per change; `before` and `after` as JSON objects (empty when there was none)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                safe_cell(entry.actor),
                entry.action,
                safe_cell(entry.item_id or ""),
                safe_cell(entry.subject),
                _json_cell(entry.before),
                _json_cell(entry.after),
            ]
        )
    return buffer.getvalue()


def safe_cell(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _json_cell(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""
