"""`horizon digest`: write (and send) a week's digests; `horizon profiles`: list and check the
team profiles."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from horizon.channels.check import check_channel
from horizon.cli.common import (
    ControlsOption,
    HomeOption,
    JsonOption,
    SourcesOption,
    app,
    err,
    fail,
    make_runtime,
    out,
)
from horizon.config import ConfigError, Profile, load_catalogue, load_profiles, profiles_path
from horizon.deliver import Delivery
from horizon.digest import PublishReport, Week, WeekError, publish_week
from horizon.profiles import reference_problems
from horizon.runtime import Runtime

_MARK = {"sent": "[green]✓[/green]", "already sent": "•", "skipped": "•", "failed": "[red]✗[/red]"}


@app.command("digest")
def digest_command(
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            help="ISO week, e.g. 2025-W37. Default: the last complete week before the latest run.",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Only this profile's digest (a name in profiles.yaml)."),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Email each profile's digest (SMTP from HORIZON_SMTP_*, else digests/outbox/); "
            "a digest already sent is not sent again.",
        ),
    ] = False,
    resend: Annotated[
        bool, typer.Option("--resend", help="Send again digests already sent (implies --send).")
    ] = False,
    home: HomeOption = None,
    sources: SourcesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the week's digests — all items, and each profile's — as Markdown, HTML, text, JSON,
    chart and calendar under HOME/digests/, rebuild the Atom feed, and print the paths.

    Exit status 1 when an email could not be sent (the reason is printed; nothing is recorded as
    sent, so running again retries it).
    """
    runtime = make_runtime(home, sources)
    try:
        config = runtime.sources
        chosen = Week.parse(week) if week else default_week(runtime)
        report = publish_week(
            runtime.store.state,
            chosen,
            config.sources,
            runtime.settings,
            as_of=digest_moment(runtime, chosen),
            send=send or resend,
            resend=resend,
            profile=profile,
        )
    except ConfigError as error:
        fail(error.problems)
    except WeekError as error:
        fail([str(error)])
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        for path in report.paths:
            out.print(path)
    print_deliveries(report)
    if report.failed:
        raise typer.Exit(1)


def print_deliveries(report: PublishReport) -> None:
    for problem in report.problems:
        err.print(f"[yellow]warning:[/yellow] {problem}", markup=True, highlight=False)
    item_events: dict[tuple[str, str, str], int] = {}
    for delivery in report.deliveries:
        channel, _, item = delivery.channel.partition("/")
        if item:
            key = (delivery.profile, channel, delivery.status)
            item_events[key] = item_events.get(key, 0) + 1
            if delivery.status not in ("failed", "skipped"):
                continue
        err.print(f"{_MARK[delivery.status]} {describe(delivery)}", markup=True, highlight=False)
    for (profile, channel, status), count in item_events.items():
        err.print(
            f"{_MARK[status]} {profile} ({channel}): {count} item event{'s' * (count != 1)} "
            f"{status}",
            markup=True,
            highlight=False,
        )


def describe(delivery: Delivery) -> str:
    who = ", ".join(delivery.recipients) or "nobody"
    return f"{delivery.profile} ({who}): {delivery.status} — {delivery.detail}"


def default_week(runtime: Runtime) -> Week:
    last = runtime.store.state.last_run()
    moment = datetime.fromisoformat(last["as_of"]) if last else datetime.now(UTC)
    return Week.last_complete(moment)


def digest_moment(runtime: Runtime, week: Week) -> datetime:
    """The moment the digest is written "as of": the run that followed the week when there was
    one (so the digest matches what that run wrote), else the week's end, never the future."""
    now = datetime.now(UTC)
    last = runtime.store.state.last_run()
    if last:
        ran = datetime.fromisoformat(last["as_of"])
        if week.end <= ran < week.end + timedelta(days=7):
            return min(ran, now)
    return min(week.end, now)


@app.command("profiles")
def profiles_command(
    home: HomeOption = None,
    sources: SourcesOption = None,
    controls: ControlsOption = None,
    json_output: JsonOption = False,
) -> None:
    """List the team profiles and check them: every field, and every control, theme and
    excluded source against the control catalogue and sources.yaml. Exit status 2 on a fault."""
    runtime = make_runtime(home, sources, controls)
    path = profiles_path(runtime.settings)
    try:
        profiles = load_profiles(path)
        catalogue = load_catalogue([runtime.settings.controls_file])
        source_ids = [source.id for source in runtime.sources.sources]
    except ConfigError as error:
        fail(error.problems)
    problems = reference_problems(
        profiles,
        path,
        catalogue.control_ids(),
        [theme.id for theme in catalogue.themes],
        source_ids,
    )
    if json_output:
        listed = [
            {
                **p.model_dump(exclude={"channels"}),
                "channels": [check_channel(p, c).as_json() for c in p.channels],
            }
            for p in profiles.profiles
        ]
        sys.stdout.write(json.dumps(listed, indent=2) + "\n")
    else:
        for each in profiles.profiles:
            out.print("\n".join(describe_profile(each)), markup=False)
    problems += [
        check.detail
        for each in profiles.profiles
        for check in (check_channel(each, channel) for channel in each.channels)
        if check.status == "invalid"
    ]
    if problems:
        fail(problems)
    err.print(f"{path}: {len(profiles.profiles)} profiles, all valid")


def describe_profile(profile: Profile) -> list[str]:
    """A few plain lines per profile, readable at any terminal width and easy to grep."""
    interests = [
        f"{label}: {', '.join(values)}"
        for label, values in (
            ("controls", profile.controls),
            ("themes", profile.themes),
            ("jurisdictions", profile.jurisdictions),
            ("types", profile.types),
        )
        if values
    ]
    lines = [
        f"{profile.name} — {profile.label}",
        f"  recipients: {', '.join(profile.recipients) or 'none (written, not sent)'}",
        f"  interests: {'; '.join(interests) or 'everything relevant'}; "
        f"minimum score {profile.min_relevance:.2f}",
    ]
    if profile.exclude_sources:
        lines.append(f"  excludes: {', '.join(profile.exclude_sources)}")
    for check in (check_channel(profile, channel) for channel in profile.channels):
        lines.append(f"  channel {check.channel} ({check.kind}): {check.shown} — {check.status}")
    if not profile.rules.empty:
        never, always = profile.rules.never, profile.rules.always
        lines.append(
            "  rules: never "
            + (", ".join([*never.phrases, *never.publishers, *never.types]) or "-")
            + "; always "
            + (", ".join([*always.phrases, *always.instruments, *always.controls]) or "-")
        )
    return lines
