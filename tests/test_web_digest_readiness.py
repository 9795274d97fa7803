"""The web workspace's digest assesses impact as the published digest does: the same
readiness context (catalogue, inventory, readiness rows), so the at-a-glance box lists supplier
hits and each entry carries its impact level."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from horizon.config import load_settings
from horizon.embed import HashingEmbedder
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.runtime import Runtime
from horizon.web import create_app
from horizon.web.views import week_digest
from horizon.workspace import Workspace

RETIREMENT = (
    "Anthropic will retire claude-3-5-sonnet-20241022 on 22 October 2025; move to a newer model."
)


def _retirement_item() -> Item:
    title = "Model deprecations: Claude 3.5 Sonnet"
    return Item(
        id="anthropic-retirement",
        title=title,
        summary=RETIREMENT,
        url="https://docs.anthropic.com/en/docs/about-claude/model-deprecations",
        publisher="Anthropic",
        published=datetime(2025, 9, 10, 9, tzinfo=UTC),
        source="anthropic-news",
        content_hash=content_hash(title, RETIREMENT),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="THIRD-PARTY", score=0.8, evidence=RETIREMENT)],
            type="vendor-change",
            jurisdiction="GLOBAL",
        ),
    )


def test_the_web_digest_ranks_by_impact_and_lists_supplier_hits_at_a_glance(
    tmp_path: Path,
) -> None:
    runtime = Runtime(
        load_settings(home=tmp_path / "home", env={}), embedder_override=HashingEmbedder()
    )
    item = _retirement_item()
    runtime.store.index.upsert([item], runtime.embedder.embed([item.text()]))
    runtime.store.state.save_new_items([item], datetime(2025, 9, 11, 6, tzinfo=UTC))
    app = create_app(runtime, workspace=Workspace(runtime.store.state, controls=None))

    digest, _ = week_digest(app.state.web, "2025-W37")

    [entry] = [each for each in digest.entries if each.item.id == item.id]
    assert entry.readiness is not None
    assert entry.readiness.impact.level == "high"
    [hit] = digest.supplier_hits
    assert hit.system_name == "underwriting document summaries"
    assert hit.date is not None and hit.date.isoformat() == "2025-10-22"
