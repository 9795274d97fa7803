"""Team profiles: the shipped profiles.yaml, validation with plain messages, which items a
profile keeps, and the `horizon profiles` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_digest import AS_OF, Seed
from typer.testing import CliRunner

import horizon.cli  # noqa: F401  (registers the commands on the app)
from horizon.cli.common import app
from horizon.config import (
    PROJECT_ROOT,
    ConfigError,
    Profile,
    Settings,
    load_catalogue,
    load_profiles,
    load_sources,
    profiles_path,
)
from horizon.profiles import ALL_ITEMS, interest_score, matches, reference_problems
from horizon.state import Report, StoredItem

BAD_PROFILES = """\
profiles:
  - name: dp
    recipients: [dpo@example.org, not-an-address]
    controls: [DATA-PRIVACY, data-privacy]
    types: [guidance, news]
    min_relevance: 2
    colour: blue
  - name: outbox
  - name: Vendor Team
    jurisdictions: [Europe]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def stored(seed: Seed, *also: tuple[str, str]) -> StoredItem:
    item = seed.item()
    reports = [Report(item.id, item.id, item.source, item.publisher, None, "t", "h", "original")]
    reports += [Report(f"{s}-copy", item.id, s, p, None, "t", "h", "duplicate") for s, p in also]
    return StoredItem(item=item, first_seen=AS_OF, last_seen=AS_OF, reports=reports)


PRIVACY_ITEM = Seed(
    "p",
    "ICO guidance on AI",
    "2025-09-10",
    "ico",
    [("DATA-PRIVACY", 0.7, "data protection"), ("AI-POLICY", 0.9, "AI governance")],
    jurisdiction="UK",
    themes=("governance",),
)


def test_the_shipped_profiles_are_valid_and_name_known_controls_themes_and_sources() -> None:
    path = PROJECT_ROOT / "profiles.yaml"
    profiles = load_profiles(path)
    assert [p.name for p in profiles.profiles] == [
        "ai-governance-lead",
        "data-protection",
        "vendor-management",
    ]
    assert all(
        address.endswith("@example.org") for p in profiles.profiles for address in p.recipients
    )
    catalogue = load_catalogue([PROJECT_ROOT / "controls.yaml"])
    sources = load_sources(PROJECT_ROOT / "sources.yaml")
    problems = reference_problems(
        profiles,
        path,
        catalogue.control_ids(),
        [theme.id for theme in catalogue.themes],
        [source.id for source in sources.sources],
    )
    assert problems == []


def test_a_bad_profiles_file_gets_one_plain_line_per_fault_naming_the_profile(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, BAD_PROFILES)
    with pytest.raises(ConfigError) as caught:
        load_profiles(path)
    assert caught.value.problems == [
        f"{path}: profiles entry 1 ('dp') recipients: 'not-an-address' is not an email "
        "address like team@example.org",
        f"{path}: profiles entry 1 ('dp') controls: 'data-privacy' is not a control id like "
        "DATA-PRIVACY",
        f"{path}: profiles entry 1 ('dp') types: 'news' is not an item type; use one of "
        "legislation, guidance, consultation, enforcement, standard, vendor-change, report",
        f"{path}: profiles entry 1 ('dp'): 'min_relevance': Input should be less than or "
        "equal to 1",
        f"{path}: profiles entry 1 ('dp'): 'colour': unknown key; remove it or check its spelling",
        f"{path}: profiles entry 2 ('outbox'): 'name': 'outbox' is reserved (the all-items "
        "digest and the outbox use it); choose another name",
        f"{path}: profiles entry 3 ('Vendor Team'): 'name': use lowercase letters, digits and "
        "hyphens, e.g. 'data-protection'",
        f"{path}: profiles entry 3 ('Vendor Team') jurisdictions: 'Europe' is not a "
        "jurisdiction; use UK, EU, US, INT, GLOBAL or an ISO 3166 alpha-2 code",
    ]


def test_profile_names_must_differ_and_unknown_names_list_the_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'dp' is used twice"):
        load_profiles(write(tmp_path, "profiles:\n  - name: dp\n  - name: dp\n"))
    profiles = load_profiles(write(tmp_path, "profiles:\n  - name: dp\n  - name: vm\n"))
    with pytest.raises(ConfigError, match="no profile named 'legal'; known profiles: dp, vm"):
        profiles.named("legal")


def test_a_missing_or_empty_file_is_plain(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_profiles(tmp_path / "absent.yaml")
    assert load_profiles(write(tmp_path, "")).profiles == []
    with pytest.raises(ConfigError, match="expected a mapping with a 'profiles' list"):
        load_profiles(write(tmp_path, "- name: dp\n"))


def test_the_homes_own_profiles_file_wins(settings: Settings) -> None:
    assert profiles_path(settings) == PROJECT_ROOT / "profiles.yaml"
    settings.home.mkdir(parents=True)
    (settings.home / "profiles.yaml").write_text("profiles: []\n", encoding="utf-8")
    assert profiles_path(settings) == settings.home / "profiles.yaml"


def test_the_all_items_profile_keeps_every_relevant_item() -> None:
    assert matches(stored(PRIVACY_ITEM), ALL_ITEMS)
    noise = Seed("n", "Interest rates held", "2025-09-10", "ec", [])
    assert not matches(stored(noise), ALL_ITEMS)


def test_each_axis_of_interest_must_match_when_given() -> None:
    item = stored(PRIVACY_ITEM)
    assert matches(item, Profile(name="a", controls=["DATA-PRIVACY", "FAIRNESS"]))
    assert not matches(item, Profile(name="a", controls=["FAIRNESS"]))
    assert matches(item, Profile(name="a", themes=["governance"]))
    assert not matches(item, Profile(name="a", themes=["workforce"]))
    assert matches(item, Profile(name="a", jurisdictions=["UK", "EU"]))
    assert not matches(item, Profile(name="a", jurisdictions=["US"]))
    assert matches(item, Profile(name="a", types=["guidance"]))
    assert not matches(item, Profile(name="a", types=["legislation"]))
    assert not matches(item, Profile(name="a", controls=["DATA-PRIVACY"], jurisdictions=["US"]))


def test_minimum_relevance_reads_the_score_of_the_profiles_own_controls() -> None:
    item = stored(PRIVACY_ITEM)
    privacy = Profile(name="a", controls=["DATA-PRIVACY"], min_relevance=0.8)
    assert interest_score(item.item.tags, privacy) == 0.7  # type: ignore[arg-type]
    assert not matches(item, privacy)
    assert matches(item, Profile(name="a", min_relevance=0.8))
    assert matches(item, privacy.model_copy(update={"min_relevance": 0.7}))


def test_excluded_sources_drop_an_item_only_when_no_other_source_reported_it() -> None:
    alone = stored(PRIVACY_ITEM)
    shared = stored(PRIVACY_ITEM, ("tracker", "AI Act tracker"))
    no_ico = Profile(name="a", exclude_sources=["ico"])
    assert not matches(alone, no_ico)
    assert matches(shared, no_ico)
    assert not matches(shared, Profile(name="a", exclude_sources=["ico", "tracker"]))


def test_references_to_unknown_controls_themes_and_sources_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "profiles:\n  - name: dp\n    controls: [DATA-PRIVACYY]\n    themes: [goverance]\n"
        "    exclude_sources: [hn]\n",
    )
    problems = reference_problems(
        load_profiles(path), path, ["DATA-PRIVACY"], ["governance", "risk"], ["ico"]
    )
    assert problems == [
        f"{path}: profile 'dp': control 'DATA-PRIVACYY' is not in the control catalogue; "
        "check its spelling (see `horizon classify` output for the ids)",
        f"{path}: profile 'dp': theme 'goverance' is not in the control catalogue; "
        "use one of governance, risk",
        f"{path}: profile 'dp': excluded source 'hn' is not in sources.yaml; check its id",
    ]


def test_the_profiles_command_lists_the_profiles_and_says_they_are_valid(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = CliRunner().invoke(app, ["profiles", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "data-protection" in result.stdout and "dpo@example.org" in result.stdout
    assert "3 profiles, all valid" in result.stderr
    listed = CliRunner().invoke(app, ["profiles", "--home", str(home), "--json"])
    assert [profile["name"] for profile in json.loads(listed.stdout)] == [
        "ai-governance-lead",
        "data-protection",
        "vendor-management",
    ]


def test_the_profiles_command_fails_with_each_problem_on_its_own_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home, "profiles:\n  - name: dp\n    controls: [DATA-PRIVACYY]\n")
    result = CliRunner().invoke(app, ["profiles", "--home", str(home)])
    assert result.exit_code == 2
    assert "control 'DATA-PRIVACYY' is not in the control catalogue" in result.stderr
    write(home, "profiles:\n  - name: dp\n    recipients: [nobody]\n")
    result = CliRunner().invoke(app, ["profiles", "--home", str(home)])
    assert result.exit_code == 2
    assert "'nobody' is not an email address" in result.stderr
