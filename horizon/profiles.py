"""Which items each team's digest shows.

A `Profile` (from profiles.yaml, see `horizon.config`) names the controls, themes,
jurisdictions and item types a team cares about, the least tag score worth its time, and sources
it does not want. `matches` decides one item; `interest_score` is the tag score that counts for
the profile (its own controls only), which the digest also ranks by. Pure functions only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from horizon.config import Profile, ProfilesFile
from horizon.item import Tags
from horizon.state import StoredItem

ALL_ITEMS_NAME = "all"
ALL_ITEMS = Profile.model_construct(name=ALL_ITEMS_NAME, title="AI governance (all controls)")


def interest_score(tags: Tags, profile: Profile) -> float:
    """The best tag score among the profile's controls (any control when it names none)."""
    wanted = set(profile.controls)
    return max(
        (control.score for control in tags.controls if not wanted or control.id in wanted),
        default=0.0,
    )


def reporting_sources(stored: StoredItem, profile: Profile) -> list[str]:
    """The sources that reported the item, less those the profile excludes."""
    excluded = set(profile.exclude_sources)
    sources = stored.sources or ([stored.item.source] if stored.item.source else [])
    return [source for source in sources if source not in excluded]


def matches(stored: StoredItem, profile: Profile) -> bool:
    """Whether the item belongs in the profile's digest: relevant, reported by at least one
    source the profile keeps, and of interest on every axis the profile names."""
    tags = stored.item.tags
    if tags is None or not tags.relevant:
        return False
    has_source = bool(stored.sources or stored.item.source)
    if has_source and not reporting_sources(stored, profile):
        return False
    if profile.controls and not set(profile.controls) & set(tags.control_ids()):
        return False
    if profile.themes and not set(profile.themes) & set(tags.themes):
        return False
    if profile.jurisdictions and tags.jurisdiction not in profile.jurisdictions:
        return False
    if profile.types and tags.type not in profile.types:
        return False
    return interest_score(tags, profile) >= profile.min_relevance


def select(items: Iterable[StoredItem], profile: Profile) -> list[StoredItem]:
    return [stored for stored in items if matches(stored, profile)]


def reference_problems(
    profiles: ProfilesFile,
    path: Path,
    control_ids: Iterable[str],
    theme_ids: Iterable[str],
    source_ids: Iterable[str],
) -> list[str]:
    """Names a profile uses that the catalogue or sources.yaml do not know: one plain line
    each, because a misspelt control silently empties a team's digest."""
    known_controls, known_themes, known_sources = set(control_ids), set(theme_ids), set(source_ids)
    problems = []
    for profile in profiles.profiles:
        where = f"{path}: profile '{profile.name}'"
        for control in profile.controls:
            if control not in known_controls:
                problems.append(
                    f"{where}: control '{control}' is not in the control catalogue; "
                    "check its spelling (see `horizon classify` output for the ids)"
                )
        for theme in profile.themes:
            if theme not in known_themes:
                problems.append(
                    f"{where}: theme '{theme}' is not in the control catalogue; "
                    f"use one of {', '.join(sorted(known_themes))}"
                )
        for source in profile.exclude_sources:
            if source not in known_sources:
                problems.append(
                    f"{where}: excluded source '{source}' is not in sources.yaml; check its id"
                )
    return problems
