"""The workspace's tables, kept in the run state database beside the items they talk about.

The audit log is append-only by construction: triggers abort any UPDATE or DELETE on it, so
not even a bug in the application (or a hand-typed SQL statement) can rewrite history.

Columns added after a table was first released are listed in `ADDED_COLUMNS`, so a home made
by an older version gains them when the workspace opens it.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspace_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS workspace_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS workspace_sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES workspace_users(name),
    created TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    draft TEXT
);
CREATE INDEX IF NOT EXISTS workspace_sessions_user ON workspace_sessions(username);

CREATE TABLE IF NOT EXISTS workspace_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL REFERENCES workspace_users(name),
    label TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT,
    expires TEXT
);

CREATE TABLE IF NOT EXISTS workspace_auth_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    account TEXT NOT NULL,
    client TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workspace_auth_failures_account ON workspace_auth_failures(account, at);
CREATE INDEX IF NOT EXISTS workspace_auth_failures_client ON workspace_auth_failures(client, at);

CREATE TABLE IF NOT EXISTS workspace_triage (
    item_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    rationale TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workspace_triage_state ON workspace_triage(state);

CREATE TABLE IF NOT EXISTS workspace_flags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    controls TEXT NOT NULL,
    severity TEXT NOT NULL,
    owner TEXT NOT NULL,
    due TEXT NOT NULL,
    rationale TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    raised_by TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    closed_by TEXT,
    closed_at TEXT,
    close_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS workspace_flags_item ON workspace_flags(item_id);

CREATE TABLE IF NOT EXISTS workspace_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workspace_comments_item ON workspace_comments(item_id);

CREATE TABLE IF NOT EXISTS workspace_tag_feedback (
    item_id TEXT NOT NULL,
    control TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (item_id, control)
);

CREATE TABLE IF NOT EXISTS workspace_saved_searches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    filters TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (username, name)
);

CREATE TABLE IF NOT EXISTS workspace_activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    how TEXT NOT NULL DEFAULT 'unknown'
);
CREATE INDEX IF NOT EXISTS workspace_activity_user ON workspace_activity(username, at);

CREATE TABLE IF NOT EXISTS workspace_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    item_id TEXT,
    subject TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS workspace_audit_item ON workspace_audit(item_id);
CREATE INDEX IF NOT EXISTS workspace_audit_actor ON workspace_audit(actor, at);

CREATE TRIGGER IF NOT EXISTS workspace_audit_no_update BEFORE UPDATE ON workspace_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: its entries are never changed');
END;
CREATE TRIGGER IF NOT EXISTS workspace_audit_no_delete BEFORE DELETE ON workspace_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: its entries are never deleted');
END;
"""

# (table, column, definition) added since the table's first release.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("workspace_tokens", "expires", "TEXT"),
    ("workspace_activity", "how", "TEXT NOT NULL DEFAULT 'unknown'"),
)
