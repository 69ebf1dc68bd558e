//! Videomail over HTTP: interpreters list, play, answer and close messages; a caller reads the
//! state and answer of their own message with its private token, and may play it back.

use super::auth::{bearer, require};
use super::error::{internal, problem, store_error, ApiError};
use super::AppState;
use crate::store::{AccountRole, Videomail};
use crate::videomail::{Action, State, MAX_ANSWER_CHARS};
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

const STAFF: &[AccountRole] = &[AccountRole::Interpreter, AccountRole::Admin];

fn desk(app: &AppState) -> Result<&crate::switchboard::VideomailDesk, ApiError> {
    app.switchboard
        .videomail()
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "videomail is not offered here"))
}

/// `GET /api/videomail`: messages still kept, newest first, with the unread count.
pub async fn list(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&app, &headers, STAFF).await?;
    let desk = desk(&app)?;
    let all = app.store.videomails().await.map_err(internal)?;
    let unread = all.iter().filter(|m| m.state == State::Unread).count();
    // Whether each author has their page open now (then they can be called back).
    let messages: Vec<_> = all
        .iter()
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("caller_online".into(), desk.watched(&m.id).into());
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "unread": unread, "messages": messages })).into_response())
}

fn webm(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "video/webm"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// A message's file, or its video answer's, opened.
async fn sealed_file(app: &AppState, m: &Videomail, answer: bool) -> Result<Vec<u8>, ApiError> {
    if m.deleted_at_ms.is_some() {
        return Err(problem(StatusCode::GONE, "this message was deleted"));
    }
    if answer && m.answer_video_ms.is_none() {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "this message has no video answer",
        ));
    }
    let desk = desk(app)?;
    let opened = if answer {
        desk.read_answer(&m.id).await
    } else {
        desk.read(&m.id).await
    };
    opened.map_err(|e| {
        tracing::error!(error = %e, "a videomail file does not open");
        problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the message file could not be opened",
        )
    })
}

/// `GET /api/videomail/{id}/video`: the message as WebM; the first play marks it in progress
/// and is recorded with who played it.
pub async fn video(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, STAFF).await?;
    let Some(m) = app.store.videomail(&id).await.map_err(internal)? else {
        return Err(problem(StatusCode::NOT_FOUND, "no such message"));
    };
    let bytes = sealed_file(&app, &m, false).await?;
    if m.state != State::Closed {
        // Two consoles playing at once: one write wins, the other's play still works.
        let _ = app
            .store
            .videomail_act(&id, &who.username, Action::View, None, None)
            .await;
    }
    app.store.audit(&who.username, "view_videomail", &id).await;
    Ok(webm(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    text: String,
}

/// `POST /api/videomail/{id}/answer {text}`: the caller reads it at their link.
pub async fn answer(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, STAFF).await?;
    let a: Answer = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable answer: {e}")))?;
    let text = a.text.trim();
    if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            format!("an answer is 1 to {MAX_ANSWER_CHARS} characters"),
        ));
    }
    let m = app
        .store
        .videomail_act(&id, &who.username, Action::Answer, Some(text), None)
        .await
        .map_err(store_error)?;
    app.store
        .audit(&who.username, "answer_videomail", &id)
        .await;
    Ok(Json(m).into_response())
}

/// `POST /api/videomail/{id}/close`.
pub async fn close(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let who = require(&app, &headers, STAFF).await?;
    let m = app
        .store
        .videomail_act(&id, &who.username, Action::Close, None, None)
        .await
        .map_err(store_error)?;
    app.store.audit(&who.username, "close_videomail", &id).await;
    Ok(Json(m).into_response())
}

async fn mine_of(app: &AppState, headers: &HeaderMap) -> Result<Videomail, ApiError> {
    let token = bearer(headers)
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "no message token"))?;
    app.store
        .videomail_by_token(token)
        .await
        .map_err(internal)?
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no message for this link"))
}

/// `GET /api/my-videomail` (`Authorization: Bearer <token>`): the caller's own message — its
/// state and the answer — and never who handled it.
pub async fn mine(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let m = mine_of(&app, &headers).await?;
    Ok(Json(serde_json::json!({
        "state": m.state,
        "created_at_ms": m.created_at_ms,
        "duration_ms": m.duration_ms,
        "answer_text": m.answer_text,
        "answer_video": m.answer_video_ms.is_some(),
        "answered_at_ms": m.answered_at_ms,
        "deleted": m.deleted_at_ms.is_some(),
    }))
    .into_response())
}

/// `GET /api/my-videomail/video`: the caller plays their own message back.
pub async fn my_video(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let m = mine_of(&app, &headers).await?;
    Ok(webm(sealed_file(&app, &m, false).await?))
}

/// `GET /api/videomail/{id}/answer-video`: the recorded answer, for staff.
pub async fn answer_video(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&app, &headers, STAFF).await?;
    let Some(m) = app.store.videomail(&id).await.map_err(internal)? else {
        return Err(problem(StatusCode::NOT_FOUND, "no such message"));
    };
    Ok(webm(sealed_file(&app, &m, true).await?))
}

/// `GET /api/my-videomail/answer-video`: the interpreter's recorded answer, for the caller.
pub async fn my_answer_video(
    AxState(app): AxState<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let m = mine_of(&app, &headers).await?;
    Ok(webm(sealed_file(&app, &m, true).await?))
}
