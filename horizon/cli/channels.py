"""`horizon channels`: check a profile's channels and send them a test event."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from horizon.channels.check import check_channel, send_test
from horizon.cli.common import HomeOption, JsonOption, app, err, fail, make_runtime, out
from horizon.config import ConfigError, load_profiles, profiles_path

channels_app = typer.Typer(help="Chat channels and webhooks of the team profiles.")
app.add_typer(channels_app, name="channels")


@channels_app.command("test")
def test_command(
    profile: Annotated[str, typer.Argument(help="The profile whose channels get a test event.")],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Send a test event to each channel of PROFILE; exit status 1 when one failed."""
    runtime = make_runtime(home)
    try:
        chosen = load_profiles(profiles_path(runtime.settings)).named(profile)
    except ConfigError as error:
        fail(error.problems)
    if not chosen.channels:
        fail([f"profile '{profile}' has no channels; add `channels:` to it in profiles.yaml"])
    results = [send_test(chosen, channel) for channel in chosen.channels]
    if json_output:
        sys.stdout.write(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    else:
        for result in results:
            out.print(
                f"{result.channel} ({result.kind}, {result.shown}): {result.status} — "
                f"{result.detail}",
                markup=False,
            )
    if any(result.status != "sent" for result in results):
        raise typer.Exit(1)


@channels_app.command("check")
def check_command(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Check every profile's channels (environment variables set, URL usable) without
    sending anything or printing a secret; exit status 2 when a URL is unusable."""
    runtime = make_runtime(home)
    try:
        profiles = load_profiles(profiles_path(runtime.settings))
    except ConfigError as error:
        fail(error.problems)
    results = [check_channel(p, c) for p in profiles.profiles for c in p.channels]
    if json_output:
        sys.stdout.write(json.dumps([r.as_json() for r in results], indent=2) + "\n")
    else:
        for result in results:
            out.print(
                f"{result.profile}/{result.channel} ({result.kind}, {result.shown}): "
                f"{result.status} — {result.detail}",
                markup=False,
            )
    invalid = [r.detail for r in results if r.status == "invalid"]
    if invalid:
        fail(invalid)
    err.print(f"{len(results)} channels checked")
