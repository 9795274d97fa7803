"""Writing every profile's digest for a week and delivering each exactly once."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import escape
from pydantic import BaseModel, Field

from horizon.channels.publish import publish_channels
from horizon.config import (
    Profile,
    Settings,
    SmtpSettings,
    Source,
    load_profiles,
    load_smtp_settings,
    profiles_path,
)
from horizon.deliver import (
    Delivery,
    DeliveryLedger,
    DigestMail,
    OutboxTransport,
    SmtpTransport,
    Transport,
    chart_content_id,
    deliver,
)
from horizon.digest.build import build_digest
from horizon.digest.model import Digest, Week
from horizon.digest.render import RenderedDigest, render_html, write_formats
from horizon.feed import write_feed, write_profile_feeds
from horizon.profiles import ALL_ITEMS
from horizon.readiness.facts import readiness_context
from horizon.state import StateDB


class PublishReport(BaseModel):
    """What `publish_week` wrote and sent; `to_dict()` goes into the run summary."""

    week: str
    paths: list[str] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def publish_week(
    state: StateDB,
    week: Week,
    sources: list[Source],
    settings: Settings,
    as_of: datetime,
    send: bool = True,
    resend: bool = False,
    profile: str | None = None,
    transport: Transport | None = None,
    to_outbox: bool = False,
) -> PublishReport:
    """Write every format of the all-items digest and of each profile's (only `profile`'s when
    given), rebuild the feeds and, with `send`, deliver each profile's digest once by email and
    to each of its channels.

    Mail goes through the SMTP server in HORIZON_SMTP_*, else to digests/outbox/; `transport`
    overrides both. `to_outbox` (a replayed snapshot) writes channel messages to the outbox too.
    When every source failed, a profile gets a coverage alert instead of an empty digest, and
    its digest waits for a run in which sources answer. Raises ConfigError (profiles.yaml or the
    SMTP settings are wrong) before anything is written.
    """
    profiles = load_profiles(profiles_path(settings))
    context = readiness_context(settings, state)
    chosen = [profiles.named(profile)] if profile else list(profiles.profiles)
    smtp = load_smtp_settings() if send else SmtpSettings()
    carrier = transport or _transport(smtp, settings)
    ledger = DeliveryLedger(state) if send else None
    outbox = settings.digests_dir / "outbox"
    report = PublishReport(week=week.label)
    targets: list[tuple[Profile, Path]] = [] if profile else [(ALL_ITEMS, settings.digests_dir)]
    targets += [(each, settings.digests_dir / each.name) for each in chosen]
    for each, directory in targets:
        digest = build_digest(
            state,
            week,
            sources,
            as_of=as_of,
            profile=each,
            rules=profiles.rules,
            context=context,
        )
        rendered, written = write_formats(digest, directory)
        report.paths.extend(str(path) for path in written)
        if ledger is None or each is ALL_ITEMS:
            continue
        if digest.coverage.all_failed:
            report.deliveries.append(_held_back(digest, each))
            alert = _coverage_alert(digest, each, rendered)
            report.deliveries.append(deliver(ledger, carrier, alert, smtp.sender, resend=resend))
            continue
        mail = _mail(digest, each, rendered)
        report.deliveries.append(deliver(ledger, carrier, mail, smtp.sender, resend=resend))
        report.deliveries.extend(
            publish_channels(
                ledger,
                each,
                json.loads(rendered.json),
                outbox if to_outbox else None,
                public_url=settings.public_url,
                resend=resend,
            )
        )
    report.paths.extend(str(path) for path in write_profile_feeds(settings.digests_dir))
    feed_path, problems = write_feed(settings.digests_dir)
    report.paths.append(str(feed_path))
    report.problems.extend(problems)
    return report


def _held_back(digest: Digest, profile: Profile) -> Delivery:
    return Delivery(
        week=digest.week.label,
        profile=profile.name,
        status="skipped",
        recipients=list(profile.recipients),
        detail=(
            f"not sent: every one of the {digest.coverage.checked} sources failed, so the digest "
            "would say nothing true; a coverage alert went instead, and the digest is sent by "
            "the next run in which sources answer"
        ),
    )


def _coverage_alert(digest: Digest, profile: Profile, rendered: RenderedDigest) -> DigestMail:
    """A short email that says no source could be checked, and why, source by source."""
    failures = [f"- {line.name} ({line.source}): {line.detail}" for line in digest.coverage.failed]
    text = "\n".join(
        [
            f"Horizon could not check any source for week {digest.week.label}.",
            f"All {digest.coverage.checked} sources failed, so no digest was sent: an empty one "
            "would wrongly say that nothing changed.",
            "",
            *failures,
            "",
            "Fix the causes above (network, moved feeds, blocked requests), then run "
            "`horizon run`; the digest is sent by the next run in which sources answer.",
        ]
    )
    html = "<pre>" + escape(text) + "</pre>"
    return DigestMail(
        week=digest.week.label,
        profile=f"{profile.name}.coverage-alert",
        subject=(
            f"Horizon {digest.week.label} — {profile.label}: ALERT, no source could be checked"
        ),
        recipients=tuple(profile.recipients),
        text=text,
        html=html,
        chart_png=None,
        chart_cid=chart_content_id(digest.week.label, profile.name),
        calendar_ics=rendered.calendar_ics,
        calendar_filename=f"horizon-{digest.week.label}-{profile.name}.ics",
    )


def _transport(smtp: SmtpSettings, settings: Settings) -> Transport:
    if smtp.configured:
        return SmtpTransport(smtp)
    return OutboxTransport(settings.digests_dir / "outbox")


def _mail(digest: Digest, profile: Profile, rendered: RenderedDigest) -> DigestMail:
    cid = chart_content_id(digest.week.label, profile.name)
    return DigestMail(
        week=digest.week.label,
        profile=profile.name,
        subject=f"Horizon {digest.week.label} — {profile.label}: {digest.headline}",
        recipients=tuple(profile.recipients),
        text=rendered.text,
        html=render_html(digest, chart_src=f"cid:{cid}"),
        chart_png=rendered.chart_png,
        chart_cid=cid,
        calendar_ics=rendered.calendar_ics,
        calendar_filename=f"horizon-{digest.week.label}-{profile.name}.ics",
    )
