from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from horizon.config import Settings
from horizon.embed import HashingEmbedder
from horizon.ingest import Ingestor
from horizon.normalise import item_from_record
from horizon.runtime import HomeBusyError, Runtime, exclusive_home
from horizon.workspace import COMMAND_LINE, Workspace


def test_the_tagger_learns_from_analyst_verdicts_stored_in_the_home(settings: Settings) -> None:
    item = item_from_record(
        {
            "id": "i1",
            "title": "ICO publishes guidance on AI and personal data in recruitment",
            "summary": "Employers using AI tools to screen candidates must assess data protection"
            " risks and explain automated decisions.",
            "publisher": "Information Commissioner's Office",
        }
    )
    first = Runtime(settings, embedder_override=HashingEmbedder())
    Ingestor(first.store, first.embedder, first.tagger).ingest([item], datetime.now(UTC))
    given = first.store.state.get_items(["i1"])["i1"].item.tags
    assert given is not None and given.controls
    rejected = given.controls[0].id
    Workspace(first.store.state).judge_tag(COMMAND_LINE, "i1", rejected, "reject")
    later = Runtime(settings, embedder_override=HashingEmbedder())
    (retagged,) = later.tagger.classify([item])
    assert rejected not in retagged.control_ids()


def test_a_second_writer_on_the_same_home_is_refused_plainly(settings: Settings) -> None:
    with (
        exclusive_home(settings),
        pytest.raises(HomeBusyError, match="is in use by process"),
        exclusive_home(settings),
    ):
        pass
    with exclusive_home(settings):
        pass


def test_classify_in_a_fresh_directory_creates_no_state(tmp_path: Path) -> None:
    runtime = Runtime(
        Settings(tmp_path, tmp_path / "s.yaml", Path("controls.yaml").resolve()),
        embedder_override=HashingEmbedder(),
    )
    runtime.tagger.classify([item_from_record({"title": "AI rules"})])
    assert not (tmp_path / "state.db").exists()


def test_storing_a_batch_with_nothing_new_never_loads_the_model(settings: Settings) -> None:
    from horizon.ingest import BatchPlan
    from pipelines.weekly import commit_stage

    runtime = Runtime(settings)
    assert commit_stage.fn(BatchPlan(items=[]), runtime, datetime.now(UTC)) == []
    assert "embedder" not in vars(runtime)


def test_the_vector_index_opens_chroma_on_first_use_and_only_once(settings: Settings) -> None:
    """A weekly run that finds nothing new reads only the state: Chroma is never imported."""
    from horizon.ingest import BatchPlan
    from horizon.state import StateDB
    from horizon.store import Store, VectorIndex, open_chroma
    from pipelines.weekly import commit_stage

    connected: list[int] = []

    def connect() -> object:
        connected.append(1)
        return open_chroma(settings)

    index = VectorIndex(connect)
    runtime = Runtime(settings)
    runtime.store = Store(index=index, state=StateDB(settings.state_db))
    assert commit_stage.fn(BatchPlan(items=[]), runtime, datetime.now(UTC)) == []
    assert runtime.store.state.count_items() == 0
    assert connected == []
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: index.count(), range(8))) == [0] * 8
    assert connected == [1]


def test_starting_the_command_line_imports_no_model_chart_or_crawler_library() -> None:
    """torch and scikit-learn are only needed to embed or to train, matplotlib to draw a
    chart, Scrapy to crawl (in a process of its own): a run that finds nothing new, and every
    command that only reads, start without them."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pipelines.cli; print(sorted(set(sys.modules) & "
            "{'torch', 'sklearn', 'sentence_transformers', 'matplotlib', 'scrapy'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert loaded.stdout.strip() == "[]"
