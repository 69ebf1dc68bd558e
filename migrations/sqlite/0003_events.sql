-- Press-briefing events and their transcripts (final caption lines, as JSON, in order).
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    hotwords TEXT NOT NULL DEFAULT '[]',
    starts_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    organizer TEXT NOT NULL,
    broadcaster_token TEXT NOT NULL,
    interpreter_token TEXT NOT NULL,
    ended BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE transcript_lines (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
);
