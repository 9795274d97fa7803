"""Progress reporting from inside long work (a flow's stages) to whoever is watching.

Stages call `reporter().start(...)` and `advance(...)`; the command line installs a Rich
progress bar with `use_reporter`, and anything else (a scheduled run, a test) gets the silent
default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class Reporter(Protocol):
    def start(self, stage: str, total: int | None = None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self, stage: str, detail: str = "") -> None: ...


class SilentReporter:
    def start(self, stage: str, total: int | None = None) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None

    def finish(self, stage: str, detail: str = "") -> None:
        return None


_SILENT = SilentReporter()
_current: ContextVar[Reporter] = ContextVar("horizon_reporter")


def reporter() -> Reporter:
    return _current.get(_SILENT)


@contextmanager
def use_reporter(chosen: Reporter) -> Iterator[None]:
    token = _current.set(chosen)
    try:
        yield
    finally:
        _current.reset(token)
