"""The supplier watch: vendor changes matched to inventory systems by vendor, model and
version, with the change's kind and date, and `horizon suppliers`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from horizon.cli import app
from horizon.config import PROJECT_ROOT, ConfigError, load_inventory
from horizon.item import Item
from horizon.readiness.profile import System
from horizon.readiness.suppliers import match_item
from horizon.state import StateDB


@pytest.fixture(scope="module")
def systems() -> list[System]:
    return load_inventory(PROJECT_ROOT / "inventory.yaml").systems


def _affected(systems: list[System], title: str, summary: str, publisher: str = "") -> list:
    return match_item("i", title, summary, None, publisher, systems)


def test_retirement_of_our_model_version_affects_claims_triage(systems: list[System]) -> None:
    [hit] = _affected(
        systems,
        "Azure OpenAI model retirements",
        "Microsoft will retire gpt-4o version 2024-08-06 on 15 March 2026. Plan your upgrade.",
    )
    assert (hit.system_name, hit.kind, hit.date) == (
        "claims triage",
        "retirement",
        date(2026, 3, 15),
    )
    assert hit.matched == "gpt-4o 2024-08-06"
    assert hit.evidence == "Microsoft will retire gpt-4o version 2024-08-06 on 15 March 2026."


def test_retirement_of_another_version_does_not_affect_us(systems: list[System]) -> None:
    assert (
        _affected(
            systems,
            "Azure OpenAI model retirements",
            "Microsoft will retire gpt-4o version 2024-05-13 on 15 March 2026.",
        )
        == []
    )


def test_a_longer_model_name_is_another_model(systems: list[System]) -> None:
    [hit] = _affected(
        systems, "OpenAI deprecates gpt-4o-mini", "The OpenAI API drops gpt-4o-mini on 1 May 2026."
    )
    assert hit.system_id == "customer-chat"
    assert hit.kind == "deprecation" and hit.date == date(2026, 5, 1)


def test_version_written_after_a_hyphen_is_our_version_or_another(
    systems: list[System],
) -> None:
    [hit] = _affected(
        systems,
        "Model deprecations: Claude Sonnet 3.5 to be retired on October 22, 2025",
        "claude-3-5-sonnet-20240620 and claude-3-5-sonnet-20241022 are deprecated and will be "
        "retired on the Claude API on October 22, 2025.",
        publisher="Anthropic",
    )
    assert (hit.system_id, hit.kind, hit.date) == (
        "document-summaries",
        "retirement",
        date(2025, 10, 22),
    )
    assert (
        _affected(
            systems,
            "Claude Sonnet 3.5 (June) retires",
            "claude-3-5-sonnet-20240620 will be retired on the Claude API on October 22, 2025.",
            publisher="Anthropic",
        )
        == []
    )


def test_model_without_its_vendor_or_product_is_not_a_hit(systems: list[System]) -> None:
    assert _affected(systems, "A blog on gpt-4o", "Someone will retire gpt-4o at home.") == []


def test_vendor_named_only_as_publisher_counts(systems: list[System]) -> None:
    [hit] = _affected(
        systems,
        "Changes to our usage policies",
        "Our usage policies for claude-3-5-sonnet change on 1 February 2026.",
        publisher="Anthropic",
    )
    assert (hit.system_id, hit.kind) == ("document-summaries", "terms")


def test_an_item_without_a_change_is_not_a_hit(systems: list[System]) -> None:
    assert _affected(systems, "Azure OpenAI gpt-4o 2024-08-06 tops a benchmark", "") == []


def test_inventory_unknown_key_is_one_plain_line(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "systems:\n  - id: a\n    name: A\n    vendor: V\n    modle: m\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as raised:
        load_inventory(path)
    [problem] = raised.value.problems
    assert "entry 1 ('a')" in problem and "'modle'" in problem and "unknown key" in problem


def test_cli_lists_hits_with_affects_and_writes_the_calendar(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = StateDB(home / "state.db")
    items = [
        Item(
            id="v1",
            title="Azure OpenAI: upcoming model retirements",
            summary="gpt-4o 2024-08-06 will be retired on 15 March 2026 in Azure OpenAI.",
            publisher="Microsoft",
            content_hash="a",
        ),
        Item(id="v2", title="Unrelated news", summary="Nothing retires.", content_hash="b"),
    ]
    state.save_new_items(items, datetime(2026, 1, 5, tzinfo=UTC))
    ics = tmp_path / "suppliers.ics"
    result = CliRunner().invoke(
        app, ["suppliers", "--home", str(home), "--json", "--ics", str(ics)]
    )
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.stdout)
    assert (hit["item_id"], hit["affects"], hit["date"]) == ("v1", "claims triage", "2026-03-15")
    [event] = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert event.decoded("dtstart") == date(2026, 3, 15)
    text = CliRunner().invoke(app, ["suppliers", "--home", str(home)])
    assert "affects: claims triage" in text.stdout
