-- What the queue matches interpreters on beyond sign language: gender ('female', 'male' or
-- empty) and topics they know best (call purposes, comma-separated). Preferences, not rules.
ALTER TABLE users ADD COLUMN gender TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN topics TEXT NOT NULL DEFAULT '';
