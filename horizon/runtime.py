"""The parts one installation runs with, built once and only when needed.

Commands, flows and the web workspace ask a `Runtime` for the store, the embedding model or the
tagger; each is built on first use (the model takes seconds to load) and shared afterwards.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from horizon.classify import Classifier, packaged_model
from horizon.config import Settings, SourcesFile, load_catalogue, load_sources
from horizon.embed import Embedder, embedder_for
from horizon.store import Store, open_store
from horizon.tagging.home import model_for_home
from horizon.workspace import load_feedback


@dataclass
class Runtime:
    settings: Settings
    embedder_override: Embedder | None = field(default=None, repr=False)

    @cached_property
    def sources(self) -> SourcesFile:
        return load_sources(self.settings.sources_file)

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings)

    @cached_property
    def embedder(self) -> Embedder:
        return self.embedder_override or embedder_for(self.settings.embedding)

    @cached_property
    def tagger(self) -> Classifier:
        """The classifier, retrained with every analyst verdict stored in this home so far
        (the home's model is rebuilt when the verdicts changed since it was trained)."""
        feedback = (
            load_feedback(self.store.state, self.store.index)
            if self.settings.state_db.exists()
            else []
        )
        catalogue = load_catalogue([self.settings.controls_file])
        model = model_for_home(
            self.settings.home, packaged_model(), catalogue, self.embedder, feedback
        )
        return Classifier(catalogue, self.embedder, feedback=feedback, model=model)


class HomeBusyError(RuntimeError):
    """Another process is already writing to this home."""


@contextmanager
def exclusive_home(settings: Settings) -> Iterator[None]:
    """Hold the home's writer lock: Chroma and the run state take one writer process at a time.

    The lock is an advisory `flock` on HOME/.writer.lock, released by the operating system even
    when the holder is killed, so a crashed run never blocks the next one.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / ".writer.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise HomeBusyError(
                f"{settings.home} is in use by {holder}; wait for it to finish, or use another "
                "--home"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
