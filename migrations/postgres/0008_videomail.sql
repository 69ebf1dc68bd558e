-- Videomail (视频留言): one row per message. The video itself is a sealed file in the data
-- directory; `token_hash` is the SHA-256 of the caller's private link token. Who played,
-- answered and closed it is kept with when. `deleted_at_ms` is set when the retention period
-- ended and the file was removed (the row stays as a record without content).
CREATE TABLE videomails (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    sign_language TEXT NOT NULL,
    state TEXT NOT NULL,
    viewed_by TEXT,
    viewed_at_ms BIGINT,
    answered_by TEXT,
    answered_at_ms BIGINT,
    answer_text TEXT,
    closed_by TEXT,
    closed_at_ms BIGINT,
    deleted_at_ms BIGINT
);
CREATE INDEX videomails_created ON videomails (created_at_ms);
