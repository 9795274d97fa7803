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


# ----- per-team feeds: each profile's digests, and the relevant items they carried ----------

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ITEM_FEED_LIMIT = 200
PROFILE_FEEDS = ("feed.xml", "feed.json", "items.xml", "items.json")


def write_profile_feeds(digests_dir: Path) -> list[Path]:
    """For the all-items digest and each profile, a JSON Feed of its digests (`feed.json`; the
    all-items one also as today's `feed.xml`), and an Atom and JSON Feed of the relevant items
    its digests carried (`items.xml`, `items.json`); a profile's own folder also gets an Atom
    feed of its digests (`PROFILE/feed.xml`). Stable names, rebuilt from the digest records."""
    entries, _ = feed_entries(digests_dir)
    identity = feed_identity(digests_dir) if digests_dir.is_dir() else uuid.uuid4()
    written: list[Path] = []
    for profile in sorted({entry.profile for entry in entries}):
        own = [entry for entry in entries if entry.profile == profile]
        folder = digests_dir if profile == "all" else digests_dir / profile
        prefix = "" if profile == "all" else f"{profile}/"
        local = [_relinked(entry, entry.href.removeprefix(prefix)) for entry in own]
        title = f"Horizon — {own[0].profile_title}"
        profile_uuid = uuid.uuid5(identity, f"profile/{profile}")
        if profile != "all":
            written.append(_write(folder / "feed.xml", render_atom(local, title, profile_uuid)))
        written.append(_write(folder / "feed.json", render_json_feed(local, title, profile_uuid)))
        items = profile_items(digests_dir, profile)
        item_title = f"{title}: relevant items"
        written.append(_write(folder / "items.json", render_item_json_feed(items, item_title)))
        written.append(
            _write(folder / "items.xml", render_item_atom(items, item_title, profile_uuid))
        )
    return written


def _relinked(entry: FeedEntry, href: str) -> FeedEntry:
    return FeedEntry(**{**entry.__dict__, "href": href})


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path


def render_json_feed(entries: list[FeedEntry], title: str, feed_uuid: uuid.UUID) -> bytes:
    """JSON Feed 1.1 of digests, newest first, links relative to the feed."""
    document = {
        "version": JSON_FEED_VERSION,
        "title": title,
        "feed_url": "feed.json",
        "items": [
            {
                "id": uuid.uuid5(feed_uuid, f"{entry.week}/{entry.profile}").urn,
                "url": entry.href,
                "title": entry.title,
                "summary": entry.summary,
                "content_html": entry.content_html,
                "date_modified": _timestamp(entry.updated),
                "tags": [entry.profile],
            }
            for entry in entries[:FEED_LIMIT]
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def profile_items(digests_dir: Path, profile: str) -> list[dict[str, Any]]:
    """The relevant items the profile's digests listed, newest digest first, each once."""
    folder = digests_dir if profile == "all" else digests_dir / profile
    seen: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json"), reverse=True):
        if not _DIGEST_FILE.match(path.name):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            listed = [
                *record["top_changes"],
                *(e for es in record["by_control"].values() for e in es),
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        for entry in listed:
            if isinstance(entry, dict) and "id" in entry:
                seen.setdefault(str(entry["id"]), {**entry, "week": record.get("week")})
    return list(seen.values())[:ITEM_FEED_LIMIT]


def _web_link(url: Any) -> str | None:
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def render_item_json_feed(items: list[dict[str, Any]], title: str) -> bytes:
    document = {
        "version": JSON_FEED_VERSION,
        "title": title,
        "feed_url": "items.json",
        "items": [
            {
                "id": str(item["id"]),
                **({"url": link} if (link := _web_link(item.get("url"))) else {}),
                "title": str(item.get("title", "")),
                "content_text": f"{item.get('publisher', '')}: {item.get('title', '')}",
                **({"date_published": item["published"]} if item.get("published") else {}),
                "tags": [control["id"] for control in item.get("controls", [])],
                "_horizon": {
                    key: item.get(key)
                    for key in ("week", "type", "jurisdiction", "deadline", "effective", "action")
                },
            }
            for item in items
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def render_item_atom(items: list[dict[str, Any]], title: str, feed_uuid: uuid.UUID) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM_NAMESPACE})
    ET.SubElement(feed, "id").text = uuid.uuid5(feed_uuid, "items").urn
    ET.SubElement(feed, "title").text = title
    dates = [str(item["published"]) for item in items if item.get("published")]
    ET.SubElement(feed, "updated").text = max(dates, default="1970-01-01T00:00:00+00:00")
    ET.SubElement(ET.SubElement(feed, "author"), "name").text = "Horizon"
    ET.SubElement(feed, "link", {"rel": "self", "href": "items.xml"})
    for item in items:
        element = ET.SubElement(feed, "entry")
        ET.SubElement(element, "id").text = uuid.uuid5(feed_uuid, f"item/{item['id']}").urn
        ET.SubElement(element, "title").text = str(item.get("title", ""))
        ET.SubElement(element, "updated").text = str(
            item.get("published") or "1970-01-01T00:00:00+00:00"
        )
        if link := _web_link(item.get("url")):
            ET.SubElement(element, "link", {"rel": "alternate", "href": link})
        for control in item.get("controls", []):
            ET.SubElement(element, "category", {"term": str(control["id"])})
        ET.SubElement(element, "summary", {"type": "text"}).text = str(item.get("publisher", ""))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"
