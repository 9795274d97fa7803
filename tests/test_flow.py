"""The weekly Prefect flow end to end on a small recorded snapshot: real Scrapy replay, real
model, real classifier, real Chroma, real Prefect (its test harness)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from horizon.config import PROJECT_ROOT, load_settings
from horizon.state import StateDB
from horizon.store import open_store

SNAPSHOT = Path(__file__).parent / "snapshots" / "small"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def run_flow(home: Path, snapshot: Path = SNAPSHOT) -> dict[str, Any]:
    from pipelines.weekly import weekly_scan

    return weekly_scan(
        home=str(home),
        sources_file=str(snapshot / "sources.yaml"),
        controls_file=str(PROJECT_ROOT / "controls.yaml"),
        replay_dir=str(snapshot),
    )


@pytest.fixture(scope="module")
def first_run(prefect_api: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("home")
    return home, run_flow(home)


def test_flow_crawls_every_source_and_names_the_failing_one(first_run: tuple[Path, dict]) -> None:
    _, summary = first_run
    assert summary["sources"] == {"checked": 5, "ok": 4, "unchanged": 0, "failed": 1}
    (failure,) = summary["failed_sources"]
    assert failure["source"] == "ofcom-news"
    assert failure["http_status"] == 404
    assert "404" in failure["error"]


def test_flow_folds_the_same_story_from_two_sources_and_indexes_the_rest(
    first_run: tuple[Path, dict],
) -> None:
    home, summary = first_run
    items = summary["items"]
    assert items["fetched"] == 8
    assert (items["new"], items["duplicate"], items["unchanged"]) == (7, 1, 0)
    assert items["embedded"] == 8
    store = open_store(load_settings(home, env={}))
    assert store.index.count() == store.state.count_items() == items["indexed"] == 7


def test_flow_writes_the_weeks_digest_with_items_evidence_and_coverage(
    first_run: tuple[Path, dict],
) -> None:
    home, summary = first_run
    assert summary["digest"]["week"] == "2025-W37"
    markdown = Path(summary["digest"]["paths"][0])
    assert markdown == home / "digests" / "2025-W37.md"
    text = markdown.read_text(encoding="utf-8")
    assert "FTC Launches Inquiry into AI Chatbots Acting as Companions" in text
    assert "Also reported by: Office of the Federal Register (federal-register-ai)" in text
    assert "Red-teaming AI agents for prompt injection" in text
    assert "closes 20 Oct 2025" in text
    assert "**ofcom-news** (Ofcom news): " in text
    assert "5 sources checked: 4 OK, 1 failed." in text
    assert "used-car" not in text.lower() and "broadband" not in text.lower()
    assert (home / "digests" / "2025-W37.html").exists()


def test_second_run_is_incremental(first_run: tuple[Path, dict]) -> None:
    home, _ = first_run
    again = run_flow(home)
    assert again["sources"] == {"checked": 5, "ok": 0, "unchanged": 4, "failed": 1}
    assert again["items"]["embedded"] == 0
    assert again["items"]["new"] == again["items"]["duplicate"] == 0
    assert again["items"]["indexed"] == 7
    checks = StateDB(home / "state.db").checks_for_run(again["run_id"])
    assert {c.source: c.consecutive_failures for c in checks}["ofcom-news"] == 2


def test_a_run_that_dies_while_storing_is_completed_by_the_next_without_duplicates(
    prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT, snapshot)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("simulated kill between the vector and state writes")

    with monkeypatch.context() as patch:
        patch.setattr(StateDB, "save_new_items", killed)
        with pytest.raises(BaseException, match="simulated kill"):
            run_flow(tmp_path / "home", snapshot)
    state = StateDB(tmp_path / "home" / "state.db")
    assert state.count_items() == 0
    assert state.validators(["dsit-govuk", "ftc-press"]) == {}
    summary = run_flow(tmp_path / "home", snapshot)
    assert (summary["items"]["new"], summary["items"]["duplicate"]) == (7, 1)
    store = open_store(load_settings(tmp_path / "home", env={}))
    assert store.index.count() == store.state.count_items() == 7
    assert state.last_run()["status"] == "completed"
