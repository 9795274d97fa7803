"""The workspace's pages over HTTP (FastAPI's test client): signing in, CSRF on every form,
roles checked server-side, form errors that name the field and keep what was typed, an
expired session that keeps a half-sent form, escaping of scraped content, security headers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from horizon.config import load_settings
from horizon.embed import HashingEmbedder
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.runtime import Runtime
from horizon.web import create_app
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import UserRequest

PASSWORD = "a long enough password"


class Clock:
    """Real time, until a test moves it on."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Site:
    app: FastAPI
    workspace: Workspace
    clock: Clock

    def client(self, fetch_site: str = "same-origin") -> TestClient:
        """A browser on our pages: it says each request comes from this site, as browsers
        do with Sec-Fetch-Site."""
        return TestClient(self.app, follow_redirects=False, headers={"Sec-Fetch-Site": fetch_site})


def page_item(item_id: str, title: str, summary: str = "", url: str | None = None) -> Item:
    return Item(
        id=item_id,
        title=title,
        summary=summary,
        url=url,
        publisher="ICO",
        published=datetime(2025, 9, 10, 9, tzinfo=UTC),
        source="ico-news",
        content_hash=content_hash(title, summary),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="DATA-PRIVACY", score=0.82, evidence=summary or title)],
            type="guidance",
            jurisdiction="UK",
        ),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = Path(tmp_path_factory.mktemp("pages")) / "home"
    runtime = Runtime(load_settings(home=home, env={}), embedder_override=HashingEmbedder())
    items = [
        page_item(
            "ico-chatbots",
            "ICO guidance on AI chatbots and personal data",
            "Organisations deploying AI chatbots must explain how personal data is used.",
            "https://ico.org.uk/about-the-ico/news/chatbots/",
        ),
        page_item("item/with slash", "An item whose id has a slash and a space"),
        page_item(
            "hostile",
            "<script>alert('title')</script>",
            "<img src=x onerror=alert(1)>",
            "javascript:alert('url')",
        ),
    ]
    runtime.store.index.upsert(items, runtime.embedder.embed([item.text() for item in items]))
    runtime.store.state.save_new_items(items, datetime(2025, 9, 11, 6, tzinfo=UTC))
    clock = Clock()
    runtime_workspace = Workspace(runtime.store.state, controls=None, clock=clock)
    app = create_app(runtime, workspace=runtime_workspace)
    workspace: Workspace = app.state.web.workspace
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))
    yield Site(app, workspace, clock)


def text_of(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return unescape(match.group(1))


def sign_in(client: TestClient, name: str, next_path: str = "/search", draft: str = "") -> Any:
    login = client.get("/login")
    return client.post(
        "/login",
        data={
            "name": name,
            "password": PASSWORD,
            "csrf_token": hidden(login.text, "csrf_token"),
            "next": next_path,
            "draft": draft,
        },
    )


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


def csrf(client: TestClient) -> str:
    return hidden(client.get("/search").text, "csrf_token")


def test_pages_send_a_signed_out_browser_to_the_login_page_and_back_afterwards(
    site: Site,
) -> None:
    client = site.client()
    away = client.get("/items/ico-chatbots")
    assert (away.status_code, away.headers["location"]) == (303, "/login?next=/items/ico-chatbots")
    arrived = sign_in(client, "ann", next_path="/items/ico-chatbots")
    assert (arrived.status_code, arrived.headers["location"]) == (303, "/items/ico-chatbots")
    cookie = arrived.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/items/ico-chatbots").status_code == 200


def test_a_wrong_password_or_a_forged_login_form_is_refused_and_the_name_kept(site: Site) -> None:
    client = site.client()
    login = client.get("/login")
    wrong = client.post(
        "/login",
        data={
            "name": "ann",
            "password": "not it at all",
            "csrf_token": hidden(login.text, "csrf_token"),
        },
    )
    assert wrong.status_code == 401
    assert "Wrong name or password" in wrong.text and 'value="ann"' in wrong.text
    forged = site.client().post("/login", data={"name": "ann", "password": PASSWORD})
    assert forged.status_code == 403 and "horizon_session" not in forged.headers.get(
        "set-cookie", ""
    )


def test_after_login_the_browser_never_leaves_the_site(site: Site) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert sign_in(site.client(), "ann", next_path=target).headers["location"] == "/search"


def test_a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    site: Site, analyst: TestClient, viewer: TestClient
) -> None:
    before = len(site.workspace.audit())
    missing = analyst.post("/items/ico-chatbots/comments", data={"body": "forged"})
    assert missing.status_code == 403
    assert "did not come from your current session" in missing.text
    someone_elses = analyst.post(
        "/items/ico-chatbots/comments", data={"body": "forged", "csrf_token": csrf(viewer)}
    )
    assert someone_elses.status_code == 403
    assert len(site.workspace.audit()) == before


def test_a_viewer_sees_no_forms_and_a_flag_posted_anyway_is_refused_with_403(
    site: Site, viewer: TestClient
) -> None:
    page = viewer.get("/items/ico-chatbots")
    assert page.status_code == 200
    assert 'id="flag-form"' not in page.text
    assert 'action="/items/ico-chatbots/triage"' not in page.text
    refused = viewer.post(
        "/items/ico-chatbots/flags",
        data={
            "csrf_token": csrf(viewer),
            "controls": "DATA-PRIVACY",
            "severity": "high",
            "owner": "DPO",
            "due": "2025-10-31",
            "rationale": "viewer tries",
        },
    )
    assert refused.status_code == 403
    assert "vic is a viewer; raising impact flags needs the analyst role" in text_of(refused.text)
    assert site.workspace.flags(item_id="ico-chatbots") == []
    assert viewer.get("/admin/users").status_code == 403


def test_a_flag_form_with_bad_fields_names_each_and_keeps_what_was_typed(
    site: Site, analyst: TestClient
) -> None:
    answer = analyst.post(
        "/items/ico-chatbots/flags",
        data={
            "csrf_token": csrf(analyst),
            "severity": "high",
            "owner": "",
            "due": "end of October",
            "rationale": "Chatbot transcripts hold <personal> data",
        },
    )
    assert answer.status_code == 422
    text = text_of(answer.text)
    for message in ("controls: choose at least one", "owner: required", "due: a date like"):
        assert message in text
    assert "Chatbot transcripts hold &lt;personal&gt; data</textarea>" in answer.text
    assert 'value="end of October"' in answer.text
    assert site.workspace.flags(item_id="ico-chatbots") == []


def test_an_analyst_flags_comments_and_triages_through_the_forms(
    site: Site, analyst: TestClient
) -> None:
    token = csrf(analyst)
    flagged = analyst.post(
        "/items/ico-chatbots/flags",
        data={
            "csrf_token": token,
            "controls": ["DATA-PRIVACY", "TRANSPARENCY"],
            "severity": "high",
            "owner": "DPO",
            "due": "2025-10-31",
            "rationale": "Our chatbot must explain its use of data.",
        },
    )
    assert (flagged.status_code, flagged.headers["location"]) == (303, "/items/ico-chatbots#flags")
    analyst.post("/items/ico-chatbots/comments", data={"csrf_token": token, "body": "On it."})
    analyst.post(
        "/items/ico-chatbots/tags",
        data={"csrf_token": token, "control": "DATA-PRIVACY", "verdict": "confirm"},
    )
    page = analyst.get("/items/ico-chatbots").text
    assert "Flag 1" in page and "DATA-PRIVACY, TRANSPARENCY" in page
    assert "On it." in page and "confirmed by ann" in page
    assert 'id="triage-state">impact<' in page
    actions = [entry.action for entry in site.workspace.audit(item_id="ico-chatbots")]
    assert actions[:4] == ["flag.raise", "triage.move", "comment.add", "tag.confirm"]
    queue = analyst.get("/triage?state=impact").text
    assert "ICO guidance on AI chatbots" in queue
    assert analyst.get("/triage?state=sideways").status_code == 422


def test_an_item_id_with_a_slash_has_its_own_page_and_forms(analyst: TestClient) -> None:
    page = analyst.get("/items/item%2Fwith%20slash")
    assert page.status_code == 200
    assert 'action="/items/item%2Fwith%20slash/comments"' in page.text
    posted = analyst.post(
        "/items/item%2Fwith%20slash/comments", data={"csrf_token": csrf(analyst), "body": "ok"}
    )
    assert posted.status_code == 303
    assert analyst.get("/items/nothing-here").status_code == 404


def test_an_expired_session_keeps_the_comment_being_sent_until_the_user_signs_in_again(
    site: Site,
) -> None:
    client = site.client()
    sign_in(client, "ann")
    token = csrf(client)
    site.clock.offset = timedelta(hours=9)
    try:
        expired = client.post(
            "/items/ico-chatbots/comments",
            data={"csrf_token": token, "body": "A long analysis I do not want to lose."},
        )
        assert expired.status_code == 401
        assert "Your session has expired" in expired.text
        assert site.workspace.comments("ico-chatbots") == [
            c for c in site.workspace.comments("ico-chatbots") if "long analysis" not in c.body
        ]
        back = sign_in(client, "ann", draft=hidden(expired.text, "draft"))
        assert back.headers["location"] == "/items/ico-chatbots"
        restored = client.get("/items/ico-chatbots").text
        assert "Your session had expired" in restored
        assert "A long analysis I do not want to lose.</textarea>" in restored
        assert "long analysis" not in " ".join(
            c.body for c in site.workspace.comments("ico-chatbots")
        )
        again = client.get("/items/ico-chatbots").text
        assert "A long analysis" not in again
        site.clock.offset = timedelta(hours=18)
        away = client.get("/triage?state=new").headers["location"]
        assert parse_qs(urlsplit(away).query)["next"] == ["/triage?state=new"]
    finally:
        site.clock.offset = timedelta()


def test_signing_out_ends_the_session(site: Site) -> None:
    client = site.client()
    sign_in(client, "vic")
    session_cookie = client.cookies["horizon_session"]
    assert client.post("/logout", data={"csrf_token": csrf(client)}).headers["location"] == "/login"
    stale = site.client()
    stale.cookies.set("horizon_session", session_cookie)
    assert stale.get("/search").status_code == 303


def test_scraped_markup_is_shown_as_text_and_a_javascript_url_is_never_a_link(
    analyst: TestClient,
) -> None:
    for path in ("/items/hostile", "/triage", "/search?q=alert+script+img"):
        html = analyst.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
    item = analyst.get("/items/hostile").text
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in item
    assert 'href="javascript:' not in item and "javascript:alert(&#39;url&#39;)" in item


def test_every_page_forbids_scripts_framing_and_sniffing(analyst: TestClient) -> None:
    for path in ("/search", "/items/ico-chatbots", "/digest?week=2025-W37", "/login"):
        headers = analyst.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"


def test_search_finds_items_saves_the_search_and_names_a_bad_filter(
    site: Site, analyst: TestClient
) -> None:
    found = analyst.get("/search?q=chatbots+personal+data&control=DATA-PRIVACY&type=guidance")
    assert found.status_code == 200
    assert 'href="/items/ico-chatbots"' in found.text
    saved = analyst.post(
        "/searches",
        data={
            "csrf_token": csrf(analyst),
            "name": "chatbots",
            "query": "chatbots personal data",
            "control": "DATA-PRIVACY",
            "type": "guidance",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        "/search?q=chatbots+personal+data&control=DATA-PRIVACY&type=guidance"
    )
    [search] = site.workspace.saved_searches("ann")
    assert search.filters == {"control": ["DATA-PRIVACY"], "type": ["guidance"]}
    assert "chatbots</a>" in analyst.get("/search").text
    bad = analyst.get("/search?q=ai&type=rumour")
    assert bad.status_code == 422
    assert "type: type 'rumour' is not valid" in text_of(bad.text)
    assert 'value="ai"' in bad.text
    worse = analyst.get("/search?q=ai&since=2025-13-40")
    assert worse.status_code == 422 and "since" in worse.text


def test_the_digest_audit_trail_and_evidence_are_readable_and_exportable(
    site: Site, analyst: TestClient
) -> None:
    digest = analyst.get("/digest?week=2025-W37")
    assert digest.status_code == 200
    assert "<iframe" in digest.text and " sandbox " in digest.text
    assert "ICO guidance on AI chatbots" in unescape(digest.text)
    assert analyst.get("/digest?week=37").status_code == 422
    audit_page = analyst.get("/audit?item=ico-chatbots").text
    assert "flag.raise" in audit_page
    exported = analyst.get("/audit.csv?actor=ann")
    assert exported.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {row["actor"] for row in rows} == {"ann"}
    evidence = analyst.get(f"/evidence?from=2025-01-01&to={datetime.now(UTC).date()}&format=csv")
    assert evidence.status_code == 200
    sections = {row["section"] for row in csv.DictReader(io.StringIO(evidence.text))}
    assert {"Digests received and opened", "Items opened", "Impact flags raised"} <= sections
    as_json = analyst.get(f"/evidence?from=2025-01-01&to={datetime.now(UTC).date()}&format=json")
    assert as_json.headers["content-type"].startswith("application/json")
    assert {entry["heading"] for entry in as_json.json()["entries"]} == sections
    assert analyst.get("/evidence?from=2025-01-01&to=2024-01-01").status_code == 422


def test_an_admin_adds_and_disables_users_and_bad_fields_are_named(
    site: Site,
) -> None:
    admin = site.client()
    sign_in(admin, "ada")
    token = csrf(admin)
    bad = admin.post(
        "/admin/users",
        data={"csrf_token": token, "name": "Not Valid", "role": "analyst", "password": "short"},
    )
    assert bad.status_code == 422
    assert "name: use 2 to 32 lower-case letters" in text_of(bad.text)
    assert "password: at least 10 characters" in text_of(bad.text)
    assert 'value="short"' not in bad.text
    made = admin.post(
        "/admin/users",
        data={"csrf_token": token, "name": "bea", "role": "viewer", "password": PASSWORD},
    )
    assert made.status_code == 303
    assert admin.post("/admin/users/bea/disable", data={"csrf_token": token}).status_code == 303
    assert site.workspace.user("bea").active is False
    entries = [json.dumps(entry.after) for entry in site.workspace.audit(actor="ada")]
    assert any('"active": false' in entry for entry in entries)


def test_an_api_token_is_created_on_the_account_page_and_shown_once(
    site: Site, viewer: TestClient
) -> None:
    created = viewer.post("/account/tokens", data={"csrf_token": csrf(viewer), "label": "report"})
    token = re.search(r'id="new-token">([^<]+)<', created.text)
    assert token is not None
    answer = TestClient(site.app).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert answer.json()["name"] == "vic"
    assert token.group(1) not in viewer.get("/account").text
