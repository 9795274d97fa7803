"""Accounts over a real state database: password policy and exact passwords, the failed
sign-in limits (per account, per client, unknown names alike), the account lifecycle (change,
reset, disable, enable, the last admin), token expiry, and who sees which audit entries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from horizon.config import Settings
from horizon.item import Item
from horizon.normalise import content_hash
from horizon.state import StateDB
from horizon.workspace import COMMAND_LINE, Conflict, InvalidField, Throttled, Workspace
from horizon.workspace.models import (
    FlagRequest,
    PasswordChange,
    PasswordReset,
    SavedSearchRequest,
    TokenRequest,
    UserRequest,
)
from horizon.workspace.schema import SCHEMA
from horizon.workspace.throttle import ThrottlePolicy

PASSWORD = "a long enough password"
OTHER = "quiet harbour lantern sixty"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 9, 15, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def workspace(settings: Settings, clock: Clock) -> Workspace:
    state = StateDB(settings.state_db)
    title = "ICO consults on AI and personal data"
    state.save_new_items(
        [
            Item(
                id="a1",
                title=title,
                publisher="ICO",
                published=datetime(2025, 9, 10, tzinfo=UTC),
                content_hash=content_hash(title, ""),
            )
        ],
        clock(),
    )
    workspace = Workspace(state, clock=clock, throttle_policy=ThrottlePolicy(client_limit=8))
    for name, role in (("ada", "admin"), ("ann", "analyst"), ("vic", "viewer")):
        workspace.add_user(COMMAND_LINE, UserRequest(name=name, role=role, password=PASSWORD))
    return workspace


@pytest.mark.parametrize("weak", ["1111111111", "aaaaaaaaaa", "password12", "qwertyuiop1"])
def test_weak_or_common_passwords_are_refused_with_a_plain_reason(weak: str) -> None:
    with pytest.raises(ValidationError) as refused:
        UserRequest(name="eve", role="viewer", password=weak)
    [problem] = refused.value.errors()
    assert problem["loc"] == ("password",)
    assert "easy to guess" in problem["msg"] or "most common passwords" in problem["msg"]
    assert "unrelated words" in problem["msg"]


def test_a_password_built_from_the_user_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="easy to guess"):
        UserRequest(name="margaret.thatcher", role="viewer", password="margaret.thatcher1")


@pytest.mark.parametrize("typed", ["  leading spaces count too", "trailing spaces count too  "])
def test_a_password_with_spaces_at_either_end_signs_in_exactly_as_typed(
    workspace: Workspace, typed: str
) -> None:
    workspace.add_user(COMMAND_LINE, UserRequest(name="sam", role="viewer", password=typed))
    assert workspace.authenticate("sam", typed) is not None
    assert workspace.authenticate("sam", typed.strip()) is None


def test_an_account_is_locked_after_five_failures_even_for_the_right_password(
    workspace: Workspace, clock: Clock
) -> None:
    for _ in range(5):
        assert workspace.authenticate("ann", "not the password", client="10.0.0.1") is None
    with pytest.raises(Throttled) as locked:
        workspace.authenticate("ann", PASSWORD, client="10.0.0.2")
    assert 0 < locked.value.retry_after <= 15 * 60
    assert "try again in 15 minutes" in str(locked.value)
    clock.now += timedelta(minutes=15, seconds=1)
    assert workspace.authenticate("ann", PASSWORD, client="10.0.0.2") is not None


def test_an_unknown_name_is_locked_out_exactly_like_a_real_one(workspace: Workspace) -> None:
    refusals = {}
    for name in ("ann", "nobody-here"):
        for _ in range(5):
            assert workspace.authenticate(name, "not the password", client=name) is None
        with pytest.raises(Throttled) as locked:
            workspace.authenticate(name, PASSWORD, client=name)
        refusals[name] = (str(locked.value), locked.value.retry_after)
    assert refusals["ann"] == refusals["nobody-here"]


def test_one_client_guessing_at_many_names_is_locked_out(workspace: Workspace) -> None:
    for number in range(8):
        workspace.authenticate(f"guess-{number}", "not the password", client="10.0.0.9")
    with pytest.raises(Throttled):
        workspace.authenticate("ann", PASSWORD, client="10.0.0.9")
    assert workspace.authenticate("ann", PASSWORD, client="10.0.0.10") is not None


def test_failed_sign_ins_are_audited_without_writing_down_unknown_names(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="horizon.workspace"):
        workspace.authenticate("ann", "not the password", client="10.0.0.1")
        workspace.authenticate("my secret pass", "oops", client="10.0.0.1")
    failed = [entry for entry in workspace.audit() if entry.action == "login.fail"]
    assert [entry.subject for entry in failed] == ["user ann", "an unknown user name"]
    assert failed[0].after == {"client": "10.0.0.1"}
    assert "failed sign-in for user ann from client 10.0.0.1" in caplog.text
    database = sqlite3.connect(workspace.state.path)
    assert not any("my secret pass" in str(row) for row in database.iterdump())


def test_refused_api_tokens_lock_out_the_client(workspace: Workspace) -> None:
    _, token = workspace.create_token(workspace.user("vic"), TokenRequest(label="script"))
    for _ in range(8):
        assert workspace.token_user("hzn_guessed", client="10.0.0.5") is None
    with pytest.raises(Throttled):
        workspace.token_user(token, client="10.0.0.5")
    assert workspace.token_user(token, client="10.0.0.6") == workspace.user("vic")
    actions = [entry.action for entry in workspace.audit()]
    assert actions.count("token.refused") == 8 and "token.throttle" in actions


def test_a_token_stops_working_when_it_expires(workspace: Workspace, clock: Clock) -> None:
    record, token = workspace.create_token(
        workspace.user("vic"), TokenRequest(label="week", expires_in_days=7)
    )
    assert record.expires == clock.now + timedelta(days=7)
    clock.now += timedelta(days=6, hours=23)
    assert workspace.token_user(token) is not None
    clock.now += timedelta(hours=2)
    assert workspace.token_user(token) is None
    with pytest.raises(ValidationError):
        TokenRequest(label="forever", expires_in_days=0)


def test_the_last_active_admin_cannot_be_disabled(workspace: Workspace) -> None:
    with pytest.raises(Conflict, match="ada is the last active admin"):
        workspace.disable_user(COMMAND_LINE, "ada")
    assert workspace.user("ada").active
    workspace.add_user(COMMAND_LINE, UserRequest(name="abe", role="admin", password=PASSWORD))
    workspace.disable_user(COMMAND_LINE, "ada")
    with pytest.raises(Conflict):
        workspace.disable_user(workspace.user("abe"), "abe")


def test_disabling_ends_sessions_and_tokens_and_enabling_lets_the_user_back_in(
    workspace: Workspace,
) -> None:
    ann = workspace.user("ann")
    session = workspace.start_session(ann)
    _, token = workspace.create_token(ann, TokenRequest(label="script"))
    workspace.disable_user(workspace.user("ada"), "ann")
    assert workspace.session(session) is None and workspace.token_user(token) is None
    assert workspace.authenticate("ann", PASSWORD) is None
    workspace.enable_user(workspace.user("ada"), "ann")
    assert workspace.authenticate("ann", PASSWORD) == workspace.user("ann")
    assert workspace.token_user(token) is None
    changes = [entry.action for entry in workspace.audit() if entry.action.startswith("user.")]
    assert changes[-2:] == ["user.disable", "user.enable"]


def test_changing_ones_password_needs_the_current_one_and_ends_the_other_sessions(
    workspace: Workspace,
) -> None:
    ann = workspace.user("ann")
    here, elsewhere = workspace.start_session(ann), workspace.start_session(ann)
    with pytest.raises(InvalidField) as wrong:
        workspace.change_password(
            ann, PasswordChange(current_password="guess", new_password=OTHER), "10.0.0.1"
        )
    assert wrong.value.field == "current_password"
    current = workspace.session(here)
    assert current is not None
    workspace.change_password(
        ann,
        PasswordChange(current_password=PASSWORD, new_password=OTHER),
        "10.0.0.1",
        current.digest,
    )
    assert workspace.session(here) is not None and workspace.session(elsewhere) is None
    assert workspace.authenticate("ann", OTHER) is not None
    assert workspace.authenticate("ann", PASSWORD) is None


def test_an_admin_resets_a_password_and_the_users_sessions_end(workspace: Workspace) -> None:
    session = workspace.start_session(workspace.user("vic"))
    workspace.reset_password(workspace.user("ada"), "vic", PasswordReset(password=OTHER))
    assert workspace.session(session) is None
    assert workspace.authenticate("vic", OTHER) is not None
    with pytest.raises(ValidationError, match="easy to guess"):
        PasswordReset(password="aaaaaaaaaaaa")


def test_ending_other_sessions_keeps_only_the_current_one(workspace: Workspace) -> None:
    vic = workspace.user("vic")
    tokens = [workspace.start_session(vic) for _ in range(3)]
    current = workspace.session(tokens[0])
    assert current is not None
    assert workspace.end_other_sessions(vic, keep=current.digest) == 2
    assert [workspace.session(token) is not None for token in tokens] == [True, False, False]


def test_each_role_sees_its_part_of_the_audit_trail(workspace: Workspace) -> None:
    ada, ann, vic = (workspace.user(name) for name in ("ada", "ann", "vic"))
    workspace.save_search(ann, SavedSearchRequest(name="private", query="my own research"))
    workspace.raise_flag(
        ann,
        "a1",
        FlagRequest(
            controls=["DATA-PRIVACY"],
            severity="low",
            owner="dpo",
            due=date(2025, 10, 1),
            rationale="Personal data.",
        ),
    )
    workspace.create_token(vic, TokenRequest(label="vics script"))
    workspace.authenticate("ann", "not the password", client="10.0.0.1")
    seen = {
        user.name: {entry.action for entry in workspace.audit(seen_by=user)}
        for user in (ada, ann, vic)
    }
    assert {"user.add", "search.save", "login.fail", "token.create"} <= seen["ada"]
    assert seen["vic"] == {"flag.raise", "triage.move", "token.create"}
    assert seen["ann"] == {"flag.raise", "triage.move", "search.save"}
    assert all("my own research" not in str(entry) for entry in workspace.audit(seen_by=vic))


def test_a_home_made_before_token_expiry_and_provenance_gains_the_new_columns(
    settings: Settings,
) -> None:
    state = StateDB(settings.state_db)
    old = SCHEMA.replace(",\n    expires TEXT\n", "\n").replace(
        ",\n    how TEXT NOT NULL DEFAULT 'unknown'\n", "\n"
    )
    assert old != SCHEMA
    state.ensure_schema(old)
    with state.connect() as connection:
        connection.execute(
            "INSERT INTO workspace_activity (username, at, kind, subject)"
            " VALUES ('ann', '2025-01-01T00:00:00+00:00', 'item-opened', 'a1')"
        )
    workspace = Workspace(state)
    [opened] = workspace.activity(
        "ann", datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert opened.how == "unknown"
    ada = workspace.add_user(COMMAND_LINE, UserRequest(name="ada", role="admin", password=PASSWORD))
    assert workspace.create_token(ada, TokenRequest(label="x", expires_in_days=1))[0].expires
