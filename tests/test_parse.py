"""Parsers on recorded responses: small files written for these tests, the real publishers' files
in ../shared, feedparser's own corpus, and hostile XML."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from horizon.config import JsonApiFields, ListingSelectors, Source, load_sources
from horizon.item import Entry
from horizon.parse import (
    MAX_BODY_BYTES,
    ParseError,
    _feed_date,
    lookup_path,
    parse_feed,
    parse_html_listing,
    parse_json_api,
    parse_json_feed,
    parse_response,
)

FEEDS = Path(__file__).resolve().parent / "feeds"
REPO = Path(__file__).resolve().parents[1]
HTML_PAGE_MESSAGE = "the response is an HTML page, not a feed"


def make_source(kind: str, url: str = "https://publisher.example/feed", **extra: Any) -> Source:
    return Source(
        id="test-source",
        name="Test source",
        publisher="Test publisher",
        category="regulator",
        jurisdiction="UK",
        kind=kind,
        url=url,
        **extra,
    )


def read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


# Feeds written for these tests


def test_rss_titles_are_stripped_links_resolved_and_dates_passed_through_as_written() -> None:
    entries = parse_feed(
        read("rss2-cdata-padded.xml"), "application/rss+xml", "https://regulator.example/feed"
    )

    assert entries[0] == Entry(
        title="Consultation on AI assurance opens",
        url="https://regulator.example/news/ai-assurance-consultation",
        summary_html="<p>We are asking for views on <b>AI assurance</b>.</p>",
        published="Mon, 15 Sep 2025 09:30:00 +0100",
        guid="news-1041",
    )
    assert entries[1].summary_html == "A company shared records without a lawful basis."
    assert entries[1].published == "Fri, 12 Sep 2025 16:00:00 GMT"


def test_rss_item_without_title_is_kept_and_titled_from_its_description() -> None:
    entries = parse_feed(read("rss2-cdata-padded.xml"), None, "https://regulator.example/feed")

    untitled = entries[2]
    assert untitled.url == "https://regulator.example/news/closure"
    assert untitled.title.startswith("Our office is closed on Monday for the public holiday")
    assert untitled.title.endswith("…")
    assert len(untitled.title) <= 121


def test_atom_entry_with_only_content_uses_it_as_summary_and_resolves_xml_base() -> None:
    entries = parse_feed(
        read("atom-content-only.atom"), "application/atom+xml", "https://x.example/"
    )

    assert entries[0].title == "Draft standard <em>42001-2</em> out for ballot"
    assert entries[0].url == "https://standards.example/committee/drafts/42001-2"
    assert entries[0].summary_html == "<p>Members may vote until 30 October 2025.</p>"
    assert entries[0].published == "2025-09-14T10:00:00Z"
    assert entries[1].published == "2025-09-10T08:00:00+02:00"
    assert entries[1].guid == "tag:standards.example,2025:plenary-09"


def test_rdf_feed_takes_its_date_from_dublin_core() -> None:
    [entry] = parse_feed(
        read("rss1-dc-date.rdf"), "application/rdf+xml", "https://parliament.example/rss"
    )

    assert entry.title == "Artificial Intelligence (Regulation) Bill: second reading"
    assert entry.published == "2025-09-09"


def test_date_feedparser_kept_only_in_parsed_form_is_written_as_iso_8601_utc() -> None:
    parsed = time.strptime("2025-09-15 06:30:00", "%Y-%m-%d %H:%M:%S")

    assert _feed_date({"updated_parsed": parsed}) == "2025-09-15T06:30:00Z"
    assert _feed_date({"published": " 15 Sep 2025 ", "updated_parsed": parsed}) == "15 Sep 2025"
    assert _feed_date({}) is None


@pytest.mark.parametrize(
    ("name", "content_type", "title"),
    [
        ("windows-1252.rss", "application/rss+xml", "“AI Act” – €10m fine for data broker"),
        ("windows-1252.rss", None, "“AI Act” – €10m fine for data broker"),
        (
            "iso-8859-1-leading-whitespace.rss",
            "text/html; charset=utf-8",
            "Données personnelles : décision n° 2025-12",
        ),
        ("utf8-bom.rss", "text/xml", "Überprüfung der KI-Verordnung"),
        ("phpxml-declaration.rss", "application/xml", "Nieuwe richtlijn voor algoritmes"),
        ("gb2312.rss", None, "人工智能监管办法发布"),
        ("gb2312-leading-whitespace.rss", "application/rss+xml", "生成式人工智能服务管理暂行办法"),
        ("utf8-no-declared-charset.rss", None, "Conseil d’État : décision sur l’IA"),
        (
            "utf8-no-declared-charset.rss",
            "text/plain; charset=ISO-8859-1",
            "Conseil d’État : décision sur l’IA",
        ),
        ("wrong-atom-namespace.rss", "application/rss+xml", "Filing index updated"),
    ],
)
def test_feeds_in_legacy_encodings_or_with_a_malformed_start_are_read_correctly(
    name: str, content_type: str | None, title: str
) -> None:
    [entry] = parse_feed(read(name), content_type, "https://publisher.example/feed")

    assert entry.title == title
    assert entry.url == "https://publisher.example/item-1"


def test_feed_with_an_empty_channel_gives_no_entries_rather_than_an_error() -> None:
    assert parse_feed(read("empty-channel.rss"), "application/rss+xml", "https://e.example/") == []


def test_feed_cut_short_before_any_item_is_a_plain_parse_error() -> None:
    with pytest.raises(ParseError, match=r"not well-formed XML .* no entries could be read"):
        parse_feed(read("truncated.rss"), "application/rss+xml", "https://news.example/rss")


CUT_MID_ITEM = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Most read</title>
<item><title>First report</title><link>https://news.example/1</link></item>
<item><title>Second report</title><link>https://news.example/2</link></item>
<item><title>Third rep"""


def test_feed_cut_short_mid_item_gives_what_it_read_and_a_warning_saying_so() -> None:
    warnings: list[str] = []

    entries = parse_feed(CUT_MID_ITEM, "application/rss+xml", "https://news.example/", warnings)

    assert [entry.title for entry in entries][:2] == ["First report", "Second report"]
    [warning] = warnings
    assert "not well-formed XML" in warning
    assert "may be cut short or broken" in warning
    assert f"{len(entries)} entries were read" in warning


def test_well_formed_feed_gives_no_warning() -> None:
    warnings: list[str] = []

    parse_feed(read("rss2-cdata-padded.xml"), "application/rss+xml", "https://e.example/", warnings)

    assert warnings == []


RESUME_LISTING = (
    '<html><head>{meta}</head><body><ul><li><a href="/r">R\xe9sum\xe9 of the AI Act</a></li>'
    "</ul></body></html>"
)
LISTING = ListingSelectors(item="li", title="a::text", link="a::attr(href)")


@pytest.mark.parametrize(
    ("meta", "how"),
    [('<meta charset="windows-1252">', "as its <meta> tag declares"), ("", "as windows-1252")],
)
def test_listing_in_windows_1252_labelled_utf8_is_decoded_and_the_mislabel_reported(
    meta: str, how: str
) -> None:
    body = RESUME_LISTING.format(meta=meta).encode("cp1252")
    warnings: list[str] = []

    entries = parse_html_listing(
        body, "text/html; charset=utf-8", LISTING, "https://e.example/", warnings
    )

    assert [entry.title for entry in entries] == ["Résumé of the AI Act"]
    [warning] = warnings
    assert "labelled utf-8 but its bytes are not valid utf-8" in warning
    assert how in warning


def test_listing_in_valid_utf8_is_read_without_a_warning() -> None:
    body = RESUME_LISTING.format(meta="").encode("utf-8")
    warnings: list[str] = []

    entries = parse_html_listing(
        body, "text/html; charset=utf-8", LISTING, "https://e.example/", warnings
    )

    assert [entry.title for entry in entries] == ["Résumé of the AI Act"]
    assert warnings == []


def test_bot_challenge_page_served_instead_of_a_feed_is_reported_as_an_html_page() -> None:
    with pytest.raises(ParseError) as raised:
        parse_feed(read("waf-challenge.html"), "text/html", "https://eur-lex.example/feed.rss")

    assert str(raised.value) == (
        "the response is an HTML page, not a feed — the source may be behind a bot challenge "
        "or the feed has moved"
    )


def test_json_error_served_instead_of_a_feed_is_reported_as_json() -> None:
    with pytest.raises(ParseError, match="the response is JSON, not an RSS or Atom feed"):
        parse_feed(read("api-error.json"), "application/json", "https://e.example/rss")


def test_xml_that_is_not_a_feed_is_a_parse_error() -> None:
    body = b'<?xml version="1.0"?><catalogue><book>Title</book></catalogue>'

    with pytest.raises(ParseError, match="not an RSS, Atom or RDF feed"):
        parse_feed(body, "application/xml", "https://e.example/")


def test_empty_response_is_a_parse_error_for_every_kind() -> None:
    for source in (make_source("rss"), make_source("jsonfeed")):
        with pytest.raises(ParseError, match="the response was empty"):
            parse_response(source, b"  \n", None, source.url)


def test_json_feed_items_keep_titles_urls_ids_and_fall_back_to_text_for_untitled_items() -> None:
    entries = parse_json_feed(
        read("jsonfeed-1.1.json"), "https://vendor.example/changelog/feed.json"
    )

    assert [entry.guid for entry in entries] == ["2025-09-12-model-deprecation", "2042"]
    first, second = entries
    assert first.title == "Model v1 will be retired on 1 December 2025"
    assert first.url == "https://vendor.example/changelog/model-deprecation"
    assert first.summary_html == "Move to v2 before 1 December 2025 &lt;soon&gt;."
    assert first.published == "2025-09-12T15:00:00-07:00"
    assert second.url == "https://status.vendor.example/incidents/2042"
    assert second.title.startswith("Elevated error rates on the embeddings endpoint")
    assert second.published == "2025-09-11T10:45:00Z"


def test_json_without_an_items_list_is_not_a_json_feed() -> None:
    with pytest.raises(ParseError, match="no 'items' list"):
        parse_json_feed(read("api-error.json"), "https://e.example/feed.json")


def test_json_api_reads_fields_by_dotted_path_and_resolves_relative_urls() -> None:
    source = make_source(
        "json-api",
        url="https://agency.example/api/documents.json",
        fields={
            "items": "data.documents",
            "title": "attributes.title",
            "url": "links.self",
            "summary": "attributes.abstract",
            "published": "attributes.dates.published",
            "id": "attributes.number",
            "deadline": "attributes.dates.comments_close",
            "effective": "attributes.dates.in_force",
        },
    )

    entries = parse_response(source, read("api-nested.json"), "application/json", source.url)

    assert entries == [
        Entry(
            title="Guidance on automated decision-making",
            url="https://agency.example/documents/2025-117",
            summary_html="<p>How the rules apply to <em>automated</em> decisions.</p>",
            published="2025-09-08",
            guid="2025117",
            deadline="2025-11-30",
        ),
        Entry(
            title="Final rule: model risk management",
            url="https://agency.example/documents/2025-090",
            published="2025-09-01",
            guid="2025090",
            effective="2026-01-01",
        ),
    ]


def test_json_api_error_body_names_the_missing_path_and_what_the_json_holds() -> None:
    source = make_source(
        "json-api", fields={"items": "results", "title": "title", "url": "html_url"}
    )

    with pytest.raises(ParseError) as raised:
        parse_response(source, read("api-error.json"), "application/json", source.url)

    assert "nothing at 'results'" in str(raised.value)
    assert "top-level keys are: errors" in str(raised.value)


def test_json_api_refuses_invalid_and_absurdly_nested_json_plainly() -> None:
    fields = {"items": "results", "title": "title", "url": "url"}
    source = make_source("json-api", fields=fields)

    with pytest.raises(ParseError, match="not valid JSON"):
        parse_response(source, b'{"results": [', "application/json", source.url)
    with pytest.raises(ParseError, match="nested too deeply"):
        parse_response(source, b"[" * 100_000 + b"]" * 100_000, "application/json", source.url)
    with pytest.raises(ParseError, match="HTML page, not JSON"):
        parse_response(source, read("waf-challenge.html"), "text/html", source.url)


def test_lookup_path_walks_objects_and_list_indexes_and_gives_none_when_absent() -> None:
    document = {"a": {"b": [{"c": 1}, {"c": 2}]}}

    assert lookup_path(document, "a.b.1.c") == 2
    assert lookup_path(document, "") == document
    assert lookup_path(document, "a.x.c") is None
    assert lookup_path(document, "a.b.9.c") is None


def test_html_listing_uses_selectors_keeps_text_and_resolves_relative_links() -> None:
    source = make_source(
        "html-listing",
        url="https://www.aisi.example/blog",
        selectors={
            "item": "div.blog-card",
            "title": "h3::text",
            "link": "a::attr(href)",
            "date": "time::attr(datetime)",
            "summary": "p.blog-card__summary::text",
        },
    )

    entries = parse_response(source, read("listing.html"), "text/html; charset=utf-8", source.url)

    assert [(entry.title, entry.url, entry.published) for entry in entries] == [
        (
            "Frontier model evaluations: what we learned",
            "https://www.aisi.example/blog/frontier-evaluations",
            "2025-09-10",
        ),
        ("Joint statement on safety cases", "https://other.example/post?id=7", "2025-08-28"),
        (
            "A card whose heading failed to render still keeps its summary text.",
            "https://www.aisi.example/blog/no-title",
            None,
        ),
    ]
    assert entries[1].summary_html == "Signed by seven institutes &amp; labs."


def test_html_listing_selector_without_pseudo_element_takes_the_elements_whole_text() -> None:
    selectors = {"item": "div.blog-card", "title": "h3", "link": "a::attr(href)"}
    source = make_source("html-listing", selectors=selectors)

    entries = parse_response(source, read("listing.html"), None, "https://blog.example/")

    assert entries[0].title == "Frontier model evaluations: what we learned"


def test_every_listing_in_sources_yaml_has_selectors_the_parser_accepts() -> None:
    listings = [s for s in load_sources(REPO / "sources.yaml").sources if s.kind == "html-listing"]
    page = b"<html><body><main><p>Nothing listed today.</p></main></body></html>"

    assert listings
    for source in listings:
        assert parse_response(source, page, "text/html", source.url) == [], source.id


def test_html_listing_with_an_invalid_selector_says_which_selector_to_fix() -> None:
    source = make_source("html-listing", selectors={"item": "div[", "title": "h3", "link": "a"})

    with pytest.raises(ParseError, match=r"item selector 'div\[' is not valid CSS"):
        parse_response(source, read("listing.html"), "text/html", source.url)


def test_body_over_the_size_cap_is_refused_before_parsing() -> None:
    body = b"<rss>" + b" " * MAX_BODY_BYTES

    with pytest.raises(ParseError, match=r"more than the 16 MB Horizon reads from one source"):
        parse_response(make_source("rss"), body, "application/rss+xml", "https://e.example/")


# Hostile XML: entities must never expand, nor read local files


def feed_with_doctype(doctype: bytes, entity: str) -> bytes:
    """A one-item RSS feed after `doctype`, referring to `entity` in its title and summary."""
    reference = f"&{entity};"
    return (
        f'<?xml version="1.0"?>\n{doctype.decode()}\n<rss version="2.0"><channel><title>t</title>'
        f"<item><title>before {reference} after</title><link>https://e.example/1</link>"
        f"<description>[{reference}|{reference}]</description></item></channel></rss>"
    ).encode()


def test_billion_laughs_entities_in_a_feed_are_not_expanded() -> None:
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">\n' for n in range(1, 10))
    doctype = f'<!DOCTYPE rss [\n<!ENTITY l0 "lol">\n{levels}]>'.encode()

    started = time.monotonic()
    [entry] = parse_feed(feed_with_doctype(doctype, "l9"), None, "https://e.example/")

    assert time.monotonic() - started < 30  # a backstop: expansion would never finish
    assert entry.title == "before &l9; after"
    assert "lol" not in entry.summary_html


def test_quadratic_blowup_entity_in_a_feed_is_not_expanded() -> None:
    doctype = b'<!DOCTYPE rss [\n  <!ENTITY big "' + b"B" * 100_000 + b'">\n]>'

    [entry] = parse_feed(feed_with_doctype(doctype, "big"), None, "https://e.example/")

    assert entry.title == "before &big; after"
    assert len(entry.summary_html) < 100


def test_external_entity_in_a_feed_does_not_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    doctype = f'<!DOCTYPE rss [\n<!ENTITY ext SYSTEM "file://{secret}">\n]>'.encode()

    [entry] = parse_feed(feed_with_doctype(doctype, "ext"), None, "https://e.example/")

    assert "TOP-SECRET-MARKER" not in entry.model_dump_json()


def test_character_entities_declared_in_a_feed_still_work() -> None:
    doctype = b'<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>'

    [entry] = parse_feed(feed_with_doctype(doctype, "nbsp"), None, "https://e.example/")

    assert entry.summary_html == "[\u00a0|\u00a0]"


def test_doctype_with_an_unterminated_internal_subset_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "x"' + b" " * 1000

    with pytest.raises(ParseError, match="malformed document type declaration"):
        parse_feed(body, None, "https://e.example/")


def test_shared_xml_bombs_neither_expand_nor_hang(shared: Path) -> None:
    bombs = sorted((shared / "data" / "xss" / "xml-bombs").glob("*.x*"))
    assert bombs
    for bomb in bombs:
        body = bomb.read_bytes()
        started = time.monotonic()
        try:
            entries = parse_feed(body, None, "https://e.example/")
        except ParseError:
            entries = []
        assert time.monotonic() - started < 30, bomb.name  # backstop, as above
        subset = re.search(rb"<!DOCTYPE[^\[>]*\[.*?\]>", body, re.S)
        names = re.findall(rb"<!ENTITY\s+(\w+)", subset.group()) if subset else []
        if not names:
            continue
        wrapped = feed_with_doctype(
            re.sub(rb"DOCTYPE \w+", b"DOCTYPE rss", subset.group()), names[-1].decode()
        )
        [entry] = parse_feed(wrapped, None, "https://e.example/")
        assert entry.title == f"before &{names[-1].decode()}; after", bomb.name
        assert len(entries) == 0


# The real publishers' files in ../shared/data/feeds

BROKEN_FEEDS = {"reuters-most-read-invalid.rss"}
EMPTY_FEEDS = {"au-wa-dfes-total-fire-ban-empty.rss"}


def shared_files(shared: Path, *suffixes: str) -> list[Path]:
    return sorted(path for path in (shared / "data" / "feeds").iterdir() if path.suffix in suffixes)


def test_every_real_feed_parses_to_titled_entries_or_fails_plainly(shared: Path) -> None:
    feeds = shared_files(shared, ".rss", ".atom", ".rdf")
    assert len(feeds) >= 25
    for path in feeds:
        kind = {".rss": "rss", ".atom": "atom", ".rdf": "rdf"}[path.suffix]
        source = make_source(kind, url=f"https://publisher.example/{path.name}")
        if path.name in BROKEN_FEEDS:
            with pytest.raises(ParseError, match="not well-formed XML"):
                parse_response(source, path.read_bytes(), None, source.url)
            continue
        entries = parse_response(source, path.read_bytes(), None, source.url)
        if path.name in EMPTY_FEEDS:
            assert entries == [], path.name
            continue
        assert entries, path.name
        assert all(entry.title and entry.title == entry.title.strip() for entry in entries), (
            path.name
        )
        assert all(entry.url and entry.url.startswith("http") for entry in entries if entry.url)


@pytest.mark.parametrize(
    ("name", "count", "first_title"),
    [
        ("odd-gb2312-kc0011.rss", 20, "建国35周年纪念，华表，和平鸽"),
        ("odd-utf8-bom-donthitsave.rss", 10, "Skipping Around"),
        (
            "odd-phpxml-declaration-fcutrecht.rss",
            20,
            "Serdar Gözübüyük scheidsrechter bij FC Twente - FC Utrecht",
        ),
        ("aws-blog-typepad.atom", 10, "AWS Job: Architect & Designer Position in Turkey"),
        (
            "us-sec-press-releases.rss",
            25,
            "Acting Chairman Mark T. Uyeda Names Acting Senior Staff",
        ),
        ("us-sec-edgar-usgaap-xbrl.rss", 200, "HF Sinclair Corp (0001915657) (Filer)"),
        ("nodejs-vulnerability-reports.rss", 1, "February 2020 Security Releases"),
    ],
)
def test_real_feeds_with_known_quirks_give_their_exact_entries(
    shared: Path, name: str, count: int, first_title: str
) -> None:
    path = shared / "data" / "feeds" / name

    entries = parse_feed(path.read_bytes(), None, "https://publisher.example/feed")

    assert len(entries) == count
    assert entries[0].title == first_title


def test_real_iso_8859_1_edgar_feed_decodes_and_keeps_dates_as_written(shared: Path) -> None:
    path = shared / "data" / "feeds" / "us-sec-edgar-company-filings.atom"

    entries = parse_feed(
        path.read_bytes(), "application/atom+xml", "https://www.sec.gov/cgi-bin/browse-edgar"
    )

    assert len(entries) == 5
    assert entries[0].published == "2021-04-29T16:45:49-04:00"
    assert entries[0].url and entries[0].url.startswith("https://www.sec.gov/Archives/edgar/data/")


def test_real_html_pages_and_json_documents_are_refused_as_feeds(shared: Path) -> None:
    for path in shared_files(shared, ".html"):
        with pytest.raises(ParseError, match=HTML_PAGE_MESSAGE):
            parse_feed(path.read_bytes(), "text/html", "https://publisher.example/")
    for path in shared_files(shared, ".json"):
        if path.name.startswith("jsonfeed"):
            continue
        with pytest.raises(ParseError, match="the response is JSON"):
            parse_feed(path.read_bytes(), "application/json", "https://publisher.example/")


def test_real_json_feed_parses_with_titles_urls_and_dates(shared: Path) -> None:
    path = shared / "data" / "feeds" / "jsonfeed-1.1-journal-3960.json"
    raw_items = json.loads(path.read_bytes())["items"]

    entries = parse_json_feed(path.read_bytes(), "https://journal.3960.org/feed.json")

    assert len(entries) == len(raw_items) == 20
    assert entries[0].title == "Lecker, lecker"
    assert entries[0].url == "https://journal.3960.org/posts/2020-02-21-lecker-lecker/"
    assert all(entry.published for entry in entries)


def test_federal_register_page_parses_with_the_fields_in_sources_yaml(shared: Path) -> None:
    source = next(
        source
        for source in load_sources(REPO / "sources.yaml").sources
        if source.id == "federal-register-ai"
    )
    path = shared / "data" / "feeds" / "us-federal-register-api-documents-2024.json"
    records = json.loads(path.read_bytes())["results"]

    entries = parse_response(
        source, path.read_bytes(), "application/json; charset=utf-8", source.url
    )

    assert len(entries) == len(records) == 1000
    with_deadline = [entry for entry in entries if entry.deadline]
    with_effective = [entry for entry in entries if entry.effective]
    assert len(with_deadline) == sum(1 for record in records if record["comments_close_on"])
    assert len(with_effective) == sum(1 for record in records if record["effective_on"])
    first = entries[0]
    assert first.guid == records[0]["document_number"]
    assert first.url == records[0]["html_url"]
    assert first.published == records[0]["publication_date"]


def test_cisa_catalogue_gives_each_vulnerabilitys_due_date_as_its_deadline(shared: Path) -> None:
    path = shared / "data" / "feeds" / "us-cisa-kev-catalog-2025-08-25.json"
    fields = {
        "items": "vulnerabilities",
        "title": "vulnerabilityName",
        "url": "notes",
        "summary": "shortDescription",
        "published": "dateAdded",
        "id": "cveID",
        "deadline": "dueDate",
    }

    entries = parse_json_api(path.read_bytes(), JsonApiFields(**fields), "https://www.cisa.gov/")

    assert len(entries) == 1404
    assert all(
        entry.deadline and re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.deadline) for entry in entries
    )
    assert all(entry.guid and entry.guid.startswith("CVE-") for entry in entries)


def test_json_api_reads_a_top_level_list_and_keeps_html_summaries(shared: Path) -> None:
    path = shared / "data" / "feeds" / "us-il-pollution-control-board-calendar.json"
    fields = {
        "items": "",
        "title": "CalendarTypeDesc",
        "url": "CaseNumber",
        "summary": "Description",
        "published": "StartDateTime",
        "id": "CalendarId",
    }

    entries = parse_json_api(
        path.read_bytes(), JsonApiFields(**fields), "https://pcb.illinois.gov/"
    )

    assert len(entries) == 98
    assert entries[0].title == "Holiday"
    assert entries[0].published == "7/4/2023 12:00:00 AM"
    assert "<div class='eventHoliday eventDetails'>" in entries[0].summary_html


def test_european_parliament_open_data_reads_nested_language_paths(shared: Path) -> None:
    path = shared / "data" / "feeds" / "eu-parliament-opendata-procedure-2025-0260.json"
    fields = {"items": "data", "title": "process_title.en", "url": "id", "id": "process_id"}

    [entry] = parse_json_api(
        path.read_bytes(), JsonApiFields(**fields), "https://data.europarl.europa.eu/"
    )

    assert entry.guid == "2025-0260"
    assert entry.url == "https://data.europarl.europa.eu/eli/dl/proc/2025-0260"
    assert entry.title == json.loads(path.read_bytes())["data"][0]["process_title"]["en"]


@pytest.mark.parametrize(
    ("name", "url", "selectors", "count", "first"),
    [
        (
            "us-il-gaming-board-meetings.html",
            "https://www.igb.illinois.gov/MeetingsMinutes.aspx",
            {"item": "div.combinedFile", "title": "a::text", "link": "a::attr(href)"},
            21,
            (
                "Open Meeting Agenda",
                "https://www.igb.illinois.gov/FilesBoardMeeting/20200130CombinedAgenda.pdf",
            ),
        ),
        (
            "us-chicago-board-of-ethics.html",
            "https://www.chicago.gov/city/en/depts/ethics/supp_info/minutes.html",
            {
                "item": 'a[href$=".pdf"]',
                "title": "::text",
                "link": "::attr(href)",
                "summary": "::attr(title)",
            },
            147,
            (
                "June",
                "https://www.chicago.gov/dam/city/depts/ethics/general/BoardMeetings/2005/Minutes-6-15-05.pdf",
            ),
        ),
        (
            "eu-parliament-oeil-procedure-2024-0258-cod.html",
            "https://oeil.secure.europarl.europa.eu/oeil/en/procedure-file?reference=2024/0258(COD)",
            {
                "item": "table.table tbody tr",
                "title": "td:nth-child(2)::text",
                "link": "td:nth-child(3) a::attr(href)",
                "date": "td:nth-child(1)::text",
            },
            19,
            (
                "Legislative proposal published",
                "https://www.europarl.europa.eu/RegData/docs_autres_institutions/commission_europeenne/com/2024/0469/COM_COM(2024)0469_EN.docx",
            ),
        ),
    ],
)
def test_real_listing_pages_parse_with_css_selectors(
    shared: Path, name: str, url: str, selectors: dict[str, str], count: int, first: tuple[str, str]
) -> None:
    body = (shared / "data" / "feeds" / name).read_bytes()

    entries = parse_html_listing(body, "text/html", ListingSelectors(**selectors), url)

    assert len(entries) == count
    assert (entries[0].title, entries[0].url) == first
    assert all(entry.title for entry in entries)


# feedparser's own corpus: nothing crashes or hangs


def test_feedparser_corpus_never_crashes_or_hangs(shared: Path) -> None:
    corpus = shared / "data" / "feedparser-tests"
    files = sorted(
        path
        for path in corpus.rglob("*")
        if path.is_file() and path.suffix in (".xml", ".json", ".feedparser")
    )
    assert len(files) >= 2000
    outcomes = {"entries": 0, "empty": 0, "refused": 0}
    started = time.monotonic()
    for path in files:
        try:
            entries = parse_feed(path.read_bytes(), None, "http://example.org/feed")
        except ParseError as error:
            assert str(error), path
            outcomes["refused"] += 1
            continue
        assert all(entry.title for entry in entries), path
        outcomes["entries" if entries else "empty"] += 1
    assert time.monotonic() - started < 600  # a backstop against a hang, not a speed goal
    assert outcomes["entries"] > 400
