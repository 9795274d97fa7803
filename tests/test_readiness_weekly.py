"""The readiness stage of the weekly run on a seeded state: it stores the stage changes the
items propose (once, however often it runs), finds the supplier hit on the inventory, lists
the obligations with their dates and writes the quarter's briefing pack."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from horizon.config import load_settings
from horizon.item import ControlTag, Item, Tags
from horizon.readiness.weekly import load_readiness_config, quarter_of, readiness_run
from horizon.state import StateDB


def _state(tmp_path: Path) -> StateDB:
    state = StateDB(tmp_path / "state.db")
    items = [
        Item(
            id="co",
            title="Colorado AI Act delayed",
            summary="SB 25B-004 was signed into law on 28 August 2025, moving the Colorado "
            "AI Act to 30 June 2026.",
            published=datetime(2025, 8, 28, tzinfo=UTC),
            content_hash="a",
        ),
        Item(
            id="claude",
            title="Model deprecations: Claude Sonnet 3.5 to be retired on October 22, 2025",
            summary="claude-3-5-sonnet-20240620 and claude-3-5-sonnet-20241022 are deprecated "
            "and will be retired on the Claude API on October 22, 2025.",
            publisher="Anthropic",
            published=datetime(2025, 8, 13, tzinfo=UTC),
            content_hash="b",
        ),
    ]
    state.save_new_items(items, datetime(2025, 9, 15, tzinfo=UTC))
    return state


def test_quarter_of_gives_the_calendar_quarter() -> None:
    assert quarter_of(date(2025, 9, 15)) == (date(2025, 7, 1), date(2025, 9, 30))
    assert quarter_of(date(2025, 12, 31)) == (date(2025, 10, 1), date(2025, 12, 31))
    assert quarter_of(date(2026, 1, 1)) == (date(2026, 1, 1), date(2026, 3, 31))


def test_readiness_stage_proposes_once_finds_the_retirement_and_writes_the_briefing(
    tmp_path: Path,
) -> None:
    state = _state(tmp_path)
    duty = Item(
        id="co-records",
        title="Colorado AI Act rules",
        summary="Under the Colorado AI Act, deployers must keep records of each impact "
        "assessment for three years from 1 January 2027.",
        published=datetime(2025, 9, 1, tzinfo=UTC),
        content_hash="c",
    )
    state.save_new_items([duty], datetime(2025, 9, 15, tzinfo=UTC))
    records = ControlTag(id="RECORDS-DOCS", score=0.9, evidence="")
    state.set_tags([("co-records", Tags(relevant=True, type="legislation", controls=[records]))])
    config = load_readiness_config(load_settings(tmp_path / "home", env={}))
    folder = tmp_path / "digests" / "briefing"

    first = readiness_run(state, config, date(2025, 9, 15), folder)

    assert first["instruments"] == len(config.catalogue.instruments) > 10
    assert sum(first["stages"].values()) == first["instruments"]
    assert first["proposals"]["new"] >= 1
    assert any(p["instrument"] == "colorado-ai-act" for p in first["proposed_stages"])
    assert first["obligations"] and all(
        row["from"] is None or date.fromisoformat(row["from"]) for row in first["obligations"]
    )
    [hit] = first["supplier_hits"]
    assert (hit["affects"], hit["kind"], hit["date"]) == (
        "underwriting document summaries",
        "retirement",
        "2025-10-22",
    )
    assert [Path(path).name for path in first["briefing"]["paths"]] == [
        "briefing-2025-07-01-2025-09-30.md",
        "briefing-2025-07-01-2025-09-30.html",
        "briefing-2025-07-01-2025-09-30.pdf",
    ]
    markdown = (folder / "briefing-2025-07-01-2025-09-30.md").read_text(encoding="utf-8")
    assert "underwriting document summaries" in markdown
    assert (folder / "briefing-2025-07-01-2025-09-30.pdf").read_bytes().startswith(b"%PDF")

    again = readiness_run(state, config, date(2025, 9, 15), folder)
    assert again["proposals"] == {"new": 0, "open": first["proposals"]["open"]}
    assert first["obligation_proposals"] == {"new": 1, "open": 1}
    assert again["obligation_proposals"] == {"new": 0, "open": 1}
    assert first["supplier_flag_proposals"] == {"new": 1, "open": 1}
    assert again["supplier_flag_proposals"] == {"new": 0, "open": 1}
    assert again["proposed_stages"] == first["proposed_stages"]
