"""The web workspace: search, items, triage, flags, the digest and the audit trail for people,
and the same operations as a JSON API for scripts. `create_app` builds the FastAPI app."""

from horizon.web.app import create_app

__all__ = ["create_app"]
