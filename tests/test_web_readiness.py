"""The workspace's readiness pages and their API over HTTP (FastAPI's test client): instruments
with their stages and filters, an instrument's timeline with linked items and obligations,
stage proposals that only analysts decide (CSRF-checked, audited, in the evidence log), the
readiness tracker with its CSV and iCalendar downloads, and the supplier watch. The home has
its own small instruments.yaml, organisation.yaml and inventory.yaml, so the answers do not
move when the project's catalogue grows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from test_web_pages import hidden, sign_in, text_of

from horizon.config import (
    ConfigError,
    Settings,
    instruments_path,
    load_instruments,
    load_settings,
)
from horizon.embed import HashingEmbedder
from horizon.instruments.linking import link_item
from horizon.instruments.proposals import Proposals, StoredProposal
from horizon.instruments.stages import propose_stages
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.runtime import Runtime
from horizon.state import StateDB
from horizon.web import create_app
from horizon.web.readiness_views import LinkMemo
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagRequest, TokenRequest, UserRequest

PASSWORD = "a long enough password"
AS_ON = "2025-09-15"
HOSTILE = "<img src=x onerror=alert(1)>"

INSTRUMENTS = """
instruments:
  - id: uk-dua
    name: Data (Use and Access) Act 2025
    aliases: [Data (Use and Access) Act]
    jurisdiction: UK
    kind: hard
    description: The UK act amending UK GDPR.
    url: https://www.legislation.gov.uk/ukpga/2025/18
    history:
      - {stage: adopted, date: 2025-06-19, note: Royal Assent}
    milestones:
      - {date: 2025-08-20, applies: First commencement, articles: [s. 1]}
      - {date: 2026-06-19, applies: Automated decision-making reforms, articles: [s. 80]}
    obligations:
      - id: adm-safeguards
        control: DATA-PRIVACY
        who: [deployer]
        what: Give safeguards for significant automated decisions
        from: 2026-06-19
        articles: [s. 80]
  - id: colorado-ai-act
    name: Colorado AI Act
    aliases: [SB 24-205, SB 25B-004]
    jurisdiction: US-CO
    kind: hard
    history:
      - {stage: adopted, date: 2024-05-17, note: signed into law}
    milestones:
      - {date: 2026-06-30, applies: Duties of deployers of high-risk AI systems}
    obligations:
      - id: deployer-risk-programme
        control: RISK-IMPACT
        who: [deployer]
        what: Implement a risk management programme for high-risk AI systems
        from: 2026-06-30
      - id: developer-care
        control: FAIRNESS
        who: [provider]
        what: Use reasonable care against algorithmic discrimination (developers only)
        from: 2026-06-30
  - id: nist-ai-rmf
    name: NIST AI Risk Management Framework
    aliases: [NIST AI RMF]
    jurisdiction: US
    kind: soft
    history:
      - {stage: adopted, date: 2023-01-26}
"""
ORGANISATION = """
organisation:
  name: Test Mutual
  jurisdictions: [UK, US-CO]
  roles: [deployer]
"""
INVENTORY = """
systems:
  - id: document-summaries
    name: underwriting document summaries
    vendor: Anthropic
    product: Claude API
    model: claude-3-5-sonnet
    version: "20241022"
    controls: [THIRD-PARTY]
"""


def seed_item(
    item_id: str, title: str, summary: str, publisher: str, published: date, control: str
) -> Item:
    return Item(
        id=item_id,
        title=title,
        summary=summary,
        url=f"https://example.org/{item_id}",
        publisher=publisher,
        published=datetime(published.year, published.month, published.day, 9, tzinfo=UTC),
        source="test-news",
        content_hash=content_hash(title, summary),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id=control, score=0.8, evidence=summary)],
            type="legislation",
            jurisdiction="UK",
        ),
    )


ITEMS = [
    seed_item(
        "dua-commencement",
        "Data (Use and Access) Act 2025: first commencement regulations",
        "The Data (Use and Access) Act enters into force on 20 August 2025 for its first "
        "provisions. Organisations should review their automated decision-making.",
        "DSIT",
        date(2025, 8, 1),
        "DATA-PRIVACY",
    ),
    seed_item(
        "colorado-delay",
        "Colorado governor signs SB 25B-004",
        "The Colorado AI Act is delayed to June 30, 2026 by the special session bill.",
        "Colorado General Assembly",
        date(2025, 8, 29),
        "RISK-IMPACT",
    ),
    seed_item(
        "hostile",
        "<script>alert('title')</script> NIST AI RMF news",
        f"The NIST AI RMF {HOSTILE} takes effect on 1 February 2026.",
        "<b>Evil</b>",
        date(2025, 9, 2),
        "RISK-IMPACT",
    ),
    seed_item(
        "claude-retirement",
        "Anthropic model deprecations",
        "Claude 3.5 Sonnet (claude-3-5-sonnet-20241022) will be retired on October 22, 2025. "
        "Move to a newer model before then.",
        "Anthropic",
        date(2025, 8, 13),
        "THIRD-PARTY",
    ),
]


def seed_home(home: Path) -> Settings:
    """A home with the small catalogue, organisation and inventory, the items in its run state
    (the pages read no index), and the stage changes they propose stored as the weekly run
    stores them."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "instruments.yaml").write_text(INSTRUMENTS, encoding="utf-8")
    (home / "organisation.yaml").write_text(ORGANISATION, encoding="utf-8")
    (home / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    settings = load_settings(home=home, env={})
    state = StateDB(settings.state_db)
    state.save_new_items(ITEMS, datetime(2025, 9, 11, 6, tzinfo=UTC))
    instruments = load_instruments(instruments_path(settings)).instruments
    found = []
    for item in ITEMS:
        links = link_item(item.id, item.title, item.summary, instruments)
        published = item.published.date() if item.published else None
        found += propose_stages(item.id, item.title, item.summary, links, instruments, published)
    Proposals(state).add(found)
    return settings


def proposal(state: StateDB, instrument_id: str) -> StoredProposal:
    [found] = [each for each in Proposals(state).find() if each.instrument_id == instrument_id]
    return found


def add_users(workspace: Workspace) -> None:
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))


@dataclass
class Site:
    app: FastAPI
    workspace: Workspace
    state: StateDB

    def client(self) -> TestClient:
        return TestClient(
            self.app, follow_redirects=False, headers={"Sec-Fetch-Site": "same-origin"}
        )

    def api(self, name: str) -> TestClient:
        _, token = self.workspace.create_token(self.workspace.user(name), TokenRequest(label="t"))
        return TestClient(self.app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = seed_home(Path(tmp_path_factory.mktemp("readiness")) / "home")
    runtime = Runtime(settings, embedder_override=HashingEmbedder())
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    add_users(workspace)
    yield Site(app, workspace, runtime.store.state)


@pytest.fixture(scope="module")
def analyst(site: Site) -> TestClient:
    client = site.client()
    assert sign_in(client, "ann").status_code == 303
    return client


@pytest.fixture(scope="module")
def viewer(site: Site) -> TestClient:
    client = site.client()
    assert sign_in(client, "vic").status_code == 303
    return client


# ----- the seeded home is what the tests assume -------------------------------------------


def test_the_seeded_items_propose_the_stage_changes_the_tests_decide(site: Site) -> None:
    proposed = {(each.instrument_id, each.stage) for each in Proposals(site.state).find()}
    assert proposed == {
        ("uk-dua", "in-force"),
        ("colorado-ai-act", "amended"),
        ("nist-ai-rmf", "in-force"),
    }


def test_remembered_links_are_those_of_link_item_and_follow_a_changed_summary(site: Site) -> None:
    memo = LinkMemo()
    instruments = site.app.state.readiness.catalogue.instruments
    for item in ITEMS:
        expected = link_item(item.id, item.title, item.summary, instruments)
        assert memo(item.id, item.title, item.summary, instruments) == expected
        assert memo(item.id, item.title, item.summary, instruments) == expected
    changed = memo("colorado-delay", "A bill", "The NIST AI RMF is cited.", instruments)
    assert [link.instrument_id for link in changed] == ["nist-ai-rmf"]


def test_a_bad_organisation_file_stops_the_app_naming_the_field(tmp_path: Path) -> None:
    settings = seed_home(tmp_path / "home")
    (settings.home / "organisation.yaml").write_text(
        "organisation:\n  name: X\n  jurisdictions: [Atlantis]\n  roles: [deployer]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        create_app(Runtime(settings, embedder_override=HashingEmbedder()))
    assert any("'Atlantis' is not a jurisdiction" in line for line in raised.value.problems)


# ----- pages -------------------------------------------------------------------------------


def test_every_readiness_page_asks_for_a_sign_in_first(site: Site) -> None:
    client = site.client()
    for path in ("/instruments", "/instruments/uk-dua", "/proposals", "/readiness", "/suppliers"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    for path in ("/readiness.csv", "/readiness.ics", "/suppliers.ics"):
        assert client.get(path).status_code == 303


def test_the_navigation_links_to_the_readiness_pages(viewer: TestClient) -> None:
    html = viewer.get("/search").text
    for path in ("/instruments", "/proposals", "/readiness", "/suppliers"):
        assert f'href="{path}"' in html


def test_instruments_list_their_jurisdiction_kind_stage_and_next_milestone(
    viewer: TestClient,
) -> None:
    response = viewer.get("/instruments", params={"on": AS_ON})
    assert response.status_code == 200
    text = " ".join(text_of(response.text).split())
    assert "Data (Use and Access) Act 2025 UK hard law adopted since 2025-06-19" in text
    assert "2026-06-19: Automated decision-making reforms" in text
    assert "NIST AI Risk Management Framework US soft law" in text
    assert "Colorado AI Act US-CO hard law" in text and "2026-06-30: Duties of deployers" in text


def test_instruments_filter_by_jurisdiction_with_its_subdivisions_and_by_stage(
    viewer: TestClient,
) -> None:
    us = text_of(viewer.get("/instruments", params={"jurisdiction": "US", "on": AS_ON}).text)
    assert "Colorado AI Act" in us and "NIST AI Risk Management Framework" in us
    assert "Data (Use and Access) Act 2025" not in us
    repealed = text_of(viewer.get("/instruments", params={"stage": "repealed"}).text)
    assert "No instrument matches these filters." in repealed
    bad = viewer.get("/instruments", params={"stage": "passed"})
    assert bad.status_code == 422 and "is not a stage" in text_of(bad.text)
    assert viewer.get("/instruments", params={"on": "yesterday"}).status_code == 422


def test_an_instrument_timeline_shows_stages_milestones_linked_items_with_evidence_in_date_order(
    viewer: TestClient,
) -> None:
    response = viewer.get("/instruments/uk-dua", params={"on": AS_ON})
    assert response.status_code == 200
    text = " ".join(text_of(response.text).split())
    timeline = text[text.index("Timeline") : text.index("Obligations by control")]
    adopted = timeline.index("2025-06-19 stage adopted: Royal Assent")
    item = timeline.index("2025-08-01 item Data (Use and Access) Act 2025: first commencement")
    commencement = timeline.index("2025-08-20 milestone applies: First commencement (s. 1)")
    reforms = timeline.index("2026-06-19 milestone applies: Automated decision-making reforms")
    assert adopted < item < commencement < reforms
    assert "Linked by: “The Data (Use and Access) Act enters into force on 20 August 2025" in text
    assert "proposes in-force" in timeline
    obligations = text[text.index("Obligations by control") :]
    assert "DATA-PRIVACY" in obligations
    assert "2026-06-19 deployer Give safeguards for significant automated decisions s. 80" in (
        obligations
    )


def test_an_unknown_instrument_is_a_plain_not_found(viewer: TestClient) -> None:
    response = viewer.get("/instruments/no-such-law")
    assert response.status_code == 404
    assert "there is no instrument 'no-such-law'" in text_of(response.text)


def test_scraped_text_on_the_readiness_pages_is_escaped(site: Site, viewer: TestClient) -> None:
    for path in ("/instruments/nist-ai-rmf", "/proposals"):
        html = viewer.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_viewer_sees_proposals_but_no_form_to_decide_them(viewer: TestClient) -> None:
    html = viewer.get("/proposals").text
    assert "Colorado AI Act" in text_of(html) and "delayed to June 30, 2026" in text_of(html)
    assert 'action="/proposals/' not in html


def test_a_viewer_cannot_confirm_a_stage_and_nothing_changes(
    site: Site, viewer: TestClient
) -> None:
    target = proposal(site.state, "uk-dua")
    csrf = hidden(viewer.get("/proposals").text, "csrf_token")
    response = viewer.post(
        f"/proposals/{target.id}/confirm", data={"csrf_token": csrf, "rationale": "I think so"}
    )
    assert response.status_code == 403 and "needs the analyst role" in text_of(response.text)
    assert proposal(site.state, "uk-dua").status == "proposed"
    assert all(e.subject != f"stage proposal {target.id}" for e in site.workspace.audit())


def test_a_confirmation_without_this_sessions_csrf_token_is_refused(
    site: Site, analyst: TestClient
) -> None:
    target = proposal(site.state, "uk-dua")
    for token in ("", "forged"):
        response = analyst.post(
            f"/proposals/{target.id}/confirm", data={"csrf_token": token, "rationale": "Yes"}
        )
        assert response.status_code == 403
        assert "did not come from your current session" in text_of(response.text)
    assert proposal(site.state, "uk-dua").status == "proposed"


def test_a_decision_without_a_rationale_names_the_field_and_changes_nothing(
    site: Site, analyst: TestClient
) -> None:
    target = proposal(site.state, "uk-dua")
    csrf = hidden(analyst.get("/proposals").text, "csrf_token")
    response = analyst.post(
        f"/proposals/{target.id}/reject", data={"csrf_token": csrf, "rationale": ""}
    )
    assert response.status_code == 422 and "rationale: required" in text_of(response.text)
    assert proposal(site.state, "uk-dua").status == "proposed"


def test_an_analyst_confirms_a_stage_it_joins_the_history_is_audited_and_is_evidence(
    site: Site, analyst: TestClient
) -> None:
    target = proposal(site.state, "colorado-ai-act")
    page = analyst.get("/instruments/colorado-ai-act", params={"on": AS_ON})
    assert "adopted" in text_of(page.text).split("stage")[1]
    response = analyst.post(
        f"/proposals/{target.id}/confirm",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "rationale": "SB 25B-004 was signed on 28 August 2025.",
            "next": "/instruments/colorado-ai-act",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/instruments/colorado-ai-act"
    decided = proposal(site.state, "colorado-ai-act")
    assert (decided.status, decided.decided_by) == ("confirmed", "ann")
    assert decided.rationale == "SB 25B-004 was signed on 28 August 2025."
    after = " ".join(text_of(analyst.get(f"/instruments/colorado-ai-act?on={AS_ON}").text).split())
    assert "stage amended since 2025-08-29" in after
    assert "2025-08-29 stage amended: confirmed by ann from item colorado-delay" in after
    [entry] = [e for e in site.workspace.audit() if e.subject == f"stage proposal {target.id}"]
    assert (entry.action, entry.actor, entry.item_id) == ("stage.confirm", "ann", "colorado-delay")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("proposed", "confirmed")
    listing = " ".join(text_of(analyst.get("/proposals").text).split())
    assert "confirmed ann" in listing and "SB 25B-004 was signed on 28 August 2025." in listing
    today = date.today().isoformat()
    log = analyst.get("/evidence", params={"from": today, "to": today, "format": "md"}).text
    assert "Stage confirmed: colorado-ai-act amended on 2025-08-29" in log
    assert "rationale: SB 25B-004 was signed on 28 August 2025." in log
    again = analyst.post(
        f"/proposals/{target.id}/reject",
        data={"csrf_token": hidden(page.text, "csrf_token"), "rationale": "Changed my mind"},
    )
    assert again.status_code == 409 and "already confirmed" in text_of(again.text)


def test_an_analyst_rejects_a_stage_and_the_instrument_keeps_its_stage(
    site: Site, analyst: TestClient
) -> None:
    target = proposal(site.state, "nist-ai-rmf")
    csrf = hidden(analyst.get("/proposals").text, "csrf_token")
    response = analyst.post(
        f"/proposals/{target.id}/reject",
        data={"csrf_token": csrf, "rationale": "A framework does not take effect."},
    )
    assert response.status_code == 303 and response.headers["location"] == "/proposals"
    assert proposal(site.state, "nist-ai-rmf").status == "rejected"
    text = " ".join(text_of(analyst.get(f"/instruments/nist-ai-rmf?on={AS_ON}").text).split())
    assert "stage adopted since 2023-01-26" in text
    audited = [
        e.action for e in site.workspace.audit() if e.subject == f"stage proposal {target.id}"
    ]
    assert audited == ["stage.reject"]
    missing = analyst.post("/proposals/999999/confirm", data={"csrf_token": csrf, "rationale": "x"})
    assert missing.status_code == 404


def test_readiness_lists_applicable_obligations_by_control_with_status_from_flags(
    site: Site, viewer: TestClient
) -> None:
    ann = site.workspace.user("ann")
    site.workspace.raise_flag(
        ann,
        "dua-commencement",
        FlagRequest(
            controls=["DATA-PRIVACY"],
            severity="medium",
            owner="DPO",
            due=date(2026, 6, 1),
            rationale="ADM safeguards to review.",
        ),
    )
    response = viewer.get("/readiness")
    assert response.status_code == 200
    text = " ".join(text_of(response.text).split())
    privacy = text[text.index("DATA-PRIVACY") : text.index("RISK-IMPACT")]
    assert "2026-06-19" in privacy and "Give safeguards for significant automated" in privacy
    assert "in progress open flag on item dua-commencement" in privacy
    risk = text[text.index("RISK-IMPACT") :]
    assert "2026-06-30" in risk and "Implement a risk management programme" in risk
    assert "not started" in risk
    assert "developers only" not in text  # a provider's duty; the organisation is a deployer
    assert 'href="/readiness.csv"' in response.text and 'href="/readiness.ics"' in response.text


def test_readiness_downloads_as_csv_and_icalendar(viewer: TestClient) -> None:
    table = viewer.get("/readiness.csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert "attachment" in table.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert {(row["instrument"], row["obligation"], row["from"]) for row in rows} == {
        ("uk-dua", "adm-safeguards", "2026-06-19"),
        ("colorado-ai-act", "deployer-risk-programme", "2026-06-30"),
    }
    calendar = viewer.get("/readiness.ics")
    assert calendar.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(calendar.content).walk("VEVENT")
    assert sorted(event.decoded("dtstart") for event in events) == [
        date(2026, 6, 19),
        date(2026, 6, 30),
    ]


def test_suppliers_show_the_inventory_a_vendor_timeline_and_dated_retirements(
    viewer: TestClient,
) -> None:
    response = viewer.get("/suppliers")
    assert response.status_code == 200
    text = " ".join(text_of(response.text).split())
    retirements = text[text.index("Retirements and deprecations") : text.index("By vendor")]
    assert (
        "2025-10-22 · Anthropic claude-3-5-sonnet: retirement — affects: underwriting document "
        "summaries" in retirements
    )
    vendors = text[text.index("By vendor") : text.index("Inventory")]
    assert "Anthropic" in vendors and "Anthropic model deprecations" in vendors
    assert "affects: underwriting document summaries" in vendors
    assert "will be retired on October 22, 2025" in vendors
    inventory = text[text.index("Inventory") :]
    assert "underwriting document summaries Anthropic Claude API claude-3-5-sonnet 20241022" in (
        inventory
    )
    calendar = viewer.get("/suppliers.ics")
    [event] = Calendar.from_ical(calendar.content).walk("VEVENT")
    assert event.decoded("dtstart") == date(2025, 10, 22)


# ----- the JSON API ------------------------------------------------------------------------


def test_the_api_answers_instruments_and_one_instrument_like_the_command_line(site: Site) -> None:
    api = site.api("vic")
    rows = api.get("/api/v1/instruments", params={"on": AS_ON, "jurisdiction": "UK"}).json()
    assert [row["id"] for row in rows] == ["uk-dua"]
    assert rows[0]["next_milestone"]["date"] == "2026-06-19"
    assert set(rows[0]) >= {"name", "jurisdiction", "kind", "stage", "stage_date", "obligations"}
    one = api.get("/api/v1/instruments/uk-dua", params={"on": AS_ON}).json()
    assert [entry["kind"] for entry in one["timeline"]] == [
        "stage",
        "item",
        "milestone",
        "milestone",
    ]
    assert one["obligations"][0]["from"] == "2026-06-19"
    assert [p["stage"] for p in one["proposals"]] == ["in-force"]
    assert api.get("/api/v1/instruments/nope").status_code == 404
    assert api.get("/api/v1/instruments", params={"stage": "passed"}).status_code == 422
    assert TestClient(site.app).get("/api/v1/instruments").status_code == 401


def test_the_api_confirms_for_an_analyst_but_not_for_a_viewer(site: Site) -> None:
    target = proposal(site.state, "uk-dua")
    body = {"rationale": "The commencement regulations were made."}
    refused = site.api("vic").post(f"/api/v1/proposals/{target.id}/confirm", json=body)
    assert refused.status_code == 403
    assert proposal(site.state, "uk-dua").status == "proposed"
    api = site.api("ann")
    assert api.post(f"/api/v1/proposals/{target.id}/confirm", json={}).status_code == 422
    confirmed = api.post(f"/api/v1/proposals/{target.id}/confirm", json=body)
    assert confirmed.status_code == 200
    record = confirmed.json()
    assert (record["status"], record["decided_by"], record["rationale"]) == (
        "confirmed",
        "ann",
        body["rationale"],
    )
    assert record["instrument_name"] == "Data (Use and Access) Act 2025"
    again = api.post(f"/api/v1/proposals/{target.id}/reject", json=body)
    assert again.status_code == 409
    listed = api.get("/api/v1/proposals", params={"status": "confirmed"}).json()
    assert target.id in [each["id"] for each in listed]
    assert api.get("/api/v1/instruments/uk-dua").json()["stage"] == "in-force"


def test_the_api_answers_readiness_and_suppliers(site: Site) -> None:
    api = site.api("vic")
    rows = api.get("/api/v1/readiness").json()
    assert [(row["control"], row["obligation"]) for row in rows] == [
        ("DATA-PRIVACY", "adm-safeguards"),
        ("RISK-IMPACT", "deployer-risk-programme"),
    ]
    assert {row["status"] for row in rows} <= {"not-started", "in-progress", "ready"}
    assert api.get("/api/v1/readiness.csv").text.startswith("control,instrument,obligation")
    assert b"BEGIN:VCALENDAR" in api.get("/api/v1/readiness.ics").content
    suppliers = api.get("/api/v1/suppliers").json()
    assert [system["id"] for system in suppliers["systems"]] == ["document-summaries"]
    [hit] = suppliers["hits"]
    assert (hit["item_id"], hit["kind"], hit["date"], hit["affects"]) == (
        "claude-retirement",
        "retirement",
        "2025-10-22",
        "underwriting document summaries",
    )
    assert suppliers["retirements"] == suppliers["hits"]


def test_the_pages_render_the_projects_own_catalogue_organisation_and_inventory(
    tmp_path: Path,
) -> None:
    settings = load_settings(home=tmp_path / "home", env={})
    StateDB(settings.state_db).save_new_items(ITEMS, datetime(2025, 9, 11, 6, tzinfo=UTC))
    app = create_app(Runtime(settings, embedder_override=HashingEmbedder()))
    add_users(app.state.web.workspace)
    client = TestClient(app, follow_redirects=False)
    assert sign_in(client, "vic").status_code == 303
    catalogue = load_instruments(instruments_path(settings))
    listing = text_of(client.get("/instruments").text)
    for instrument in catalogue.instruments:
        assert instrument.name in listing
        page = client.get(f"/instruments/{instrument.id}")
        assert page.status_code == 200 and instrument.name in text_of(page.text)
    for path in ("/proposals", "/readiness", "/suppliers", "/readiness.csv", "/readiness.ics"):
        assert client.get(path).status_code == 200, path
