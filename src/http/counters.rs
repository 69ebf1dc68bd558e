//! Service points over HTTP: admins register and revoke counters and renew their device
//! secret; anyone holding a counter's code reads what the caller page shows about it.

use super::auth::require;
use super::error::{internal, problem, store_error, ApiError};
use super::AppState;
use crate::signal::Purpose;
use crate::store::{AccountRole, NewServicePoint, ServicePoint};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

const ADMIN: &[AccountRole] = &[AccountRole::Admin];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPoint {
    name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    address: String,
    /// Default: the first sign language on offer.
    #[serde(default)]
    sign_language: Option<String>,
    /// Default: policy consultation (what government windows are asked about).
    #[serde(default)]
    purpose: Option<Purpose>,
}

/// The caller-page link of a counter: absolute when `service.public_url` is set.
fn link(app: &AppState, code: &str) -> String {
    let base = app.switchboard.config().service.public_url.clone();
    format!("{}/c/{code}", base.trim_end_matches('/'))
}

fn with_links(app: &AppState, p: &ServicePoint) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("link".into(), link(app, &p.code).into());
    }
    v
}

/// `GET /api/admin/counters`: every service point, newest first, with its link, and the
/// sign languages a new one may ask for.
pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    let points = app.store.service_points().await.map_err(internal)?;
    let out: Vec<_> = points.iter().map(|p| with_links(&app, p)).collect();
    Ok(Json(serde_json::json!({
        "points": out,
        "sign_languages": app.switchboard.config().service.sign_languages,
    }))
    .into_response())
}

/// `POST /api/admin/counters`: registers a service point; the answer carries the device
/// secret once (it is stored only as a hash).
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    let n: NewPoint = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable counter: {e}")))?;
    let offered = &app.switchboard.config().service.sign_languages;
    let sign_language = match n.sign_language {
        None => offered.first().map(|l| l.code.clone()).unwrap_or_default(),
        Some(l) if offered.iter().any(|o| o.code == l) => l,
        Some(l) => {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!("sign language {l:?} is not offered"),
            ))
        }
    };
    let purpose = n.purpose.unwrap_or(Purpose::PolicyConsultation);
    if purpose == Purpose::Emergency {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "a counter's calls cannot all be emergencies (callers can still choose one)",
        ));
    }
    let (point, secret) = app
        .store
        .create_service_point(&NewServicePoint {
            name: &n.name,
            department: &n.department,
            address: &n.address,
            sign_language: &sign_language,
            purpose: &crate::signal::wire_name(&purpose),
        })
        .await
        .map_err(store_error)?;
    app.store
        .audit(&who.username, "create_counter", &point.code)
        .await;
    let mut v = with_links(&app, &point);
    if let Some(o) = v.as_object_mut() {
        o.insert("device_secret".into(), secret.into());
    }
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `POST /api/admin/counters/{code}/revoke`: the QR code stops placing calls and the
/// counter's device is signed out; its records stay.
pub async fn revoke(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    if !app
        .store
        .revoke_service_point(&code)
        .await
        .map_err(internal)?
    {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no such service point, or it was revoked already",
        ));
    }
    app.switchboard.revoke_counter(&code, true);
    app.store
        .audit(&who.username, "revoke_counter", &code)
        .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/admin/counters/{code}/device`: a new device secret (a lost or replaced
/// tablet); the old device is signed out.
pub async fn new_device(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    let Some(secret) = app.store.new_device_secret(&code).await.map_err(internal)? else {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "no such service point, or it was revoked",
        ));
    };
    app.switchboard.revoke_counter(&code, false);
    app.store
        .audit(&who.username, "new_counter_device", &code)
        .await;
    Ok(Json(serde_json::json!({ "device_secret": secret })).into_response())
}

/// `GET /api/counters/{code}`: what the caller page shows about the counter it was opened
/// from (404 unknown, 410 revoked).
pub async fn public(
    State(app): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    if code.len() > 64 {
        return Err(problem(StatusCode::NOT_FOUND, "no such service point"));
    }
    let Some(p) = app.store.service_point(&code).await.map_err(internal)? else {
        return Err(problem(StatusCode::NOT_FOUND, "no such service point"));
    };
    if p.revoked_at_ms.is_some() {
        return Err(problem(
            StatusCode::GONE,
            "this counter's code is no longer in use",
        ));
    }
    Ok(Json(serde_json::json!({
        "code": p.code,
        "name": p.name,
        "department": p.department,
        "address": p.address,
        "sign_language": p.sign_language,
        "purpose": p.purpose,
        "link": link(&app, &p.code),
    }))
    .into_response())
}
