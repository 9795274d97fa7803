"""What every request handler of the web workspace shares: the runtime, the workspace, the
templates, and who is asking (a browser session checked for CSRF, or an API token).

Pages and the JSON API answer the same errors differently; the exceptions here carry enough
for `horizon.web.app` to send a browser to the login page with its typed form kept, or a
script a 401 it can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.datastructures import FormData

from horizon.item import ITEM_TYPES, THEMES
from horizon.runtime import Runtime
from horizon.search import CATEGORIES, HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from horizon.workspace import Session, Workspace
from horizon.workspace.credentials import same_token
from horizon.workspace.errors import PermissionDenied, WorkspaceError
from horizon.workspace.models import (
    RECORDED_LABELS,
    ROLES,
    SEVERITIES,
    STATE_LABELS,
    TRANSITIONS,
    TRIAGE_STATES,
    RecordedHow,
    User,
)

SESSION_COOKIE = "horizon_session"
LOGIN_COOKIE = "horizon_login"
CSRF_FIELD = "csrf_token"
# Never carried across a re-login: secrets, and the stale CSRF token.
_NOT_KEPT = frozenset({CSRF_FIELD, "password", "current_password", "new_password"})


class LoginRequired(Exception):
    """No live session: send the browser to the login page, keeping what it was posting."""

    def __init__(self, return_to: str, draft: dict[str, Any] | None = None) -> None:
        super().__init__("sign in to continue")
        self.return_to = return_to
        self.draft = draft


class CsrfRejected(PermissionDenied):
    """A form without this session's CSRF token: refused, nothing changed."""


class FormInvalid(WorkspaceError):
    """A form with missing or wrong fields: `errors` maps each field to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass
class WebContext:
    runtime: Runtime
    workspace: Workspace
    control_names: dict[str, str]
    control_ksbs: dict[str, tuple[str, ...]]
    secure_cookies: bool = False
    templates: Environment = field(init=False)
    drafts: URLSafeSerializer = field(init=False)

    def __post_init__(self) -> None:
        self.templates = _environment()
        self.drafts = URLSafeSerializer(self.workspace.secret_key, salt="horizon-draft")

    # ----- who is asking ----------------------------------------------------------------

    def page_session(self, request: Request) -> Session:
        """The signed-in session of a page request, or LoginRequired (back here afterwards)."""
        session = self.workspace.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise LoginRequired(local_path(request))
        return session

    def form_session(
        self, request: Request, form: FormData, return_to: str, form_name: str
    ) -> Session:
        """The session of a form post, checked against its CSRF token. When the session has
        expired, the fields typed are kept so the login page can hand them back."""
        session = self.workspace.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            # Only a form posted from our own pages is worth keeping: another site could post
            # words for the user to send as theirs after signing in.
            draft = {"return_to": return_to, "form": form_name, "fields": kept(form)}
            raise LoginRequired(return_to, draft if same_origin_post(request) else None)
        if not _same(session.csrf_token, form.get(CSRF_FIELD)):
            raise CsrfRejected(
                "this form did not come from your current session (it may be from an older "
                "page); reload the page and try again"
            )
        return session

    def sign_draft(self, draft: dict[str, Any] | None) -> str:
        return self.drafts.dumps(draft) if draft else ""

    def read_draft(self, signed: str | None) -> dict[str, Any] | None:
        if not signed:
            return None
        try:
            draft = self.drafts.loads(signed)
        except BadSignature:
            return None
        return draft if isinstance(draft, dict) else None

    # ----- rendering --------------------------------------------------------------------

    def page(
        self,
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        """A page in the workspace layout, with the user, their CSRF token and the catalogue."""
        context = {
            "user": session.user if session else None,
            "csrf": session.csrf_token if session else "",
            "path": local_path(request),
            "controls": self.control_names,
            "notice": "",
            "forms": {},
            "errors": {},
            **values,
        }
        html = self.templates.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code)


def client_address(request: Request) -> str:
    """Who is asking, for the failed-sign-in limits: the peer's address."""
    return request.client.host if request.client else "unknown"


def navigation_provenance(request: Request) -> RecordedHow | None:
    """How a page view came about, from the browser's Sec-Fetch-Site header: a link or form
    within Horizon, or an address typed or bookmarked. None for a link from another site (or
    a client that does not say), which records no reading."""
    site = request.headers.get("sec-fetch-site")
    if site == "same-origin":
        return "same-origin"
    if site == "none":
        return "direct"
    return None


def same_origin_post(request: Request) -> bool:
    """Whether a form post came from one of our own pages: Sec-Fetch-Site, or for a browser
    that does not send it, an Origin naming this host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


def can_change(user: User | None) -> bool:
    return user is not None and user.role in ("analyst", "admin")


def kept(form: FormData) -> dict[str, Any]:
    """A form's fields worth keeping for the user: not secrets, not the CSRF token."""
    fields: dict[str, Any] = {}
    for key in form:
        if key in _NOT_KEPT:
            continue
        values = [value for value in form.getlist(key) if isinstance(value, str)]
        fields[key] = values if len(values) > 1 else (values[0] if values else "")
    return fields


def local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_return(target: str | None, default: str = "/search") -> str:
    """Only a path on this site: never another host (no open redirect after login)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def item_path(item_id: str) -> str:
    return "/items/" + quote(item_id, safe="")


def _same(expected: str, given: object) -> bool:
    return isinstance(given, str) and same_token(expected, given)


def _safe_href(url: str | None) -> str | None:
    """A link target only for http(s) addresses: a scraped `javascript:` URL stays text."""
    if not url:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url if scheme in ("http", "https") else None


def _highlight(snippet: str) -> Markup:
    """A search snippet escaped, with its matched words (between the search module's
    markers) in <mark>."""
    escaped = str(escape(snippet))
    marked = escaped.replace(HIGHLIGHT_OPEN, "<mark>").replace(HIGHLIGHT_CLOSE, "</mark>")
    return Markup(marked)


def _moment(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("horizon.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["href"] = _safe_href
    environment.filters["moment"] = _moment
    environment.filters["highlight"] = _highlight
    environment.filters["urlpart"] = lambda value: quote(str(value), safe="")
    environment.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    environment.globals.update(
        item_path=item_path,
        can_change=can_change,
        state_labels=STATE_LABELS,
        transitions=TRANSITIONS,
        triage_states=TRIAGE_STATES,
        severities=SEVERITIES,
        roles=ROLES,
        recorded_labels=RECORDED_LABELS,
        item_types=ITEM_TYPES,
        themes=THEMES,
        categories=CATEGORIES,
    )
    return environment
