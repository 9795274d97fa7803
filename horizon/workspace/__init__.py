"""The team workspace: triage, impact flags, comments, tag verdicts, users, the audit trail,
and the learner's evidence log, all kept in the run state database.

`Workspace` is the one way to change anything; `load_feedback` hands analysts' tag verdicts to
the classifier; `build_evidence` and `render_evidence` write a learner's horizon-scanning log.
"""

from horizon.workspace.audit import audit_csv
from horizon.workspace.errors import (
    Conflict,
    InvalidField,
    NotFound,
    PermissionDenied,
    WorkspaceError,
)
from horizon.workspace.evidence import build_evidence, catalogue_ksbs, render_evidence
from horizon.workspace.feedback import load_feedback
from horizon.workspace.service import COMMAND_LINE, Session, Workspace
from horizon.workspace.throttle import Throttled

__all__ = [
    "COMMAND_LINE",
    "Conflict",
    "InvalidField",
    "NotFound",
    "PermissionDenied",
    "Session",
    "Throttled",
    "Workspace",
    "WorkspaceError",
    "audit_csv",
    "build_evidence",
    "catalogue_ksbs",
    "load_feedback",
    "render_evidence",
]
