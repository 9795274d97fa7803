from datetime import UTC, datetime

import numpy as np
import pytest

from horizon.dedupe import (
    BatchIndex,
    DedupePolicy,
    best_duplicate,
    days_apart,
    different_provisions,
    is_near_duplicate,
    provision_number,
    same_document,
    wording_key,
)
from horizon.item import Item
from horizon.normalise import content_hash


def item(
    item_id: str,
    source: str | None,
    published: str | None,
    precision: str = "day",
    title: str | None = None,
    url: str | None = None,
) -> Item:
    text = title or item_id
    return Item(
        id=item_id,
        title=text,
        url=url,
        source=source,
        published=datetime.fromisoformat(published).replace(tzinfo=UTC) if published else None,
        published_precision=precision,  # type: ignore[arg-type]
        content_hash=content_hash(text, ""),
    )


POLICY = DedupePolicy(
    similarity_within_days=0.72,
    close_days=3,
    similarity_within_near_days=0.84,
    near_days=10,
    similarity_when_undated=0.92,
)


def test_days_apart_counts_days_between_exact_dates() -> None:
    first = item("a", "ftc", "2025-09-11")
    assert days_apart(first, item("b", "fr", "2025-09-13")) == 2
    assert days_apart(first, item("c", "fr", "2025-10-02")) == 21


def test_month_precise_date_is_close_to_any_day_of_that_month_and_year_only_is_unknown() -> None:
    exact = item("a", "anthropic", "2025-05-22")
    assert days_apart(exact, item("b", "blog", "2025-05-01", "month")) == 0
    assert days_apart(exact, item("c", "blog", "2025-04-01", "month")) == float("inf")
    assert days_apart(exact, item("d", "blog", "2025-01-01", "year")) is None
    assert days_apart(exact, item("e", "blog", None)) is None


def test_similar_reports_from_two_sources_on_the_same_day_are_one_announcement() -> None:
    ftc, register = item("a", "ftc", "2025-09-11"), item("b", "fr", "2025-09-11")
    assert is_near_duplicate(register, ftc, 0.80, POLICY)
    assert not is_near_duplicate(register, ftc, 0.60, POLICY)


def test_a_week_apart_reports_must_read_much_more_alike() -> None:
    first, week_later = item("a", "dsit", "2025-07-10"), item("b", "ico", "2025-07-17")
    assert not is_near_duplicate(week_later, first, 0.80, POLICY)
    assert is_near_duplicate(week_later, first, 0.86, POLICY)


def test_equally_similar_items_weeks_apart_are_different_events() -> None:
    guidelines, obligations = item("a", "ec", "2025-07-18"), item("b", "ec2", "2025-08-02")
    assert not is_near_duplicate(obligations, guidelines, 0.99, POLICY)


def test_undated_items_fold_only_with_the_same_wording_and_high_similarity() -> None:
    words = "A Fund is either a Domestic Fund or a Foreign Fund"
    dated = item("a", "x", "2025-09-11", title=words)
    same_words = item("b", "y", None, title=words.upper() + ".")
    assert is_near_duplicate(same_words, dated, 0.95, POLICY)
    assert not is_near_duplicate(same_words, dated, 0.85, POLICY)
    one_word_apart = item("c", "y", None, title=words.replace("Domestic", "Local"))
    assert not is_near_duplicate(one_word_apart, dated, 0.99, POLICY)


@pytest.mark.parametrize(
    ("title", "number"),
    [
        ("4.3.3.(1) A Fund Manager must keep records", "4.3.3(1)"),
        ("4.3.3 (2) A Fund Manager must keep records", "4.3.3(2)"),
        ("Article 5(1)(a) prohibits manipulative techniques", "article 5(1)(a)"),
        ("Art. 5 (1) (a) prohibits manipulative techniques", "article 5(1)(a)"),
        ("Rule 2.1 Application", "rule 2.1"),
        ("§ 12 Definitions", "section 12"),
        ("(2) The Regulator may waive the requirement", "(2)"),
        ("(iv) a Foreign Fund", "(iv)"),
        ("12. A person must not", "12"),
        ("Schedule B Fees", "schedule b"),
        ("Annex III high-risk systems", "annex iii"),
        ("FTC launches inquiry into AI chatbots", None),
        ("10 things to know about the AI Act", None),
        ("Part of the guidance was withdrawn", None),
    ],
)
def test_provision_number_is_read_from_the_opening_of_the_text(
    title: str, number: str | None
) -> None:
    assert provision_number(item("x", None, None, title=title)) == number


def test_provisions_with_different_numbers_are_never_folded_however_similar() -> None:
    first = item("rb-a", "one", None, title="4.3.3.(1) A Fund Manager must keep records")
    second = item("other-b", "two", None, title="4.3.3.(2) A Fund Manager must keep records")
    assert different_provisions(first, second)
    assert not is_near_duplicate(second, first, 1.0, POLICY)
    dated_first = first.model_copy(update={"published": datetime(2025, 1, 1, tzinfo=UTC)})
    dated_second = second.model_copy(update={"published": datetime(2025, 1, 1, tzinfo=UTC)})
    assert not is_near_duplicate(dated_second, dated_first, 1.0, POLICY)


def test_passages_of_one_document_are_never_folded_even_with_the_same_words() -> None:
    words = "This Rule has been deleted"
    first = item("coll-4-1", None, None, title=words)
    second = item("coll-4-2", None, None, title=words)
    assert same_document(first, second)
    assert not is_near_duplicate(second, first, 1.0, POLICY)
    by_url = item("p1", None, None, title="x", url="https://example.org/rulebook")
    assert same_document(by_url, item("p2", None, None, title="y", url=by_url.url))
    assert not same_document(by_url, item("p2", "s", None, title="y", url=by_url.url))
    assert not same_document(item("e032", None, None), item("e055", None, None))


def test_same_text_re_ingested_under_another_id_is_folded() -> None:
    words = "A Fund is either a Domestic Fund or a Foreign Fund"
    original = item("rulebook-2-1", None, None, title=words)
    again = item("copy-17", None, None, title=words)
    assert wording_key(original) == wording_key(again)
    assert is_near_duplicate(again, original, 1.0, POLICY)


def test_batch_index_offers_only_similar_items_a_candidate_could_duplicate() -> None:
    index = BatchIndex(dimensions=2)
    alike, unlike = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    index.add(item("same-source", "feed", "2025-09-11"), alike)
    index.add(item("other-near", "wire", "2025-09-15"), alike)
    index.add(item("other-unlike", "wire", "2025-09-15"), unlike)
    index.add(item("other-far", "wire", "2025-12-30"), alike)
    index.add(item("undated", "wire", None), alike)
    block = [item("new", "feed", "2025-09-12"), item("next", "feed", "2025-09-13")]
    offered = index.candidates(block, np.vstack([alike, alike]))
    assert [{found.id for found, _ in row} for row in offered] == [{"other-near", "undated"}] * 2
    assert all(similarity == 1.0 for row in offered for _, similarity in row)


def test_two_entries_of_one_source_are_never_folded_together() -> None:
    release_1, release_2 = item("v1.2.3", "gh", "2025-09-11"), item("v1.2.4", "gh", "2025-09-11")
    assert not is_near_duplicate(release_2, release_1, 0.99, POLICY)


def test_best_duplicate_picks_the_most_similar_qualifying_neighbour() -> None:
    candidate = item("new", "a", "2025-09-11")
    close, closer, too_old = (
        item("x", "b", "2025-09-10"),
        item("y", "c", "2025-09-12"),
        item("z", "d", "2024-01-01"),
    )
    chosen = best_duplicate(candidate, [(close, 0.8), (closer, 0.9), (too_old, 0.99)], POLICY)
    assert chosen is closer
    assert best_duplicate(candidate, [(candidate, 1.0)], POLICY) is None


@pytest.mark.slow
def test_no_distinct_provision_of_the_corpus_is_folded_and_every_true_duplicate_is() -> None:
    from evaluation.dedupe import provision_folds
    from horizon.embed import default_embedder

    folds = provision_folds(default_embedder())
    assert folds.passages - folds.duplicates >= 150
    assert folds.wrong_folds == []
    assert folds.duplicates_found == folds.duplicates >= 5
