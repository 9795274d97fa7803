"""Helpers every evaluation shares: where ../shared is, reading JSON Lines, the held-out split."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"
_SPLIT_SALT = "horizon-split:"
_HELD_OUT_ONE_IN = 3


class SharedDataMissing(Exception):
    """../shared (or a file in it) is not there; the evaluation cannot run in this checkout."""


def shared_file(relative: str) -> Path:
    """A file under ../shared, or SharedDataMissing with a plain message."""
    path = SHARED / relative
    if not path.is_file():
        raise SharedDataMissing(
            f"skipped: {path} is not present (the labelled data lives in ../shared beside the "
            "repository; check it out there to run the evaluation)"
        )
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def is_held_out(key: str) -> bool:
    """Whether a labelled record belongs to the held-out part: one in three, chosen by a hash
    of its id so the split never changes and never depends on the content or labels."""
    digest = hashlib.sha256(f"{_SPLIT_SALT}{key}".encode()).hexdigest()
    return int(digest, 16) % _HELD_OUT_ONE_IN == 0
