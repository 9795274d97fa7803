"""The Atom feed of digests, read back with feedparser and a strict XML parser."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from test_digest import AS_OF, SOURCES, W37, Seed, seed_week

from horizon.config import load_settings
from horizon.digest import publish_week
from horizon.feed import feed_entries, write_feed
from horizon.state import StateDB

PROFILES = """\
profiles:
  - name: data-protection
    title: Data protection & privacy
    controls: [DATA-PRIVACY, TRANSPARENCY]
"""
HOSTILE = Seed(
    "hostile",
    'AI <script>alert("feed")</script> & "quotes" ]]> guidance',
    "2025-09-12",
    "ec",
    [("TRANSPARENCY", 0.99, "AI")],
    deadline=datetime(2025, 9, 30).date(),
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks of digests (all items and one profile), written without sending."""
    settings = load_settings(home=tmp_path_factory.mktemp("home"), env={})
    (settings.home / "profiles.yaml").write_text(PROFILES, encoding="utf-8")
    state = StateDB(settings.state_db)
    seed_week(state, extra=[HOSTILE])
    monday_before = datetime(2025, 9, 8, 6, tzinfo=UTC)
    publish_week(state, W37.previous(), SOURCES, settings, monday_before, send=False)
    publish_week(state, W37, SOURCES, settings, AS_OF, send=False)
    return settings.digests_dir


@pytest.fixture
def published(written: Path, tmp_path: Path) -> Path:
    """A copy of the written digests that a test may change."""
    return Path(shutil.copytree(written, tmp_path / "digests"))


def test_the_feed_lists_every_digest_newest_first_with_working_links(published: Path) -> None:
    feed = feedparser.parse((published / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Horizon — weekly AI regulatory digests"
    assert [entry.title for entry in feed.entries] == [
        "2025-W37 — Data protection & privacy",
        "2025-W37 — AI governance (all controls)",
        "2025-W36 — Data protection & privacy",
        "2025-W36 — AI governance (all controls)",
    ]
    hrefs = [entry.link for entry in feed.entries]
    assert hrefs[:2] == ["data-protection/2025-W37.html", "2025-W37.html"]
    assert all((published / href).is_file() for href in hrefs)
    assert [entry.tags[0].term for entry in feed.entries[:2]] == ["data-protection", "all"]
    assert feed.entries[0].updated == "2025-09-15T06:00:00Z"


def test_entries_say_what_needs_action_and_link_the_top_changes(published: Path) -> None:
    feed = feedparser.parse((published / "feed.xml").read_bytes())
    newest = feed.entries[1]
    assert newest.summary.startswith("3 need action, 6 relevant, 6 sources checked")
    content = newest.content[0].value
    assert 'href="https://ec.example.org/consult"' in content
    assert "closes 9 Oct 2025 (in 24 days)" in content


def test_scraped_markup_stays_text_in_a_well_formed_feed(published: Path) -> None:
    document = (published / "feed.xml").read_bytes()
    root = ET.fromstring(document)
    namespace = "{http://www.w3.org/2005/Atom}"
    contents = [element.text or "" for element in root.iter(f"{namespace}content")]
    hostile = [text for text in contents if "alert" in text]
    assert hostile and all("&lt;script&gt;" in text for text in hostile)
    assert all("<script" not in text for text in contents)


def test_ids_are_unique_and_stay_the_same_when_the_feed_is_rebuilt(published: Path) -> None:
    first = feedparser.parse((published / "feed.xml").read_bytes())
    write_feed(published)
    again = feedparser.parse((published / "feed.xml").read_bytes())
    ids = [entry.id for entry in first.entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    assert ids == [entry.id for entry in again.entries]
    assert first.feed.id == again.feed.id


def test_an_unreadable_record_is_left_out_and_named(published: Path) -> None:
    broken = published / "data-protection" / "2025-W36.json"
    broken.write_text("{not json", encoding="utf-8")
    path, problems = write_feed(published)
    assert len(feedparser.parse(path.read_bytes()).entries) == 3
    (problem,) = problems
    assert problem.startswith(f"{broken}: not a readable digest record")
    assert "it is left out of the feed" in problem


def test_the_outbox_and_other_json_files_are_not_digests(published: Path) -> None:
    (published / "outbox").mkdir(exist_ok=True)
    (published / "outbox" / "2025-W37.json").write_text("{}", encoding="utf-8")
    (published / "notes.json").write_text("{}", encoding="utf-8")
    entries, problems = feed_entries(published)
    assert (len(entries), problems) == (4, [])


def test_an_empty_folder_gives_an_empty_valid_feed(tmp_path: Path) -> None:
    path, problems = write_feed(tmp_path / "digests")
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo and feed.entries == [] and problems == []
