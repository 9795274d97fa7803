"""The workspace's storage and rules: triage path, flags, comments, roles, sessions, tokens and
the append-only audit log, over a real state database."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from horizon.config import Settings
from horizon.item import ControlTag, Item, Tags
from horizon.normalise import content_hash
from horizon.state import StateDB
from horizon.workspace import (
    COMMAND_LINE,
    InvalidField,
    NotFound,
    PermissionDenied,
    Workspace,
    audit_csv,
)
from horizon.workspace.models import (
    CommentRequest,
    FlagCloseRequest,
    FlagRequest,
    SavedSearchRequest,
    TokenRequest,
    TriageRequest,
    User,
    UserRequest,
)

CONTROLS = ("DATA-PRIVACY", "AI-POLICY", "MONITORING-INCIDENTS")
PASSWORD = "a long enough password"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 9, 15, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def stored_item(item_id: str, title: str, relevant: bool = True) -> Item:
    tags = Tags(
        relevant=relevant,
        controls=[ControlTag(id="DATA-PRIVACY", score=0.8, evidence=title)] if relevant else [],
        type="guidance",
        jurisdiction="UK",
    )
    return Item(
        id=item_id,
        title=title,
        summary="",
        publisher="ICO",
        published=datetime(2025, 9, 10, tzinfo=UTC),
        content_hash=content_hash(title, ""),
        tags=tags,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(settings: Settings) -> StateDB:
    return StateDB(settings.state_db)


@pytest.fixture
def workspace(state: StateDB, clock: Clock) -> Workspace:
    state.save_new_items(
        [
            stored_item("a1", "ICO consults on AI and personal data"),
            stored_item("a2", "EU AI Office opens code of practice"),
            stored_item("n1", "Bank holiday opening hours", relevant=False),
        ],
        clock(),
    )
    return Workspace(state, controls=CONTROLS, clock=clock)


def person(name: str, role: str) -> User:
    """A user record for rules that do not need a stored account (no password hashing)."""
    return User.model_validate(
        {"name": name, "role": role, "active": True, "created": "2025-01-01T00:00:00+00:00"}
    )


ANALYST = person("ann", "analyst")
VIEWER = person("vic", "viewer")
FLAG = FlagRequest(
    controls=["DATA-PRIVACY"],
    severity="high",
    owner="dpo",
    due=date(2025, 10, 31),
    rationale="We process customer data with AI.",
)


def test_an_item_moves_along_the_triage_path_and_each_step_is_audited(
    workspace: Workspace,
) -> None:
    assert workspace.triage("a1").state == "new"
    workspace.move(ANALYST, "a1", TriageRequest(state="under-review"))
    workspace.move(ANALYST, "a1", TriageRequest(state="impact", rationale="We use chatbots."))
    workspace.move(ANALYST, "a1", TriageRequest(state="actioned"))
    record = workspace.move(ANALYST, "a1", TriageRequest(state="closed"))
    assert (record.state, record.updated_by) == ("closed", "ann")
    moves = [
        ((e.before or {}).get("state"), (e.after or {}).get("state"))
        for e in workspace.audit(item_id="a1")
    ]
    assert moves == [
        ("new", "under-review"),
        ("under-review", "impact"),
        ("impact", "actioned"),
        ("actioned", "closed"),
    ]


def test_a_step_the_path_does_not_have_is_refused_naming_the_state_field(
    workspace: Workspace,
) -> None:
    with pytest.raises(InvalidField) as refused:
        workspace.move(ANALYST, "a1", TriageRequest(state="actioned"))
    assert refused.value.field == "state"
    assert "'new' can move to 'under-review'" in refused.value.message
    assert workspace.triage("a1").state == "new"
    assert workspace.audit() == []


def test_impact_and_no_impact_decisions_need_a_rationale(workspace: Workspace) -> None:
    workspace.move(ANALYST, "a1", TriageRequest(state="under-review"))
    with pytest.raises(InvalidField) as refused:
        workspace.move(ANALYST, "a1", TriageRequest(state="no-impact", rationale="  "))
    assert refused.value.field == "rationale"
    assert workspace.triage("a1").state == "under-review"


def test_raising_a_flag_records_it_and_moves_an_undecided_item_to_impact(
    workspace: Workspace,
) -> None:
    flag = workspace.raise_flag(ANALYST, "a1", FLAG)
    assert (flag.status, flag.controls, flag.owner, flag.due) == (
        "open",
        ["DATA-PRIVACY"],
        "dpo",
        date(2025, 10, 31),
    )
    triage = workspace.triage("a1")
    assert triage.state == "impact"
    assert "We process customer data" in triage.rationale
    assert [entry.action for entry in workspace.audit(item_id="a1")] == [
        "flag.raise",
        "triage.move",
    ]
    assert [entry.item_id for entry in workspace.queue(["impact"])] == ["a1"]
    assert workspace.queue(["impact"])[0].open_flags == 1


def test_a_flag_on_a_control_outside_the_catalogue_is_refused_naming_the_field(
    workspace: Workspace,
) -> None:
    with pytest.raises(InvalidField) as refused:
        workspace.raise_flag(ANALYST, "a1", FLAG.model_copy(update={"controls": ["NOT-A-ONE"]}))
    assert refused.value.field == "controls"
    assert workspace.flags() == []


def test_closing_a_flag_keeps_before_and_after_and_cannot_be_done_twice(
    workspace: Workspace,
) -> None:
    flag = workspace.raise_flag(ANALYST, "a1", FLAG)
    closed = workspace.close_flag(ANALYST, flag.id, FlagCloseRequest(note="DPIA updated"))
    assert (closed.status, closed.closed_by, closed.close_note) == ("closed", "ann", "DPIA updated")
    entry = workspace.audit(item_id="a1")[-1]
    assert entry.action == "flag.close"
    assert entry.before is not None and entry.after is not None
    assert (entry.before["status"], entry.after["status"]) == ("open", "closed")
    with pytest.raises(InvalidField):
        workspace.close_flag(ANALYST, flag.id, FlagCloseRequest())


def test_a_viewer_can_read_but_every_change_is_refused_and_nothing_is_written(
    workspace: Workspace,
) -> None:
    changes = [
        lambda: workspace.move(VIEWER, "a1", TriageRequest(state="under-review")),
        lambda: workspace.raise_flag(VIEWER, "a1", FLAG),
        lambda: workspace.add_comment(VIEWER, "a1", CommentRequest(body="hello")),
        lambda: workspace.judge_tag(VIEWER, "a1", "DATA-PRIVACY", "reject"),
        lambda: workspace.save_search(VIEWER, SavedSearchRequest(name="s", query="AI")),
        lambda: workspace.add_user(
            VIEWER, UserRequest(name="eve", role="admin", password=PASSWORD)
        ),
        lambda: workspace.disable_user(VIEWER, "ann"),
        lambda: workspace.list_users(VIEWER),
    ]
    for change in changes:
        with pytest.raises(PermissionDenied, match="vic is a viewer"):
            change()
    assert workspace.audit() == []
    assert workspace.triage("a1").state == "new"
    assert workspace.flags() == workspace.comments("a1") == workspace.verdicts() == []
    assert workspace.queue()[0].item_id in ("a1", "a2")


def test_an_analyst_cannot_manage_users(workspace: Workspace) -> None:
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        workspace.add_user(ANALYST, UserRequest(name="eve", role="admin", password=PASSWORD))


def test_changes_to_an_unknown_item_say_which_item(workspace: Workspace) -> None:
    with pytest.raises(NotFound, match="no item 'zz'"):
        workspace.add_comment(ANALYST, "zz", CommentRequest(body="hello"))


def test_the_queue_holds_relevant_items_and_anything_already_triaged(
    workspace: Workspace,
) -> None:
    assert {entry.item_id for entry in workspace.queue()} == {"a1", "a2"}
    workspace.move(ANALYST, "n1", TriageRequest(state="under-review"))
    assert {entry.item_id for entry in workspace.queue(["under-review"])} == {"n1"}
    assert workspace.queue()[0].controls in (["DATA-PRIVACY"], [])


def test_the_audit_log_refuses_updates_and_deletes_even_from_raw_sql(
    workspace: Workspace, state: StateDB
) -> None:
    workspace.add_comment(ANALYST, "a1", CommentRequest(body="first"))
    connection = sqlite3.connect(state.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("UPDATE workspace_audit SET actor = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute("DELETE FROM workspace_audit")
    finally:
        connection.close()
    assert [entry.actor for entry in workspace.audit()] == ["ann"]


def test_the_audit_csv_has_who_when_what_before_after_and_defuses_formulas(
    workspace: Workspace,
) -> None:
    workspace.add_comment(ANALYST, "a1", CommentRequest(body='=HYPERLINK("http://x")'))
    workspace.move(ANALYST, "a1", TriageRequest(state="under-review"))
    rows = list(csv.DictReader(io.StringIO(audit_csv(workspace.audit()))))
    assert [row["action"] for row in rows] == ["comment.add", "triage.move"]
    assert rows[1]["actor"] == "ann"
    assert '"state": "new"' in rows[1]["before"] and '"under-review"' in rows[1]["after"]
    assert rows[0]["after"].startswith("{")
    assert all(not value.startswith("=") for row in rows for value in row.values())


def test_a_tag_verdict_changed_later_is_audited_with_before_and_after(
    workspace: Workspace,
) -> None:
    workspace.judge_tag(ANALYST, "a1", "DATA-PRIVACY", "confirm")
    workspace.judge_tag(person("bob", "analyst"), "a1", "DATA-PRIVACY", "reject")
    [verdict] = workspace.verdicts(item_id="a1")
    assert (verdict.confirmed, verdict.user) == (False, "bob")
    last = workspace.audit(item_id="a1")[-1]
    assert (last.before, last.after) == (
        {"control": "DATA-PRIVACY", "verdict": "confirmed"},
        {"control": "DATA-PRIVACY", "verdict": "rejected"},
    )


def test_saving_a_search_again_under_its_name_replaces_it(workspace: Workspace) -> None:
    workspace.save_search(ANALYST, SavedSearchRequest(name="deepfakes", query="deepfake"))
    workspace.save_search(
        ANALYST,
        SavedSearchRequest(name="deepfakes", query="deepfake labels", filters={"type": ["law"]}),
    )
    [saved] = workspace.saved_searches("ann")
    assert (saved.query, saved.filters) == ("deepfake labels", {"type": ["law"]})
    assert workspace.audit()[-1].before == {"query": "deepfake", "filters": {}}


def test_users_sign_in_with_their_password_and_disabled_users_cannot(
    workspace: Workspace,
) -> None:
    workspace.add_user(COMMAND_LINE, UserRequest(name="ann", role="analyst", password=PASSWORD))
    assert workspace.authenticate("ann", PASSWORD) is not None
    assert workspace.authenticate("ann", "wrong password!") is None
    assert workspace.authenticate("nobody", PASSWORD) is None
    with pytest.raises(InvalidField) as taken:
        workspace.add_user(COMMAND_LINE, UserRequest(name="ann", role="viewer", password=PASSWORD))
    assert taken.value.field == "name"
    session_token = workspace.start_session(workspace.user("ann"))
    _, api_token = workspace.create_token(workspace.user("ann"), TokenRequest(label="script"))
    workspace.disable_user(COMMAND_LINE, "ann")
    assert workspace.authenticate("ann", PASSWORD) is None
    assert workspace.session(session_token) is None
    assert workspace.token_user(api_token) is None


def test_passwords_and_tokens_are_stored_only_as_hashes(
    workspace: Workspace, state: StateDB
) -> None:
    workspace.add_user(COMMAND_LINE, UserRequest(name="ann", role="analyst", password=PASSWORD))
    session_token = workspace.start_session(workspace.user("ann"))
    _, api_token = workspace.create_token(workspace.user("ann"), TokenRequest(label="script"))
    files = (state.path, state.path.with_name("state.db-wal"))
    database = b"".join(path.read_bytes() for path in files if path.exists())
    for secret in (PASSWORD, session_token, api_token):
        assert secret.encode() not in database
    assert workspace.token_user(api_token) == workspace.user("ann")


def test_a_session_expires_after_idle_time_and_carries_a_stable_csrf_token(
    workspace: Workspace, state: StateDB, clock: Clock
) -> None:
    workspace.add_user(COMMAND_LINE, UserRequest(name="ann", role="analyst", password=PASSWORD))
    token = workspace.start_session(workspace.user("ann"), draft={"form": "comment"})
    first = workspace.session(token)
    assert first is not None and first.user.name == "ann"
    assert workspace.take_draft(first) == {"form": "comment"}
    clock.now += timedelta(hours=7)
    again = workspace.session(token)
    assert again is not None and again.csrf_token == first.csrf_token
    assert workspace.take_draft(again) is None
    clock.now += timedelta(hours=8, minutes=1)
    assert workspace.session(token) is None
    other = Workspace(StateDB(state.path), controls=CONTROLS, clock=clock)
    assert other.secret_key == workspace.secret_key


def test_a_revoked_token_stops_working_and_only_its_owner_or_an_admin_may_revoke_it(
    workspace: Workspace,
) -> None:
    workspace.add_user(COMMAND_LINE, UserRequest(name="ann", role="analyst", password=PASSWORD))
    ann = workspace.user("ann")
    record, token = workspace.create_token(ann, TokenRequest(label="script"))
    with pytest.raises(PermissionDenied):
        workspace.revoke_token(person("bob", "analyst"), record.id)
    assert workspace.token_user(token) == ann
    workspace.revoke_token(ann, record.id)
    assert workspace.token_user(token) is None
    assert workspace.tokens(ann)[0].revoked is not None
