from datetime import UTC, datetime

import pytest

from horizon.embed import HashingEmbedder
from horizon.ingest import Ingestor, plan_batch
from horizon.item import Item
from horizon.normalise import item_from_record
from horizon.store import Store

SEEN = datetime(2025, 9, 15, 6, tzinfo=UTC)
# Every test here runs on the embedded index and again on a real Chroma server.
pytestmark = pytest.mark.chroma_modes


class CountingEmbedder(HashingEmbedder):
    """The test embedder, counting how many texts it was asked to embed."""

    def __init__(self) -> None:
        self.embedded = 0

    def embed(self, texts, on_progress=None):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return super().embed(texts, on_progress)


def record(item_id: str, title: str, **fields: str) -> Item:
    return item_from_record({"id": item_id, "title": title, **fields})


FTC = dict(published="2025-09-11", source="ftc-press")
FR = dict(published="2025-09-12", source="federal-register-ai")


@pytest.fixture
def counting() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def ingestor(store: Store, counting: CountingEmbedder, tagger) -> Ingestor:  # type: ignore[no-untyped-def]
    return Ingestor(store, counting, tagger)


def test_new_items_keep_their_ids_and_a_rerun_is_all_unchanged_without_embedding(
    ingestor: Ingestor, store: Store, counting: CountingEmbedder
) -> None:
    items = [
        record("a1", "FTC launches inquiry into AI chatbots acting as companions", **FTC),
        record("a2", "Bank of England holds interest rates", published="2025-09-11"),
    ]
    first = ingestor.ingest(items, SEEN)
    assert [(r.id, r.status) for r in first] == [("a1", "new"), ("a2", "new")]
    assert counting.embedded == 2
    second = ingestor.ingest(items, SEEN)
    assert [r.status for r in second] == ["unchanged", "unchanged"]
    assert counting.embedded == 2
    assert store.index.count() == store.state.count_items() == 2
    assert set(store.index.ids()) == {"a1", "a2"}


def test_a_second_source_reporting_the_same_story_is_folded_in_and_named(
    ingestor: Ingestor, store: Store
) -> None:
    original = record("ftc-1", "FTC launches inquiry into AI chatbots acting as companions", **FTC)
    report = record("fr-9", "FTC launches an inquiry into AI chatbots acting as companions", **FR)
    results = ingestor.ingest([original, report], SEEN)
    assert [(r.status, r.duplicate_of) for r in results] == [("new", None), ("duplicate", "ftc-1")]
    stored = store.state.get_items(["ftc-1"])["ftc-1"]
    assert stored.sources == ["federal-register-ai", "ftc-press"]
    assert [r.reported_id for r in stored.other_reports] == ["fr-9"]
    assert store.index.count() == 1
    again = ingestor.ingest([report], SEEN)
    assert (again[0].status, again[0].duplicate_of) == ("unchanged", "ftc-1")


def test_near_duplicate_of_an_item_stored_in_an_earlier_run_is_folded(ingestor: Ingestor) -> None:
    ingestor.ingest([record("ftc-1", "FTC launches inquiry into AI chatbots", **FTC)], SEEN)
    later = ingestor.ingest([record("fr-9", "FTC launches inquiry into AI chatbots", **FR)], SEEN)
    assert (later[0].status, later[0].duplicate_of) == ("duplicate", "ftc-1")


def test_same_words_weeks_apart_or_from_the_same_source_stay_separate(ingestor: Ingestor) -> None:
    results = ingestor.ingest(
        [
            record("w1", "Weekly AI bulletin", published="2025-09-01", source="s1"),
            record("w2", "Weekly AI bulletin", published="2025-09-22", source="s2"),
            record("r1", "openai-python v1.2.3", published="2025-09-01", source="gh"),
            record("r2", "openai-python v1.2.3", published="2025-09-01", source="gh"),
        ],
        SEEN,
    )
    assert [r.status for r in results] == ["new", "new", "new", "new"]


def test_same_url_under_another_id_is_a_duplicate(ingestor: Ingestor, store: Store) -> None:
    url = "https://www.ftc.gov/news/ai-chatbots"
    results = ingestor.ingest(
        [
            record("one", "FTC inquiry", url=url, **FTC),
            record("two", "Totally different words here", url=url + "?utm_source=rss"),
        ],
        SEEN,
    )
    assert [(r.status, r.duplicate_of) for r in results] == [("new", None), ("duplicate", "one")]
    later = ingestor.ingest([record("three", "Again", url=url)], SEEN)
    assert (later[0].status, later[0].duplicate_of) == ("duplicate", "one")
    assert store.index.count() == 1


def test_changed_text_is_re_embedded_and_retagged(
    ingestor: Ingestor, store: Store, counting: CountingEmbedder
) -> None:
    ingestor.ingest([record("c1", "Bank of England holds rates", published="2025-09-11")], SEEN)
    changed = record(
        "c1", "Bank of England publishes AI model risk principles", published="2025-09-11"
    )
    result = ingestor.ingest([changed], SEEN)[0]
    assert (result.status, result.updated) == ("new", True)
    assert counting.embedded == 2
    stored = store.state.get_items(["c1"])["c1"].item
    assert stored.title.endswith("AI model risk principles")
    assert stored.tags is not None and stored.tags.relevant


def test_a_line_repeated_in_one_batch_is_stored_once(ingestor: Ingestor, store: Store) -> None:
    item = record("r", "AI guidance", **FTC)
    assert [r.status for r in ingestor.ingest([item, item], SEEN)] == ["new", "unchanged"]
    assert store.index.count() == 1


def test_crash_between_index_and_state_writes_is_repaired_by_the_next_run(
    ingestor: Ingestor, store: Store
) -> None:
    item = record("k1", "AI Act GPAI obligations apply", published="2025-08-02", source="ec")
    store.index.upsert([item], HashingEmbedder().embed([item.text()]))
    assert store.state.count_items() == 0
    result = ingestor.ingest([item], SEEN)[0]
    assert result.status == "new"
    assert store.index.count() == store.state.count_items() == 1


def test_plan_sorts_known_reports_by_content_hash(ingestor: Ingestor, store: Store) -> None:
    base = record("p1", "AI title", **FTC)
    ingestor.ingest([base], SEEN)
    plan = plan_batch([base, record("p1", "AI title, edited", **FTC), record("p2", "x")], store)
    assert [p for p, _ in plan.unchanged] == [0]
    assert plan.repeats == {1: 0}
    assert plan.fresh == [2]


def test_one_page_reported_by_two_sources_is_a_duplicate_first_and_unchanged_after(
    ingestor: Ingestor, store: Store
) -> None:
    url = "https://www.ftc.gov/news/ai-chatbots"
    # Feeds derive the id from the URL, so both sources report the same id.
    first = record("ftc-ai", "FTC inquiry into AI chatbots", url=url, source="ftc-press")
    second = record("ftc-ai", "FTC inquiry into AI chatbots", url=url, source="ftc-rss")
    labels = [(r.status, r.duplicate_of) for r in ingestor.ingest([first, second], SEEN)]
    assert labels == [("new", None), ("duplicate", "ftc-ai")]
    assert store.state.get_items(["ftc-ai"])["ftc-ai"].sources == ["ftc-press", "ftc-rss"]
    again = [(r.status, r.duplicate_of) for r in ingestor.ingest([first, second], SEEN)]
    assert again == [("unchanged", None), ("unchanged", "ftc-ai")]
    assert store.index.count() == 1


def test_passages_of_one_document_sharing_its_url_are_separate_items(
    ingestor: Ingestor, store: Store
) -> None:
    url = "https://rulebook.example.org/coll"
    passages = [
        record("coll-4.3.3-1", "4.3.3.(1) A Fund Manager must keep records", url=url),
        record("coll-4.3.3-2", "4.3.3.(2) A Fund Manager must keep records", url=url),
        record("coll-4.3.4", "The records must be kept for six years", url=url),
    ]
    assert [r.status for r in ingestor.ingest(passages, SEEN)] == ["new", "new", "new"]
    later = record("coll-4.3.5", "The records must be kept for six years.", url=url)
    assert ingestor.ingest([later], SEEN)[0].status == "new"
    assert store.index.count() == 4


def test_undated_provisions_one_word_apart_stay_separate_and_a_re_ingested_copy_folds(
    ingestor: Ingestor, store: Store
) -> None:
    duty = "must appoint an eligible custodian for its property and tell the Regulator within"
    domestic = f"A Domestic Fund {duty} ten business days of any change of that custodian"
    foreign = f"A Foreign Fund {duty} ten business days of any change of that custodian"
    results = ingestor.ingest(
        [
            record("funds-1", domestic),
            record("other-1", foreign),
            record("copy-9", domestic.lower() + "."),
        ],
        SEEN,
    )
    assert [(r.status, r.duplicate_of) for r in results] == [
        ("new", None),
        ("new", None),
        ("duplicate", "funds-1"),
    ]
    assert store.index.count() == 2
