-- Captioners (速录员): a fourth account role, and per event who captions it, how long
-- "checked" viewers wait for them, and the replacement rules learnt during the event.
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('admin', 'interpreter', 'organizer', 'captioner'));

ALTER TABLE events ADD COLUMN captioners TEXT NOT NULL DEFAULT '[]';
ALTER TABLE events ADD COLUMN correction_window_ms BIGINT NOT NULL DEFAULT 4000;
ALTER TABLE events ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
