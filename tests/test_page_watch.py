"""`page-watch` sources: a real change raises one item with a sentence diff; noise raises none."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from loopback_site import LoopbackSite, Page, loopback_source

from horizon.config import CrawlSettings, Source
from horizon.fetch import CrawlJob
from horizon.item import Item
from horizon.state import StateDB
from horizon.watch import PageVersions, check_fetch, check_page, is_noise, page_diff
from spiders.crawl import run_crawl

GUIDANCE = (
    "The AI Office publishes guidance for providers of general-purpose AI models.",
    "Providers must notify the Commission within two weeks of reaching the threshold.",
    "Signatories of the code of practice report their compute budgets each year.",
)
NEW_SENTENCE = "The code of practice will be finalised by 2 May 2027 after a second consultation."


def page(
    paragraphs: tuple[str, ...],
    updated: str,
    views: str,
    cookies: str,
    notification: str = "2 August 2025",
) -> bytes:
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!doctype html><html><head><title>AI Office</title></head><body>
<div class="cookies">{cookies}</div>
<nav><a href="/">Home</a> <a href="/about">About the AI Office</a></nav>
<main><article><h1>General-purpose AI models</h1>{body}
<p>Last updated: {updated}</p><p>{views} views</p></article></main>
<section id="deadlines"><h2>Deadlines</h2><ul><li>Notification: {notification}</li></ul></section>
<footer>© 2026 European Commission</footer></body></html>""".encode()


def test_a_changed_sentence_is_reported_as_added_and_removed() -> None:
    before = " ".join(GUIDANCE)
    after = " ".join((GUIDANCE[0], NEW_SENTENCE, GUIDANCE[2]))
    diff = page_diff(before, after)
    assert diff is not None
    assert diff.added == [NEW_SENTENCE] and diff.removed == [GUIDANCE[1]]
    assert diff.summary() == f"Added: {NEW_SENTENCE}\nRemoved: {GUIDANCE[1]}"


@pytest.mark.parametrize(
    "line",
    [
        "Last updated: 5 December 2026",
        "Page updated 3 hours ago",
        "Updated on 5 Dec 2026 at 10:42",
        "12 comments",
        "2,048 views",
        "Friday 5 December 2026, 10:42 UTC",
        "We use cookies to improve your experience. Accept all cookies",
        "© 2026 European Commission. All rights reserved.",
    ],
)
def test_dates_counters_and_banners_are_noise(line: str) -> None:
    assert is_noise(line)


@pytest.mark.parametrize(
    "line",
    [
        "Notification: 2 August 2025",
        "Providers must answer comments within 30 days",
        "The ICO has published guidance on the use of cookies by public bodies",
    ],
)
def test_short_rows_and_sentences_about_noise_words_still_count(line: str) -> None:
    assert not is_noise(line)


def test_a_changed_deadline_in_a_real_sentence_is_not_noise() -> None:
    before = "The consultation on the draft guidelines closes on 2 August 2026."
    after = "The consultation on the draft guidelines closes on 9 September 2026."
    assert not is_noise(before)
    diff = page_diff(before, after)
    assert diff is not None and diff.added == [after]


def test_only_noise_changing_gives_no_diff() -> None:
    before = " ".join(GUIDANCE) + "\nLast updated: 1 December 2026\n1,024 views"
    after = " ".join(GUIDANCE) + "\nLast updated: 5 December 2026\n2,048 views"
    assert page_diff(before, after) is None


def crawl_once(sources: list[Source], home: Path, run: int) -> dict[str, list[Item]]:
    """One real crawl of the watched pages, then the change detection the weekly flow runs."""
    job = CrawlJob(crawl=CrawlSettings(delay_seconds=0, retries=0), sources=sources)
    outcomes = run_crawl(job, home / f"work-{run}")
    versions = PageVersions(StateDB(home / "state.db"))
    by_id = {source.id: source for source in sources}
    checked_at = datetime(2026, 12, run, tzinfo=UTC)
    found = {}
    for outcome in outcomes:
        assert outcome.outcome == "ok", outcome.error
        check = check_fetch(outcome, by_id[outcome.source], versions, checked_at)
        found[outcome.source] = [check.item] if check is not None and check.item else []
    versions.commit()
    return found


def test_watched_page_raises_one_item_for_a_real_change_and_none_for_noise(
    tmp_path: Path,
) -> None:
    original = page(GUIDANCE, "1 December 2026", "1,024", "We use cookies. Accept all.")
    pages = {"/robots.txt": Page(b"User-agent: *\n", "text/plain"), "/ai-office": Page(original)}
    with LoopbackSite(pages) as site:
        sources = [
            loopback_source("ai-office", f"{site.base}/ai-office", kind="page-watch"),
            loopback_source(
                "ai-office-deadlines",
                f"{site.base}/ai-office",
                kind="page-watch",
                watch_selector="#deadlines li",
            ),
        ]
        first = crawl_once(sources, tmp_path, 1)
        assert first == {"ai-office": [], "ai-office-deadlines": []}  # the baseline only

        pages["/ai-office"] = Page(
            page(GUIDANCE, "5 December 2026", "2,048", "This site uses cookies. Accept them?")
        )
        assert crawl_once(sources, tmp_path, 2) == {"ai-office": [], "ai-office-deadlines": []}

        changed = (GUIDANCE[0], NEW_SENTENCE, GUIDANCE[2])
        pages["/ai-office"] = Page(
            page(changed, "6 December 2026", "2,050", "Accept cookies?", "9 August 2025")
        )
        third = crawl_once(sources, tmp_path, 3)
    [item] = third["ai-office"]
    assert item.title == "ai office: page changed"
    assert f"Added: {NEW_SENTENCE}" in item.summary
    assert f"Removed: {GUIDANCE[1]}" in item.summary
    assert item.url is not None and item.url.startswith(f"{site.base}/ai-office#change-")
    [deadline] = third["ai-office-deadlines"]  # only the selector's text is compared
    assert deadline.summary == (
        "Added: Notification: 9 August 2025\nRemoved: Notification: 2 August 2025"
    )


def test_a_change_seen_by_a_run_that_died_before_storing_it_is_raised_again(
    tmp_path: Path,
) -> None:
    source = loopback_source("ai-office", "http://127.0.0.1/ai-office", kind="page-watch")
    state = StateDB(tmp_path / "state.db")
    first = PageVersions(state)
    check_page(source, source.url, " ".join(GUIDANCE), first, datetime(2026, 12, 1, tzinfo=UTC))
    first.commit()
    changed = " ".join((GUIDANCE[0], NEW_SENTENCE, GUIDANCE[2]))
    dying = PageVersions(state)  # compares, then the run is killed before its items are stored
    seen = check_page(source, source.url, changed, dying, datetime(2026, 12, 8, tzinfo=UTC))
    assert seen.item is not None
    again = check_page(
        source, source.url, changed, PageVersions(state), datetime(2026, 12, 8, tzinfo=UTC)
    )
    assert again.verdict == "changed" and again.item is not None
    assert again.item.id == seen.item.id  # the same item, so storing it twice cannot happen
