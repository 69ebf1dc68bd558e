//! Optional caller profiles: kept only with consent, identified by a token only the caller's
//! browser holds, deleted the moment consent is withdrawn.

use super::{now_ms, users::token_digest, Store, StoreError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// What a caller may choose to have remembered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerProfile {
    /// Name shown to the interpreter.
    #[serde(default)]
    pub name: String,
    /// `female`, `male` or empty (no preference).
    #[serde(default)]
    pub preferred_interpreter_gender: String,
    /// Sign-language code (regional variety).
    #[serde(default)]
    pub sign_variety: String,
}

impl CallerProfile {
    /// Checks the values; every field is bounded.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.name.chars().count() > 40 || self.name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(
                "the name is at most 40 characters".into(),
            ));
        }
        if !matches!(
            self.preferred_interpreter_gender.as_str(),
            "" | "female" | "male"
        ) {
            return Err(StoreError::Invalid(
                "preferred_interpreter_gender is female, male or empty".into(),
            ));
        }
        if self.sign_variety.len() > 32 {
            return Err(StoreError::Invalid("unknown sign variety".into()));
        }
        Ok(())
    }
}

impl Store {
    /// Saves a profile the caller consented to; returns the token their browser keeps. With
    /// an existing token, the profile is replaced.
    pub async fn save_profile(
        &self,
        token: Option<&str>,
        p: &CallerProfile,
    ) -> Result<String, StoreError> {
        p.validate()?;
        let now = now_ms();
        if let Some(t) = token {
            let n = sqlx::query(
                "UPDATE caller_profiles SET name = $1, preferred_interpreter_gender = $2, \
                 sign_variety = $3, updated_at_ms = $4 WHERE token_hash = $5",
            )
            .bind(&p.name)
            .bind(&p.preferred_interpreter_gender)
            .bind(&p.sign_variety)
            .bind(now)
            .bind(token_digest(t))
            .execute(&self.pool)
            .await?
            .rows_affected();
            if n == 1 {
                return Ok(t.to_owned());
            }
        }
        let token = crate::token::new_token() + &crate::token::new_token();
        sqlx::query(
            "INSERT INTO caller_profiles (token_hash, name, preferred_interpreter_gender, sign_variety, consent_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(token_digest(&token))
        .bind(&p.name)
        .bind(&p.preferred_interpreter_gender)
        .bind(&p.sign_variety)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The profile behind a token.
    pub async fn profile(&self, token: &str) -> Result<Option<CallerProfile>, StoreError> {
        let row = sqlx::query(
            "SELECT name, preferred_interpreter_gender, sign_variety FROM caller_profiles WHERE token_hash = $1",
        )
        .bind(token_digest(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(CallerProfile {
                name: r.try_get(0)?,
                preferred_interpreter_gender: r.try_get(1)?,
                sign_variety: r.try_get(2)?,
            }),
            None => None,
        })
    }

    /// Consent withdrawn: the profile is deleted. True if there was one.
    pub async fn delete_profile(&self, token: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM caller_profiles WHERE token_hash = $1")
                .bind(token_digest(token))
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1,
        )
    }
}
