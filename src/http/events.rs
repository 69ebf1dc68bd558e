//! HTTP face of press-briefing events: the organizer's API (HTTP Basic), public state, the
//! caption stream (Server-Sent Events), transcript downloads, and WHIP ingest (RFC 9725).

use super::auth::{bearer, require};
use super::error::{problem, ApiError};
use super::guard::{client_addr, too_many};
use super::AppState;
use crate::admission::{Pass, Resource, Who};
use crate::briefing::captioning::Desk;
use crate::briefing::hub::{sse_frame, HubItem};
use crate::briefing::{Briefing, BriefingError};
use crate::captions::format;
use crate::signal::{CaptionView, EventInfo, NewEvent};
use crate::store::{AccountRole, User};
use crate::switchboard::WhipError;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// The signed-in organizer (or admin), by session cookie or HTTP Basic.
async fn organizer(app: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    require(app, headers, &[AccountRole::Organizer, AccountRole::Admin]).await
}

fn find(app: &AppState, id: &str) -> Result<Arc<Briefing>, ApiError> {
    app.briefings
        .get(id)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, "no such event"))
}

/// `POST /api/events`: an organizer creates an event and gets its links.
pub async fn create(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = organizer(&app, &headers).await?.username;
    let new: NewEvent = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable event: {e}")))?;
    match app.switchboard.create_event(new, &who).await {
        Ok(created) => Ok((StatusCode::CREATED, Json(created)).into_response()),
        Err(BriefingError::Invalid(why)) => Err(problem(StatusCode::BAD_REQUEST, why)),
        Err(e) => {
            tracing::error!(error = %e, "event not saved");
            Err(problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
    }
}

/// `GET /api/events`: the signed-in organizer's events with their links, newest first.
pub async fn list(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let who = organizer(&app, &headers).await?;
    let mine: Vec<_> = app
        .briefings
        .list()
        .into_iter()
        .filter(|e| who.role == AccountRole::Admin || e.organizer() == who.username)
        .map(|e| e.created())
        .collect();
    Ok(Json(mine).into_response())
}

/// `GET /api/events/{id}`: public state.
pub async fn info(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<EventInfo>, ApiError> {
    Ok(Json(find(&app, &id)?.info()))
}

/// `POST /api/events/{id}/end`: the organizer who created it ends it.
pub async fn end(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let who = organizer(&app, &headers).await?;
    let ev = find(&app, &id)?;
    if who.role != AccountRole::Admin && ev.organizer() != who.username {
        return Err(problem(
            StatusCode::FORBIDDEN,
            "only the organizer who created the event may end it",
        ));
    }
    app.switchboard
        .end_event(&ev)
        .await
        .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(ev.info()).into_response())
}

#[derive(Deserialize)]
pub struct TranscriptQuery {
    /// `checked` leaves out lines still held for the captioner.
    #[serde(default)]
    view: CaptionView,
}

/// `GET /events/{id}/transcript.{vtt,srt,txt,json}`, during and after the event, with the
/// captioners' corrections; the JSON keeps the recognizer's text beside each corrected line
/// (`machine_text`).
pub async fn transcript(
    State(app): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    query: Result<Query<TranscriptQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("unreadable query: {}", e.body_text()),
        )
    })?;
    let ev = find(&app, &id)?;
    let (ctype, body) = match file.as_str() {
        "transcript.vtt" => ("text/vtt; charset=utf-8", format::vtt(&ev.hub.cues())),
        "transcript.srt" => (
            "application/x-subrip; charset=utf-8",
            format::srt(&ev.hub.cues()),
        ),
        "transcript.txt" => ("text/plain; charset=utf-8", format::txt(&ev.hub.cues())),
        "transcript.json" => (
            "application/json",
            serde_json::to_string(&ev.hub.replay(q.view, 0, usize::MAX))
                .unwrap_or_else(|_| "[]".into()),
        ),
        _ => return Err(problem(StatusCode::NOT_FOUND, "no such file")),
    };
    let name = format!("attachment; filename=\"{id}-{file}\"");
    let disposition = HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("inline"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ctype)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Since {
    since: Option<u64>,
    /// `live` (default), `checked`, or `desk` (the event's captioners only).
    #[serde(default)]
    view: CaptionView,
}

struct Follow {
    /// This stream's place under admission control, given back when it ends.
    _pass: Pass,
    ev: Arc<Briefing>,
    rx: broadcast::Receiver<Arc<HubItem>>,
    status: watch::Receiver<EventInfo>,
    /// Frames waiting to be sent (a replay), oldest first.
    backlog: std::collections::VecDeque<Bytes>,
    /// Next stable line this subscriber needs.
    next_seq: u64,
    first: bool,
    /// A fixed beat, not a timer re-armed per frame: re-arming cost more than the frame at
    /// 10 000 subscribers.
    keep_alive: tokio::time::Interval,
    view: CaptionView,
    /// A captioner's console counts as present while its stream is open.
    _desk: Option<Desk>,
}

/// A comment line keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A captioner's console is written to this often: a closed console is only noticed on a
/// write, and checked viewers must not wait long for lines nobody will check.
const DESK_KEEP_ALIVE: Duration = Duration::from_secs(2);

fn status_frame(info: &EventInfo) -> Bytes {
    sse_frame(
        "status",
        None,
        &serde_json::to_string(info).unwrap_or_else(|_| "{}".into()),
    )
}

/// Stable lines one subscriber is replayed at most (older ones are in transcript.json), so a
/// reconnecting or lagging subscriber of a long briefing cannot make the server copy all of it.
const MAX_REPLAY: usize = 500;

impl Follow {
    fn replay(&mut self) {
        for l in self.ev.hub.replay(self.view, self.next_seq, MAX_REPLAY) {
            if let Ok(json) = serde_json::to_string(&l) {
                self.backlog
                    .push_back(sse_frame("caption", Some(l.seq), &json));
            }
            self.next_seq = l.seq.saturating_add(1);
        }
    }

    async fn next(&mut self) -> Option<Bytes> {
        if self.first {
            self.first = false;
            return Some(status_frame(&self.ev.info()));
        }
        if let Some(e) = self.backlog.pop_front() {
            return Some(e);
        }
        loop {
            tokio::select! {
                item = self.rx.recv() => match item {
                    Ok(it) => {
                        // A line's first version moves the subscriber on; a revision of a line
                        // it has, and a suggestion to the captioner, do not.
                        if it.stable && it.rev == 0 && !it.draft {
                            if it.seq < self.next_seq {
                                continue; // already sent in the replay
                            }
                            self.next_seq = it.seq.saturating_add(1);
                        }
                        // The same bytes for every subscriber: a reference count, no copy.
                        return Some(it.sse.clone());
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow for the live stream: catch up on what became final.
                        self.replay();
                        if let Some(e) = self.backlog.pop_front() {
                            return Some(e);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                changed = self.status.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    let info = self.status.borrow_and_update().clone();
                    return Some(status_frame(&info));
                }
                _ = self.keep_alive.tick() => return Some(Bytes::from_static(b": keep-alive\n\n")),
            }
        }
    }
}

/// `GET /events/{id}/captions`: the live captions as `text/event-stream`. `caption` events
/// carry a `CaptionLine`; `status` events an `EventInfo`. `?since=N` or `Last-Event-ID` first
/// replays the stable lines from number N (or after the given id).
pub async fn captions(
    State(app): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Since>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // A bad query gets the JSON refusal every other refusal gets.
    let Query(q) = query.map_err(|e| {
        problem(
            StatusCode::BAD_REQUEST,
            format!("unreadable query: {}", e.body_text()),
        )
    })?;
    let ev = find(&app, &id)?;
    let last_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .and_then(|l| l.checked_add(1))
                .ok_or_else(|| {
                    problem(
                        StatusCode::BAD_REQUEST,
                        "Last-Event-ID must be a caption line number",
                    )
                })?,
        ),
    };
    let since = last_id.or(q.since);
    let desk = if q.view == CaptionView::Desk {
        super::captioning::allowed(&app, &headers, &ev, super::captioning::Duty::Caption).await?;
        Some(ev.open_desk())
    } else {
        None
    };
    let pass = app
        .switchboard
        .admission()
        .admit(client_addr(&headers), Resource::Sse, Who::Anonymous)
        .map_err(too_many)?;
    let mut follow = Follow {
        _pass: pass,
        rx: ev.hub.subscribe(q.view),
        view: q.view,
        _desk: desk,
        status: ev.watch(),
        ev,
        backlog: Default::default(),
        next_seq: 0,
        first: true,
        keep_alive: {
            let every = if q.view == CaptionView::Desk {
                DESK_KEEP_ALIVE
            } else {
                KEEP_ALIVE
            };
            let mut iv = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            iv
        },
    };
    // Without `since`, a subscriber starts with what is said from now on (a page loads the
    // history from transcript.json first).
    if let Some(n) = since {
        follow.next_seq = n;
        follow.replay();
    }
    let stream = futures::stream::unfold(follow, |mut f| async move {
        f.next().await.map(|b| (Ok::<_, Infallible>(b), f))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// `OPTIONS /whip/{id}`: what a WHIP client may send.
pub async fn whip_options() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ALLOW, "OPTIONS, POST"),
            (header::ACCEPT, "application/sdp"),
        ],
    )
        .into_response()
}

/// `POST /whip/{id}`: an encoder's SDP offer with the broadcaster token as bearer token;
/// answers `201 Created` with our SDP and the session's resource URL.
pub async fn whip_post(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let offer = sdp_body(&headers, &body)?;
    let pass = app
        .switchboard
        .admission()
        .admit(client_addr(&headers), Resource::Whip, Who::Anonymous)
        .map_err(too_many)?;
    match app
        .switchboard
        .whip_publish(&id, bearer(&headers), offer, pass)
        .await
    {
        Ok((resource, answer)) => Ok(created_sdp(format!("/whip/{id}/{resource}"), answer)),
        Err(e) => Err(whip_problem(e)),
    }
}

/// The SDP offer in a WHIP/WHEP request body.
fn sdp_body(headers: &HeaderMap, body: &Bytes) -> Result<String, ApiError> {
    let sdp_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/sdp"));
    if !sdp_type {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an offer is sent as application/sdp",
        ));
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| problem(StatusCode::BAD_REQUEST, "the offer is not UTF-8 text"))
}

/// `201 Created` with an SDP answer and the session's resource URL.
fn created_sdp(location: String, answer: String) -> Response {
    let mut res = (StatusCode::CREATED, answer).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    res
}

fn whip_problem(e: WhipError) -> ApiError {
    let status = match &e {
        WhipError::NoSuchEvent => StatusCode::NOT_FOUND,
        WhipError::Unauthorized => StatusCode::UNAUTHORIZED,
        WhipError::BadOffer(_) => StatusCode::BAD_REQUEST,
        WhipError::NotLive => StatusCode::CONFLICT,
        WhipError::Media(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError {
        challenge: (status == StatusCode::UNAUTHORIZED)
            .then_some("Bearer realm=\"signrelay whip\""),
        ..problem(status, e.to_string())
    }
}

/// `DELETE /whip/{id}/{session}`: the encoder stops publishing.
pub async fn whip_delete(
    State(app): State<AppState>,
    Path((id, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if app.switchboard.whip_end(&id, &resource, bearer(&headers)) {
        StatusCode::OK.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "no such WHIP session for this token").into_response()
    }
}

/// `PATCH /whip/{id}/{session}`: trickle ICE is not supported; the answer has every candidate.
pub async fn whip_patch() -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "trickle ICE is not supported; the answer carries every candidate",
    )
    .into_response()
}

/// `POST /whep/{id}`: a player's SDP offer (recvonly audio and video) for the broadcaster;
/// answers `201 Created` with our SDP and the session's resource URL. Viewing is public.
pub async fn whep_post(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let offer = sdp_body(&headers, &body)?;
    let pass = app
        .switchboard
        .admission()
        .admit(client_addr(&headers), Resource::Whep, Who::Anonymous)
        .map_err(too_many)?;
    match app.switchboard.whep_play(&id, offer, pass).await {
        Ok((resource, answer)) => Ok(created_sdp(format!("/whep/{id}/{resource}"), answer)),
        Err(e) => Err(whip_problem(e)),
    }
}

/// `DELETE /whep/{id}/{session}`: the player stops.
pub async fn whep_delete(
    State(app): State<AppState>,
    Path((id, resource)): Path<(String, String)>,
) -> Response {
    if app.switchboard.whep_end(&id, &resource) {
        StatusCode::OK.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "no such WHEP session").into_response()
    }
}
