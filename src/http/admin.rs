//! The service dashboard's API (admins) and interpreters' view of their own calls.

use super::auth::require;
use super::error::{internal, problem, store_error, ApiError};
use super::AppState;
use crate::store::records::{service_levels, to_csv};
use crate::store::{AccountRole, CallRow};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

const ADMIN: &[AccountRole] = &[AccountRole::Admin];

/// A period: `from_ms` (default: 24 h ago) to `to_ms` (default: now), and the viewer's time
/// zone as minutes east of UTC (for calls per hour of the day).
#[derive(Deserialize)]
pub struct Period {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    #[serde(default)]
    tz_offset_min: i64,
}

impl Period {
    fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let now = crate::store::now_ms();
        let to = self.to_ms.unwrap_or(now + 1);
        let from = self.from_ms.unwrap_or(to - 86_400_000);
        if from >= to || !(-14 * 60..=14 * 60).contains(&self.tz_offset_min) {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                "the period must have from_ms < to_ms and a time zone within ±14 h",
            ));
        }
        Ok((from, to))
    }
}

impl Period {
    /// The records of the period, of everyone (`who` = None) or of one interpreter.
    async fn rows(&self, app: &AppState, who: Option<&str>) -> Result<Vec<CallRow>, ApiError> {
        let (from, to) = self.bounds()?;
        app.store.calls(from, to, who).await.map_err(internal)
    }
}

/// `GET /api/admin/live`: the queue, the interpreters and the calls right now.
pub async fn live(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    let (queue, interpreters, (waiting, ringing, connected)) = app.switchboard.live_view();
    Ok(Json(serde_json::json!({
        "calls": {"waiting": waiting, "ringing": ringing, "connected": connected},
        "queue": queue,
        "interpreters": interpreters,
    }))
    .into_response())
}

/// `GET /api/admin/stats`: service levels of a period.
pub async fn stats(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    let rows = p.rows(&app, None).await?;
    Ok(Json(service_levels(&rows, p.tz_offset_min)).into_response())
}

/// `GET /api/admin/calls`: the records of a period as JSON.
pub async fn calls(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    Ok(Json(p.rows(&app, None).await?).into_response())
}

/// `GET /api/admin/calls.csv`: the same as CSV (the export is audit-logged).
pub async fn calls_csv(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    let (from, to) = p.bounds()?;
    let rows = p.rows(&app, None).await?;
    app.store
        .audit(
            &who.username,
            "export_calls",
            &format!("{} records, {from}..{to}", rows.len()),
        )
        .await;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"signrelay-calls.csv\"",
            ),
        ],
        to_csv(&rows),
    )
        .into_response())
}

/// `GET /api/my/calls`: an interpreter's own calls (and no one else's).
pub async fn my_calls(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    let me = require(&app, &headers, &[AccountRole::Interpreter]).await?;
    Ok(Json(p.rows(&app, Some(&me.username)).await?).into_response())
}

/// `GET /api/admin/users`.
pub async fn users(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    let users = app.store.users().await.map_err(internal)?;
    Ok(Json(users).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    #[serde(default)]
    display_name: String,
    role: AccountRole,
    password: String,
    #[serde(default)]
    sign_languages: Vec<String>,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    topics: Vec<String>,
}

/// `POST /api/admin/users`: creates an account.
pub async fn create_user(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    let n: NewUser = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable user: {e}")))?;
    let store = &app.store;
    let u = store
        .create_user(
            &n.username,
            &n.display_name,
            n.role,
            &n.password,
            &n.sign_languages,
        )
        .await
        .map_err(store_error)?;
    let u = if n.gender.is_empty() && n.topics.is_empty() {
        u
    } else {
        store
            .set_skills(&u.username, &n.gender, &n.topics)
            .await
            .map_err(store_error)?
    };
    store
        .audit(
            &who.username,
            "create_user",
            &format!("{} ({})", u.username, u.role.as_str()),
        )
        .await;
    Ok((StatusCode::CREATED, Json(u)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    gender: Option<String>,
    #[serde(default)]
    topics: Option<Vec<String>>,
}

/// `POST /api/admin/users/{username}`: renames, resets the password, switches off or on,
/// sets an interpreter's gender and topics.
pub async fn update_user(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, ADMIN).await?;
    let c: UserChange = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable change: {e}")))?;
    if c.disabled == Some(true) && username == who.username {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "you cannot switch off your own account",
        ));
    }
    let store = &app.store;
    let u = store
        .update_user(
            &username,
            c.display_name.as_deref(),
            c.password.as_deref(),
            c.disabled,
        )
        .await
        .map_err(store_error)?;
    // Skills apply at the interpreter's next sign-in.
    let u = if c.gender.is_some() || c.topics.is_some() {
        let gender = c.gender.clone().unwrap_or_else(|| u.gender.clone());
        let topics = c.topics.clone().unwrap_or_else(|| u.topics.clone());
        store
            .set_skills(&username, &gender, &topics)
            .await
            .map_err(store_error)?
    } else {
        u
    };
    let what = [
        c.display_name.as_ref().map(|_| "renamed"),
        c.password.as_ref().map(|_| "password reset"),
        c.disabled
            .map(|d| if d { "switched off" } else { "switched on" }),
        (c.gender.is_some() || c.topics.is_some()).then_some("skills changed"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    store
        .audit(&who.username, "update_user", &format!("{username}: {what}"))
        .await;
    Ok(Json(u).into_response())
}

/// `GET /api/admin/audit`: the latest 200 audit entries.
pub async fn audit(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    require(&app, &headers, ADMIN).await?;
    let rows = app.store.audit_log(200).await.map_err(internal)?;
    let out: Vec<_> = rows
        .into_iter()
        .map(|(at_ms, actor, action, detail)| {
            serde_json::json!({"at_ms": at_ms, "actor": actor, "action": action, "detail": detail})
        })
        .collect();
    Ok(Json(out).into_response())
}
