//! Press-briefing events and their transcripts.

use super::{Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

/// An event as stored. The publishing tokens are kept as they are: the organizer's page shows
/// its links again later (the database is as private as the tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Public id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Spoken language code.
    pub language: String,
    /// Recognizer vocabulary.
    pub hotwords: Vec<String>,
    /// Planned start (Unix ms).
    pub starts_at_unix_ms: Option<u64>,
    /// Created (Unix ms).
    pub created_at_unix_ms: u64,
    /// The organizer's account name.
    pub organizer: String,
    /// The speaker's secret.
    pub broadcaster_token: String,
    /// The interpreter's secret.
    pub interpreter_token: String,
    /// Ended by the organizer.
    pub ended: bool,
    /// Captioners (account names) the organizer assigned.
    #[serde(default)]
    pub captioners: Vec<String>,
    /// How long checked viewers wait for the captioner per line, ms.
    #[serde(default = "default_window")]
    pub correction_window_ms: u64,
    /// Replacement rules learnt during the event, `[wrong, right]`.
    #[serde(default)]
    pub rules: Vec<[String; 2]>,
}

/// A line waits this long for its captioner unless the organizer says otherwise.
pub const DEFAULT_WINDOW_MS: u64 = 4000;

fn default_window() -> u64 {
    DEFAULT_WINDOW_MS
}

fn row_from(r: &AnyRow) -> Result<EventRow, StoreError> {
    let hotwords: String = r.try_get("hotwords")?;
    Ok(EventRow {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        language: r.try_get("language")?,
        hotwords: serde_json::from_str(&hotwords).unwrap_or_default(),
        starts_at_unix_ms: r
            .try_get::<Option<i64>, _>("starts_at_ms")?
            .map(|t| t.max(0) as u64),
        created_at_unix_ms: r.try_get::<i64, _>("created_at_ms")?.max(0) as u64,
        organizer: r.try_get("organizer")?,
        broadcaster_token: r.try_get("broadcaster_token")?,
        interpreter_token: r.try_get("interpreter_token")?,
        ended: r.try_get::<i64, _>("ended")? != 0,
        captioners: serde_json::from_str(&r.try_get::<String, _>("captioners")?)
            .unwrap_or_default(),
        correction_window_ms: r.try_get::<i64, _>("correction_window_ms")?.max(0) as u64,
        rules: serde_json::from_str(&r.try_get::<String, _>("rules")?).unwrap_or_default(),
    })
}

impl Store {
    /// Saves a new event.
    pub async fn insert_event(&self, e: &EventRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (id, title, language, hotwords, starts_at_ms, created_at_ms, organizer, \
             broadcaster_token, interpreter_token, ended, captioners, correction_window_ms, rules) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&e.id)
        .bind(&e.title)
        .bind(&e.language)
        .bind(serde_json::to_string(&e.hotwords).unwrap_or_else(|_| "[]".into()))
        .bind(e.starts_at_unix_ms.map(|t| t as i64))
        .bind(e.created_at_unix_ms as i64)
        .bind(&e.organizer)
        .bind(&e.broadcaster_token)
        .bind(&e.interpreter_token)
        .bind(i64::from(e.ended))
        .bind(serde_json::to_string(&e.captioners).unwrap_or_else(|_| "[]".into()))
        .bind(e.correction_window_ms as i64)
        .bind(serde_json::to_string(&e.rules).unwrap_or_else(|_| "[]".into()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Saves what the organizer and captioners changed during an event: vocabulary,
    /// captioners, correction window and replacement rules.
    pub async fn update_event_captioning(&self, e: &EventRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE events SET hotwords = $2, captioners = $3, correction_window_ms = $4, \
             rules = $5 WHERE id = $1",
        )
        .bind(&e.id)
        .bind(serde_json::to_string(&e.hotwords).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&e.captioners).unwrap_or_else(|_| "[]".into()))
        .bind(e.correction_window_ms as i64)
        .bind(serde_json::to_string(&e.rules).unwrap_or_else(|_| "[]".into()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks an event ended.
    pub async fn end_event(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE events SET ended = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes an event and its transcript.
    pub async fn delete_event(&self, id: &str) -> Result<(), StoreError> {
        // Lines first: SQLite enforces the cascade only with foreign keys switched on.
        sqlx::query("DELETE FROM transcript_lines WHERE event_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM events WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every event.
    pub async fn events(&self) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM events ORDER BY created_at_ms")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_from).collect()
    }

    /// Stores a final caption line (JSON) of an event's transcript, or replaces it with a
    /// captioner's revision.
    pub async fn append_line(&self, event: &str, seq: u64, json: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transcript_lines (event_id, seq, line) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id, seq) DO UPDATE SET line = excluded.line",
        )
        .bind(event)
        .bind(seq as i64)
        .bind(json)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An event's transcript lines (JSON), in order.
    pub async fn lines(&self, event: &str) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT line FROM transcript_lines WHERE event_id = $1 ORDER BY seq")
                .bind(event)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>(0).ok())
            .collect())
    }
}
