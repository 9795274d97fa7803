"""The web workspace under attack (FastAPI's test client over a real state database): failed
sign-in limits with Retry-After, session rotation and sign-out elsewhere, the account
lifecycle through the forms and the API, security headers on every answer (500s included),
numbers out of range, audit visibility by role, and evidence a cross-site link cannot forge."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any

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
from horizon.workspace.models import FlagRequest, SavedSearchRequest, TokenRequest, UserRequest

PASSWORD = "a long enough password"
HUGE = "9223372036854775808"
ITEM_TITLE = "ICO guidance on AI chatbots and personal data"


@dataclass
class Site:
    app: FastAPI
    runtime: Runtime
    workspace: Workspace
    flag_id: int
    tokens: dict[str, str]

    def client(self, address: str = "testclient", fetch_site: str = "same-origin") -> TestClient:
        return TestClient(
            self.app,
            follow_redirects=False,
            client=(address, 50000),
            headers={"Sec-Fetch-Site": fetch_site},
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = Path(tmp_path_factory.mktemp("security")) / "home"
    runtime = Runtime(load_settings(home=home, env={}), embedder_override=HashingEmbedder())
    item = Item(
        id="ico-chatbots",
        title=ITEM_TITLE,
        summary="Organisations deploying AI chatbots must explain how personal data is used.",
        url="https://ico.org.uk/chatbots/",
        publisher="ICO",
        published=datetime(2025, 9, 10, tzinfo=UTC),
        source="ico-news",
        content_hash=content_hash(ITEM_TITLE, ""),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="DATA-PRIVACY", score=0.8, evidence=ITEM_TITLE)],
            type="guidance",
            jurisdiction="UK",
        ),
    )
    runtime.store.index.upsert([item], runtime.embedder.embed([item.text()]))
    runtime.store.state.save_new_items([item], datetime(2025, 9, 11, tzinfo=UTC))
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    tokens = {}
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("vic", "viewer"), ("lou", "viewer")):
        user = workspace.add_user(
            COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD)
        )
        tokens[name] = workspace.create_token(user, TokenRequest(label="tests"))[1]
    flag = workspace.raise_flag(
        workspace.user("ann"),
        "ico-chatbots",
        FlagRequest(
            controls=["DATA-PRIVACY"],
            severity="high",
            owner="DPO",
            due=date(2025, 10, 31),
            rationale="Our chatbot uses personal data.",
        ),
    )
    workspace.save_search(
        workspace.user("ann"), SavedSearchRequest(name="mine", query="ann's private research")
    )
    yield Site(app, runtime, workspace, flag.id, tokens)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return unescape(match.group(1))


def sign_in(client: TestClient, name: str, password: str = PASSWORD, draft: str = "") -> Any:
    login = client.get("/login")
    return client.post(
        "/login",
        data={
            "name": name,
            "password": password,
            "csrf_token": hidden(login.text, "csrf_token"),
            "draft": draft,
        },
    )


def csrf(client: TestClient, path: str = "/search") -> str:
    return hidden(client.get(path).text, "csrf_token")


def bearer(site: Site, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[name]}"}


def test_a_locked_out_sign_in_gets_429_and_retry_after_the_same_for_an_unknown_name(
    site: Site,
) -> None:
    pages = {}
    for name, address in (("lou", "10.0.1.1"), ("no-such-user", "10.0.1.2")):
        client = site.client(address)
        for _ in range(5):
            assert sign_in(client, name, "not the password").status_code == 401
        locked = sign_in(client, name)
        assert locked.status_code == 429, locked.text
        assert 0 < int(locked.headers["retry-after"]) <= 900
        assert "horizon_session" not in locked.headers.get("set-cookie", "")
        message = re.search(r'role="alert">([^<]*)<', locked.text)
        assert message is not None
        pages[name] = message.group(1)
    assert pages["lou"] == pages["no-such-user"]
    assert "too many failed attempts for this name or from this address" in pages["lou"]
    actions = [entry.action for entry in site.workspace.audit()]
    assert actions.count("login.throttle") >= 2


def test_guessing_api_tokens_is_limited_per_client_with_retry_after(site: Site) -> None:
    guesser = site.client("10.0.2.1")
    for _ in range(20):
        refused = guesser.get("/api/v1/me", headers={"Authorization": "Bearer hzn_guess"})
        assert refused.status_code == 401
    locked = guesser.get("/api/v1/me", headers=bearer(site, "vic"))
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "too many failed attempts" in locked.json()["detail"]
    assert site.client("10.0.2.2").get("/api/v1/me", headers=bearer(site, "vic")).status_code == 200


def test_signing_in_again_ends_the_previous_session(site: Site) -> None:
    client = site.client("10.0.3.1")
    sign_in(client, "vic")
    first = client.cookies["horizon_session"]
    again = client.post(
        "/login",
        data={"name": "vic", "password": PASSWORD, "csrf_token": client.cookies["horizon_login"]},
    )
    assert again.status_code == 303
    second = client.cookies["horizon_session"]
    assert first != second
    assert site.workspace.session(first) is None and site.workspace.session(second) is not None


def test_a_user_signs_out_every_other_session_from_the_account_page(site: Site) -> None:
    here, elsewhere = site.client("10.0.4.1"), site.client("10.0.4.2")
    sign_in(here, "ann")
    sign_in(elsewhere, "ann")
    page = here.get("/account").text
    assert re.search(r'id="session-count">(\d+)<', page)
    answer = here.post("/account/sessions/end-others", data={"csrf_token": csrf(here)})
    assert answer.status_code == 200 and "Signed out" in answer.text
    assert elsewhere.get("/search").status_code == 303
    assert here.get("/search").status_code == 200


def test_the_account_lifecycle_through_the_forms(site: Site) -> None:
    admin = site.client("10.0.5.1")
    sign_in(admin, "ada")
    token = csrf(admin, "/admin/users")
    weak = admin.post(
        "/admin/users",
        data={"csrf_token": token, "name": "pat", "role": "viewer", "password": "password12"},
    )
    assert weak.status_code == 422 and "easy to guess" in unescape(weak.text)
    spaced = "  spaced harbour lantern  "
    made = admin.post(
        "/admin/users",
        data={"csrf_token": token, "name": "pat", "role": "viewer", "password": spaced},
    )
    assert made.status_code == 303
    assert sign_in(site.client("10.0.5.2"), "pat", spaced.strip()).status_code == 401
    pat = site.client("10.0.5.3")
    assert sign_in(pat, "pat", spaced).status_code == 303
    changed = pat.post(
        "/account/password",
        data={
            "csrf_token": csrf(pat, "/account"),
            "current_password": spaced,
            "new_password": " brass kettle morning tide ",
        },
    )
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert sign_in(site.client("10.0.5.4"), "pat", " brass kettle morning tide ").status_code == 303
    assert admin.post("/admin/users/pat/disable", data={"csrf_token": token}).status_code == 303
    assert pat.get("/search").status_code == 303
    reset = admin.post(
        "/admin/users/pat/password",
        data={"csrf_token": token, "password": "violet engine quarry nine"},
    )
    assert reset.status_code == 303
    assert admin.post("/admin/users/pat/enable", data={"csrf_token": token}).status_code == 303
    assert sign_in(site.client("10.0.5.5"), "pat", "violet engine quarry nine").status_code == 303
    last_admin = admin.post("/admin/users/ada/disable", data={"csrf_token": token})
    assert last_admin.status_code == 409 and "last active admin" in last_admin.text


def test_the_account_lifecycle_through_the_api(site: Site) -> None:
    client = site.client("10.0.6.1")
    admin = bearer(site, "ada")
    made = client.post(
        "/api/v1/users",
        json={"name": "quin", "role": "viewer", "password": "copper meadow signal five"},
        headers=admin,
    )
    assert made.status_code == 201
    assert client.post("/api/v1/users/quin/disable", headers=admin).status_code == 200
    assert client.post("/api/v1/users/quin/enable", headers=admin).json()["active"] is True
    reset = client.post(
        "/api/v1/users/quin/password", json={"password": "aaaaaaaaaaaa"}, headers=admin
    )
    assert reset.status_code == 422 and reset.json()["detail"][0]["loc"][-1] == "password"
    assert client.post("/api/v1/users/ada/disable", headers=admin).status_code == 409
    expiring = client.post(
        "/api/v1/tokens", json={"label": "short", "expires_in_days": 30}, headers=admin
    ).json()
    assert expiring["record"]["expires"] is not None
    change = client.post(
        "/api/v1/me/password",
        json={"current_password": "wrong", "new_password": "copper meadow signal six"},
        headers=bearer(site, "vic"),
    )
    assert change.status_code == 422 and change.json()["detail"][0]["loc"][-1] == (
        "current_password"
    )


def test_hsts_is_sent_only_behind_https_and_the_owasp_headers_always(site: Site) -> None:
    plain = site.client().get("/login").headers
    assert "strict-transport-security" not in plain
    assert plain["permissions-policy"].startswith("accelerometer=()")
    assert plain["cross-origin-opener-policy"] == "same-origin"
    assert plain["cross-origin-resource-policy"] == "same-origin"
    assert plain["referrer-policy"] == "same-origin"
    secure = create_app(site.runtime, workspace=site.workspace, secure_cookies=True)
    headers = TestClient(secure).get("/login").headers
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "Secure" in headers["set-cookie"]


def assert_protected(headers: Any) -> None:
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_error_answers_carry_the_security_headers_500s_included(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = site.client("10.0.7.1")
    for path in ("/api/v1/me", "/api/v1/items/nothing", "/no-such-page", "/api/v1/triage?limit=0"):
        answer = client.get(path, headers=bearer(site, "vic"))
        assert answer.status_code in (401, 404, 422) or answer.status_code == 200
        assert_protected(answer.headers)

    def broken(*arguments: object, **options: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(site.workspace, "queue", broken)
    failing = TestClient(site.app, raise_server_exceptions=False, client=("10.0.7.2", 1))
    for path, headers in (("/api/v1/triage", bearer(site, "vic")), ("/triage", {})):
        if not headers:
            sign_in(failing, "vic")
        answer = failing.get(path, headers=headers)
        assert answer.status_code == 500
        assert_protected(answer.headers)
        assert "a bug" not in answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/triage?offset={HUGE}"),
        ("GET", "/api/v1/triage?offset=-1"),
        ("POST", f"/api/v1/flags/{HUGE}/close"),
        ("POST", "/api/v1/flags/0/close"),
        ("POST", f"/api/v1/tokens/{HUGE}/revoke"),
        ("GET", f"/triage?offset={HUGE}"),
        ("POST", f"/account/tokens/{HUGE}/revoke"),
        ("GET", "/api/v1/evidence?from=0001-01-01&to=9999-12-31"),
        ("GET", "/api/v1/evidence?from=1900-01-01&to=2999-12-31"),
        ("GET", "/api/v1/digest?week=9999-W52"),
        ("GET", "/api/v1/digest?week=0001-W01"),
        ("GET", "/api/v1/search?q=ai&until=9999-12-31"),
        ("GET", "/search?q=ai&since=0001-01-01"),
        ("GET", "/digest?week=9999-W52"),
    ],
)
def test_numbers_out_of_range_get_422_not_a_server_error(
    site: Site, method: str, path: str
) -> None:
    client = TestClient(site.app, raise_server_exceptions=False, client=("10.0.8.1", 1))
    sign_in(client, "ada")
    answer = client.request(method, path, json={}, headers=bearer(site, "ada"))
    assert answer.status_code == 422, answer.text
    assert_protected(answer.headers)


def test_a_saved_search_through_the_api_takes_only_the_search_forms_filters(site: Site) -> None:
    client = site.client("10.0.8.2")
    for filters, message in (
        ({"colour": ["red"]}, "'colour' is not a search filter"),
        ({"since": 10**400}, "since:"),
        ({"q": "other words"}, "give the query as 'query'"),
    ):
        answer = client.post(
            "/api/v1/searches",
            json={"name": "bad", "query": "ai", "filters": filters},
            headers=bearer(site, "ann"),
        )
        assert answer.status_code == 422, answer.text
        assert message in answer.json()["detail"][0]["msg"]
    saved = client.post(
        "/api/v1/searches",
        json={"name": "good", "query": "ai", "filters": {"type": ["guidance"], "deadline": True}},
        headers=bearer(site, "ann"),
    )
    assert saved.json()["filters"] == {"type": ["guidance"], "deadline": True}


def test_closing_a_flag_signed_out_reveals_neither_the_flag_nor_its_item(site: Site) -> None:
    anonymous = site.client("10.0.9.1")
    answers = [
        anonymous.post(f"/flags/{flag}/close", data={"note": "done"})
        for flag in (site.flag_id, 987654)
    ]
    assert [answer.status_code for answer in answers] == [401, 401]
    assert answers[0].text == answers[1].text
    assert hidden(answers[0].text, "draft") == ""
    assert "ico-chatbots" not in answers[0].text
    api = [
        anonymous.post(f"/api/v1/flags/{flag}/close", json={}) for flag in (site.flag_id, 987654)
    ]
    assert [answer.status_code for answer in api] == [401, 401]


def evidence_rows(client: TestClient) -> list[dict[str, str]]:
    today = datetime.now(UTC).date()
    answer = client.get(f"/evidence?from=2025-01-01&to={today}&format=csv")
    return [row for row in csv.DictReader(io.StringIO(answer.text)) if row["item_id"]]


def test_a_cross_site_link_records_no_reading_and_each_reading_says_how_it_was_recorded(
    site: Site,
) -> None:
    learner = site.client("10.0.10.1", fetch_site="cross-site")
    sign_in(learner, "vic")
    assert learner.get("/items/ico-chatbots").status_code == 200
    assert learner.get("/items/ico-chatbots", headers={"Sec-Fetch-Site": "same-site"})
    unmarked = TestClient(site.app, follow_redirects=False, cookies=learner.cookies)
    assert unmarked.get("/items/ico-chatbots").status_code == 200
    assert [row for row in evidence_rows(learner) if row["section"] == "Items opened"] == []
    typed = learner.get("/items/ico-chatbots", headers={"Sec-Fetch-Site": "none"})
    assert typed.status_code == 200
    [opened] = [row for row in evidence_rows(learner) if row["section"] == "Items opened"]
    assert "recorded: address typed or bookmarked" in opened["detail"]
    marked = learner.post(
        "/items/ico-chatbots/read",
        data={"csrf_token": hidden(typed.text, "csrf_token")},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert marked.status_code == 303
    kinds = [
        record.how
        for record in site.workspace.activity(
            "vic", datetime(2025, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
    ]
    assert kinds == ["direct", "explicit"]


def test_a_draft_is_kept_only_from_a_form_posted_on_our_own_pages(site: Site) -> None:
    for headers, kept in (
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
    ):
        client = TestClient(site.app, follow_redirects=False, client=("10.0.11.1", 1))
        client.cookies.set("horizon_session", "expired-or-never-was")
        answer = client.post(
            "/items/ico-chatbots/comments",
            data={"csrf_token": "stale", "body": "Words for the user to send as theirs"},
            headers=headers,
        )
        assert answer.status_code == 401
        assert (hidden(answer.text, "draft") != "") is kept
    without_fetch_metadata = TestClient(site.app, follow_redirects=False, client=("10.0.11.2", 1))
    for origin, kept in (("http://testserver", True), ("https://evil.example", False)):
        answer = without_fetch_metadata.post(
            "/items/ico-chatbots/comments",
            data={"csrf_token": "stale", "body": "text"},
            headers={"Origin": origin},
        )
        assert (hidden(answer.text, "draft") != "") is kept


def test_viewers_see_item_changes_but_not_saved_searches_user_admin_or_failed_sign_ins(
    site: Site,
) -> None:
    client = site.client("10.0.12.1")
    sign_in(client, "nobody", "wrong password")
    seen = {}
    for name in ("vic", "ada"):
        entries = client.get("/api/v1/audit", headers=bearer(site, name)).json()
        seen[name] = {entry["action"] for entry in entries}
        exported = client.get("/api/v1/audit.csv", headers=bearer(site, name)).text
        assert {row["action"] for row in csv.DictReader(io.StringIO(exported))} == seen[name]
    assert "flag.raise" in seen["vic"]
    assert not {"user.add", "search.save", "login.fail"} & seen["vic"]
    assert {"user.add", "search.save", "login.fail", "flag.raise"} <= seen["ada"]
    sign_in(client, "vic")
    page = client.get("/audit").text
    assert "flag.raise" in page and "ann&#39;s private research" not in page
    assert "user.add" not in page


def test_a_password_form_posted_after_the_session_expired_keeps_no_password(site: Site) -> None:
    client = TestClient(site.app, follow_redirects=False, client=("10.0.13.1", 1))
    client.cookies.set("horizon_session", "expired-or-never-was")
    answer = client.post(
        "/account/password",
        data={
            "csrf_token": "stale",
            "current_password": "my current secret",
            "new_password": "my next secret phrase",
        },
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 401
    draft = site.app.state.web.read_draft(hidden(answer.text, "draft"))
    assert draft is not None and draft["fields"] == {}
    assert "secret" not in str(draft)
