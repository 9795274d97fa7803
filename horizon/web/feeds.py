"""Per-team feeds over HTTP: `/feeds/PROFILE/feed.xml|feed.json` (the team's digests) and
`/feeds/PROFILE/items.xml|items.json` (the relevant items they carried); `all` is the
all-items digest. Feed readers cannot sign in, so a feed also accepts an API token, as
`Authorization: Bearer TOKEN` or `?token=TOKEN`; a signed-in browser needs neither."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, Response

from horizon.feed import PROFILE_FEEDS
from horizon.web.context import SESSION_COOKIE, WebContext, client_address

router = APIRouter(include_in_schema=False)
_PROFILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MEDIA_TYPES = {".xml": "application/atom+xml", ".json": "application/feed+json"}


@router.get("/feeds/{profile}/{name}")
def feed(request: Request, profile: str, name: str, token: str = "") -> Response:
    context: WebContext = request.app.state.web
    bearer = request.headers.get("authorization", "")
    given = bearer[7:].strip() if bearer.lower().startswith("bearer ") else token
    signed_in = context.workspace.session(request.cookies.get(SESSION_COOKIE)) is not None
    if (
        not signed_in
        and context.workspace.token_user(given or None, client_address(request)) is None
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a feed needs an API token: add ?token=TOKEN to the feed address, or send "
            "'Authorization: Bearer TOKEN' (make one with `horizon users token NAME`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if name not in PROFILE_FEEDS or not _PROFILE.match(profile):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such feed")
    digests = context.runtime.settings.digests_dir
    path = digests / name if profile == "all" else digests / profile / name
    if not path.is_file():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no {name} for '{profile}' yet: it is written with the profile's first digest",
        )
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix])
