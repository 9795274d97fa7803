"""A run `horizon run` opens before its flow starts (its crawl running while Prefect's local
server boots): what happens when the flow never takes it over. The path where the flow does
is run end to end, through a real local server, in tests/test_prefect_server.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from horizon.config import load_settings
from horizon.runtime import Runtime
from pipelines.opening import release, start_early, take_over

SNAPSHOT = Path(__file__).parent / "snapshots" / "small"


def test_a_run_the_flow_never_took_over_stops_its_crawl_and_is_marked_interrupted(
    tmp_path: Path,
) -> None:
    runtime = Runtime(
        load_settings(home=tmp_path / "home", sources_file=SNAPSHOT / "sources.yaml", env={})
    )
    opened = start_early(runtime, SNAPSHOT, send=False)
    assert opened.crawl is not None
    assert runtime.store.state.last_run()["status"] == "running"  # type: ignore[index]

    release(runtime, opened)

    assert opened.crawl.child.poll() is not None
    assert runtime.store.state.last_run()["status"] == "interrupted"  # type: ignore[index]
    assert not opened.workdir.exists()
    with pytest.raises(LookupError, match="was not opened by this process"):
        take_over(opened.run_id)


def test_a_flow_run_started_elsewhere_cannot_take_over_a_run_it_did_not_open() -> None:
    with pytest.raises(LookupError, match="leave opened_run unset"):
        take_over(10_000)
