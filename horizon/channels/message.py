"""The chat message of a digest: short enough for Teams and Slack, a link to everything else.

Built from the digest's JSON record (`horizon.digest.digest_record`), so every channel says the
same as the digest files. Chat apps render a little Markdown; every field from a publisher is
escaped so it cannot add links, mentions or layout of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Slack shows at most 3,000 characters in one section and Teams cards stop at about 28 KB;
# the smaller one decides.
CHAT_LIMIT = 3000
TOP_ITEMS = 8
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~@&])")


@dataclass(frozen=True)
class ChatMessage:
    """A title and a Markdown body no longer than `CHAT_LIMIT` characters."""

    title: str
    body: str


def escape(text: str | None) -> str:
    """Publisher text as literal Markdown: no links, mentions, emphasis or line structure."""
    flat = " ".join((text or "").split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def _safe_link(url: str | None) -> str | None:
    """Only http(s) links become links; anything else (javascript:, data:) is dropped."""
    if (
        url
        and url.lower().startswith(("https://", "http://"))
        and not any(character in url for character in " <>()")
    ):
        return url
    return None


def digest_link(record: dict[str, Any], public_url: str | None) -> str | None:
    """Where the full digest can be read: the workspace's digest page when its address is
    known (HORIZON_PUBLIC_URL), else None."""
    if not public_url:
        return None
    profile = record["profile"]["name"]
    return f"{public_url}/digest?week={record['week']}&profile={profile}"


def chat_message(record: dict[str, Any], link: str | None) -> ChatMessage:
    """Headline figures, then the top changes (title, publisher, action, link), cut to fit."""
    counts = record["counts"]
    coverage = record["coverage"]
    title = f"Horizon {record['week']} — {escape(record['profile']['title'])}"
    head = [
        f"**{counts['need_action']} need action · {counts['relevant']} relevant · "
        f"{coverage['checked']} sources checked ({len(coverage['failed'])} failed)**",
    ]
    muted = record.get("rules", {}).get("muted", 0)
    if muted:
        head.append(f"{muted} items muted by rules.")
    lines = [_line(entry) for entry in record["top_changes"][:TOP_ITEMS]]
    if not lines:
        lines = ["No relevant change this week."]
    tail = f"Full digest: {link}" if link else "The full digest is in Horizon's digests folder."
    kept: list[str] = []
    for line in lines:
        candidate = "\n".join([*head, "", *kept, line, "", tail])
        if len(candidate) > CHAT_LIMIT:
            break
        kept.append(line)
    dropped = len(record["top_changes"]) - len(kept)
    more = [f"…and {dropped} more in the full digest."] if dropped > 0 else []
    body = "\n".join([*head, "", *kept, *more, "", tail])
    return ChatMessage(title=title, body=body[:CHAT_LIMIT])


def _line(entry: dict[str, Any]) -> str:
    name = escape(entry["title"])
    link = _safe_link(entry.get("url"))
    headline = f"[{name}]({link})" if link else name
    parts = [f"• {headline} — {escape(entry.get('publisher'))}"]
    if entry.get("action"):
        parts.append(f"({escape(entry['action'])})")
    if entry.get("pinned_by"):
        parts.append("📌")
    return " ".join(parts)
