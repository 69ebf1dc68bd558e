//! Service points (服务窗口): counters in service halls with a standing QR code that callers
//! scan, and a device secret the counter's tablet signs in with.

use super::{now_ms, Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Longest name, department or address kept.
pub const MAX_FIELD_CHARS: usize = 120;

/// A service point as stored (the device secret's hash never leaves the store).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServicePoint {
    /// Public code: the `/c/<code>` link and QR code printed at the counter.
    pub code: String,
    /// Name shown to callers and interpreters (e.g. 3号窗口 · 社保).
    pub name: String,
    /// Department running it.
    pub department: String,
    /// Where it is.
    pub address: String,
    /// Sign language its calls ask for.
    pub sign_language: String,
    /// Purpose its calls are queued with (wire name).
    pub purpose: String,
    /// Registered (Unix ms).
    pub created_at_ms: i64,
    /// Revoked (Unix ms): the link no longer places calls.
    pub revoked_at_ms: Option<i64>,
}

/// What an admin registers.
#[derive(Debug, Clone)]
pub struct NewServicePoint<'a> {
    /// Name.
    pub name: &'a str,
    /// Department.
    pub department: &'a str,
    /// Address.
    pub address: &'a str,
    /// Sign-language code (checked against the configuration by the caller).
    pub sign_language: &'a str,
    /// Purpose wire name (checked by the caller).
    pub purpose: &'a str,
}

fn row_from(r: &AnyRow) -> Result<ServicePoint, sqlx::Error> {
    Ok(ServicePoint {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        department: r.try_get("department")?,
        address: r.try_get("address")?,
        sign_language: r.try_get("sign_language")?,
        purpose: r.try_get("purpose")?,
        created_at_ms: r.try_get("created_at_ms")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
    })
}

/// The stored form of a device secret.
fn device_hash(secret: &str) -> String {
    crate::token::hex(&Sha256::digest(secret.as_bytes()))
}

/// Trims a field, drops control characters and bounds its length.
fn clean(field: &str, what: &str, required: bool) -> Result<String, StoreError> {
    let s: String = field.chars().filter(|c| !c.is_control()).collect();
    let s = s.trim();
    if required && s.is_empty() {
        return Err(StoreError::Invalid(format!("{what} is required")));
    }
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(StoreError::Invalid(format!(
            "{what} is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(s.to_owned())
}

impl Store {
    /// Registers a service point; returns it and its device secret (shown once).
    pub async fn create_service_point(
        &self,
        new: &NewServicePoint<'_>,
    ) -> Result<(ServicePoint, String), StoreError> {
        let point = ServicePoint {
            // Short enough to print and type, long enough not to be guessed (64 bits).
            code: crate::token::new_token()[..16].to_owned(),
            name: clean(new.name, "the name", true)?,
            department: clean(new.department, "the department", false)?,
            address: clean(new.address, "the address", false)?,
            sign_language: new.sign_language.to_owned(),
            purpose: new.purpose.to_owned(),
            created_at_ms: now_ms(),
            revoked_at_ms: None,
        };
        let secret = format!("{}{}", crate::token::new_token(), crate::token::new_token());
        sqlx::query(
            "INSERT INTO service_points (code, name, department, address, sign_language, purpose, \
             device_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&point.code)
        .bind(&point.name)
        .bind(&point.department)
        .bind(&point.address)
        .bind(&point.sign_language)
        .bind(&point.purpose)
        .bind(device_hash(&secret))
        .bind(point.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok((point, secret))
    }

    /// Every service point, newest first.
    pub async fn service_points(&self) -> Result<Vec<ServicePoint>, StoreError> {
        let rows = sqlx::query("SELECT * FROM service_points ORDER BY created_at_ms DESC, code")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(row_from).collect::<Result<_, _>>()?)
    }

    /// One service point by its public code, revoked or not.
    pub async fn service_point(&self, code: &str) -> Result<Option<ServicePoint>, StoreError> {
        let row = sqlx::query("SELECT * FROM service_points WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(row_from).transpose()?)
    }

    /// The live (not revoked) service point a device secret belongs to.
    pub async fn service_point_by_device(
        &self,
        secret: &str,
    ) -> Result<Option<ServicePoint>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM service_points WHERE device_hash = $1 AND revoked_at_ms IS NULL",
        )
        .bind(device_hash(secret))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_from).transpose()?)
    }

    /// Revokes a service point; false if there is none (or it was revoked already).
    pub async fn revoke_service_point(&self, code: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE service_points SET revoked_at_ms = $1 WHERE code = $2 AND revoked_at_ms IS NULL",
        )
        .bind(now_ms())
        .bind(code)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// A new device secret for a live service point (a lost or replaced tablet); the old one
    /// stops working. None if there is no such live point.
    pub async fn new_device_secret(&self, code: &str) -> Result<Option<String>, StoreError> {
        let secret = format!("{}{}", crate::token::new_token(), crate::token::new_token());
        let n = sqlx::query(
            "UPDATE service_points SET device_hash = $1 WHERE code = $2 AND revoked_at_ms IS NULL",
        )
        .bind(device_hash(&secret))
        .bind(code)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok((n == 1).then_some(secret))
    }
}
