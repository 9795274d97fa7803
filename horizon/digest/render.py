"""Every format of a digest: Markdown, HTML, text, JSON, chart and calendar, written atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from horizon.calendar import CalendarEvent, build_calendar
from horizon.chart import render_trend_png
from horizon.digest.model import DatedEntry, Digest, DigestEntry
from horizon.digest.text import (
    counted,
    days_away,
    escape_markdown,
    one_line,
    sanitise_html,
    shorten,
    web_url,
)
from horizon.item import ControlTag
from horizon.provenance import Provenance
from horizon.readiness.export import row_json
from horizon.state import Report

TYPE_LABEL = {
    "legislation": "legislation",
    "enforcement": "enforcement",
    "consultation": "consultation",
    "guidance": "guidance",
    "standard": "standard",
    "vendor-change": "vendor change",
    "report": "report",
}
EVIDENCE_CHARS = 240


@cache
def _environment(autoescape: bool) -> Environment:
    """The template environment, built (and its templates compiled) once per process."""
    environment = Environment(
        loader=PackageLoader("horizon", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["day"] = lambda value: f"{value:%-d %b %Y}" if value else "undated"
    environment.filters["md"] = escape_markdown
    environment.filters["line"] = one_line
    environment.filters["url"] = web_url
    environment.filters["away"] = days_away
    environment.filters["evidence"] = lambda text: shorten(text or "", EVIDENCE_CHARS)
    environment.filters["verified"] = verified_line
    environment.filters["count"] = counted
    environment.filters["scores"] = _scores
    environment.filters["tally"] = lambda counts: " · ".join(f"{k} {v}" for k, v in counts.items())
    environment.filters["theme_totals"] = lambda series: " · ".join(
        f"{theme} {sum(counts)}" for theme, counts in sorted(series.items())
    )
    environment.filters["reporters_md"] = _reporters_markdown
    environment.filters["reporters_text"] = _reporters_text
    environment.globals["type_label"] = TYPE_LABEL
    return environment


def verified_line(provenance: Provenance | None) -> str:
    """An entry's line saying when it was last verified and the content hash; "" when no
    archived fetch confirms it."""
    if provenance is None or provenance.verified_at is None:
        return ""
    content = (provenance.content_hash or "")[:19]
    if provenance.replayed:
        # the time of a replay is when the snapshot was played back, which verifies nothing
        return f"Verified only from a replayed snapshot · {content}"
    when = provenance.verified_at
    when = when.astimezone(UTC) if when.tzinfo else when
    return f"Last verified {when:%-d %b %Y %H:%M} UTC · {content}"


def _scores(controls: list[ControlTag]) -> str:
    return ", ".join(f"{control.id} {control.score:.2f}" for control in controls) or "none"


def _reporters_markdown(reports: list[Report]) -> str:
    return "; ".join(
        escape_markdown(report.publisher)
        + (f" ({escape_markdown(report.source)})" if report.source else "")
        + (f" <{web_url(report.url)}>" if web_url(report.url) else "")
        for report in reports
    )


def _reporters_text(reports: list[Report]) -> str:
    return "; ".join(
        one_line(report.publisher)
        + (f" ({one_line(report.source)})" if report.source else "")
        + (f" {web_url(report.url)}" if web_url(report.url) else "")
        for report in reports
    )


def render_markdown(digest: Digest, chart_src: str | None = None) -> str:
    return (
        _environment(autoescape=False)
        .get_template("digest.md.j2")
        .render(d=digest, chart_src=chart_src)
    )


def render_text(digest: Digest) -> str:
    """Plain text, for the email's text part and for reading in a terminal."""
    return _environment(autoescape=False).get_template("digest.txt.j2").render(d=digest)


def render_html(digest: Digest, chart_src: str | None = None) -> str:
    """A complete, email-safe HTML page; `chart_src` is the chart's file name or `cid:` URL."""
    environment = _environment(autoescape=True)
    body = environment.get_template("digest_body.html.j2").render(d=digest, chart_src=chart_src)
    return environment.get_template("digest.html.j2").render(
        d=digest, body=Markup(sanitise_html(body))
    )


def digest_record(digest: Digest, files: dict[str, str] | None = None) -> dict[str, Any]:
    """The digest as plain data (the JSON format), also what the Atom feed is built from."""
    environment = _environment(autoescape=True)
    overview = environment.get_template("digest_overview.html.j2").render(d=digest)
    return {
        "title": digest.title,
        "week": digest.week.label,
        "period": digest.period,
        "profile": {"name": digest.profile_name, "title": digest.profile},
        "generated_at": digest.as_of.isoformat(),
        "summary": digest.headline,
        "overview_html": sanitise_html(overview),
        "counts": {
            "items_this_week": digest.scanned,
            "relevant": digest.relevant_count,
            "need_action": len(digest.need_action),
        },
        "top_changes": [_entry_record(entry) for entry in digest.top],
        "by_control": {
            control: [_entry_record(entry) for entry in entries]
            for control, entries in digest.by_control.items()
        },
        "themes": digest.themes,
        "closing_soon": [_dated_record(line) for line in digest.closing],
        "taking_effect": [_dated_record(line) for line in digest.taking_effect],
        "applies_soon": [row_json(row) for row in digest.applies_soon],
        "at_a_glance": {
            "actions": [
                {"control": control, "when": when, "what": what}
                for control, lines in digest.glance_actions.items()
                for when, what in lines
            ],
            "stage_changes": [
                {
                    "instrument": change.instrument_id,
                    "stage": change.stage,
                    "date": change.date.isoformat() if change.date else None,
                    "item_id": entry.item.id,
                    "evidence": change.evidence,
                }
                for change, entry in digest.stage_changes
            ],
            "supplier_hits": [hit.summary() for hit in digest.supplier_hits],
        },
        "trend": digest.trend.as_dict(),
        "coverage": {
            "statement": digest.coverage.statement,
            "checked": digest.coverage.checked,
            "ok": digest.coverage.ok,
            "unchanged": digest.coverage.unchanged,
            "failed": [
                {"source": line.source, "name": line.name, "reason": line.detail}
                for line in digest.coverage.failed
            ],
            "warnings": [
                {"source": line.source, "name": line.name, "warning": line.detail}
                for line in digest.coverage.warned
            ],
            "never_checked": digest.coverage.never_checked,
            "excluded": digest.coverage.excluded,
        },
        "rules": {
            "muted": digest.coverage.muted,
            "pinned": sum(1 for entry in digest.entries if entry.pinned_by),
        },
        "files": files or {},
    }


def render_json(digest: Digest, files: dict[str, str] | None = None) -> str:
    return json.dumps(digest_record(digest, files), indent=2, ensure_ascii=False) + "\n"


def _entry_record(entry: DigestEntry) -> dict[str, Any]:
    item = entry.item
    tags = item.tags
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "publisher": item.publisher,
        "published": item.published.isoformat() if item.published else None,
        "first_seen_late": entry.first_seen_late,
        "type": tags.type if tags else None,
        "jurisdiction": tags.jurisdiction if tags else None,
        "controls": [control.model_dump() for control in tags.controls] if tags else [],
        "themes": list(tags.themes) if tags else [],
        "deadline": tags.deadline.isoformat() if tags and tags.deadline else None,
        "effective": tags.effective.isoformat() if tags and tags.effective else None,
        "action": entry.action,
        "pinned_by": entry.pinned_by,
        "last_verified": _verified_record(entry),
        "rank_score": entry.rank_score,
        "impact": {
            "level": entry.readiness.impact.level,
            "reasons": list(entry.readiness.impact.reasons),
        }
        if entry.readiness
        else None,
        "also_reported_by": [
            {"publisher": report.publisher, "source": report.source, "url": report.url}
            for report in entry.also_reported_by
        ],
    }


def _verified_record(entry: DigestEntry) -> dict[str, Any] | None:
    provenance = entry.provenance
    if provenance is None or provenance.verified_at is None:
        return None
    return {
        "at": provenance.verified_at.isoformat(),
        "url": provenance.verified_url,
        "content_hash": provenance.content_hash,
        "replayed": provenance.replayed,
    }


def _dated_record(line: DatedEntry) -> dict[str, Any]:
    return {
        "date": line.when.isoformat(),
        "what": line.what,
        "days_away": line.days_away,
        "item": _entry_record(line.entry),
    }


def calendar_events(digest: Digest) -> list[CalendarEvent]:
    """The digest's upcoming dates as calendar events, one per item and kind of date."""
    events = []
    for line in digest.calendar:
        item, tags = line.entry.item, line.entry.item.tags
        heading = "Consultation closes" if line.what == "closes" else "Takes effect"
        controls = ", ".join(tags.control_ids()) if tags else ""
        description = "\n".join(
            part
            for part in (
                f"{item.publisher}, published {item.published:%-d %b %Y}"
                if item.published
                else item.publisher,
                f"Controls: {controls}" if controls else "",
                item.url or "",
                f"From the Horizon digest {digest.week.label} ({digest.profile}).",
            )
            if part
        )
        events.append(
            CalendarEvent(
                uid=f"{item.id}-{line.kind}@horizon",
                day=line.when,
                summary=f"{heading}: {item.title}",
                description=description,
                url=web_url(item.url) or None,
                categories=tuple(
                    [TYPE_LABEL.get(tags.type, tags.type), *tags.control_ids()] if tags else []
                ),
            )
        )
    return events


@dataclass(frozen=True)
class RenderedDigest:
    """Every format of one digest, as written to disk."""

    markdown: str
    html: str
    text: str
    json: str
    chart_png: bytes
    calendar_ics: bytes


def render_all(digest: Digest) -> RenderedDigest:
    label = digest.week.label
    chart_name = f"{label}.png"
    files = {suffix: f"{label}.{suffix}" for suffix in ("md", "html", "txt", "json", "png", "ics")}
    return RenderedDigest(
        markdown=render_markdown(digest, chart_src=chart_name),
        html=render_html(digest, chart_src=chart_name),
        text=render_text(digest),
        json=render_json(digest, files),
        chart_png=render_trend_png(digest.trend),
        calendar_ics=build_calendar(
            calendar_events(digest),
            f"Horizon — {digest.profile}",
            digest.as_of,
        ),
    )


def write_digest(digest: Digest, directory: Path) -> list[Path]:
    """Write `YYYY-Www.md` and `.html`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("md", render_markdown(digest)), ("html", render_html(digest))):
        path = directory / f"{digest.week.label}.{suffix}"
        _write_atomically(path, text.encode("utf-8"))
        written.append(path)
    return written


def write_formats(digest: Digest, directory: Path) -> tuple[RenderedDigest, list[Path]]:
    """Write every format (md, html, txt, json, png, ics) as `YYYY-Www.*` in `directory`."""
    rendered = render_all(digest)
    directory.mkdir(parents=True, exist_ok=True)
    contents = (
        ("md", rendered.markdown.encode("utf-8")),
        ("html", rendered.html.encode("utf-8")),
        ("txt", rendered.text.encode("utf-8")),
        ("json", rendered.json.encode("utf-8")),
        ("png", rendered.chart_png),
        ("ics", rendered.calendar_ics),
    )
    written = []
    for suffix, data in contents:
        path = directory / f"{digest.week.label}.{suffix}"
        _write_atomically(path, data)
        written.append(path)
    return rendered, written


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
