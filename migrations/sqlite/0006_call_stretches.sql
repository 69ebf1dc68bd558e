-- Every interpreter's stretch in a call (hand-overs, transfers, teams), as a JSON array of
-- {"username","support","from_ms","ms"}; empty for calls recorded before it was kept.
ALTER TABLE call_records ADD COLUMN interpreters TEXT NOT NULL DEFAULT '';
