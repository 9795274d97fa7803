"""The `horizon` command line (Typer). Each command lives in its own module of this package;
`run` and `serve` are added by `pipelines.cli`, which owns the Prefect flows and is what the
console script points at."""

from horizon.cli import (
    archive,
    briefing,
    channels,
    digest,
    find,
    instruments,
    items,
    readiness,
    sources,
    suppliers,
    train,
)
from horizon.cli import workspace as workspace
from horizon.cli.common import app

__all__ = [
    "app",
    "archive",
    "briefing",
    "channels",
    "digest",
    "find",
    "instruments",
    "items",
    "readiness",
    "sources",
    "suppliers",
    "train",
]
