"""The weekly digest: what a compliance lead must read this week, and proof of what was checked.

`build_digest` gathers the week's relevant items for one profile (a team's interests, or all
items), with items found too late for their own week's digest (`late_discoveries`), folds in
every source that reported each one and ranks them (see `rank_score`). The digest opens with
the top changes (everything that needs action, then the strongest of the rest), groups the
remainder by control with its themes, lists consultations closing within 30 days and rules and
vendor changes taking effect soon, draws the 12-week trend and states the coverage — which
sources were checked, unchanged or failed and why — so "nothing else this week" is a claim
backed by evidence.

Each digest is written as Markdown, email-safe HTML (inline CSS, no scripts; scraped text is
escaped and the whole body passes through the nh3 sanitiser), plain text and JSON, with its
chart (PNG) and calendar (iCalendar). `publish_week` writes every profile's digest and the
all-items one, the Atom feed, and sends each team's email exactly once.

The package is cut by job: `model` (what a digest holds), `build` (gathering it from the state),
`rank` (what comes first), `text` (escaping for every format), `render` (the formats) and
`publish` (writing and delivering).
"""

from horizon.digest.build import build_digest, late_discoveries
from horizon.digest.model import (
    Coverage,
    CoverageLine,
    DatedEntry,
    Digest,
    DigestEntry,
    Week,
    WeekError,
)
from horizon.digest.publish import PublishReport, publish_week
from horizon.digest.rank import action_for, independent_sources, rank_score
from horizon.digest.render import (
    RenderedDigest,
    calendar_events,
    digest_record,
    render_all,
    render_html,
    render_json,
    render_markdown,
    render_text,
    write_digest,
    write_formats,
)
from horizon.digest.text import escape_markdown, one_line, sanitise_html, shorten, web_url

__all__ = [
    "Coverage", "CoverageLine", "DatedEntry", "Digest", "DigestEntry", "PublishReport",
    "RenderedDigest", "Week", "WeekError", "action_for", "build_digest", "calendar_events",
    "digest_record", "escape_markdown", "independent_sources", "late_discoveries", "one_line",
    "publish_week", "rank_score", "render_all", "render_html", "render_json", "render_markdown",
    "render_text", "sanitise_html", "shorten", "web_url", "write_digest", "write_formats",
]  # fmt: skip
