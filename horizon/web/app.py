"""The web workspace as a FastAPI application: pages for people, a JSON API for scripts.

`create_app(runtime)` builds it over one installation's home. The state lives in the home's
`state.db` beside the run state, so the weekly flow can write while people work. Every
response, errors and 500s included, carries the security headers of `security_headers`: a
Content-Security-Policy that allows no script at all (the pages need none, and scraped content,
which is always escaped, could not run even if it slipped through), no framing, no sniffing,
no powerful browser features, and HSTS when served over HTTPS. See docs/security.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from horizon import __version__
from horizon.config import load_catalogue
from horizon.runtime import Runtime
from horizon.web import api, feeds, pages, readiness_api, readiness_pages
from horizon.web.context import FormInvalid, LoginRequired, WebContext
from horizon.web.readiness_views import load_readiness_files
from horizon.workspace import (
    Conflict,
    InvalidField,
    NotFound,
    PermissionDenied,
    Throttled,
    Workspace,
    WorkspaceError,
    catalogue_ksbs,
)

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The digest is an e-mail-ready document with inline styles, shown in a sandboxed frame.
DIGEST_POLICY = PAGE_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# OWASP's secure-headers list: everything a page of ours never needs is switched off.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
HSTS = "max-age=31536000; includeSubDomains"
log = logging.getLogger("horizon.web")


def security_headers(headers: MutableHeaders, path: str, secure_cookies: bool) -> None:
    """Set the headers every response carries, whatever its status."""
    headers.setdefault(
        "Content-Security-Policy", DIGEST_POLICY if path == "/digest" else PAGE_POLICY
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["X-Permitted-Cross-Domain-Policies"] = "none"
    if secure_cookies:
        headers["Strict-Transport-Security"] = HSTS
    if path != "/static/style.css":
        headers["Cache-Control"] = "no-store"


def create_app(
    runtime: Runtime, workspace: Workspace | None = None, secure_cookies: bool = False
) -> FastAPI:
    """The workspace app over `runtime`'s home. Raises ConfigError when the control catalogue
    (flags and tags are checked against it), instruments.yaml, organisation.yaml or
    inventory.yaml cannot be read. `secure_cookies` marks cookies HTTPS-only: set it whenever
    the app is served over HTTPS."""
    catalogue = load_catalogue([runtime.settings.controls_file])
    readiness_files = load_readiness_files(runtime.settings)
    context = WebContext(
        runtime=runtime,
        workspace=workspace or Workspace(runtime.store.state, controls=catalogue.control_ids()),
        control_names={control.id: control.name for control in catalogue.controls},
        control_ksbs=catalogue_ksbs(catalogue),
        secure_cookies=secure_cookies,
    )
    app = FastAPI(
        title="Horizon workspace API",
        version=__version__,
        description="Triage, impact flags, comments, tag verdicts, search, digests, the "
        "audit trail, instruments and stage proposals, readiness and the supplier watch of a "
        "Horizon installation. Authenticate with an API token: "
        "`Authorization: Bearer TOKEN`.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = context
    app.state.readiness = readiness_files
    app.mount("/static", StaticFiles(packages=[("horizon.web", "static")]), name="static")
    app.include_router(api.router)
    app.include_router(readiness_api.router)
    app.include_router(pages.router)
    app.include_router(readiness_pages.router)
    app.include_router(feeds.router)

    async def with_security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        security_headers(response.headers, request.url.path, secure_cookies)
        return response

    app.middleware("http")(with_security_headers)
    _install_error_handlers(app, context)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_error_handlers(app: FastAPI, context: WebContext) -> None:
    """One answer per kind of error: JSON for the API, a page (or the login page) for people."""

    def answer(request: Request, status_code: int, detail: object, heading: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status_code)
        message = detail if isinstance(detail, str) else _plain(detail)
        session = context.workspace.session(request.cookies.get(pages.SESSION_COOKIE))
        return context.page(
            request,
            "error.html",
            session,
            status_code=status_code,
            heading=heading,
            message=message,
        )

    def field_detail(fields: dict[str, str]) -> list[dict[str, object]]:
        return [
            {"type": "invalid", "loc": ["body", name], "msg": message}
            for name, message in fields.items()
        ]

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        if request.method == "GET" and error.draft is None:
            return RedirectResponse(f"/login?next={quote(error.return_to)}", status_code=303)
        return pages.login_form(context, request, error.return_to, "", error.draft, status_code=401)

    @app.exception_handler(PermissionDenied)
    async def permission_denied(request: Request, error: PermissionDenied) -> Response:
        return answer(request, 403, str(error), "Not allowed")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return answer(request, 404, str(error), "Not found")

    @app.exception_handler(InvalidField)
    async def invalid_field(request: Request, error: InvalidField) -> Response:
        return answer(
            request, 422, field_detail({error.field: error.message}), "Please correct the request"
        )

    @app.exception_handler(FormInvalid)
    async def form_invalid(request: Request, error: FormInvalid) -> Response:
        return answer(request, 422, field_detail(error.errors), "Please correct the request")

    @app.exception_handler(Conflict)
    async def conflict(request: Request, error: Conflict) -> Response:
        return answer(request, 409, str(error), "Cannot do that")

    @app.exception_handler(Throttled)
    async def throttled(request: Request, error: Throttled) -> Response:
        response = answer(request, 429, str(error), "Too many attempts")
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        """A bug: a plain 500 that says nothing of the internals, with the security headers
        (this answer is made outside the middleware that adds them to the others)."""
        log.error("unexpected error answering %s %s", request.method, request.url.path)
        response: Response = PlainTextResponse(
            "Internal error: the request could not be completed. It has been logged.",
            status_code=500,
        )
        if _is_api(request):
            response = JSONResponse({"detail": "internal error; it has been logged"}, 500)
        security_headers(response.headers, request.url.path, context.secure_cookies)
        return response

    @app.exception_handler(WorkspaceError)
    async def workspace_error(request: Request, error: WorkspaceError) -> Response:
        return answer(request, 400, str(error), "Cannot do that")

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, error: RequestValidationError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": jsonable_encoder(error.errors())}, status_code=422)
        fields = field_errors_of(error)
        return answer(request, 422, field_detail(fields), "Please correct the request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        heading = "Not found" if error.status_code == 404 else "Cannot do that"
        return answer(request, error.status_code, str(error.detail), heading)


def field_errors_of(error: RequestValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ()) if part not in ("query", "path")]
        found.setdefault(".".join(location) or "request", str(problem.get("msg", "invalid")))
    return found


def _plain(detail: object) -> str:
    """'field: message; field: message' from a list of field problems."""
    if isinstance(detail, list):
        return "; ".join(
            f"{problem['loc'][-1]}: {problem['msg']}"
            for problem in detail
            if isinstance(problem, dict)
        )
    return str(detail)
