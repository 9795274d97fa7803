"""The workspace's pages: sign in, search, an item, the triage queue, the digest, the audit
trail, users and the account. Server-rendered; every form carries the session's CSRF token,
every change goes through `Workspace` (which checks the role), and after a change the browser
is redirected (POST → redirect → GET), so reloading never repeats it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from horizon.digest import Week, render_html
from horizon.search import SearchHit
from horizon.web.context import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    FormInvalid,
    LoginRequired,
    WebContext,
    client_address,
    item_path,
    kept,
    navigation_provenance,
    safe_return,
)
from horizon.web.forms import parse_form
from horizon.web.searching import SearchParams, parse_search, run_search, search_link
from horizon.web.views import evidence_document, item_view, week_digest
from horizon.workspace import Session, Throttled, audit_csv
from horizon.workspace.credentials import new_session_token, same_token
from horizon.workspace.errors import InvalidField
from horizon.workspace.evidence import FORMATS
from horizon.workspace.models import (
    OPEN_STATES,
    TRIAGE_STATES,
    CommentRequest,
    FlagCloseRequest,
    FlagRequest,
    PasswordChange,
    PasswordReset,
    SavedSearchRequest,
    TagVerdictRequest,
    TokenRequest,
    TriageRequest,
    TriageState,
    User,
    UserRequest,
)
from horizon.workspace.records import MAX_SQL_INT

router = APIRouter(include_in_schema=False)
RecordId = Annotated[int, Path(ge=1, le=MAX_SQL_INT)]


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


async def _posted(request: Request) -> FormData:
    return await request.form()


Ctx = Annotated[WebContext, Depends(_context)]
Posted = Annotated[FormData, Depends(_posted)]


def _redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


# ----- signing in and out ----------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return _redirect("/search")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Ctx, next: str = "/search") -> Response:
    if ctx.workspace.session(request.cookies.get(SESSION_COOKIE)) is not None:
        return _redirect(safe_return(next))
    return login_form(ctx, request, safe_return(next))


def login_form(
    ctx: WebContext,
    request: Request,
    next_path: str,
    message: str = "",
    draft: dict[str, Any] | None = None,
    name: str = "",
    status_code: int = 200,
) -> Response:
    """The login page, with a fresh anti-forgery nonce (a cookie the form must echo)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or new_session_token()
    response = ctx.page(
        request,
        "login.html",
        None,
        status_code=status_code,
        next=next_path,
        draft=ctx.sign_draft(draft),
        nonce=nonce,
        message=message,
        name=name,
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=ctx.secure_cookies
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, ctx: Ctx, form: Posted) -> Response:
    next_path = safe_return(str(form.get("next") or ""))
    draft = ctx.read_draft(str(form.get("draft") or ""))
    name = str(form.get("name") or "").strip()
    nonce = request.cookies.get(LOGIN_COOKIE)
    if nonce is None or not same_token(nonce, str(form.get(CSRF_FIELD) or "")):
        return login_form(
            ctx,
            request,
            next_path,
            "That sign-in form had expired; please sign in again.",
            draft,
            name,
            status_code=403,
        )
    try:
        user = ctx.workspace.authenticate(
            name, str(form.get("password") or ""), client_address(request)
        )
    except Throttled as error:
        response = login_form(
            ctx, request, next_path, f"Not signed in: {error}.", draft, name, status_code=429
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if user is None:
        return login_form(
            ctx,
            request,
            next_path,
            "Wrong name or password, or the account is disabled.",
            draft,
            name,
            status_code=401,
        )
    token = ctx.workspace.start_session(user, draft, replacing=request.cookies.get(SESSION_COOKIE))
    response = _redirect(safe_return(draft.get("return_to")) if draft else next_path)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=ctx.secure_cookies
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, ctx: Ctx, form: Posted) -> Response:
    ctx.form_session(request, form, "/search", "logout")
    ctx.workspace.end_session(request.cookies.get(SESSION_COOKIE))
    response = _redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


# ----- search ----------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, ctx: Ctx) -> Response:
    session = ctx.page_session(request)
    forms, notice = _restored(ctx, session, request.url.path)
    params = SearchParams()
    try:
        params = parse_search(request.query_params)
        hits = run_search(ctx, params) if params.q else []
    except FormInvalid as error:
        return _search_page(ctx, request, session, params, errors={"search": error.errors})
    how = navigation_provenance(request)
    if params.q and how is not None:
        ctx.workspace.record_activity(session.user, "search", params.describe(), how)
    return _search_page(ctx, request, session, params, hits, forms=forms, notice=notice)


def _search_page(
    ctx: WebContext,
    request: Request,
    session: Session,
    params: SearchParams,
    hits: Sequence[SearchHit] = (),
    forms: dict[str, Any] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    notice: str = "",
) -> Response:
    return ctx.page(
        request,
        "search.html",
        session,
        status_code=422 if errors else 200,
        params=params,
        hits=hits,
        saved=ctx.workspace.saved_searches(session.user.name),
        search_link=search_link,
        forms=forms or {},
        errors=errors or {},
        notice=notice,
    )


@router.post("/searches", response_class=HTMLResponse)
def save_search(request: Request, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/search", "save-search")
    try:
        params = parse_search(form)
        request_model = parse_form(SavedSearchRequest, form)
    except FormInvalid as error:
        return _search_page(
            ctx,
            request,
            session,
            SearchParams(),
            forms={"save-search": kept(form)},
            errors={"save-search": error.errors},
        )
    saved = ctx.workspace.save_search(
        session.user, request_model.model_copy(update={"filters": params.filters()})
    )
    return _redirect(search_link(saved.query, saved.filters))


# ----- an item ---------------------------------------------------------------------------


@router.get("/items/{item_id:path}", response_class=HTMLResponse)
def item_page(request: Request, item_id: str, ctx: Ctx) -> Response:
    session = ctx.page_session(request)
    forms, notice = _restored(ctx, session, item_path(item_id))
    view = item_view(ctx.runtime.store.state, ctx.workspace, item_id)
    how = navigation_provenance(request)
    if how is not None:
        ctx.workspace.record_activity(session.user, "item-opened", item_id, how)
    return _item_page(ctx, request, session, item_id, forms, {}, 200, notice, view)


@router.post("/items/{item_id:path}/read", response_class=HTMLResponse)
def mark_read(request: Request, item_id: str, ctx: Ctx, form: Posted) -> Response:
    """The learner's explicit "I read this", for the evidence log."""
    session = ctx.form_session(request, form, item_path(item_id), "read")
    item_view(ctx.runtime.store.state, ctx.workspace, item_id)
    ctx.workspace.record_activity(session.user, "item-opened", item_id, "explicit")
    return _redirect(f"{item_path(item_id)}#read")


def _item_page(
    ctx: WebContext,
    request: Request,
    session: Session,
    item_id: str,
    forms: dict[str, Any],
    errors: dict[str, dict[str, str]],
    status_code: int,
    notice: str = "",
    view: Any = None,
) -> Response:
    return ctx.page(
        request,
        "item.html",
        session,
        status_code=status_code,
        view=view or item_view(ctx.runtime.store.state, ctx.workspace, item_id),
        forms=forms,
        errors=errors,
        notice=notice,
    )


def _item_action(
    ctx: WebContext,
    request: Request,
    form: FormData,
    item_id: str,
    form_name: str,
    change: Callable[[User], object],
    anchor: str,
) -> Response:
    """Run one change on an item from a form: on bad fields, show the item page again with
    the fields as typed and what is wrong with each; otherwise back to the item."""
    return_to = item_path(item_id)
    session = ctx.form_session(request, form, return_to, form_name)
    try:
        change(session.user)
    except FormInvalid as error:
        return _item_page(
            ctx,
            request,
            session,
            item_id,
            {form_name: kept(form)},
            {form_name: error.errors},
            422,
        )
    except InvalidField as error:
        return _item_page(
            ctx,
            request,
            session,
            item_id,
            {form_name: kept(form)},
            {form_name: {error.field: error.message}},
            422,
        )
    return _redirect(f"{return_to}#{anchor}")


@router.post("/items/{item_id:path}/triage", response_class=HTMLResponse)
def triage_item(request: Request, item_id: str, ctx: Ctx, form: Posted) -> Response:
    return _item_action(
        ctx,
        request,
        form,
        item_id,
        "triage",
        lambda user: ctx.workspace.move(user, item_id, parse_form(TriageRequest, form)),
        "triage",
    )


@router.post("/items/{item_id:path}/flags", response_class=HTMLResponse)
def flag_item(request: Request, item_id: str, ctx: Ctx, form: Posted) -> Response:
    return _item_action(
        ctx,
        request,
        form,
        item_id,
        "flag",
        lambda user: ctx.workspace.raise_flag(
            user, item_id, parse_form(FlagRequest, form, lists=("controls",))
        ),
        "flags",
    )


@router.post("/items/{item_id:path}/comments", response_class=HTMLResponse)
def comment_item(request: Request, item_id: str, ctx: Ctx, form: Posted) -> Response:
    return _item_action(
        ctx,
        request,
        form,
        item_id,
        "comment",
        lambda user: ctx.workspace.add_comment(user, item_id, parse_form(CommentRequest, form)),
        "comments",
    )


@router.post("/items/{item_id:path}/tags", response_class=HTMLResponse)
def judge_tag(request: Request, item_id: str, ctx: Ctx, form: Posted) -> Response:
    def change(user: User) -> object:
        verdict = parse_form(TagVerdictRequest, form).verdict
        control = str(form.get("control") or "").strip()
        if not control:
            raise FormInvalid({"control": "required"})
        return ctx.workspace.judge_tag(user, item_id, control, verdict)

    return _item_action(ctx, request, form, item_id, "tag", change, "tags")


@router.post("/flags/{flag_id}/close", response_class=HTMLResponse)
def close_flag(request: Request, flag_id: RecordId, ctx: Ctx, form: Posted) -> Response:
    # Signed in first: an anonymous caller learns nothing of which flags exist, and the login
    # page's draft never names a flag's item.
    if ctx.workspace.session(request.cookies.get(SESSION_COOKIE)) is None:
        raise LoginRequired("/triage")
    item_id = ctx.workspace.flag(flag_id).item_id
    return _item_action(
        ctx,
        request,
        form,
        item_id,
        f"close-{flag_id}",
        lambda user: ctx.workspace.close_flag(user, flag_id, parse_form(FlagCloseRequest, form)),
        "flags",
    )


# ----- queue, digest, audit ----------------------------------------------------------------


@router.get("/triage", response_class=HTMLResponse)
def triage_queue(
    request: Request, ctx: Ctx, offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0
) -> Response:
    session = ctx.page_session(request)
    asked = request.query_params.getlist("state")
    unknown = [state for state in asked if state not in TRIAGE_STATES]
    if unknown:
        raise InvalidField(
            "state", f"'{unknown[0]}' is not a triage state; use one of {', '.join(TRIAGE_STATES)}"
        )
    states: list[TriageState] = [s for s in TRIAGE_STATES if s in asked] or list(OPEN_STATES)
    entries = ctx.workspace.queue(states, limit=100, offset=max(0, offset))
    return ctx.page(
        request, "triage.html", session, entries=entries, states=states, offset=max(0, offset)
    )


@router.get("/digest", response_class=HTMLResponse)
def digest_page(request: Request, ctx: Ctx, week: str = "") -> Response:
    session = ctx.page_session(request)
    digest, problem = week_digest(ctx, week or _default_week(ctx).label)
    how = navigation_provenance(request)
    if how is not None:
        ctx.workspace.record_activity(session.user, "digest-opened", digest.week.label, how)
    return ctx.page(
        request,
        "digest.html",
        session,
        week=digest.week,
        previous=digest.week.previous(),
        following=Week.containing(digest.week.end),
        digest_html=render_html(digest),
        notice=f"Coverage is incomplete: {problem}" if problem else "",
    )


def _default_week(ctx: WebContext) -> Week:
    last = ctx.runtime.store.state.last_run()
    moment = datetime.fromisoformat(last["as_of"]) if last else datetime.now(UTC)
    return Week.last_complete(moment)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, ctx: Ctx, item: str = "", actor: str = "") -> Response:
    session = ctx.page_session(request)
    entries = ctx.workspace.audit(item_id=item or None, actor=actor or None, seen_by=session.user)
    return ctx.page(
        request,
        "audit.html",
        session,
        entries=list(reversed(entries))[:500],
        item=item,
        actor=actor,
    )


@router.get("/audit.csv")
def audit_export(request: Request, ctx: Ctx, item: str = "", actor: str = "") -> Response:
    session = ctx.page_session(request)
    entries = ctx.workspace.audit(item_id=item or None, actor=actor or None, seen_by=session.user)
    return Response(
        audit_csv(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="horizon-audit.csv"'},
    )


# ----- users, account, evidence ----------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx) -> Response:
    session = ctx.page_session(request)
    forms, notice = _restored(ctx, session, request.url.path)
    users = ctx.workspace.list_users(session.user)
    return ctx.page(request, "users.html", session, users=users, forms=forms, notice=notice)


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(request: Request, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/admin/users", "add-user")
    try:
        ctx.workspace.add_user(session.user, parse_form(UserRequest, form))
    except (FormInvalid, InvalidField) as error:
        errors = error.errors if isinstance(error, FormInvalid) else {error.field: error.message}
        return ctx.page(
            request,
            "users.html",
            session,
            status_code=422,
            users=ctx.workspace.list_users(session.user),
            forms={"add-user": kept(form)},
            errors={"add-user": errors},
        )
    return _redirect("/admin/users")


@router.post("/admin/users/{name}/disable", response_class=HTMLResponse)
def disable_user(request: Request, name: str, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/admin/users", "disable-user")
    ctx.workspace.disable_user(session.user, name)
    return _redirect("/admin/users")


@router.post("/admin/users/{name}/enable", response_class=HTMLResponse)
def enable_user(request: Request, name: str, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/admin/users", "enable-user")
    ctx.workspace.enable_user(session.user, name)
    return _redirect("/admin/users")


@router.post("/admin/users/{name}/password", response_class=HTMLResponse)
def reset_password(request: Request, name: str, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/admin/users", f"reset-{name}")
    try:
        ctx.workspace.reset_password(session.user, name, parse_form(PasswordReset, form))
    except FormInvalid as error:
        return ctx.page(
            request,
            "users.html",
            session,
            status_code=422,
            users=ctx.workspace.list_users(session.user),
            errors={f"reset-{name}": error.errors},
        )
    return _redirect("/admin/users")


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, ctx: Ctx) -> Response:
    session = ctx.page_session(request)
    forms, notice = _restored(ctx, session, request.url.path)
    return _account_page(ctx, request, session, forms=forms, notice=notice)


def _account_page(
    ctx: WebContext, request: Request, session: Session, status_code: int = 200, **values: Any
) -> Response:
    today = date.today()
    return ctx.page(
        request,
        "account.html",
        session,
        status_code=status_code,
        tokens=ctx.workspace.tokens(session.user),
        sessions=ctx.workspace.session_count(session.user),
        new_token=values.pop("new_token", ""),
        evidence_from=date(today.year, 1, 1).isoformat(),
        evidence_to=today.isoformat(),
        formats=FORMATS,
        **values,
    )


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(request: Request, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/account", "token")
    try:
        _, token = ctx.workspace.create_token(session.user, parse_form(TokenRequest, form))
    except FormInvalid as error:
        return _account_page(
            ctx, request, session, 422, forms={"token": kept(form)}, errors={"token": error.errors}
        )
    return _account_page(ctx, request, session, new_token=token)


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, token_id: RecordId, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/account", "revoke-token")
    ctx.workspace.revoke_token(session.user, token_id)
    return _redirect("/account")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, ctx: Ctx, form: Posted) -> Response:
    """Change one's own password; every other session of the user ends."""
    session = ctx.form_session(request, form, "/account", "password")
    try:
        ctx.workspace.change_password(
            session.user, parse_form(PasswordChange, form), client_address(request), session.digest
        )
    except (FormInvalid, InvalidField) as error:
        errors = error.errors if isinstance(error, FormInvalid) else {error.field: error.message}
        return _account_page(ctx, request, session, 422, errors={"password": errors})
    return _account_page(
        ctx, request, session, notice="Password changed; your other sessions have ended."
    )


@router.post("/account/sessions/end-others", response_class=HTMLResponse)
def end_other_sessions(request: Request, ctx: Ctx, form: Posted) -> Response:
    session = ctx.form_session(request, form, "/account", "sessions")
    ended = ctx.workspace.end_other_sessions(session.user, keep=session.digest)
    return _account_page(
        ctx, request, session, notice=f"Signed out {ended} other session{'s' * (ended != 1)}."
    )


@router.get("/evidence")
def evidence_download(request: Request, ctx: Ctx) -> Response:
    """The signed-in user's own horizon-scanning log, as a download."""
    session = ctx.page_session(request)
    params = request.query_params
    return evidence_document(
        ctx,
        session.user.name,
        params.get("from"),
        params.get("to"),
        params.get("format", "html"),
        attachment=True,
    )


def _restored(ctx: WebContext, session: Session, path: str) -> tuple[dict[str, Any], str]:
    """A form the user was filling in when their session expired, if it belongs on this page."""
    draft = ctx.workspace.take_draft(session)
    if not draft or draft.get("return_to") != path:
        return {}, ""
    return (
        {str(draft.get("form")): draft.get("fields") or {}},
        "Your session had expired. What you typed is below: check it and send it again.",
    )
