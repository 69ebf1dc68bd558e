-- Captioners (速录员): a fourth account role, and per event who captions it, how long
-- "checked" viewers wait for them, and the replacement rules learnt during the event.
-- SQLite cannot change a CHECK constraint in place: the users table is rebuilt. Dropping the
-- old table ends every sign-in session (they cascade); people sign in again after upgrading.
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'interpreter', 'organizer', 'captioner')),
    password_hash TEXT NOT NULL,
    sign_languages TEXT NOT NULL DEFAULT '',
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);
INSERT INTO users_new (id, username, display_name, role, password_hash, sign_languages,
    failed_logins, locked_until_ms, disabled, created_at_ms)
    SELECT id, username, display_name, role, password_hash, sign_languages,
    failed_logins, locked_until_ms, disabled, created_at_ms FROM users;
DELETE FROM sessions;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

ALTER TABLE events ADD COLUMN captioners TEXT NOT NULL DEFAULT '[]';
ALTER TABLE events ADD COLUMN correction_window_ms BIGINT NOT NULL DEFAULT 4000;
ALTER TABLE events ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
