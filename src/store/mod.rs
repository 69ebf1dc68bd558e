//! Durable state: accounts, sign-in sessions, call records and the audit log, through sqlx.
//! An SQLite file in the data directory by default (WAL), PostgreSQL when a `postgres://` URL
//! is configured; the same queries run on both (`$n` parameters, BIGINT times in Unix ms).

pub mod counters;
pub mod events;
pub mod profiles;
pub mod records;
pub mod users;
pub mod videomail;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::path::Path;
use thiserror::Error;

pub use counters::{NewServicePoint, ServicePoint};
pub use profiles::CallerProfile;
pub use records::{CallRow, ServiceLevels};
pub use users::{AccountRole, LoginError, User};
pub use videomail::Videomail;

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be opened.
    #[error("cannot open the database {url}: {source}")]
    Open {
        /// Where (password removed).
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// The file exists but is not a usable SQLite database; it is left untouched.
    #[error("the database file {0} is damaged or not a database; it was left as it is (restore it from a backup or move it away)")]
    Corrupt(String),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Invalid input (duplicate user name, bad role...).
    #[error("{0}")]
    Invalid(String),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local file.
    Sqlite,
    /// A server.
    Postgres,
}

/// The store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Now in Unix milliseconds.
pub fn now_ms() -> i64 {
    crate::clock::unix_ms() as i64
}

fn redact(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// The default database: `signrelay.db` in the data directory.
    pub fn default_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("signrelay.db").display())
    }

    /// Opens (creating an SQLite file if missing) and migrates. A damaged SQLite file is
    /// refused and never touched.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Invalid(format!(
                "database URL {} is neither sqlite: nor postgres://",
                redact(url)
            )));
        };
        let full = match backend {
            Backend::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if let Some(dir) = Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                            url: url.to_owned(),
                            source: sqlx::Error::Io(e),
                        })?;
                    }
                }
                check_sqlite_header(path)?;
                format!("sqlite://{path}?mode=rwc")
            }
            Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers never wait for the writer; NORMAL sync survives a
                        // crashed process (not a lost power supply) at a fraction of FULL's cost.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = NORMAL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 5000",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
            .connect(&full)
            .await
            .map_err(|source| match &source {
                sqlx::Error::Database(e) if e.message().contains("not a database") => {
                    StoreError::Corrupt(redact(url))
                }
                _ => StoreError::Open {
                    url: redact(url),
                    source,
                },
            })?;
        let store = Self { pool, backend };
        if backend == Backend::Sqlite {
            let row: AnyRow = sqlx::query("PRAGMA quick_check")
                .fetch_one(&store.pool)
                .await
                .map_err(|_| StoreError::Corrupt(redact(url)))?;
            let verdict: String = row.try_get(0).unwrap_or_default();
            if verdict != "ok" {
                return Err(StoreError::Corrupt(redact(url)));
            }
        }
        match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&store.pool).await?,
            Backend::Postgres => {
                sqlx::migrate!("migrations/postgres")
                    .run(&store.pool)
                    .await?
            }
        }
        let interrupted = store.close_interrupted(now_ms()).await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "calls in progress when the server stopped are marked interrupted"
            );
        }
        Ok(store)
    }

    /// PostgreSQL only: drops and creates an empty database (tests and first setup).
    pub async fn recreate_database(&self, name: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres
            || name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(StoreError::Invalid(format!(
                "cannot create database {name:?} here"
            )));
        }
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&self.pool)
            .await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an action for the audit log (sign-ins, lock-outs, user changes, exports).
    pub async fn audit(&self, actor: &str, action: &str, detail: &str) {
        let res = sqlx::query(
            "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES ($1, $2, $3, $4)",
        )
        .bind(now_ms())
        .bind(actor)
        .bind(action)
        .bind(detail)
        .execute(&self.pool)
        .await;
        if let Err(e) = res {
            tracing::error!(error = %e, actor, action, "audit entry not written");
        }
        tracing::info!(target: "audit", actor, action, detail);
    }

    /// The latest audit entries, newest first: (at_ms, actor, action, detail).
    pub async fn audit_log(
        &self,
        limit: i64,
    ) -> Result<Vec<(i64, String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }
}

/// An SQLite file starts with "SQLite format 3\0"; anything else (but an empty or missing
/// file) is not ours to open, let alone migrate.
fn check_sqlite_header(path: &str) -> Result<(), StoreError> {
    use std::io::Read;
    let Ok(mut f) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut head = [0u8; 16];
    match f.read(&mut head) {
        Ok(0) => Ok(()),
        Ok(n) if n == 16 && &head == b"SQLite format 3\0" => Ok(()),
        _ => Err(StoreError::Corrupt(path.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db.local/signrelay"),
            "postgres://app:***@db.local/signrelay"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
