"""The JSON API: every operation by every role (allowed, or refused with 403 and nothing
changed), token authentication, 4xx answers naming the field, and the OpenAPI document.
Real app, real Chroma, real state database; the hashing embedder keeps search fast."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from horizon.config import load_settings
from horizon.embed import HashingEmbedder
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.runtime import Runtime
from horizon.web import create_app
from horizon.workspace import COMMAND_LINE, Workspace
from horizon.workspace.models import FlagRequest, TokenRequest, UserRequest

ROLES = ("viewer", "analyst", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
FLAG_BODY = {
    "controls": ["DATA-PRIVACY"],
    "severity": "high",
    "owner": "DPO",
    "due": "2025-10-31",
    "rationale": "Customer chatbot processes personal data.",
}


@dataclass(frozen=True)
class Operation:
    """One API call; `{item}`, `{flag}` and `{user}` are filled in per role."""

    name: str
    method: str
    path: str
    lowest_role: str
    status: int = 200
    body: dict[str, Any] | None = None


OPERATIONS = [
    Operation("me", "GET", "/api/v1/me", "viewer"),
    Operation("search", "GET", "/api/v1/search?q=artificial+intelligence+guidance", "viewer"),
    Operation("item", "GET", "/api/v1/items/{item}", "viewer"),
    Operation("item-audit", "GET", "/api/v1/items/{item}/audit", "viewer"),
    Operation("item-flags", "GET", "/api/v1/items/{item}/flags", "viewer"),
    Operation("item-comments", "GET", "/api/v1/items/{item}/comments", "viewer"),
    Operation("item-tags", "GET", "/api/v1/items/{item}/tags", "viewer"),
    Operation("queue", "GET", "/api/v1/triage?state=new&state=impact", "viewer"),
    Operation("audit", "GET", "/api/v1/audit", "viewer"),
    Operation("audit-csv", "GET", "/api/v1/audit.csv", "viewer"),
    Operation("digest", "GET", "/api/v1/digest?week=2025-W37", "viewer"),
    Operation("searches", "GET", "/api/v1/searches", "viewer"),
    Operation("tokens", "GET", "/api/v1/tokens", "viewer"),
    Operation("evidence", "GET", "/api/v1/evidence?from=2025-09-01&to=2025-09-30", "viewer"),
    Operation("create-token", "POST", "/api/v1/tokens", "viewer", 201, {"label": "report"}),
    Operation(
        "move", "POST", "/api/v1/items/{item}/triage", "analyst", 200, {"state": "under-review"}
    ),
    Operation("flag", "POST", "/api/v1/items/{item}/flags", "analyst", 201, FLAG_BODY),
    Operation(
        "comment", "POST", "/api/v1/items/{item}/comments", "analyst", 201, {"body": "Noted."}
    ),
    Operation(
        "tag",
        "POST",
        "/api/v1/items/{item}/tags/DATA-PRIVACY",
        "analyst",
        200,
        {"verdict": "reject"},
    ),
    Operation("close-flag", "POST", "/api/v1/flags/{flag}/close", "analyst", 200, {"note": "Done"}),
    Operation(
        "save-search",
        "POST",
        "/api/v1/searches",
        "analyst",
        201,
        {"name": "chatbots", "query": "chatbot", "filters": {"type": ["guidance"]}},
    ),
    Operation("users", "GET", "/api/v1/users", "admin"),
    Operation(
        "add-user",
        "POST",
        "/api/v1/users",
        "admin",
        201,
        {"name": "new-{role}", "role": "viewer", "password": "another long password"},
    ),
    Operation("disable-user", "POST", "/api/v1/users/{user}/disable", "admin"),
    Operation(
        "others-evidence",
        "GET",
        "/api/v1/evidence?from=2025-09-01&to=2025-09-30&user={user}",
        "admin",
    ),
]


@dataclass
class Site:
    client: TestClient
    workspace: Workspace
    tokens: dict[str, str]
    flags: dict[str, int]


def api_item(item_id: str, title: str) -> Item:
    return Item(
        id=item_id,
        title=title,
        summary="The regulator sets out how artificial intelligence guidance applies.",
        url=f"https://ico.org.uk/news/{item_id}",
        publisher="ICO",
        published=datetime(2025, 9, 10, tzinfo=UTC),
        source="ico-news",
        content_hash=content_hash(title, item_id),
        tags=Tags(
            relevant=True,
            controls=[ControlTag(id="DATA-PRIVACY", score=0.81, evidence=title)],
            type="guidance",
            jurisdiction="UK",
        ),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One installation shared by the module: an item per operation and role (so no test
    depends on another's changes), a user and token per role, an open flag to close."""
    home = Path(tmp_path_factory.mktemp("api")) / "home"
    runtime = Runtime(load_settings(home=home, env={}), embedder_override=HashingEmbedder())
    items = [
        api_item(f"{operation.name}-{role}", f"ICO guidance on AI, for {operation.name}")
        for operation in OPERATIONS
        for role in ROLES
    ] + [api_item(name, "ICO guidance on AI") for name in ("effect-move", "effect-flag")]
    runtime.store.index.upsert(items, runtime.embedder.embed([item.text() for item in items]))
    runtime.store.state.save_new_items(items, datetime(2025, 9, 11, tzinfo=UTC))
    app = create_app(runtime)
    workspace: Workspace = app.state.web.workspace
    tokens, flags = {}, {}
    for role, name in zip(ROLES, ("vic", "ann", "ada"), strict=True):
        user = workspace.add_user(
            COMMAND_LINE, UserRequest(name=name, role=role, password="a long enough password")
        )
        tokens[role] = workspace.create_token(user, TokenRequest(label="tests"))[1]
        workspace.add_user(
            COMMAND_LINE,
            UserRequest(name=f"victim-{role}", role="viewer", password="a long enough password"),
        )
        flags[role] = workspace.raise_flag(
            COMMAND_LINE, f"close-flag-{role}", FlagRequest.model_validate(FLAG_BODY)
        ).id
    with TestClient(app) as client:
        yield Site(client, workspace, tokens, flags)


def call(site: Site, operation: Operation, role: str, token: str | None = None) -> Any:
    path = operation.path.format(
        item=f"{operation.name}-{role}", flag=site.flags[role], user=f"victim-{role}"
    )
    body = (
        {
            key: value.format(role=role) if isinstance(value, str) else value
            for key, value in operation.body.items()
        }
        if operation.body
        else None
    )
    headers = {"Authorization": f"Bearer {token or site.tokens[role]}"}
    return site.client.request(operation.method, path, json=body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.name for operation in OPERATIONS])
def test_each_operation_is_allowed_from_its_role_up_and_refused_below_with_nothing_changed(
    site: Site, operation: Operation, role: str
) -> None:
    changes_before = len(site.workspace.audit())
    response = call(site, operation, role)
    if RANK[role] >= RANK[operation.lowest_role]:
        assert response.status_code == operation.status, response.text
    else:
        assert response.status_code == 403, response.text
        assert "needs the" in response.json()["detail"] or "only" in response.json()["detail"]
        assert len(site.workspace.audit()) == changes_before


def test_allowed_changes_take_effect_and_are_audited_under_the_callers_name(site: Site) -> None:
    moved = site.client.post(
        "/api/v1/items/effect-move/triage",
        json={"state": "under-review"},
        headers=auth(site, "analyst"),
    )
    assert moved.json()["state"] == "under-review"
    entry = site.workspace.audit(item_id="effect-move")[-1]
    assert (entry.actor, entry.before, entry.after) == (
        "ann",
        {"state": "new", "rationale": ""},
        {"state": "under-review", "rationale": ""},
    )
    flagged = site.client.post(
        "/api/v1/items/effect-flag/flags", json=FLAG_BODY, headers=auth(site, "admin")
    ).json()
    assert (flagged["owner"], flagged["raised_by"]) == ("DPO", "ada")
    assert site.workspace.triage("effect-flag").state == "impact"


def test_a_viewers_refused_changes_leave_the_item_untouched(site: Site) -> None:
    for name in ("move", "flag", "comment", "tag"):
        call(site, next(op for op in OPERATIONS if op.name == name), "viewer")
    assert site.workspace.triage("move-viewer").state == "new"
    assert site.workspace.flags(item_id="flag-viewer") == []
    assert site.workspace.comments("comment-viewer") == []
    assert site.workspace.verdicts(item_id="tag-viewer") == []


def test_requests_without_a_valid_token_get_401_and_say_how_to_authenticate(site: Site) -> None:
    me = next(op for op in OPERATIONS if op.name == "me")
    missing = site.client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer TOKEN" in missing.json()["detail"]
    assert call(site, me, "viewer", token="hzn_not-a-real-token").status_code == 401
    created = site.client.post(
        "/api/v1/tokens", json={"label": "temporary"}, headers=auth(site, "viewer")
    ).json()
    revoke = site.client.post(
        f"/api/v1/tokens/{created['record']['id']}/revoke", headers=auth(site, "viewer")
    )
    assert revoke.status_code == 200
    assert call(site, me, "viewer", token=created["token"]).status_code == 401


def auth(site: Site, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[role]}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/items/move-admin/flags", {**FLAG_BODY, "owner": None}, "owner"),
        ("POST", "/api/v1/items/move-admin/flags", {**FLAG_BODY, "due": "31/10/2025"}, "due"),
        ("POST", "/api/v1/items/move-admin/flags", {**FLAG_BODY, "controls": []}, "controls"),
        (
            "POST",
            "/api/v1/items/move-admin/flags",
            {**FLAG_BODY, "controls": ["MADE-UP"]},
            "controls",
        ),
        ("POST", "/api/v1/items/move-admin/flags", {**FLAG_BODY, "colour": "red"}, "colour"),
        ("POST", "/api/v1/items/move-admin/triage", {"state": "closed"}, "state"),
        ("POST", "/api/v1/items/move-admin/triage", {"state": "maybe"}, "state"),
        ("POST", "/api/v1/items/move-admin/comments", {"body": "   "}, "body"),
        ("POST", "/api/v1/items/move-admin/tags/DATA-PRIVACY", {"verdict": "maybe"}, "verdict"),
        ("POST", "/api/v1/items/move-admin/tags/NOT-ONE", {"verdict": "confirm"}, "control"),
        (
            "POST",
            "/api/v1/users",
            {"name": "Bad Name", "role": "admin", "password": "another long password"},
            "name",
        ),
        (
            "POST",
            "/api/v1/users",
            {"name": "ann", "role": "admin", "password": "another long password"},
            "name",
        ),
        (
            "POST",
            "/api/v1/users",
            {"name": "weak", "role": "admin", "password": "password12"},
            "password",
        ),
        ("GET", "/api/v1/search", None, "q"),
        ("GET", "/api/v1/search?q=ai&since=yesterday", None, "since"),
        ("GET", "/api/v1/triage?state=pending", None, "state"),
        ("GET", "/api/v1/digest?week=2025-37", None, "week"),
        ("GET", "/api/v1/evidence?from=2025-02-30&to=2025-03-01", None, "from"),
        ("GET", "/api/v1/evidence?from=2025-03-01&to=2025-03-02&format=pdf", None, "format"),
    ],
)
def test_missing_or_invalid_fields_get_422_naming_the_field_and_change_nothing(
    site: Site, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    changes_before = len(site.workspace.audit())
    response = site.client.request(method, path, json=body, headers=auth(site, "admin"))
    assert response.status_code == 422, response.text
    assert field in [problem["loc"][-1] for problem in response.json()["detail"]]
    assert len(site.workspace.audit()) == changes_before


def test_an_unknown_item_or_flag_gets_404_naming_it(site: Site) -> None:
    missing = site.client.get("/api/v1/items/no-such-item", headers=auth(site, "viewer"))
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "there is no item 'no-such-item'",
    )
    closing = site.client.post("/api/v1/flags/9999/close", json={}, headers=auth(site, "admin"))
    assert closing.status_code == 404


def test_the_item_shows_reports_provenance_tags_and_the_workspace_record(site: Site) -> None:
    view = site.client.get("/api/v1/items/item-viewer", headers=auth(site, "viewer")).json()
    assert view["item"]["url"] == "https://ico.org.uk/news/item-viewer"
    assert view["item"]["tags"]["controls"][0]["evidence"].startswith("ICO guidance on AI")
    assert [report["source"] for report in view["reports"]] == ["ico-news"]
    assert view["first_seen"].startswith("2025-09-11")
    assert view["item"]["content_hash"] == content_hash(
        "ICO guidance on AI, for item", "item-viewer"
    )
    assert view["triage"]["state"] == "new"


def test_the_openapi_document_describes_every_operation_and_token_authentication(
    site: Site,
) -> None:
    document = site.client.get("/api/openapi.json").json()
    paths = document["paths"]
    for operation in OPERATIONS:
        template = operation.path.split("?")[0].replace("{item}", "{item_id}")
        template = template.replace("{flag}", "{flag_id}").replace("{user}", "{name}")
        template = template.replace("/tags/DATA-PRIVACY", "/tags/{control}")
        assert operation.method.lower() in paths[template], template
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert not any(path.startswith("/items") or path == "/login" for path in paths)
    flag_schema = document["components"]["schemas"]["FlagRequest"]
    assert set(flag_schema["required"]) == {"controls", "severity", "owner", "due", "rationale"}
