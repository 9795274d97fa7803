"""The JSON API: the workspace's operations for scripts, authenticated with API tokens
(`Authorization: Bearer TOKEN`), described by the OpenAPI document at /api/openapi.json.

A token acts with its owner's role, checked by `Workspace` exactly as for the web pages: a
viewer's token reads, an analyst's also triages, flags, comments and judges tags, an admin's
also manages users. Bad fields give 422 naming the field, a refused role 403, a missing,
revoked or expired token 401, and too many refused tokens from one client 429 with Retry-After.
Every number in a path or query is bounded, so none reaches the database out of range.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security, status
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from horizon.digest import digest_record
from horizon.web.context import WebContext, client_address
from horizon.web.searching import checked_filters, parse_search, run_search
from horizon.web.views import ItemView, evidence_document, item_view, week_digest
from horizon.workspace import PermissionDenied, audit_csv
from horizon.workspace.errors import InvalidField
from horizon.workspace.models import (
    OPEN_STATES,
    TRIAGE_STATES,
    ApiToken,
    AuditEntry,
    Comment,
    CommentRequest,
    Flag,
    FlagCloseRequest,
    FlagRequest,
    PasswordChange,
    PasswordReset,
    QueueEntry,
    SavedSearch,
    SavedSearchRequest,
    TagVerdict,
    TagVerdictRequest,
    TokenRequest,
    TriageRecord,
    TriageRequest,
    User,
    UserRequest,
)
from horizon.workspace.records import MAX_SQL_INT

router = APIRouter(prefix="/api/v1", tags=["workspace"])
_bearer = HTTPBearer(
    auto_error=False,
    description="An API token, from `horizon users token NAME` or the Account page.",
)


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def _token_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> User:
    user = _context(request).workspace.token_user(
        credentials.credentials if credentials else None, client_address(request)
    )
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API token is required: send 'Authorization: Bearer TOKEN'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


Ctx = Annotated[WebContext, Depends(_context)]
Caller = Annotated[User, Depends(_token_user)]
RecordId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]


class SearchResult(BaseModel):
    id: str
    title: str
    url: str | None
    publisher: str
    published: str | None
    score: float
    controls: list[str]
    type: str | None
    jurisdiction: str | None


class NewToken(BaseModel):
    token: str
    record: ApiToken


@router.get("/me", response_model=User, summary="Who this token belongs to")
def me(caller: Caller) -> User:
    return caller


@router.get("/search", response_model=list[SearchResult], summary="Search stored items")
def search_items(request: Request, ctx: Ctx, caller: Caller) -> list[dict[str, Any]]:
    """Hybrid search. Query parameters: `q` (required), `control`, `type`, `jurisdiction`
    (repeatable), `publisher`, `since`, `until` (ISO dates), `relevant` (true/false), `limit`."""
    params = parse_search(request.query_params)
    if not params.q:
        raise InvalidField("q", "required: what to search for")
    return [hit.as_json() for hit in run_search(ctx, params)]


@router.get("/triage", response_model=list[QueueEntry], summary="The triage queue")
def triage_queue(
    ctx: Ctx,
    caller: Caller,
    state: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
) -> list[QueueEntry]:
    """Items in the given triage states (default: every open state), newest first."""
    unknown = [value for value in state or [] if value not in TRIAGE_STATES]
    if unknown:
        raise InvalidField(
            "state", f"'{unknown[0]}' is not a triage state; use one of {', '.join(TRIAGE_STATES)}"
        )
    states = [value for value in TRIAGE_STATES if value in (state or [])] or list(OPEN_STATES)
    return ctx.workspace.queue(states, limit=limit, offset=offset)


@router.get("/items/{item_id:path}/audit", response_model=list[AuditEntry])
def item_audit(item_id: str, ctx: Ctx, caller: Caller) -> list[AuditEntry]:
    """Every change to the item, oldest first."""
    ctx.workspace.triage(item_id)
    return ctx.workspace.audit(item_id=item_id)


@router.get("/items/{item_id:path}/flags", response_model=list[Flag])
def item_flags(item_id: str, ctx: Ctx, caller: Caller) -> list[Flag]:
    ctx.workspace.triage(item_id)
    return ctx.workspace.flags(item_id=item_id)


@router.get("/items/{item_id:path}/comments", response_model=list[Comment])
def item_comments(item_id: str, ctx: Ctx, caller: Caller) -> list[Comment]:
    ctx.workspace.triage(item_id)
    return ctx.workspace.comments(item_id)


@router.get("/items/{item_id:path}/tags", response_model=list[TagVerdict])
def item_verdicts(item_id: str, ctx: Ctx, caller: Caller) -> list[TagVerdict]:
    """Analysts' verdicts on the item's tags."""
    ctx.workspace.triage(item_id)
    return ctx.workspace.verdicts(item_id=item_id)


@router.get("/items/{item_id:path}", response_model=ItemView, summary="One item in full")
def get_item(item_id: str, ctx: Ctx, caller: Caller) -> ItemView:
    """The item, its tags, every source that reported it, provenance, triage, flags, comments,
    tag verdicts and audit trail."""
    return item_view(ctx.runtime.store.state, ctx.workspace, item_id)


@router.post("/items/{item_id:path}/triage", response_model=TriageRecord)
def move_item(item_id: str, body: TriageRequest, ctx: Ctx, caller: Caller) -> TriageRecord:
    """Move the item along new → under-review → impact / no-impact → actioned → closed."""
    return ctx.workspace.move(caller, item_id, body)


@router.post(
    "/items/{item_id:path}/flags", response_model=Flag, status_code=status.HTTP_201_CREATED
)
def raise_flag(item_id: str, body: FlagRequest, ctx: Ctx, caller: Caller) -> Flag:
    """Raise an impact flag (controls, severity, owner, due date, rationale)."""
    return ctx.workspace.raise_flag(caller, item_id, body)


@router.post(
    "/items/{item_id:path}/comments", response_model=Comment, status_code=status.HTTP_201_CREATED
)
def add_comment(item_id: str, body: CommentRequest, ctx: Ctx, caller: Caller) -> Comment:
    return ctx.workspace.add_comment(caller, item_id, body)


@router.post("/items/{item_id:path}/tags/{control}", response_model=TagVerdict)
def judge_tag(
    item_id: str, control: str, body: TagVerdictRequest, ctx: Ctx, caller: Caller
) -> TagVerdict:
    """Confirm or reject one control for the item; the classifier learns from it."""
    return ctx.workspace.judge_tag(caller, item_id, control, body.verdict)


@router.post("/flags/{flag_id}/close", response_model=Flag)
def close_flag(flag_id: RecordId, body: FlagCloseRequest, ctx: Ctx, caller: Caller) -> Flag:
    return ctx.workspace.close_flag(caller, flag_id, body)


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log")
def audit(ctx: Ctx, caller: Caller, item: str | None = None, actor: str | None = None) -> Any:
    """The entries your role may see: an admin all; others the changes to items and their
    own account events."""
    return ctx.workspace.audit(item_id=item, actor=actor, seen_by=caller)


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    summary="The audit log as CSV",
)
def audit_as_csv(
    ctx: Ctx, caller: Caller, item: str | None = None, actor: str | None = None
) -> Response:
    return Response(
        audit_csv(ctx.workspace.audit(item_id=item, actor=actor, seen_by=caller)),
        media_type="text/csv; charset=utf-8",
    )


@router.get("/digest", summary="A week's digest")
def digest(ctx: Ctx, caller: Caller, week: str) -> dict[str, Any]:
    """The digest of an ISO week (`week=2025-W37`) in the digest's JSON format: top changes,
    changes by control, dates coming up, coverage."""
    return digest_record(week_digest(ctx, week)[0])


@router.get("/searches", response_model=list[SavedSearch], summary="Your saved searches")
def saved_searches(ctx: Ctx, caller: Caller) -> list[SavedSearch]:
    return ctx.workspace.saved_searches(caller.name)


@router.post("/searches", response_model=SavedSearch, status_code=status.HTTP_201_CREATED)
def save_search(body: SavedSearchRequest, ctx: Ctx, caller: Caller) -> SavedSearch:
    """Save a search (by name; saving the same name again replaces it). `filters` are those
    of GET /search (e.g. {"type": ["guidance"], "since": "2025-01-01"})."""
    checked = body.model_copy(update={"filters": checked_filters(body.filters)})
    return ctx.workspace.save_search(caller, checked)


@router.get("/users", response_model=list[User], summary="Users (admin)")
def list_users(ctx: Ctx, caller: Caller) -> list[User]:
    return ctx.workspace.list_users(caller)


@router.post("/users", response_model=User, status_code=status.HTTP_201_CREATED)
def add_user(body: UserRequest, ctx: Ctx, caller: Caller) -> User:
    """Add a user (admin)."""
    return ctx.workspace.add_user(caller, body)


@router.post("/users/{name}/disable", response_model=User)
def disable_user(name: str, ctx: Ctx, caller: Caller) -> User:
    """Disable a user (admin): their sessions and tokens stop working at once."""
    return ctx.workspace.disable_user(caller, name)


@router.post("/users/{name}/enable", response_model=User)
def enable_user(name: str, ctx: Ctx, caller: Caller) -> User:
    """Let a disabled user sign in again (admin)."""
    return ctx.workspace.enable_user(caller, name)


@router.post("/users/{name}/password", response_model=User)
def reset_password(name: str, body: PasswordReset, ctx: Ctx, caller: Caller) -> User:
    """Set a user's password (admin); their browser sessions end."""
    return ctx.workspace.reset_password(caller, name, body)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(request: Request, body: PasswordChange, ctx: Ctx, caller: Caller) -> None:
    """Change your own password (give the current one); your browser sessions end."""
    ctx.workspace.change_password(caller, body, client_address(request))


class EndedSessions(BaseModel):
    ended: int


@router.post("/me/sessions/end", response_model=EndedSessions)
def end_sessions(ctx: Ctx, caller: Caller) -> EndedSessions:
    """Sign yourself out of every browser (API tokens are revoked one by one)."""
    return EndedSessions(ended=ctx.workspace.end_other_sessions(caller))


@router.get("/tokens", response_model=list[ApiToken], summary="Your API tokens")
def tokens(ctx: Ctx, caller: Caller) -> list[ApiToken]:
    return ctx.workspace.tokens(caller)


@router.post("/tokens", response_model=NewToken, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenRequest, ctx: Ctx, caller: Caller) -> NewToken:
    """A new token for yourself; the token is in this answer only."""
    record, token = ctx.workspace.create_token(caller, body)
    return NewToken(token=token, record=record)


@router.post("/tokens/{token_id}/revoke", response_model=ApiToken)
def revoke_token(token_id: RecordId, ctx: Ctx, caller: Caller) -> ApiToken:
    return ctx.workspace.revoke_token(caller, token_id)


@router.get(
    "/evidence",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/markdown": {},
                "text/csv": {},
                "text/html": {},
                "application/json": {},
            }
        }
    },
    summary="A learner's horizon-scanning log",
)
def evidence(
    ctx: Ctx,
    caller: Caller,
    start: Annotated[
        str | None, Query(alias="from", description="first day, e.g. 2025-09-01")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="last day, included")] = None,
    format: str = "md",
    user: str | None = None,
) -> Response:
    """Your own log (an admin may name any `user`) from `from` to `to`, as md, csv, html or
    json."""
    name = user or caller.name
    if name != caller.name and caller.role != "admin":
        raise PermissionDenied(f"{caller.name} may only export their own evidence")
    return evidence_document(ctx, name, start, end, format, attachment=False)
