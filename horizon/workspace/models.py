"""The workspace's records and requests, shared by the storage, the JSON API and the forms.

Requests (`TriageRequest`, `FlagRequest`, ...) validate what a person sends — the web forms and
the JSON API parse into the same models, so both name the same field when something is wrong.
Records (`User`, `Flag`, `AuditEntry`, ...) are what the storage gives back.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from horizon.workspace.passwords import MAX_PASSWORD, MIN_PASSWORD, password_problem

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")
TriageState = Literal["new", "under-review", "impact", "no-impact", "actioned", "closed"]
TRIAGE_STATES: tuple[TriageState, ...] = (
    "new",
    "under-review",
    "impact",
    "no-impact",
    "actioned",
    "closed",
)
OPEN_STATES: tuple[TriageState, ...] = ("new", "under-review", "impact", "actioned")
STATE_LABELS: dict[str, str] = {
    "new": "new",
    "under-review": "under review",
    "impact": "impact",
    "no-impact": "no impact",
    "actioned": "actioned",
    "closed": "closed",
}
# The path an item takes: new → under review → impact / no impact → actioned → closed, with a
# way back to review when a decision is reopened.
TRANSITIONS: dict[str, tuple[TriageState, ...]] = {
    "new": ("under-review",),
    "under-review": ("impact", "no-impact"),
    "impact": ("actioned", "under-review"),
    "no-impact": ("closed", "under-review"),
    "actioned": ("closed", "impact"),
    "closed": ("under-review",),
}
# Decisions an assessor or a colleague will ask "why?" about must say why.
NEEDS_RATIONALE: frozenset[str] = frozenset({"impact", "no-impact"})
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
Verdict = Literal["confirm", "reject"]
ActivityKind = Literal["item-opened", "digest-opened", "search"]
# How a reading or a search came to be recorded, shown beside it in the evidence log: only a
# navigation from Horizon's own pages, an address the learner typed or bookmarked, or an
# explicit "I read this" counts; a link on another site records nothing.
RecordedHow = Literal["same-origin", "direct", "explicit", "unknown"]
RECORDED_LABELS: dict[str, str] = {
    "same-origin": "followed a link within Horizon",
    "direct": "address typed or bookmarked",
    "explicit": "marked as read by the learner",
    "unknown": "recorded before Horizon kept how",
}

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
# Stored exactly as typed: a space at either end is part of the password, never stripped.
ExactPassword = Annotated[
    str, StringConstraints(strip_whitespace=False, min_length=1, max_length=MAX_PASSWORD)
]
NewPassword = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD),
]


def _strong(password: str, user_inputs: list[str]) -> str:
    problem = password_problem(password, user_inputs)
    if problem:
        raise ValueError(problem)
    return password


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TriageRequest(_Request):
    """Move an item to another triage state; impact and no-impact decisions need a rationale."""

    state: TriageState
    rationale: str = Field(default="", max_length=4000)


class FlagRequest(_Request):
    """Raise an impact flag: which controls, how bad, who owns it, by when, and why."""

    controls: list[str] = Field(min_length=1, max_length=20)
    severity: Severity
    owner: str = Field(min_length=1, max_length=100)
    due: date
    rationale: str = Field(min_length=1, max_length=4000)

    @field_validator("controls")
    @classmethod
    def _control_ids(cls, values: list[str]) -> list[str]:
        cleaned = list(dict.fromkeys(value.strip() for value in values if value.strip()))
        if not cleaned:
            raise ValueError("name at least one control, e.g. DATA-PRIVACY")
        bad = [value for value in cleaned if not CONTROL_ID.match(value)]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a control id; use ids like DATA-PRIVACY")
        return cleaned


class FlagCloseRequest(_Request):
    note: str = Field(default="", max_length=4000)


class StageDecisionRequest(_Request):
    """Confirm or reject a stage change proposed from an item, saying why."""

    rationale: str = Field(min_length=1, max_length=4000)


class ObligationConfirmRequest(_Request):
    """Confirm an obligation stated by an item, optionally filed under another control."""

    control: str | None = Field(default=None, max_length=100)
    rationale: str = Field(default="", max_length=4000)

    @field_validator("control")
    @classmethod
    def _control_id(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not CONTROL_ID.match(value):
            raise ValueError(f"'{value}' is not a control id; use ids like DATA-PRIVACY")
        return value


class SupplierConfirmRequest(_Request):
    """Confirm a supplier flag proposal; a field left out takes the proposal's default (the
    system's controls and owner, severity high, due on the retirement date, what retires
    when as the rationale)."""

    controls: list[str] | None = Field(default=None, max_length=20)
    severity: Severity | None = None
    owner: str | None = Field(default=None, max_length=100)
    due: date | None = None
    rationale: str = Field(default="", max_length=4000)


class RejectRequest(_Request):
    """Reject a proposal, saying why."""

    rationale: str = Field(min_length=1, max_length=4000)


class CommentRequest(_Request):
    body: str = Field(min_length=1, max_length=10000)


class TagVerdictRequest(_Request):
    verdict: Verdict


class UserRequest(_Request):
    """A new workspace user."""

    name: str
    role: Role
    password: NewPassword

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not USER_NAME.match(value):
            raise ValueError("use 2 to 32 lower-case letters, digits, dots, hyphens or underscores")
        return value

    @field_validator("password")
    @classmethod
    def _password_strength(cls, value: str, info: ValidationInfo) -> str:
        return _strong(value, [str(info.data.get("name", ""))])


class PasswordChange(_Request):
    """A user changes their own password, proving they know the current one."""

    current_password: ExactPassword
    new_password: NewPassword

    @field_validator("new_password")
    @classmethod
    def _password_strength(cls, value: str) -> str:
        return _strong(value, [])


class PasswordReset(_Request):
    """An admin sets a new password for a user (who should change it after signing in)."""

    password: NewPassword

    @field_validator("password")
    @classmethod
    def _password_strength(cls, value: str) -> str:
        return _strong(value, [])


MAX_TOKEN_DAYS = 3650


class TokenRequest(_Request):
    label: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TOKEN_DAYS,
        description="Days until the token stops working; none: until it is revoked.",
    )


class SavedSearchRequest(_Request):
    name: str = Field(min_length=1, max_length=100)
    query: str = Field(min_length=1, max_length=1000)
    filters: dict[str, Any] = Field(default_factory=dict)


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class User(_Record):
    name: str
    role: Role
    active: bool
    created: datetime


class ApiToken(_Record):
    id: int
    user: str
    label: str
    created: datetime
    last_used: datetime | None
    revoked: datetime | None
    expires: datetime | None = None


class TriageRecord(_Record):
    item_id: str
    state: TriageState
    rationale: str
    updated_by: str | None
    updated_at: datetime | None


class QueueEntry(_Record):
    """One line of the triage queue."""

    item_id: str
    title: str
    publisher: str
    published: datetime | None
    type: str | None
    jurisdiction: str | None
    controls: list[str]
    state: TriageState
    updated_by: str | None
    updated_at: datetime | None
    open_flags: int


class Flag(_Record):
    id: int
    item_id: str
    controls: list[str]
    severity: Severity
    owner: str
    due: date
    rationale: str
    status: Literal["open", "closed"]
    raised_by: str
    raised_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    close_note: str


class Comment(_Record):
    id: int
    item_id: str
    author: str
    body: str
    at: datetime


class TagVerdict(_Record):
    item_id: str
    control: str
    confirmed: bool
    user: str
    at: datetime


class SavedSearch(_Record):
    id: int
    user: str
    name: str
    query: str
    filters: dict[str, Any]
    created: datetime


class Activity(_Record):
    user: str
    at: datetime
    kind: ActivityKind
    subject: str
    how: RecordedHow = "unknown"


class AuditEntry(_Record):
    """One change: who, when, what, and the record before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    item_id: str | None
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
