//! Accounts (admin, interpreter, organizer) with argon2 password hashes, lock-out after
//! repeated failures, and sign-in sessions whose tokens are stored only as SHA-256 digests.

use super::{now_ms, Store, StoreError};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

/// How long a sign-in session lasts.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Manages users, sees the dashboard and every record.
    Admin,
    /// Takes calls; sees their own calls only.
    Interpreter,
    /// Creates and runs press-briefing events.
    Organizer,
    /// Corrects or types the captions of the events they are assigned to (速录员).
    Captioner,
}

impl AccountRole {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Admin => "admin",
            AccountRole::Interpreter => "interpreter",
            AccountRole::Organizer => "organizer",
            AccountRole::Captioner => "captioner",
        }
    }

    /// From its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(AccountRole::Admin),
            "interpreter" => Some(AccountRole::Interpreter),
            "organizer" => Some(AccountRole::Organizer),
            "captioner" => Some(AccountRole::Captioner),
            _ => None,
        }
    }
}

/// An account as the rest of the server sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Shown to others.
    pub display_name: String,
    /// What they may do.
    pub role: AccountRole,
    /// Sign languages an interpreter works in (empty: all).
    pub sign_languages: Vec<String>,
    /// An interpreter's gender, `female` or `male`, for callers who would rather have one
    /// (empty: not given).
    #[serde(default)]
    pub gender: String,
    /// Call purposes an interpreter knows best (`medical`, `legal`...): those calls ring them
    /// first.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Switched off by an admin.
    pub disabled: bool,
    /// Locked until (Unix ms), when an admin locked it.
    pub locked_until_ms: i64,
}

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Unknown user or wrong password (not told apart).
    Wrong,
    /// Locked by an admin until this time.
    Locked(i64),
    /// Switched off by an admin.
    Disabled,
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, sign_languages, gender, topics, disabled, locked_until_ms";

fn user_from(row: &AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    let langs: String = row.try_get("sign_languages")?;
    let topics: String = row.try_get("topics")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: AccountRole::parse(&role)
            .ok_or_else(|| StoreError::Invalid(format!("unknown role {role:?} in the database")))?,
        sign_languages: langs
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        gender: row.try_get("gender")?,
        topics: topics
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        locked_until_ms: row.try_get("locked_until_ms")?,
    })
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hash(e.to_string()))
}

/// Hashing is deliberately slow: off the async threads.
async fn hash_off_thread(password: &str) -> Result<String, StoreError> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| StoreError::Hash(e.to_string()))?
}

fn check_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "passwords need at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Digest under which a session token is stored: a leaked database holds no usable token.
pub(super) fn token_digest(token: &str) -> String {
    crate::token::hex(&Sha256::digest(token.as_bytes()))
}

/// Argon2 is deliberately slow: run it off the async threads. Without a hash (unknown user)
/// a dummy one is checked, so the answer takes as long either way.
async fn verify_hash(hash: Option<String>, password: String) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // Each check costs ~20 MB and tens of ms of a core: at most two at once, so a burst of
    // sign-ins queues instead of taking the machine.
    static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
                .clone()
        });
        let ok = PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

impl Store {
    /// Creates an account.
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        role: AccountRole,
        password: &str,
        sign_languages: &[String],
    ) -> Result<User, StoreError> {
        check_password(password)?;
        self.insert_user(username, display_name, role, password, sign_languages)
            .await
    }

    /// Creates an account from the configuration file if it does not exist yet (the file's
    /// passwords are the operator's choice, so the length rule is not applied). Returns
    /// whether it was created.
    pub async fn seed_user(
        &self,
        username: &str,
        display_name: &str,
        role: AccountRole,
        password: &str,
        sign_languages: &[String],
    ) -> Result<bool, StoreError> {
        if self.user(username).await?.is_some() {
            return Ok(false);
        }
        match self
            .insert_user(username, display_name, role, password, sign_languages)
            .await
        {
            Ok(_) => Ok(true),
            // Another server process on the same database seeded it first.
            Err(StoreError::Invalid(_)) if self.user(username).await?.is_some() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn insert_user(
        &self,
        username: &str,
        display_name: &str,
        role: AccountRole,
        password: &str,
        sign_languages: &[String],
    ) -> Result<User, StoreError> {
        let username = username.trim();
        if username.is_empty()
            || username.chars().count() > 64
            || username
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(StoreError::Invalid(
                "user names are 1 to 64 characters without spaces".into(),
            ));
        }
        let hash = hash_off_thread(password).await?;
        let display = if display_name.trim().is_empty() {
            username
        } else {
            display_name.trim()
        };
        let res = sqlx::query(
            "INSERT INTO users (username, display_name, role, password_hash, sign_languages, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(username)
        .bind(display)
        .bind(role.as_str())
        .bind(hash)
        .bind(sign_languages.join(","))
        .bind(now_ms())
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Invalid(format!(
                    "user {username:?} already exists"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.user(username)
            .await?
            .ok_or_else(|| StoreError::Invalid("the new user vanished".into()))
    }

    /// An account by name.
    pub async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from).collect()
    }

    /// Number of accounts.
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Sets what an interpreter is matched on: gender (`female`, `male` or empty) and topics
    /// (call purposes). Refuses anything else, so a console never shows a made-up word.
    pub async fn set_skills(
        &self,
        username: &str,
        gender: &str,
        topics: &[String],
    ) -> Result<User, StoreError> {
        if !matches!(gender, "" | "female" | "male") {
            return Err(StoreError::Invalid(
                "gender is female, male or empty".into(),
            ));
        }
        if let Some(t) = topics.iter().find(|t| {
            serde_json::from_value::<crate::signal::Purpose>(serde_json::Value::String(
                (*t).clone(),
            ))
            .is_err()
        }) {
            return Err(StoreError::Invalid(format!(
                "topic {t:?} is not one of policy_consultation, daily_life, medical, legal, emergency"
            )));
        }
        let user = self
            .user(username)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no user {username:?}")))?;
        let mut topics = topics.to_vec();
        topics.sort();
        topics.dedup();
        sqlx::query("UPDATE users SET gender = $1, topics = $2 WHERE id = $3")
            .bind(gender)
            .bind(topics.join(","))
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        self.user(username)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no user {username:?}")))
    }

    /// Changes an account: display name, password, switched on or off, unlocked. A new
    /// password or switching off also ends the account's sessions.
    pub async fn update_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        password: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<User, StoreError> {
        let user = self
            .user(username)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no user {username:?}")))?;
        if let Some(d) = display_name.map(str::trim).filter(|d| !d.is_empty()) {
            sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
                .bind(d)
                .bind(user.id)
                .execute(&self.pool)
                .await?;
        }
        if let Some(p) = password {
            check_password(p)?;
            let hash = hash_off_thread(p).await?;
            sqlx::query(
                "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until_ms = 0 WHERE id = $2",
            )
            .bind(hash)
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        }
        if let Some(off) = disabled {
            sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                .bind(i64::from(off))
                .bind(user.id)
                .execute(&self.pool)
                .await?;
        }
        if password.is_some() || disabled == Some(true) {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.id)
                .execute(&self.pool)
                .await?;
        }
        self.user(username)
            .await?
            .ok_or_else(|| StoreError::Invalid("the user vanished".into()))
    }

    /// Checks a password and counts failures. An account is locked only by an admin.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<User, LoginError>, StoreError> {
        let now = now_ms();
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash, failed_logins FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Same work as for a real account, so timing does not tell which names exist.
            let _ = verify_hash(None, password.to_owned()).await;
            return Ok(Err(LoginError::Wrong));
        };
        let user = user_from(&row)?;
        if user.disabled {
            return Ok(Err(LoginError::Disabled));
        }
        if user.locked_until_ms > now {
            return Ok(Err(LoginError::Locked(user.locked_until_ms)));
        }
        let hash: String = row.try_get("password_hash")?;
        if verify_hash(Some(hash), password.to_owned()).await {
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = 0 WHERE id = $1")
                .bind(user.id)
                .execute(&self.pool)
                .await?;
            return Ok(Ok(user));
        }
        // Counted in one statement, so parallel guesses each count. Wrong passwords no
        // longer lock the account (anyone could lock the real user out): the sign-in
        // throttle slows the guesser's address instead.
        sqlx::query("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1")
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        Ok(Err(LoginError::Wrong))
    }

    /// Starts a session; returns the token for the cookie.
    pub async fn create_session(&self, user: &User) -> Result<String, StoreError> {
        let token = crate::token::new_token() + &crate::token::new_token();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_digest(&token))
        .bind(user.id)
        .bind(now)
        .bind(now + SESSION_MS)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The account of a live session (not expired, account not disabled).
    pub async fn session_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, u.sign_languages, u.gender, u.topics, u.disabled, u.locked_until_ms \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2 AND u.disabled = 0",
        )
        .bind(token_digest(token))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_digest(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes expired sessions.
    pub async fn purge_sessions(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1")
                .bind(now_ms())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
