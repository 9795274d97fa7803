"""Obligation proposals and supplier impact-flag proposals in the workspace (pages and API over
FastAPI's test client): listed on the proposals page, an instrument's page, the readiness page
and beside their hit on the suppliers page; only analysts decide them (CSRF-checked, a
rationale to reject, audited, once only), and the decisions have the effects the command line
gives them: a confirmed obligation joins the readiness tracker, a confirmed supplier proposal
raises a real impact flag on the vendor's item, and both are in the learner's evidence log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_pages import hidden, sign_in, text_of
from test_web_readiness import Site, add_users, seed_home, seed_item

from horizon.config import instruments_path, inventory_path, load_instruments, load_inventory
from horizon.embed import HashingEmbedder
from horizon.instruments.obligation_proposals import ObligationProposals, StoredObligation
from horizon.readiness.facts import obligations_from_items
from horizon.readiness.supplier_flags import SupplierFlagProposal, SupplierFlagProposals
from horizon.runtime import Runtime
from horizon.state import StateDB
from horizon.web import create_app
from horizon.web.readiness_views import load_readiness_files, supplier_hits
from horizon.workspace import Workspace

# Two systems run on the model the seeded Anthropic item retires: two flag proposals.
INVENTORY = """
systems:
  - id: document-summaries
    name: underwriting document summaries
    vendor: Anthropic
    product: Claude API
    model: claude-3-5-sonnet
    version: "20241022"
    owner: underwriting ops
    controls: [THIRD-PARTY]
  - id: claims-letters
    name: claims letters
    vendor: Anthropic
    product: Claude API
    model: claude-3-5-sonnet
    version: "20241022"
    owner: claims ops
    controls: [THIRD-PARTY, TRANSPARENCY]
"""
OBLIGATION_ITEMS = [
    seed_item(
        "colorado-records",
        "Colorado AI Act rules adopted",
        "Under the Colorado AI Act, deployers must keep records of each impact assessment "
        "for three years from 1 January 2027.",
        "Colorado Attorney General",
        date(2025, 9, 5),
        "RECORDS-DOCS",
    ),
    seed_item(
        "dua-notice",
        "UK Data (Use and Access) Act guidance",
        "Under the Data (Use and Access) Act, deployers must publish a notice of automated "
        "decisions from 1 March 2027.",
        "ICO",
        date(2025, 9, 6),
        "RECORDS-DOCS",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The readiness test home with two systems on the retired model and two items that state
    obligations, their proposals stored as `horizon readiness propose` and `horizon suppliers`
    store them."""
    settings = seed_home(Path(tmp_path_factory.mktemp("proposals")) / "home")
    inventory_path(settings).write_text(INVENTORY, encoding="utf-8")
    state = StateDB(settings.state_db)
    state.save_new_items(OBLIGATION_ITEMS, datetime(2025, 9, 11, 7, tzinfo=UTC))
    instruments = load_instruments(instruments_path(settings)).instruments
    ObligationProposals(state).add(obligations_from_items(state, instruments))
    files = load_readiness_files(settings)
    SupplierFlagProposals(state).add(
        supplier_hits(files, state), load_inventory(inventory_path(settings)).systems
    )
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


def obligation(state: StateDB, instrument_id: str) -> StoredObligation:
    [found] = [e for e in ObligationProposals(state).find() if e.instrument_id == instrument_id]
    return found


def supplier(state: StateDB, system_id: str) -> SupplierFlagProposal:
    [found] = [e for e in SupplierFlagProposals(state).find() if e.system_id == system_id]
    return found


def flat(html: str) -> str:
    return " ".join(text_of(html).split())


def audited(site: Site, subject: str) -> list[str]:
    return [entry.action for entry in site.workspace.audit() if entry.subject == subject]


def evidence(client: TestClient) -> str:
    today = date.today().isoformat()
    return client.get("/evidence", params={"from": today, "to": today, "format": "md"}).text


# ----- the seeded home is what the tests assume -------------------------------------------


def test_the_seeded_items_propose_two_obligations_and_two_supplier_flags(site: Site) -> None:
    assert {
        (e.instrument_id, e.who, e.from_date) for e in ObligationProposals(site.state).find()
    } == {
        ("colorado-ai-act", "deployer", date(2027, 1, 1)),
        ("uk-dua", "deployer", date(2027, 3, 1)),
    }
    assert {(e.item_id, e.system_id, e.date) for e in SupplierFlagProposals(site.state).find()} == {
        ("claude-retirement", "document-summaries", date(2025, 10, 22)),
        ("claude-retirement", "claims-letters", date(2025, 10, 22)),
    }


# ----- listing -----------------------------------------------------------------------------


def test_the_proposals_page_lists_open_obligations_and_supplier_flags_with_forms_for_analysts(
    site: Site, analyst: TestClient, viewer: TestClient
) -> None:
    colorado = obligation(site.state, "colorado-ai-act")
    letters = supplier(site.state, "claims-letters")
    html = analyst.get("/proposals").text
    text = flat(html)
    assert "Obligations stated by items" in text and "Supplier impact flags" in text
    assert "Keep records of each impact assessment for three years" in text
    assert (
        "Impact flag proposed for claims letters: Anthropic retirement of claude-3-5-sonnet" in text
    )
    assert f'action="/obligation-proposals/{colorado.id}/confirm"' in html
    assert f'action="/supplier-proposals/{letters.id}/confirm"' in html
    seen = viewer.get("/proposals").text
    assert "Keep records of each impact assessment" in flat(seen)
    assert "claims letters" in flat(seen)
    assert 'action="/obligation-proposals/' not in seen
    assert 'action="/supplier-proposals/' not in seen


def test_open_obligations_show_on_their_instrument_and_the_readiness_page(
    analyst: TestClient,
) -> None:
    instrument = flat(analyst.get("/instruments/colorado-ai-act").text)
    proposed = instrument[instrument.index("Obligations proposed from items") :]
    assert "Keep records of each impact assessment" in proposed
    assert "Publish a notice of automated decisions" not in proposed
    readiness = flat(analyst.get("/readiness").text)
    proposed = readiness[readiness.index("Obligations proposed from items") :]
    assert "Keep records of each impact assessment" in proposed


def test_a_supplier_proposal_shows_beside_its_hit_on_the_suppliers_page(
    site: Site, viewer: TestClient
) -> None:
    html = viewer.get("/suppliers").text
    by_vendor = flat(html[html.index('id="vendors"') : html.index('id="inventory"')])
    assert by_vendor.count("Impact flag proposed for") == 2
    assert "affects: claims letters Impact flag proposed for claims letters" in by_vendor
    assert 'action="/supplier-proposals/' not in html


# ----- who may decide, and how -------------------------------------------------------------


def test_a_viewer_cannot_decide_either_kind_and_nothing_changes(
    site: Site, viewer: TestClient
) -> None:
    csrf = hidden(viewer.get("/proposals").text, "csrf_token")
    colorado = obligation(site.state, "colorado-ai-act")
    letters = supplier(site.state, "claims-letters")
    for path in (
        f"/obligation-proposals/{colorado.id}/confirm",
        f"/obligation-proposals/{colorado.id}/reject",
        f"/supplier-proposals/{letters.id}/confirm",
        f"/supplier-proposals/{letters.id}/reject",
    ):
        response = viewer.post(path, data={"csrf_token": csrf, "rationale": "I think so"})
        assert response.status_code == 403, path
    assert obligation(site.state, "colorado-ai-act").status == "proposed"
    assert supplier(site.state, "claims-letters").status == "proposed"
    assert site.workspace.flags(item_id="claude-retirement") == []
    assert audited(site, f"obligation proposal {colorado.id}") == []
    assert audited(site, f"supplier flag proposal {letters.id}") == []


def test_a_decision_without_this_sessions_csrf_token_is_refused(
    site: Site, analyst: TestClient
) -> None:
    colorado = obligation(site.state, "colorado-ai-act")
    letters = supplier(site.state, "claims-letters")
    for path in (
        f"/obligation-proposals/{colorado.id}/confirm",
        f"/supplier-proposals/{letters.id}/confirm",
    ):
        for token in ("", "forged"):
            response = analyst.post(path, data={"csrf_token": token, "rationale": "Yes"})
            assert response.status_code == 403, path
            assert "did not come from your current session" in text_of(response.text)
    assert obligation(site.state, "colorado-ai-act").status == "proposed"
    assert supplier(site.state, "claims-letters").status == "proposed"


def test_a_rejection_without_a_rationale_names_the_field_and_changes_nothing(
    site: Site, analyst: TestClient
) -> None:
    csrf = hidden(analyst.get("/proposals").text, "csrf_token")
    colorado = obligation(site.state, "colorado-ai-act")
    letters = supplier(site.state, "claims-letters")
    for path in (
        f"/obligation-proposals/{colorado.id}/reject",
        f"/supplier-proposals/{letters.id}/reject",
    ):
        response = analyst.post(path, data={"csrf_token": csrf, "rationale": ""})
        assert response.status_code == 422, path
        assert "rationale: required" in text_of(response.text)
    assert obligation(site.state, "colorado-ai-act").status == "proposed"
    assert supplier(site.state, "claims-letters").status == "proposed"


# ----- effects -----------------------------------------------------------------------------


def test_an_analyst_confirms_an_obligation_under_another_control_and_it_joins_readiness(
    site: Site, analyst: TestClient
) -> None:
    target = obligation(site.state, "colorado-ai-act")
    page = analyst.get("/instruments/colorado-ai-act")
    assert (
        "Keep records of each impact assessment"
        not in site.api("ann").get("/api/v1/readiness").text
    )
    bad = analyst.post(
        f"/obligation-proposals/{target.id}/confirm",
        data={"csrf_token": hidden(page.text, "csrf_token"), "control": "NOT-A-CONTROL"},
    )
    assert bad.status_code == 422 and "not a control in the catalogue" in text_of(bad.text)
    response = analyst.post(
        f"/obligation-proposals/{target.id}/confirm",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "control": "RISK-IMPACT",
            "rationale": "The rules are final.",
            "next": "/instruments/colorado-ai-act",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/instruments/colorado-ai-act"
    decided = obligation(site.state, "colorado-ai-act")
    assert (decided.status, decided.decided_by, decided.control, decided.rationale) == (
        "confirmed",
        "ann",
        "RISK-IMPACT",
        "The rules are final.",
    )
    readiness = analyst.get("/readiness").text
    control = flat(readiness[readiness.index('id="control-RISK-IMPACT"') :])
    assert "2027-01-01 Colorado AI Act deployer Keep records of each impact assessment" in control
    rows = site.api("ann").get("/api/v1/readiness").json()
    assert {
        (row["control"], row["instrument"], row["obligation"], row["from"])
        for row in rows
        if row["obligation"].startswith("from-item-")
    } == {("RISK-IMPACT", "colorado-ai-act", f"from-item-{target.id}", "2027-01-01")}
    instrument = flat(analyst.get("/instruments/colorado-ai-act").text)
    assert "Obligations proposed from items (0)" in instrument
    assert audited(site, f"obligation proposal {target.id}") == ["obligation.confirm"]
    log = evidence(analyst)
    assert "Obligation confirmed: colorado-ai-act RISK-IMPACT, deployer from 2027-01-01" in log
    assert "rationale: The rules are final." in log
    again = analyst.post(
        f"/obligation-proposals/{target.id}/reject",
        data={"csrf_token": hidden(page.text, "csrf_token"), "rationale": "Changed my mind"},
    )
    assert again.status_code == 409 and "already confirmed" in text_of(again.text)


def test_an_analyst_confirms_a_supplier_flag_and_the_flag_is_raised_on_the_item(
    site: Site, analyst: TestClient
) -> None:
    target = supplier(site.state, "claims-letters")
    page = analyst.get("/suppliers")
    response = analyst.post(
        f"/supplier-proposals/{target.id}/confirm",
        data={"csrf_token": hidden(page.text, "csrf_token"), "next": "/suppliers"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/suppliers"
    decided = supplier(site.state, "claims-letters")
    assert (decided.status, decided.decided_by) == ("confirmed", "ann")
    [flag] = site.workspace.flags(item_id="claude-retirement")
    assert decided.flag_id == flag.id
    assert (flag.controls, flag.severity, flag.owner, flag.due) == (
        ["THIRD-PARTY", "TRANSPARENCY"],
        "high",
        "claims ops",
        date(2025, 10, 22),
    )
    item = flat(analyst.get("/items/claude-retirement").text)
    assert "claims ops" in item and "Anthropic retires claude-3-5-sonnet on 2025-10-22" in item
    assert audited(site, f"supplier flag proposal {target.id}") == ["supplier.confirm"]
    assert audited(site, f"flag {flag.id}") == ["flag.raise"]
    suppliers = flat(analyst.get("/suppliers").text)
    assert f"confirmed by ann (flag {flag.id})" in suppliers
    assert "Supplier change confirmed: Anthropic claude-3-5-sonnet retirement" in evidence(analyst)
    again = analyst.post(
        f"/supplier-proposals/{target.id}/confirm",
        data={"csrf_token": hidden(page.text, "csrf_token")},
    )
    assert again.status_code == 409 and "already confirmed" in text_of(again.text)
    assert len(site.workspace.flags(item_id="claude-retirement")) == 1


def test_rejections_record_their_rationale_on_the_proposals_page_and_in_evidence(
    site: Site, analyst: TestClient
) -> None:
    notice = obligation(site.state, "uk-dua")
    summaries = supplier(site.state, "document-summaries")
    csrf = hidden(analyst.get("/proposals").text, "csrf_token")
    for path, rationale in (
        (f"/obligation-proposals/{notice.id}/reject", "Guidance, not a duty."),
        (f"/supplier-proposals/{summaries.id}/reject", "Moved to claude-sonnet-4 in August."),
    ):
        response = analyst.post(path, data={"csrf_token": csrf, "rationale": rationale})
        assert response.status_code == 303, path
    assert obligation(site.state, "uk-dua").rationale == "Guidance, not a duty."
    assert supplier(site.state, "document-summaries").note == "Moved to claude-sonnet-4 in August."
    assert audited(site, f"obligation proposal {notice.id}") == ["obligation.reject"]
    assert audited(site, f"supplier flag proposal {summaries.id}") == ["supplier.reject"]
    page = analyst.get("/proposals").text
    obligations = flat(page[page.index('id="obligations-decided"') : page.index('id="suppliers"')])
    assert "rejected ann" in obligations and "Guidance, not a duty." in obligations
    suppliers = flat(page[page.index('id="suppliers-decided"') :])
    assert "Moved to claude-sonnet-4 in August." in suppliers
    assert len(site.workspace.flags(item_id="claude-retirement")) == 1  # no second flag
    log = evidence(analyst)
    assert "Obligation rejected: uk-dua RECORDS-DOCS" in log
    assert "Moved to claude-sonnet-4 in August." in log


# ----- the API -----------------------------------------------------------------------------


def test_the_api_lists_and_decides_both_kinds_for_analysts_only(site: Site) -> None:
    api, viewer = site.api("ann"), site.api("vic")
    listed = viewer.get("/api/v1/obligation-proposals", params={"status": "rejected"}).json()
    assert [(row["instrument"], row["rationale"]) for row in listed] == [
        ("uk-dua", "Guidance, not a duty.")
    ]
    assert set(listed[0]) >= {"id", "instrument_name", "item_title", "who", "what", "from"}
    # New items propose a fresh obligation and two fresh flags to decide through the API.
    files = site.app.state.readiness
    site.state.save_new_items(
        [
            seed_item(
                "colorado-notice",
                "Colorado AI Act: consumer notices",
                "Under the Colorado AI Act, deployers must notify consumers of adverse "
                "decisions from 1 July 2027.",
                "Colorado Attorney General",
                date(2025, 9, 7),
                "TRANSPARENCY",
            ),
            seed_item(
                "claude-retirement-moved",
                "Anthropic moves a retirement date",
                "Claude 3.5 Sonnet (claude-3-5-sonnet-20241022) will be retired on "
                "December 1, 2025.",
                "Anthropic",
                date(2025, 9, 8),
                "THIRD-PARTY",
            ),
        ],
        datetime(2025, 9, 11, 8, tzinfo=UTC),
    )
    ObligationProposals(site.state).add(
        obligations_from_items(site.state, files.catalogue.instruments)
    )
    SupplierFlagProposals(site.state).add(supplier_hits(files, site.state), files.systems)
    [notice] = viewer.get("/api/v1/obligation-proposals", params={"status": "proposed"}).json()
    assert (notice["item_id"], notice["control"]) == ("colorado-notice", "TRANSPARENCY")
    path = f"/api/v1/obligation-proposals/{notice['id']}"
    assert viewer.post(f"{path}/confirm", json={}).status_code == 403
    assert api.post(f"{path}/reject", json={}).status_code == 422
    assert api.post(f"{path}/confirm", json={"control": "NOPE-X"}).status_code == 422
    confirmed = api.post(f"{path}/confirm", json={})
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert (body["status"], body["decided_by"], body["control"], body["item_title"]) == (
        "confirmed",
        "ann",
        "TRANSPARENCY",
        "Colorado AI Act: consumer notices",
    )
    assert api.post(f"{path}/reject", json={"rationale": "No"}).status_code == 409
    assert api.post("/api/v1/obligation-proposals/999999/confirm", json={}).status_code == 404
    rows = api.get("/api/v1/readiness").json()
    assert f"from-item-{notice['id']}" in {row["obligation"] for row in rows}

    fresh = viewer.get("/api/v1/supplier-proposals", params={"status": "proposed"}).json()
    assert {(row["item_id"], row["system_id"], row["date"]) for row in fresh} == {
        ("claude-retirement-moved", "document-summaries", "2025-12-01"),
        ("claude-retirement-moved", "claims-letters", "2025-12-01"),
    }
    first, second = (f"/api/v1/supplier-proposals/{row['id']}" for row in fresh)
    assert viewer.post(f"{first}/confirm", json={}).status_code == 403
    assert viewer.post(f"{second}/reject", json={"rationale": "No"}).status_code == 403
    assert api.post(f"{second}/reject", json={"rationale": ""}).status_code == 422
    assert api.post(f"{first}/confirm", json={"severity": "dire"}).status_code == 422
    raised = api.post(f"{first}/confirm", json={"severity": "medium", "owner": "vendor desk"})
    assert raised.status_code == 200, raised.text
    proposal, flag = raised.json()["proposal"], raised.json()["flag"]
    assert (proposal["status"], proposal["flag_id"]) == ("confirmed", flag["id"])
    assert (flag["item_id"], flag["severity"], flag["owner"], flag["due"]) == (
        "claude-retirement-moved",
        "medium",
        "vendor desk",
        "2025-12-01",
    )
    assert flag["id"] in {each.id for each in site.workspace.flags(item_id=flag["item_id"])}
    assert api.post(f"{first}/reject", json={"rationale": "No"}).status_code == 409
    declined = api.post(f"{second}/reject", json={"rationale": "Covered by the first flag."})
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["note"]) == (
        "rejected",
        "Covered by the first flag.",
    )
    missing = api.post("/api/v1/supplier-proposals/999999/reject", json={"rationale": "x"})
    assert missing.status_code == 404
