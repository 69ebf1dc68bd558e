//! HTTP face of the captioner's work on an event (同步速录): corrections, acceptance, typed
//! captions, mode and window, learnt rules and terms, the glossary, and the figures. Every
//! request is checked against the event's assigned captioners (or its organizer); a refusal
//! changes nothing.

use super::auth::require;
use super::error::{problem, ApiError};
use super::AppState;
use crate::briefing::review::ReviewError;
use crate::briefing::{Briefing, BriefingError};
use crate::signal::Captioning;
use crate::store::{AccountRole, User};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::Arc;

/// Who may do what on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Correct, accept, type: the assigned captioners only.
    Caption,
    /// Window, rules, glossary, figures: the captioners or the event's organizer.
    Manage,
    /// Assign captioners: the event's organizer (or an admin).
    Organize,
}

/// The signed-in account if it may do `duty` on `ev`.
pub async fn allowed(
    app: &AppState,
    headers: &HeaderMap,
    ev: &Briefing,
    duty: Duty,
) -> Result<User, ApiError> {
    let u = require(
        app,
        headers,
        &[
            AccountRole::Captioner,
            AccountRole::Organizer,
            AccountRole::Admin,
        ],
    )
    .await?;
    let organizes = u.role == AccountRole::Admin
        || (u.role == AccountRole::Organizer && ev.organizer() == u.username);
    let captions = u.role == AccountRole::Captioner && ev.is_captioner(&u.username);
    let ok = match duty {
        Duty::Caption => captions,
        Duty::Manage => captions || organizes,
        Duty::Organize => organizes,
    };
    if ok {
        Ok(u)
    } else {
        tracing::warn!(user = %u.username, ?duty, "caption request from someone not on this event");
        Err(problem(
            StatusCode::FORBIDDEN,
            match duty {
                Duty::Caption => "only this event's captioners may change its captions",
                Duty::Manage => "only this event's captioners or organizer may do this",
                Duty::Organize => "only this event's organizer may assign captioners",
            },
        ))
    }
}

fn find(app: &AppState, id: &str) -> Result<Arc<Briefing>, ApiError> {
    app.briefings
        .get(id)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no such event"))
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable request: {e}")))
}

fn refused(e: ReviewError) -> ApiError {
    let status = match e {
        ReviewError::NoSuchLine(_) => StatusCode::NOT_FOUND,
        ReviewError::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
        ReviewError::BadRule(_) | ReviewError::BadWindow => StatusCode::BAD_REQUEST,
    };
    problem(status, e.to_string())
}

fn invalid(e: BriefingError) -> ApiError {
    match e {
        BriefingError::Invalid(why) => problem(StatusCode::BAD_REQUEST, why),
        BriefingError::Store(e) => {
            tracing::error!(error = %e, "captioning change not saved");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not save the change",
            )
        }
    }
}

fn ended(ev: &Briefing) -> Result<(), ApiError> {
    if ev.ended() {
        return Err(problem(
            StatusCode::CONFLICT,
            "the event has ended; its captions can no longer change",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Correction {
    text: String,
}

/// `POST /api/events/{id}/captions/{seq}` `{text}`: the next revision of a line.
pub async fn correct(
    State(app): State<AppState>,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Caption).await?;
    ended(&ev)?;
    let c: Correction = body(&bytes)?;
    ev.review(|r, now| r.correct(seq, &c.text, now))
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/events/{id}/captions/{seq}/accept`: the line is right as it is.
pub async fn accept(
    State(app): State<AppState>,
    Path((id, seq)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Caption).await?;
    ev.review(|r, _| r.accept(seq)).map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Typing {
    text: String,
    #[serde(default)]
    done: bool,
}

/// `POST /api/events/{id}/typing` `{text, done}`: a captioner's typed line so far (速录).
pub async fn typing(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    let u = allowed(&app, &headers, &ev, Duty::Caption).await?;
    ended(&ev)?;
    let t: Typing = body(&bytes)?;
    ev.typed(&format!("c{}", u.id), &u.display_name, &t.text, t.done)
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    mode: Option<Captioning>,
    #[serde(default)]
    correction_window_ms: Option<u64>,
}

/// `POST /api/events/{id}/captioning` `{mode?, correction_window_ms?}`.
pub async fn settings(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Manage).await?;
    let s: Settings = body(&bytes)?;
    if let Some(ms) = s.correction_window_ms {
        ev.set_window(ms).await.map_err(invalid)?;
    }
    if let Some(mode) = s.mode {
        ev.set_mode(mode);
    }
    Ok(Json(ev.info()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Learn {
    #[serde(default)]
    wrong: String,
    right: String,
    #[serde(default)]
    hotword: bool,
}

/// `POST /api/events/{id}/rules` `{wrong, right, hotword}`: learn from a correction.
pub async fn learn(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Manage).await?;
    let l: Learn = body(&bytes)?;
    ev.learn(&l.wrong, &l.right, l.hotword)
        .await
        .map_err(invalid)?;
    Ok(Json(overview(&ev)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GlossaryBody {
    text: String,
}

/// `PUT /api/events/{id}/glossary` `{text}`: terms and `wrong => right` lines.
pub async fn glossary(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Manage).await?;
    let g: GlossaryBody = body(&bytes)?;
    ev.load_glossary(&g.text).await.map_err(invalid)?;
    Ok(Json(overview(&ev)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    captioners: Vec<String>,
}

/// `PUT /api/events/{id}/captioners` `{captioners}`: the organizer assigns captioners.
pub async fn assign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Organize).await?;
    let a: Assign = body(&bytes)?;
    for name in &a.captioners {
        let user = app.store.user(name.trim()).await.map_err(|e| {
            tracing::error!(error = %e, "captioner lookup failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not check the accounts",
            )
        })?;
        if user.map(|u| u.role) != Some(AccountRole::Captioner) {
            return Err(problem(
                StatusCode::BAD_REQUEST,
                format!("{} is not a captioner's account", name.trim()),
            ));
        }
    }
    ev.set_captioners(&a.captioners).await.map_err(invalid)?;
    Ok(Json(overview(&ev)).into_response())
}

/// What the organizer's and captioner's pages show of an event's captioning.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// Public state.
    pub event: crate::signal::EventInfo,
    /// Assigned captioners.
    pub captioners: Vec<String>,
    /// The recognizer's terms now.
    pub hotwords: Vec<String>,
    /// Replacement rules.
    pub rules: Vec<crate::briefing::review::Rule>,
    /// Figures of the captioners' work.
    pub stats: crate::briefing::hub::ReviewStats,
}

fn overview(ev: &Briefing) -> Overview {
    let (hotwords, rules) = ev.learnt();
    Overview {
        event: ev.info(),
        captioners: ev.captioners(),
        hotwords,
        rules,
        stats: ev.hub.stats(),
    }
}

/// `GET /api/events/{id}/captioning`: captioners, terms, rules and figures.
pub async fn show(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ev = find(&app, &id)?;
    allowed(&app, &headers, &ev, Duty::Manage).await?;
    Ok(Json(overview(&ev)).into_response())
}

/// `GET /api/captioner/events`: the events the signed-in captioner is assigned to.
pub async fn mine(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let u = require(&app, &headers, &[AccountRole::Captioner]).await?;
    let list: Vec<crate::signal::EventInfo> = app
        .briefings
        .list()
        .into_iter()
        .filter(|e| e.is_captioner(&u.username))
        .map(|e| e.info())
        .collect();
    Ok(Json(list).into_response())
}
