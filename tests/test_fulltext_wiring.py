"""An item's full text (the linked page or PDF) in the stages: dates and evidence read from it,
search passages cut from it, de-duplication untouched; end to end through the weekly flow on a
real loopback site."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from loopback_site import LoopbackSite, Page
from test_full_text import make_pdf
from test_web_pages import PASSWORD, sign_in, text_of

from horizon.archive import ArchivedResponse
from horizon.catalogue import Catalogue
from horizon.classify import Classifier
from horizon.config import PROJECT_ROOT, load_catalogue, load_settings
from horizon.dates import stated_dates
from horizon.digest import Week, build_digest, render_markdown, render_text
from horizon.digest.render import verified_line
from horizon.embed import HashingEmbedder, default_embedder
from horizon.enrich.extract import Extracted
from horizon.enrich.model import FullTextCaps
from horizon.enrich.store import FullTextStore
from horizon.ingest import Ingestor
from horizon.item import Item
from horizon.normalise import canonical_url, item_from_record
from horizon.passages import MAX_FULL_TEXT_PASSAGES, full_text_passages
from horizon.provenance import Provenance, confirming
from horizon.runtime import Runtime
from horizon.search import search
from horizon.state import StateDB
from horizon.store import Store, open_store
from horizon.web import create_app
from horizon.web.context import item_path
from horizon.workspace import COMMAND_LINE
from horizon.workspace.models import UserRequest

GPAI_TITLE = "AI Office guidance for providers of general-purpose AI models"
GPAI_SUMMARY = "The AI Office published guidance for providers of general-purpose AI models."
DEADLINE_SENTENCE = "Comments on the draft guidance must be received by 30 January 2027."
BODY_EVIDENCE = (
    "Providers of general-purpose AI models with systemic risk must notify the AI Office when "
    "training compute exceeds 10^26 FLOP and report frontier capabilities."
)
BODY_ONLY_PHRASE = "zebrafish attestation ledger"
GUIDANCE_PAGE = f"""<!doctype html><html><head><title>Guidance</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<main><article><h1>{GPAI_TITLE}</h1>
<p>This guidance explains what the AI Office expects from model providers in the first year.</p>
<p>{BODY_EVIDENCE}</p>
<p>{DEADLINE_SENTENCE}</p>
<p>Annex B describes the {BODY_ONLY_PHRASE} that each provider keeps for every model release,
with the version, the date of release and the evaluations that were run before it.</p>
</article></main><footer>Copyright 2025.</footer></body></html>""".encode()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue([PROJECT_ROOT / "controls.yaml"])


@pytest.fixture(scope="module")
def classifier(catalogue: Catalogue) -> Classifier:
    return Classifier(catalogue, HashingEmbedder())


def _item(full_text: str = "", **record: Any) -> Item:
    record = {"title": GPAI_TITLE, "summary": GPAI_SUMMARY, "published": "2025-09-10", **record}
    return item_from_record(record).model_copy(update={"full_text": full_text})


SEEN_AT = datetime(2025, 9, 15, 6, tzinfo=UTC)
BODY = f"This guidance explains what is expected.\n\n{BODY_EVIDENCE}\n\n{DEADLINE_SENTENCE}"


def test_stated_dates_give_the_sentence_each_date_was_read_from() -> None:
    deadline, effective = stated_dates(f"Guidance out. {DEADLINE_SENTENCE} More later.", None)
    assert deadline is not None and deadline.value == date(2027, 1, 30)
    assert deadline.sentence == DEADLINE_SENTENCE
    assert effective is None


def test_a_deadline_the_summary_lacks_is_read_from_the_full_text_with_its_sentence(
    classifier: Classifier,
) -> None:
    [without] = classifier.classify([_item()])
    [tags] = classifier.classify([_item(BODY)])
    assert without.deadline is None and without.deadline_quote is None
    assert tags.deadline == date(2027, 1, 30)
    assert tags.deadline_quote is not None and tags.deadline_quote.from_full_text
    assert tags.deadline_quote.sentence == DEADLINE_SENTENCE


def test_a_date_the_summary_states_wins_over_the_full_texts(classifier: Classifier) -> None:
    summary = f"{GPAI_SUMMARY} Comments close on 1 December 2026."
    [tags] = classifier.classify([_item(BODY, summary=summary)])
    assert tags.deadline == date(2026, 12, 1)
    assert tags.deadline_quote is not None and not tags.deadline_quote.from_full_text
    assert tags.deadline_quote.sentence == "Comments close on 1 December 2026."


def test_evidence_is_the_full_texts_sentence_with_more_of_the_controls_phrases(
    classifier: Classifier,
) -> None:
    [tags] = classifier.classify([_item(BODY)])
    by_id = {control.id: control for control in tags.controls}
    assert "GPAI-MODELS" in by_id
    assert by_id["GPAI-MODELS"].evidence == BODY_EVIDENCE
    assert by_id["GPAI-MODELS"].from_full_text


def test_a_full_text_that_only_repeats_the_summary_changes_no_evidence(
    classifier: Classifier,
) -> None:
    [plain] = classifier.classify([_item()])
    [repeated] = classifier.classify([_item(f"{GPAI_TITLE}\n\n{GPAI_SUMMARY}")])
    assert repeated.controls == plain.controls
    assert not any(control.from_full_text for control in repeated.controls)


def test_the_learned_decision_reads_only_the_title_and_summary(classifier: Classifier) -> None:
    """Relevance, controls, scores, type and jurisdiction are the same with or without a body
    (the heads were trained on titles and summaries); only evidence and dates may differ."""
    noisy_body = "Banking rules for mortgages and pensions change.\n\n" * 30 + BODY
    [plain] = classifier.classify([_item()])
    [with_body] = classifier.classify([_item(noisy_body)])
    scored = [(c.id, c.score) for c in with_body.controls]
    assert scored == [(c.id, c.score) for c in plain.controls]
    assert (with_body.relevant, with_body.type, with_body.jurisdiction, with_body.themes) == (
        plain.relevant,
        plain.type,
        plain.jurisdiction,
        plain.themes,
    )


def test_full_text_passages_are_bounded_and_a_short_text_is_one_passage() -> None:
    assert full_text_passages("  A short page that says one thing.  ") == [
        "A short page that says one thing."
    ]
    long_text = "\n\n".join(
        f"Paragraph {n} says that providers keep records of model number {n} for ten years."
        for n in range(2000)
    )
    passages = full_text_passages(long_text)
    assert len(passages) == MAX_FULL_TEXT_PASSAGES
    assert passages[0].startswith("Paragraph 0 says")
    assert full_text_passages("") == []


def test_the_full_text_is_never_serialised_with_the_item() -> None:
    item = _item(BODY)
    assert "full_text" not in item.model_dump()
    assert BODY_ONLY_PHRASE not in item.model_dump_json()
    assert item.text() == _item().text() and item.content_hash == _item().content_hash


# ----- a full text read after its item was stored ----------------------------------------------


def test_a_late_full_text_retags_the_unchanged_item_once_even_after_a_killed_run(
    classifier: Classifier, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored without its page, the item is re-tagged and re-indexed with the page the next time
    it comes in unchanged: not re-embedded, not new, not updated; a run killed before its last
    step re-tags it again, and once done it is not picked again."""
    url = "https://ai-office.example/guidance"
    item = _item(url=url, source="ai-office")
    ingestor = Ingestor(store, HashingEmbedder(), classifier)
    [first] = ingestor.ingest([item], SEEN_AT)
    assert first.status == "new" and not first.retagged
    vector = store.index.embeddings([item.id])[item.id]
    FullTextStore(store.state).record_text(url, url, "ai-office", SEEN_AT, Extracted(BODY, "html"))

    def killed(passages: dict[str, list[str]]) -> None:
        raise KeyboardInterrupt("killed before the passages were written")

    with monkeypatch.context() as patched:
        patched.setattr(store.lexical_passages, "replace", killed)
        with pytest.raises(KeyboardInterrupt):
            ingestor.ingest([item], SEEN_AT)
    [second] = ingestor.ingest([item], SEEN_AT)
    assert (second.status, second.retagged, second.updated) == ("unchanged", True, False)
    [stored] = store.state.get_items([item.id]).values()
    assert stored.item.tags is not None and stored.item.tags.deadline == date(2027, 1, 30)
    assert stored.item.tags.deadline_quote is not None
    assert stored.item.tags.deadline_quote.from_full_text
    passages = store.lexical_passages.stored([item.id])[item.id]
    assert passages == full_text_passages(BODY) and len(set(passages)) == len(passages)
    assert store.index.passage_count() == len(passages)
    assert store.index.embeddings([item.id])[item.id].tolist() == vector.tolist()
    assert store.state.count_items() == store.index.count() == 1
    [third] = ingestor.ingest([item], SEEN_AT)
    assert (third.status, third.retagged) == ("unchanged", False)


# ----- end to end: the weekly flow on a loopback site -----------------------------------------

PUBLISHED = "Wed, 10 Sep 2025 09:00:00 GMT"
PDF_TITLE = "Code of practice on AI transparency published"
PDF_SUMMARY = "The Commission published a code of practice on transparency of AI-generated content."
PDF_SENTENCE = "The code of practice applies from 2 August 2027 to all providers."
FAILED_TITLE = "Consultation on AI incident reporting"
FAILED_SUMMARY = "The regulator opened a consultation on serious incident reporting for AI systems."
MIRROR_PAGE = b"""<!doctype html><html><body><main><article><h1>Mirror</h1>
<p>This secondary site reprints news items together with its own commentary and adverts.</p>
<p>Our newsletter covers pensions, mortgages and savings accounts every Friday morning.</p>
<p>Subscribers can read the archive of past issues and download the quarterly review.</p>
</article></main></body></html>"""


def _rss(entries: list[tuple[str, str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{summary}</description>"
        f"<pubDate>{PUBLISHED}</pubDate></item>"
        for title, summary, link in entries
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>'
        f"{items}</channel></rss>"
    ).encode()


@dataclass
class FlowRun:
    base: str
    home: Path
    summary: dict[str, Any]

    def item_id(self, path: str) -> str:
        url = canonical_url(self.base + path)
        assert url is not None
        found = StateDB(self.home / "state.db").items_by_url([url])
        assert url in found, f"no stored item for {path}"
        return found[url]


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowRun]:
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.weekly import weekly_scan

    home = tmp_path_factory.mktemp("home")
    pages = {
        "/feed-a.xml": Page(
            _rss(
                [
                    (GPAI_TITLE, GPAI_SUMMARY, "/guidance"),
                    (PDF_TITLE, PDF_SUMMARY, "/code.pdf"),
                    (FAILED_TITLE, FAILED_SUMMARY, "/gone"),
                ]
            ),
            "application/rss+xml",
        ),
        "/feed-b.xml": Page(_rss([(GPAI_TITLE, GPAI_SUMMARY, "/mirror")]), "application/rss+xml"),
        "/guidance": Page(GUIDANCE_PAGE),
        "/code.pdf": Page(make_pdf([PDF_SENTENCE]), "application/pdf"),
        "/mirror": Page(MIRROR_PAGE),
    }
    with LoopbackSite(pages) as site:
        sources_file = home / "sources.yaml"
        sources_file.write_text(
            yaml.safe_dump(
                {
                    "crawl": {"delay_seconds": 0, "timeout_seconds": 10, "retries": 0},
                    "sources": [
                        {
                            "id": source_id,
                            "name": source_id,
                            "publisher": publisher,
                            "category": category,
                            "jurisdiction": "EU",
                            "kind": "rss",
                            "url": f"{site.base}{path}",
                            "allow_private_hosts": ["127.0.0.1"],
                        }
                        for source_id, publisher, category, path in [
                            ("ai-office", "European AI Office", "regulator", "/feed-a.xml"),
                            ("reprints", "Reprints Weekly", "secondary", "/feed-b.xml"),
                        ]
                    ],
                }
            )
        )
        with prefect_test_harness(server_startup_timeout=120):
            summary = weekly_scan(
                home=str(home),
                sources_file=str(sources_file),
                controls_file=str(PROJECT_ROOT / "controls.yaml"),
                week="2025-W37",
                send=False,
            )
        yield FlowRun(site.base, home, summary)


@pytest.mark.slow
def test_after_a_run_the_deadline_comes_from_the_linked_page(flow_run: FlowRun) -> None:
    stored = StateDB(flow_run.home / "state.db").get_items([flow_run.item_id("/guidance")])
    [guidance] = stored.values()
    tags = guidance.item.tags
    assert tags is not None and tags.deadline == date(2027, 1, 30)
    assert tags.deadline_quote is not None and tags.deadline_quote.from_full_text
    assert tags.deadline_quote.sentence == DEADLINE_SENTENCE
    pdf = StateDB(flow_run.home / "state.db").get_items([flow_run.item_id("/code.pdf")])
    [code] = pdf.values()
    assert code.item.tags is not None and code.item.tags.effective == date(2027, 8, 2)


@pytest.mark.slow
def test_the_digest_line_quotes_the_full_texts_evidence_sentence(flow_run: FlowRun) -> None:
    markdown = (flow_run.home / "digests" / "2025-W37.md").read_text(encoding="utf-8")
    assert f'"{BODY_EVIDENCE}" (from the full text)' in markdown
    html = (flow_run.home / "digests" / "2025-W37.html").read_text(encoding="utf-8")
    assert "(from the full text)" in html


@pytest.mark.slow
def test_a_phrase_only_in_the_linked_page_finds_the_item_with_that_passage(
    flow_run: FlowRun,
) -> None:
    store = open_store(load_settings(flow_run.home, env={}))
    hits = search(store, default_embedder(), BODY_ONLY_PHRASE, limit=3)
    assert hits and hits[0].id == flow_run.item_id("/guidance")
    assert hits[0].passage is not None and BODY_ONLY_PHRASE in hits[0].passage
    assert "zebrafish" in hits[0].snippet


@pytest.mark.slow
def test_two_feeds_with_the_same_summary_and_different_pages_still_fold(
    flow_run: FlowRun,
) -> None:
    items = flow_run.summary["items"]
    assert items["near_duplicates_folded"] == 1
    assert (items["new"], items["duplicate"]) == (3, 1)
    state = StateDB(flow_run.home / "state.db")
    [guidance] = state.get_items([flow_run.item_id("/guidance")]).values()
    assert {report.source for report in guidance.reports} == {"ai-office", "reprints"}


@pytest.mark.slow
def test_an_item_whose_page_failed_is_tagged_and_stored_from_its_summary(
    flow_run: FlowRun,
) -> None:
    state = StateDB(flow_run.home / "state.db")
    url = canonical_url(flow_run.base + "/gone")
    assert url is not None
    failure = FullTextStore(state).get(url)
    assert failure is not None and failure.status == "failed" and "404" in (failure.error or "")
    [stored] = state.get_items([flow_run.item_id("/gone")]).values()
    assert stored.item.tags is not None and stored.item.tags.relevant
    assert all(not control.from_full_text for control in stored.item.tags.controls)


@pytest.mark.slow
def test_digest_lines_show_when_the_item_was_last_verified_and_the_content_hash(
    flow_run: FlowRun,
) -> None:
    page_hash = "sha256:" + hashlib.sha256(GUIDANCE_PAGE).hexdigest()
    markdown = (flow_run.home / "digests" / "2025-W37.md").read_text(encoding="utf-8")
    entry = markdown[markdown.index(f"[{GPAI_TITLE}]") :]
    entry = entry[: entry.index("\n\n", entry.index("Last verified"))]
    assert re.search(r"Last verified \d{1,2} \w{3} \d{4} \d\d:\d\d UTC · sha256:\w{12}", entry)
    assert page_hash[:19] in entry
    record = json.loads((flow_run.home / "digests" / "2025-W37.json").read_text(encoding="utf-8"))
    lines = [e for e in record["top_changes"] if e["title"] == GPAI_TITLE]
    assert lines and lines[0]["last_verified"]["content_hash"] == page_hash


@pytest.mark.slow
def test_the_web_item_page_shows_last_verified_the_hash_and_the_full_text_evidence(
    flow_run: FlowRun,
) -> None:
    settings = load_settings(home=flow_run.home, env={})
    runtime = Runtime(settings, embedder_override=HashingEmbedder())
    app = create_app(runtime)
    app.state.web.workspace.add_user(
        COMMAND_LINE, UserRequest(name="ada", role="admin", password=PASSWORD)
    )
    client = TestClient(app, follow_redirects=False, headers={"Sec-Fetch-Site": "same-origin"})
    sign_in(client, "ada")
    page = client.get(item_path(flow_run.item_id("/guidance")))
    assert page.status_code == 200
    shown = text_of(page.text)
    page_hash = "sha256:" + hashlib.sha256(GUIDANCE_PAGE).hexdigest()
    assert "Last verified" in shown and page_hash[:19] in shown
    assert f"{BODY_EVIDENCE} (from the full text)" in shown
    assert f"Deadline from the full text: {DEADLINE_SENTENCE}" in shown


@pytest.mark.slow
def test_a_dated_digest_line_quotes_the_full_text_sentence_its_date_came_from(
    flow_run: FlowRun,
) -> None:
    state = StateDB(flow_run.home / "state.db")
    as_of = datetime(2027, 1, 10, 9, tzinfo=UTC)  # the deadline is 20 days away
    digest = build_digest(state, Week.parse("2025-W37"), [], as_of=as_of)
    [line] = [d for d in digest.closing if d.entry.item.title == GPAI_TITLE]
    assert line.when == date(2027, 1, 30)
    markdown = render_markdown(digest)
    assert f'Date from the full text: "{DEADLINE_SENTENCE}"' in markdown
    assert f'Date from the full text: "{DEADLINE_SENTENCE}"' in render_text(digest)


def _fetch(status: int, digest: str, hour: int, url: str = "https://a.example/page") -> Any:
    return ArchivedResponse(
        url=url,
        source="news",
        fetched_at=datetime(2025, 9, 10, hour, tzinfo=UTC),
        http_status=status,
        content_type="text/html",
        warc_file="crawl.warc.gz",
        warc_offset=0,
        warc_length=0,
        content_hash=digest,
        replayed=False,
    )


def test_a_304_verifies_the_content_of_the_last_200_before_it() -> None:
    records = [_fetch(200, "sha256:first", 8), _fetch(304, "sha256:empty", 9)]
    found = confirming([*records, _fetch(503, "sha256:error", 10)])
    assert found is not None
    verified, content = found
    assert verified.fetched_at.hour == 9 and content == "sha256:first"
    assert confirming([_fetch(404, "sha256:gone", 8)]) is None


def test_a_live_fetch_verifies_before_a_later_replay() -> None:
    replayed = replace(_fetch(200, "sha256:snapshot", 11), replayed=True)
    found = confirming([_fetch(200, "sha256:live", 8), replayed])
    assert found is not None and found[1] == "sha256:live"
    only_replayed = confirming([replayed])
    assert only_replayed is not None and only_replayed[0].replayed
    line = verified_line(Provenance(verified_at=replayed.fetched_at, replayed=True))
    assert line.startswith("Verified only from a replayed snapshot") and "11:00" not in line


def test_a_heading_run_into_the_first_sentence_is_not_repeated_as_evidence() -> None:
    from horizon.enrich.body import body_sentences

    page = (
        "Commission publishes consultation results\n"
        "The Commission has published a summary of the responses to its consultation on the "
        "classification of high-risk AI systems. Providers must register by 2 August 2026."
    )
    sentences = body_sentences(page, "Commission publishes  consultation results")
    assert sentences[0].startswith("The Commission has published a summary")
    assert all("consultation results The" not in sentence for sentence in sentences)


# ----- a link left over by the per-source budget, followed and used a run later -------------


@dataclass
class LateRuns:
    base: str
    home: Path
    requested: list[list[str]]  # the paths each run asked for
    summaries: list[dict[str, Any]]


@pytest.fixture(scope="module")
def late_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LateRuns]:
    """Three weekly runs over one feed of 26 entries: the 25 before the guidance use up the
    full-text budget of run 1 (their links answer 404), so the guidance's page is left over."""
    from prefect.testing.utilities import prefect_test_harness

    from pipelines.weekly import weekly_scan

    home = tmp_path_factory.mktemp("late-home")
    budget = FullTextCaps().per_source
    fillers = [
        (f"Staff parking notice number {n} for the {n}th floor", f"Parking rules {n}.", f"/n/{n}")
        for n in range(budget)
    ]
    pages = {
        "/feed.xml": Page(
            _rss([*fillers, (GPAI_TITLE, GPAI_SUMMARY, "/guidance")]), "application/rss+xml"
        ),
        "/guidance": Page(GUIDANCE_PAGE),
    }
    with LoopbackSite(pages) as site:
        sources_file = home / "sources.yaml"
        source = {
            "id": "ai-office",
            "name": "ai-office",
            "publisher": "European AI Office",
            "category": "regulator",
            "jurisdiction": "EU",
            "kind": "rss",
            "url": f"{site.base}/feed.xml",
            "allow_private_hosts": ["127.0.0.1"],
        }
        crawl = {"delay_seconds": 0, "timeout_seconds": 10, "retries": 0}
        sources_file.write_text(yaml.safe_dump({"crawl": crawl, "sources": [source]}))
        runs = LateRuns(site.base, home, [], [])
        with prefect_test_harness(server_startup_timeout=120):
            for _ in range(3):
                before = len(site.requested)
                summary = weekly_scan(
                    home=str(home),
                    sources_file=str(sources_file),
                    controls_file=str(PROJECT_ROOT / "controls.yaml"),
                    week="2025-W37",
                    send=False,
                )
                runs.requested.append(site.requested[before:])
                runs.summaries.append(summary)
        yield runs


@pytest.mark.slow
def test_an_item_beyond_the_budget_in_run_1_is_fetched_in_run_2_when_its_feed_lists_it_again(
    late_runs: LateRuns,
) -> None:
    first, second, third = late_runs.requested
    assert "/guidance" not in first and len([p for p in first if p.startswith("/n/")]) == 25
    assert "/guidance" in second and not [p for p in second if p.startswith("/n/")]
    assert "/guidance" not in third
    assert late_runs.summaries[1]["full_text"]["read"] == 1


@pytest.mark.slow
def test_after_run_2_the_late_full_text_gives_the_deadline_and_a_findable_body_passage(
    late_runs: LateRuns,
) -> None:
    url = canonical_url(late_runs.base + "/guidance")
    assert url is not None
    state = StateDB(late_runs.home / "state.db")
    [guidance] = state.get_items([state.items_by_url([url])[url]]).values()
    tags = guidance.item.tags
    assert tags is not None and tags.deadline == date(2027, 1, 30)
    assert tags.deadline_quote is not None and tags.deadline_quote.from_full_text
    store = open_store(load_settings(late_runs.home, env={}))
    hits = search(store, default_embedder(), BODY_ONLY_PHRASE, limit=3)
    assert hits and hits[0].id == guidance.item.id
    assert hits[0].passage is not None and BODY_ONLY_PHRASE in hits[0].passage


@pytest.mark.slow
def test_the_item_retagged_with_its_late_full_text_is_not_duplicated_nor_new_nor_updated(
    late_runs: LateRuns,
) -> None:
    first, second, third = (summary["items"] for summary in late_runs.summaries)
    assert (first["new"], first["retagged_with_full_text"]) == (26, 0)
    assert (second["new"], second["updated"], second["embedded"]) == (0, 0, 0)
    assert (second["unchanged"], second["retagged_with_full_text"]) == (26, 1)
    assert (third["retagged_with_full_text"], third["indexed"]) == (0, first["indexed"])
    assert StateDB(late_runs.home / "state.db").count_items() == first["indexed"]
    record = json.loads((late_runs.home / "digests" / "2025-W37.json").read_text("utf-8"))
    assert len([e for e in record["top_changes"] if e["title"] == GPAI_TITLE]) == 1
    markdown = (late_runs.home / "digests" / "2025-W37.md").read_text(encoding="utf-8")
    assert markdown.count(f'"{BODY_EVIDENCE}" (from the full text)') == 1
