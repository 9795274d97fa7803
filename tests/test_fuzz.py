"""Property-based fuzzing (hypothesis) of the stages that read outside text: the normaliser, the
URL canonicaliser, date extraction and feed parsing.

`make test` runs a modest, derandomised number of examples (the same ones on every machine and
every run); `make fuzz` (HORIZON_FUZZ=1) runs many more with a fresh random seed each time.
No deadline is set: a slow machine must not fail a test.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from horizon.config import Source
from horizon.dates import extract_dates
from horizon.digest import escape_markdown, one_line
from horizon.item import Entry
from horizon.normalise import (
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    RecordError,
    canonical_url,
    item_from_record,
    normalise_entry,
    parse_published,
)
from horizon.parse import ParseError, parse_feed

LONG_RUN = os.environ.get("HORIZON_FUZZ") == "1"
FUZZ = settings(
    max_examples=3000 if LONG_RUN else 60,
    derandomize=not LONG_RUN,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEW = settings(FUZZ, max_examples=600 if LONG_RUN else 15)  # for the slower properties

SOURCE = Source(
    id="fuzz-source",
    name="Fuzz",
    publisher="Fuzz Authority",
    category="regulator",
    jurisdiction="EU",
    kind="rss",
    url="https://fuzz.example.org/feed",
)
HOSTS = st.sampled_from(
    ["example.org", "EXAMPLE.org", "127.0.0.1", "[::1]", "xn--bcher-kva.example", "a.b.c"]
)
URL_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
URLS = st.builds(
    lambda scheme, user, host, port, path, query, fragment: (
        f"{scheme}://{user}{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS", "ftp", "javascript", "file"]),
    st.sampled_from(["", "user@", "user:pw@"]),
    HOSTS,
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":x"]),
    st.one_of(st.just(""), URL_TEXT.map(lambda text: "/" + text)),
    st.one_of(st.just(""), URL_TEXT.map(lambda text: "?" + text)),
    st.one_of(st.just(""), URL_TEXT.map(lambda text: "#" + text)),
)
DATE_TEXT = st.one_of(
    st.text(max_size=60),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    st.datetimes().map(lambda moment: moment.strftime("%d %B %Y")),
)
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@FUZZ
@given(st.one_of(URLS, st.text(max_size=80)), st.one_of(st.none(), URLS))
@example("http://[::1/feed", None)
@example("http://example.org:99999/", None)
@example("//evil.example/x", "https://example.org/feed")
@example("http://example.org/ /", None)
def test_the_canonical_url_is_none_or_a_web_address_and_is_stable(
    url: str, base: str | None
) -> None:
    canonical = canonical_url(url, base)
    if canonical is None:
        return
    assert canonical.startswith(("http://", "https://"))
    assert "#" not in canonical
    assert canonical_url(canonical) == canonical


@FUZZ
@given(URLS)
def test_the_canonical_url_keeps_the_scheme(url: str) -> None:
    canonical = canonical_url(url)
    if canonical is not None:
        assert canonical.split("://")[0] == url.split("://")[0].lower()


@FUZZ
@given(DATE_TEXT)
@example("3200-01-30T00:00:00")
@example("0001-01-01T00:00:00+14:00")
@example("9999-12-31T23:59:59-14:00")
def test_a_published_date_is_none_or_utc_and_not_far_in_the_future(text: str) -> None:
    now = datetime(2025, 9, 15, tzinfo=UTC)
    parsed, precision = parse_published(text, now)
    assert precision in ("day", "month", "year")
    if parsed is not None:
        assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0
        assert parsed.year <= now.year + 1


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                ["closes on", "comments due by", "effective", "extended to", "applies from"]
            ),
            st.dates().map(lambda day: day.strftime("%-d %B %Y")),
            st.dates().map(lambda day: day.strftime("%B %-d, %Y")),
            st.dates().map(date.isoformat),
        ),
        max_size=12,
    ).map(" ".join),
    st.one_of(st.none(), st.dates()),
)
@example("consultation closes 31 February 2025", None)
@example("effective 1 January 9999; extended to 30 October", date(9999, 12, 31))
@example("closes on 1 January 0001. Comments due by 2 January 0001", date(1, 1, 5))
def test_date_extraction_never_fails_and_gives_real_dates(
    text: str, published: date | None
) -> None:
    deadline, effective = extract_dates(text, published)
    for found in (deadline, effective):
        assert found is None or isinstance(found, date)


ENTRY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@FUZZ
@given(
    st.builds(
        Entry,
        title=st.one_of(ENTRY_TEXT, st.text(min_size=1, max_size=5).map(lambda t: t * 400)),
        url=st.one_of(st.none(), URLS, st.text(max_size=40)),
        summary_html=st.one_of(ENTRY_TEXT, st.just("<p>a</p>" * 1000)),
        published=st.one_of(st.none(), DATE_TEXT),
        guid=st.one_of(st.none(), st.text(max_size=20)),
    )
)
@example(Entry(title="000 " * 400))
def test_the_normaliser_never_fails_and_keeps_its_limits(entry: Entry) -> None:
    notes: list[str] = []
    item = normalise_entry(entry, SOURCE, notes=notes)
    assert len(item.title) <= MAX_TITLE_CHARS and len(item.summary) <= MAX_SUMMARY_CHARS
    assert "\n" not in item.title and item.title == item.title.strip()
    assert re.fullmatch(r"[0-9a-f]{16}", item.id)
    assert item.url is None or item.url.startswith(("http://", "https://"))
    assert normalise_entry(entry, SOURCE).id == item.id
    assert all(note.endswith(("kept the first 1,000", "kept the first 4,000")) for note in notes)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["id", "title", "summary", "url", "publisher", "published", "source"]),
        st.one_of(st.text(max_size=60), st.none(), st.integers()),
    )
)
def test_a_record_becomes_an_item_or_a_plain_record_error(record: dict[str, object]) -> None:
    try:
        item = item_from_record(record)
    except RecordError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert not CONTROL.search(item.id) and item.title


FEED_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)


def _xml_text(text: str) -> str:
    """Text as it can stand in XML 1.0: the characters XML forbids left out, the rest escaped."""
    allowed = "".join(
        char for char in text if char in "\t\n\r" or ("\x20" <= char <= "\ud7ff") or char > "\ue000"
    )
    return escape(allowed.replace("\ufffe", "").replace("\uffff", ""))


@FEW
@given(st.lists(st.tuples(FEED_TEXT, st.one_of(URLS, FEED_TEXT), FEED_TEXT, DATE_TEXT), max_size=5))
@example([("Empty date", "https://fuzz.example.org/a", "s", "")])
def test_an_rss_feed_of_arbitrary_text_gives_one_entry_per_titled_item(
    items: list[tuple[str, str, str, str]],
) -> None:
    body = "".join(
        f"<item><title>{_xml_text(title)}</title><link>{_xml_text(link)}</link>"
        f"<description>{_xml_text(summary)}</description><pubDate>{_xml_text(when)}</pubDate>"
        "</item>"
        for title, link, summary, when in items
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{body}</channel></rss>"
    )
    entries = parse_feed(feed.encode("utf-8"), "application/rss+xml", "https://fuzz.example.org/")
    plain_titles = [title for title, *_ in items if re.fullmatch(r"[\w .,-]*\w[\w .,-]*", title)]
    assert len(plain_titles) <= len(entries) <= len(items)
    for entry in entries:
        normalise_entry(entry, SOURCE)


@FEW
@given(st.binary(max_size=400))
@example(b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaa'>]><rss><channel><item>")
@example(b"\xef\xbb\xbf<rss version='2.0'><channel><item><title>x</title></item>")
def test_any_bytes_give_entries_or_a_plain_parse_error(body: bytes) -> None:
    try:
        entries = parse_feed(body, None, "https://fuzz.example.org/feed")
    except ParseError as error:
        assert str(error)
        return
    for entry in entries:
        normalise_entry(entry, SOURCE)


@FUZZ
@given(st.text(max_size=200))
def test_escaped_markdown_is_one_line_without_html_or_link_syntax(text: str) -> None:
    escaped = escape_markdown(text)
    assert not CONTROL.search(escaped) and "\n" not in escaped
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"(?<!\\)[\[\]()`*_]", escaped.replace("\\\\", ""))
    assert not CONTROL.search(one_line(text))
