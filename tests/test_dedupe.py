from datetime import UTC, datetime

from horizon.dedupe import DedupePolicy, best_duplicate, days_apart, is_near_duplicate
from horizon.item import Item


def item(item_id: str, source: str | None, published: str | None, precision: str = "day") -> Item:
    return Item(
        id=item_id,
        title=item_id,
        source=source,
        published=datetime.fromisoformat(published).replace(tzinfo=UTC) if published else None,
        published_precision=precision,  # type: ignore[arg-type]
        content_hash=item_id,
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


def test_undated_items_need_much_closer_wording() -> None:
    dated, undated = item("a", "x", "2025-09-11"), item("b", "y", None)
    assert not is_near_duplicate(undated, dated, 0.85, POLICY)
    assert is_near_duplicate(undated, dated, 0.95, POLICY)


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
