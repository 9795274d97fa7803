"""What can go wrong in the workspace, in terms the web app and the command line can answer.

Each error carries a plain message; `InvalidField` also names the field, so a form or an API
call can say exactly what to fix.
"""

from __future__ import annotations


class WorkspaceError(Exception):
    """Base class: something the user asked for could not be done, and why."""


class InvalidField(WorkspaceError):
    """A field of the request is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PermissionDenied(WorkspaceError):
    """The user's role does not allow this; nothing was changed."""


class NotFound(WorkspaceError):
    """The item, flag, user or token named does not exist."""


class Conflict(WorkspaceError):
    """The request conflicts with the workspace's state (e.g. disabling the last admin)."""
