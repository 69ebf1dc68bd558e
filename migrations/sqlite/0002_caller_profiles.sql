-- Optional caller profiles, kept only with the caller's consent and deleted when withdrawn.
-- The caller holds the token (in their browser); only its SHA-256 is stored.
CREATE TABLE caller_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    preferred_interpreter_gender TEXT NOT NULL DEFAULT '',
    sign_variety TEXT NOT NULL DEFAULT '',
    consent_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
