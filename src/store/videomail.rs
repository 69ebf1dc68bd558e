//! Videomail rows: what a message is and where it stands. The sealed file lives beside the
//! database, named by the message id; these rows never hold media.

use super::{now_ms, Store, StoreError};
use crate::videomail::{next, Action, State};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Videomail {
    /// Id (random, also the file's name).
    pub id: String,
    /// Left at (Unix ms).
    pub created_at_ms: i64,
    /// Length.
    pub duration_ms: i64,
    /// File size.
    pub bytes: i64,
    /// Sign language the caller asked for.
    pub sign_language: String,
    /// Where it stands.
    pub state: State,
    /// Who played it first, and when.
    pub viewed_by: Option<String>,
    /// When it was first played.
    pub viewed_at_ms: Option<i64>,
    /// Who answered.
    pub answered_by: Option<String>,
    /// When.
    pub answered_at_ms: Option<i64>,
    /// The answer the caller reads at their link.
    pub answer_text: Option<String>,
    /// Length of the recorded video answer, if there is one.
    pub answer_video_ms: Option<i64>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When.
    pub closed_at_ms: Option<i64>,
    /// When its file was removed at the end of the retention period.
    pub deleted_at_ms: Option<i64>,
}

fn row_from(r: &AnyRow) -> Result<Videomail, sqlx::Error> {
    Ok(Videomail {
        id: r.try_get("id")?,
        created_at_ms: r.try_get("created_at_ms")?,
        duration_ms: r.try_get("duration_ms")?,
        bytes: r.try_get("bytes")?,
        sign_language: r.try_get("sign_language")?,
        state: State::parse(&r.try_get::<String, _>("state")?),
        viewed_by: r.try_get("viewed_by")?,
        viewed_at_ms: r.try_get("viewed_at_ms")?,
        answered_by: r.try_get("answered_by")?,
        answered_at_ms: r.try_get("answered_at_ms")?,
        answer_text: r.try_get("answer_text")?,
        answer_video_ms: r.try_get("answer_video_ms")?,
        closed_by: r.try_get("closed_by")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
        deleted_at_ms: r.try_get("deleted_at_ms")?,
    })
}

fn token_hash(token: &str) -> String {
    crate::token::hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Stores a new message; `token` is the caller's private link token.
    pub async fn create_videomail(
        &self,
        id: &str,
        token: &str,
        duration_ms: i64,
        bytes: i64,
        sign_language: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO videomails (id, token_hash, created_at_ms, duration_ms, bytes, \
             sign_language, state) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(token_hash(token))
        .bind(now_ms())
        .bind(duration_ms)
        .bind(bytes)
        .bind(sign_language)
        .bind(State::Unread.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Messages whose file is still kept, newest first.
    pub async fn videomails(&self) -> Result<Vec<Videomail>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM videomails WHERE deleted_at_ms IS NULL ORDER BY created_at_ms DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(row_from).collect::<Result<_, _>>()?)
    }

    /// One message by id.
    pub async fn videomail(&self, id: &str) -> Result<Option<Videomail>, StoreError> {
        let row = sqlx::query("SELECT * FROM videomails WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(row_from).transpose()?)
    }

    /// The message a caller's link token belongs to.
    pub async fn videomail_by_token(&self, token: &str) -> Result<Option<Videomail>, StoreError> {
        let row = sqlx::query("SELECT * FROM videomails WHERE token_hash = $1")
            .bind(token_hash(token))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(row_from).transpose()?)
    }

    /// Applies `action` by `who` (the state rules in `videomail` decide); returns the message
    /// as it is now. `text` (and `video_ms`, when a video answer was recorded) is the answer,
    /// for `Action::Answer`.
    pub async fn videomail_act(
        &self,
        id: &str,
        who: &str,
        action: Action,
        text: Option<&str>,
        video_ms: Option<i64>,
    ) -> Result<Videomail, StoreError> {
        let Some(m) = self.videomail(id).await? else {
            return Err(StoreError::Invalid("no such message".into()));
        };
        if m.deleted_at_ms.is_some() {
            return Err(StoreError::Invalid("this message was deleted".into()));
        }
        let state = next(m.state, action).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_ms();
        // The state it was read in must still hold: two interpreters at once, one wins.
        let q = match action {
            Action::View => sqlx::query(
                "UPDATE videomails SET state = $1, viewed_by = COALESCE(viewed_by, $2), \
                 viewed_at_ms = COALESCE(viewed_at_ms, $3) WHERE id = $4 AND state = $5",
            )
            .bind(state.as_str())
            .bind(who)
            .bind(now),
            Action::Answer => sqlx::query(
                "UPDATE videomails SET state = $1, answered_by = $2, answered_at_ms = $3, \
                 answer_text = $6, answer_video_ms = $7 WHERE id = $4 AND state = $5",
            )
            .bind(state.as_str())
            .bind(who)
            .bind(now),
            Action::Close => sqlx::query(
                "UPDATE videomails SET state = $1, closed_by = $2, closed_at_ms = $3 \
                 WHERE id = $4 AND state = $5",
            )
            .bind(state.as_str())
            .bind(who)
            .bind(now),
        };
        let mut q = q.bind(id).bind(m.state.as_str());
        if action == Action::Answer {
            q = q.bind(text.unwrap_or("")).bind(video_ms);
        }
        let n = q.execute(&self.pool).await?.rows_affected();
        if n != 1 {
            return Err(StoreError::Invalid(
                "the message changed meanwhile; look again".into(),
            ));
        }
        self.videomail(id)
            .await?
            .ok_or_else(|| StoreError::Invalid("no such message".into()))
    }

    /// Messages older than `before_ms` whose file is still kept: marked deleted; returns their
    /// ids so their files can go.
    pub async fn expire_videomails(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM videomails WHERE created_at_ms < $1 AND deleted_at_ms IS NULL",
        )
        .bind(before_ms)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        for id in &ids {
            sqlx::query(
                "UPDATE videomails SET deleted_at_ms = $1, answer_text = NULL, \
                 answer_video_ms = NULL WHERE id = $2",
            )
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(ids)
    }
}
