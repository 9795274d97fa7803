"""An Atom feed (RFC 4287) of the digests written so far: `digests/feed.xml`.

The feed is rebuilt from the JSON record every digest leaves beside its other formats
(`digests/YYYY-Www.json` for the all-items digest, `digests/PROFILE/YYYY-Www.json` for a team's),
so it needs no state of its own and always matches the files. Links are relative to the feed,
so the folder can be served as it is. A record that cannot be read is left out and reported.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
FEED_FILE = "feed.xml"
FEED_LIMIT = 60
_DIGEST_FILE = re.compile(r"^\d{4}-W\d{2}\.json$")
ID_FILE = ".feed-id"
FEED_TITLE = "Horizon — weekly AI regulatory digests"


@dataclass(frozen=True)
class FeedEntry:
    """One digest as the feed lists it."""

    week: str
    profile: str
    profile_title: str
    title: str
    updated: datetime
    href: str
    summary: str
    content_html: str


def feed_entries(digests_dir: Path) -> tuple[list[FeedEntry], list[str]]:
    """Every digest record under `digests_dir`, newest first, and a line per unreadable one."""
    entries, problems = [], []
    candidates = [*digests_dir.glob("*.json"), *digests_dir.glob("*/*.json")]
    for path in sorted(candidates):
        if not _DIGEST_FILE.match(path.name) or path.parent.name == "outbox":
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            entries.append(_entry(record, path.relative_to(digests_dir)))
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(
                f"{path}: not a readable digest record ({error}); it is left out of the feed. "
                "Write the digest again with `horizon digest --week WEEK`"
            )
    entries.sort(key=lambda entry: (entry.updated, entry.week, entry.profile), reverse=True)
    return entries, problems


def _entry(record: dict[str, Any], relative: Path) -> FeedEntry:
    profile = record["profile"]
    html_name = str(record["files"]["html"])
    return FeedEntry(
        week=str(record["week"]),
        profile=str(profile["name"]),
        profile_title=str(profile["title"]),
        title=f"{record['week']} — {profile['title']}",
        updated=datetime.fromisoformat(record["generated_at"]),
        href=(relative.parent / html_name).as_posix(),
        summary=str(record["summary"]),
        content_html=str(record["overview_html"]),
    )


def render_atom(entries: list[FeedEntry], title: str, feed_uuid: uuid.UUID) -> bytes:
    """The Atom document; entry ids derive from `feed_uuid`, so they are stable and unique."""
    newest = max((entry.updated for entry in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    feed = ET.Element("feed", {"xmlns": ATOM_NAMESPACE})
    ET.SubElement(feed, "id").text = feed_uuid.urn
    ET.SubElement(feed, "title").text = title
    ET.SubElement(feed, "updated").text = _timestamp(newest)
    ET.SubElement(ET.SubElement(feed, "author"), "name").text = "Horizon"
    ET.SubElement(feed, "generator").text = "Horizon"
    ET.SubElement(feed, "link", {"rel": "self", "href": FEED_FILE})
    for entry in entries[:FEED_LIMIT]:
        element = ET.SubElement(feed, "entry")
        entry_id = uuid.uuid5(feed_uuid, f"{entry.week}/{entry.profile}")
        ET.SubElement(element, "id").text = entry_id.urn
        ET.SubElement(element, "title").text = entry.title
        ET.SubElement(element, "updated").text = _timestamp(entry.updated)
        ET.SubElement(
            element, "link", {"rel": "alternate", "type": "text/html", "href": entry.href}
        )
        ET.SubElement(element, "category", {"term": entry.profile, "label": entry.profile_title})
        ET.SubElement(element, "summary", {"type": "text"}).text = entry.summary
        ET.SubElement(element, "content", {"type": "html"}).text = entry.content_html
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def write_feed(digests_dir: Path) -> tuple[Path, list[str]]:
    """Rebuild `digests/feed.xml`; returns its path and a line per record left out."""
    entries, problems = feed_entries(digests_dir)
    digests_dir.mkdir(parents=True, exist_ok=True)
    document = render_atom(entries, FEED_TITLE, feed_identity(digests_dir))
    path = digests_dir / FEED_FILE
    temporary = path.with_name(f".{FEED_FILE}.tmp")
    temporary.write_bytes(document)
    temporary.replace(path)
    return path, problems


def feed_identity(digests_dir: Path) -> uuid.UUID:
    """This installation's feed id, made once and kept in the folder, so the feed and its
    entries keep their ids when the home moves (feed readers then show nothing twice)."""
    path = digests_dir / ID_FILE
    try:
        return uuid.UUID(path.read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        identity = uuid.uuid4()
        path.write_text(f"{identity}\n", encoding="utf-8")
        return identity


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
