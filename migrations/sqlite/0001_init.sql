-- Accounts, sessions, call records and the audit log. Times are Unix milliseconds.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'interpreter', 'organizer')),
    password_hash TEXT NOT NULL,
    sign_languages TEXT NOT NULL DEFAULT '',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

CREATE TABLE call_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id BIGINT NOT NULL,
    placed_at_ms BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms BIGINT,
    purpose TEXT NOT NULL,
    sign_language TEXT NOT NULL,
    direct BIGINT NOT NULL DEFAULT 0,
    rang TEXT NOT NULL DEFAULT '',
    answered_by TEXT,
    outcome TEXT NOT NULL DEFAULT 'in_progress',
    end_reason TEXT,
    ended_by TEXT,
    wait_ms BIGINT,
    talk_ms BIGINT
);
CREATE INDEX call_records_placed ON call_records (placed_at_ms);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
