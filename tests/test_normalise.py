from datetime import UTC, datetime

import pytest

from horizon.config import Source
from horizon.item import Entry
from horizon.normalise import (
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    RecordError,
    canonical_url,
    clean_text,
    content_hash,
    item_from_record,
    normalise_entry,
    parse_published,
)

SOURCE = Source(
    id="cma-govuk",
    name="CMA",
    publisher="Competition and Markets Authority",
    category="regulator",
    jurisdiction="UK",
    kind="atom",
    url="https://www.gov.uk/government/organisations/competition-and-markets-authority.atom",
)


def test_clean_text_drops_markup_scripts_and_entities() -> None:
    html = "<p>The <b>CMA</b>&nbsp;opens&amp; a review<script>alert(1)</script></p>\n\n<p>of AI</p>"
    assert clean_text(html) == "The CMA opens& a review of AI"


def test_canonical_url_strips_tracking_fragment_case_and_trailing_slash() -> None:
    url = "HTTP://WWW.Gov.UK/government/news/ai-review/?utm_source=rss&b=2&a=1&fbclid=x#top"
    assert canonical_url(url) == "http://www.gov.uk/government/news/ai-review?a=1&b=2"
    assert canonical_url("/news/x", base="https://ico.org.uk/feed/") == "https://ico.org.uk/news/x"
    assert canonical_url("mailto:someone@example.org") is None
    assert canonical_url("   ") is None


def test_canonical_url_keeps_the_scheme_the_publisher_served() -> None:
    assert canonical_url("http://example.org/a") == "http://example.org/a"
    assert canonical_url("https://example.org:443/a") == "https://example.org/a"
    assert canonical_url("http://example.org:443/a") == "http://example.org:443/a"
    assert canonical_url("/b", base="http://example.org/feed") == "http://example.org/b"


def test_canonical_url_keeps_ipv6_literals_and_refuses_broken_addresses() -> None:
    assert canonical_url("http://[::1]:8080/feed/") == "http://[::1]:8080/feed"
    assert canonical_url("http://[::1/feed") is None
    assert canonical_url("http://example.org:99999/feed") is None
    assert canonical_url("http://example.org:port/feed") is None


@pytest.mark.parametrize(
    ("written", "expected", "precision"),
    [
        ("Mon, 15 Sep 2025 05:12:00 GMT", datetime(2025, 9, 15, 5, 12, tzinfo=UTC), "day"),
        ("2025-09-15T07:12:00+02:00", datetime(2025, 9, 15, 5, 12, tzinfo=UTC), "day"),
        ("2025-09-15", datetime(2025, 9, 15, tzinfo=UTC), "day"),
        ("12 September 2025", datetime(2025, 9, 12, tzinfo=UTC), "day"),
        ("2025-05", datetime(2025, 5, 1, tzinfo=UTC), "month"),
        ("May 2025", datetime(2025, 5, 1, tzinfo=UTC), "month"),
        ("2025", datetime(2025, 1, 1, tzinfo=UTC), "year"),
    ],
)
def test_published_dates_become_utc_with_their_precision(
    written: str, expected: datetime, precision: str
) -> None:
    assert parse_published(written) == (expected, precision)


def test_unparseable_and_far_future_dates_are_dropped() -> None:
    assert parse_published("soon")[0] is None
    assert parse_published("3200-01-30T00:00:00")[0] is None


def test_entry_becomes_item_with_stable_id_and_hash() -> None:
    entry = Entry(
        title="  CMA publishes AI foundation models update ",
        url="https://www.gov.uk/government/news/cma-ai?utm_medium=feed",
        summary_html="<p>An update on <em>foundation models</em>.</p>",
        published="2025-09-10T09:30:00+01:00",
    )
    item = normalise_entry(entry, SOURCE)
    same_page_other_tracking = normalise_entry(
        entry.model_copy(update={"url": "https://www.gov.uk/government/news/cma-ai/?utm_source=x"}),
        SOURCE,
    )
    assert item.id == same_page_other_tracking.id
    assert item.url == "https://www.gov.uk/government/news/cma-ai"
    assert item.title == "CMA publishes AI foundation models update"
    assert item.summary == "An update on foundation models ."
    assert item.published == datetime(2025, 9, 10, 8, 30, tzinfo=UTC)
    assert item.source == "cma-govuk" and item.source_jurisdiction == "UK"
    assert item.content_hash == content_hash(item.title, item.summary)
    edited = normalise_entry(entry.model_copy(update={"summary_html": "Changed."}), SOURCE)
    assert edited.id == item.id and edited.content_hash != item.content_hash


def test_an_item_served_over_http_keeps_its_http_address() -> None:
    entry = Entry(title="Notice", url="http://legacy.example.org/notice?utm_source=rss")
    assert normalise_entry(entry, SOURCE).url == "http://legacy.example.org/notice"


def test_record_keeps_given_id_and_rejects_missing_title() -> None:
    item = item_from_record({"id": "x1", "title": "AI rules", "published": "2025-03-01"})
    assert item.id == "x1"
    derived = item_from_record({"title": "AI rules", "url": "https://example.org/a"})
    assert derived.id == item_from_record({"title": "Other", "url": "https://example.org/a"}).id
    with pytest.raises(RecordError, match="'title' is required"):
        item_from_record({"id": "x2", "summary": "no title"})
    with pytest.raises(RecordError, match="'published' is not a date"):
        item_from_record({"title": "t", "published": "someday"})


@pytest.mark.parametrize("bad_id", ["a\nb", "a\rb", "tab\there", "nul\x00", "ls\u2028x"])
def test_an_id_with_a_line_break_or_control_character_is_refused_at_ingest(bad_id: str) -> None:
    with pytest.raises(RecordError, match="'id' contains a line break or control character"):
        item_from_record({"id": bad_id, "title": "AI rules"})


def test_a_source_with_a_line_break_and_an_overlong_id_are_refused() -> None:
    with pytest.raises(RecordError, match="'source' contains a line break"):
        item_from_record({"title": "AI rules", "source": "ico\n# heading"})
    with pytest.raises(RecordError, match="'id' is 201 characters; at most 200 allowed"):
        item_from_record({"id": "x" * 201, "title": "AI rules"})


def test_overlong_fields_are_cut_to_their_limit_and_each_cut_is_noted() -> None:
    notes: list[str] = []
    item = item_from_record(
        {
            "title": "T" * 1_000_000,
            "summary": "S" * 19_999,
            "publisher": "P" * 300,
            "url": "https://example.org/" + "a" * 3000,
        },
        notes=notes,
    )
    assert (len(item.title), len(item.summary), len(item.publisher)) == (
        MAX_TITLE_CHARS,
        MAX_SUMMARY_CHARS,
        200,
    )
    assert item.url is None
    assert notes == [
        "title was 1,000,000 characters; kept the first 1,000",
        "summary was 19,999 characters; kept the first 4,000",
        "url was 3,020 characters (over 2,048); dropped it",
        "publisher was 300 characters; kept the first 200",
    ]


def test_a_feed_entry_with_a_huge_title_is_cut_and_the_run_warns_on_its_source() -> None:
    from horizon.fetch import FetchOutcome
    from pipelines.weekly import normalise_source

    entries = [Entry(title="A" * 50_000, summary_html="ok"), Entry(title="Fine", summary_html="x")]
    outcome = FetchOutcome(source=SOURCE.id, outcome="ok", entries=entries)
    checked, items, warnings = normalise_source.fn(outcome, SOURCE)
    assert checked.outcome == "ok" and [len(item.title) for item in items] == [1000, 4]
    assert warnings == [
        f"{SOURCE.id}: entry '{'A' * 60}': title was 50,000 characters; kept the first 1,000"
    ]


def test_a_date_longer_than_any_written_date_is_not_parsed() -> None:
    assert parse_published("12 September 2025 " + "x" * 200) == (None, "day")


@pytest.mark.parametrize("written", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_date_with_no_utc_equivalent_is_dropped_not_raised(written: str) -> None:
    assert parse_published(written) == (None, "day")
