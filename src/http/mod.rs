//! The HTTP face: embedded web pages, the signaling WebSocket, health and QR codes.

mod admin;
mod assets;
mod auth;
mod captioning;
mod counters;
mod error;
mod events;
mod guard;
mod videomail;
mod ws;

use crate::briefing::Briefings;
use crate::captions::live::LiveCaptions;
use crate::sfu::Sfu;
use crate::store::Store;
use crate::switchboard::Switchboard;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Longest text a QR code is made for (an invitation URL is far shorter).
const MAX_QR_TEXT: usize = 512;

/// Shared state of every handler: each part of the service is its own handle.
#[derive(Clone)]
pub struct AppState {
    /// Calls and the pages' signaling.
    pub switchboard: Arc<Switchboard>,
    /// Accounts, records and audit log.
    pub store: Store,
    /// Press briefings: their status, captions and transcripts.
    pub briefings: Arc<Briefings>,
    /// The media plane, for its counters.
    pub sfu: Sfu,
    /// Live captions, for their counters (none without a speech model).
    pub captions: Option<LiveCaptions>,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/hours", get(hours))
        .route("/metrics", get(metrics))
        .route("/ws", get(ws::upgrade))
        .route("/qr.svg", get(qr_svg))
        .route("/", get(assets::page))
        .route("/interpreter", get(assets::page))
        .route("/guest", get(assets::page))
        .route("/stage", get(assets::page))
        .route("/organize", get(assets::page))
        .route("/admin", get(assets::page))
        .route("/counter", get(assets::page))
        .route("/poster", get(assets::page))
        .route("/videomail", get(assets::page))
        .route("/api/videomail", get(videomail::list))
        .route("/api/videomail/{id}/video", get(videomail::video))
        .route("/api/videomail/{id}/answer", post(videomail::answer))
        .route("/api/videomail/{id}/close", post(videomail::close))
        .route("/api/my-videomail", get(videomail::mine))
        .route("/api/my-videomail/video", get(videomail::my_video))
        .route(
            "/api/my-videomail/answer-video",
            get(videomail::my_answer_video),
        )
        .route(
            "/api/videomail/{id}/answer-video",
            get(videomail::answer_video),
        )
        .route("/c/{code}", get(assets::page))
        .route("/api/counters/{code}", get(counters::public))
        .route(
            "/api/admin/counters",
            get(counters::list).post(counters::create),
        )
        .route("/api/admin/counters/{code}/revoke", post(counters::revoke))
        .route(
            "/api/admin/counters/{code}/device",
            post(counters::new_device),
        )
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/me", get(auth::me))
        .route(
            "/api/caller-profile",
            get(auth::get_profile)
                .post(auth::save_profile)
                .delete(auth::delete_profile),
        )
        .route("/api/my/calls", get(admin::my_calls))
        .route("/api/admin/live", get(admin::live))
        .route("/api/admin/stats", get(admin::stats))
        .route("/api/admin/calls", get(admin::calls))
        .route("/api/admin/calls.csv", get(admin::calls_csv))
        .route(
            "/api/admin/users",
            get(admin::users).post(admin::create_user),
        )
        .route("/api/admin/users/{username}", post(admin::update_user))
        .route("/api/admin/audit", get(admin::audit))
        .route("/events/{id}", get(assets::page))
        .route("/events/{id}/captions", get(events::captions))
        .route("/events/{id}/{file}", get(events::transcript))
        .route("/api/events", get(events::list).post(events::create))
        .route("/api/events/{id}", get(events::info))
        .route("/api/events/{id}/end", post(events::end))
        .route(
            "/whip/{id}",
            post(events::whip_post).options(events::whip_options),
        )
        .route(
            "/whip/{id}/{session}",
            delete(events::whip_delete).patch(events::whip_patch),
        )
        .route(
            "/whep/{id}",
            post(events::whep_post).options(events::whip_options),
        )
        .route(
            "/whep/{id}/{session}",
            delete(events::whep_delete).patch(events::whip_patch),
        )
        .route("/caption", get(assets::page))
        .route("/api/captioner/events", get(captioning::mine))
        .route(
            "/api/events/{id}/captioning",
            get(captioning::show).post(captioning::settings),
        )
        .route("/api/events/{id}/captions/{seq}", post(captioning::correct))
        .route(
            "/api/events/{id}/captions/{seq}/accept",
            post(captioning::accept),
        )
        .route("/api/events/{id}/typing", post(captioning::typing))
        .route("/api/events/{id}/rules", post(captioning::learn))
        .route("/api/events/{id}/glossary", put(captioning::glossary))
        .route("/api/events/{id}/captioners", put(captioning::assign))
        .route("/static/{*path}", get(assets::file))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
        .layer(axum::middleware::from_fn(security_headers))
}

async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
             connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Open or closed now (`null` for a service that never closes): the caller page asks again
/// when it opens or closes.
async fn hours(State(app): State<AppState>) -> impl IntoResponse {
    Json(app.switchboard.service_hours())
}

async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    let stats = app.sfu.stats();
    Json(serde_json::json!({
        "status": "ok",
        "calls": app.switchboard.active_calls(),
        "rooms": app.sfu.rooms(),
        "peers": stats.peers.load(Ordering::Relaxed),
        "rtp_in": stats.rtp_in.load(Ordering::Relaxed),
        "rtp_out": stats.rtp_out.load(Ordering::Relaxed),
        "rtp_dropped": stats.rtp_dropped.load(Ordering::Relaxed),
    }))
}

/// Prometheus text exposition of the service's gauges and the forwarding counters.
async fn metrics(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = &app.switchboard.config().service.metrics_token;
    if !token.is_empty() {
        let given = auth::bearer(&headers).unwrap_or("");
        if !crate::token::constant_time_eq(given.as_bytes(), token.as_bytes()) {
            return error::problem(StatusCode::UNAUTHORIZED, "metrics need their bearer token")
                .into_response();
        }
    }
    metrics_text(&app).into_response()
}

/// The exposition itself.
fn metrics_text(app: &AppState) -> impl IntoResponse {
    let ((waiting, ringing, connected), staff, sessions) = app.switchboard.gauges();
    let st = app.sfu.stats();
    let n = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        crate::metrics::family(&mut out, name, kind, help, samples)
    };
    family(
        "signrelay_calls",
        "gauge",
        "Calls by state.",
        &[
            ("{state=\"waiting\"}", waiting as u64),
            ("{state=\"ringing\"}", ringing as u64),
            ("{state=\"connected\"}", connected as u64),
        ],
    );
    family(
        "signrelay_interpreters",
        "gauge",
        "Signed-in interpreters by state.",
        &[
            ("{state=\"available\"}", staff.available as u64),
            ("{state=\"busy\"}", staff.busy as u64),
            ("{state=\"away\"}", staff.away as u64),
        ],
    );
    family(
        "signrelay_sessions",
        "gauge",
        "Open signaling sockets.",
        &[("", sessions as u64)],
    );
    let (serving, on_duty) = app.switchboard.call_captioners();
    family(
        "signrelay_call_captioners",
        "gauge",
        "Captioners on duty for calls, and those serving a call now.",
        &[
            ("{state=\"serving\"}", serving as u64),
            ("{state=\"on_duty\"}", on_duty as u64),
        ],
    );
    family(
        "signrelay_call_caption_desks",
        "gauge",
        "Calls whose captions are numbered for correction now.",
        &[("", app.switchboard.call_caption_desks() as u64)],
    );
    family(
        "signrelay_rooms",
        "gauge",
        "Open media rooms.",
        &[("", app.sfu.rooms() as u64)],
    );
    family(
        "signrelay_peers",
        "gauge",
        "Live peer connections.",
        &[("", n(&st.peers))],
    );
    family(
        "signrelay_rtp_packets_total",
        "counter",
        "RTP packets received from publishers and handed to subscribers.",
        &[
            ("{direction=\"in\"}", n(&st.rtp_in)),
            ("{direction=\"out\"}", n(&st.rtp_out)),
        ],
    );
    family(
        "signrelay_rtp_dropped_total",
        "counter",
        "Packets dropped because a subscriber's queue was full.",
        &[("", n(&st.rtp_dropped))],
    );
    family(
        "signrelay_rtp_write_errors_total",
        "counter",
        "Packets a subscriber's connection refused.",
        &[("", n(&st.rtp_write_errors))],
    );
    family(
        "signrelay_keyframe_requests_total",
        "counter",
        "Keyframe requests sent to publishers.",
        &[("", n(&st.keyframe_requests))],
    );
    if let Some(live) = app.captions.as_ref() {
        let c = live.stats();
        family(
            "signrelay_caption_streams",
            "gauge",
            "Speakers being captioned now.",
            &[("", n(&c.streams))],
        );
        family(
            "signrelay_caption_lines_total",
            "counter",
            "Final caption lines produced.",
            &[("", n(&c.lines))],
        );
        family(
            "signrelay_caption_decodes_skipped_total",
            "counter",
            "Caption decodes skipped because the recognizer was saturated.",
            &[("", n(&c.skipped))],
        );
        family(
            "signrelay_caption_audio_dropped_total",
            "counter",
            "Audio packets the caption tap dropped (its queue was full).",
            &[("", n(&c.tap_dropped))],
        );
        family(
            "signrelay_asr_queue_depth",
            "gauge",
            "Speech decodes waiting or running.",
            &[("", live.queue_depth() as u64)],
        );
        c.lag.render(
            &mut out,
            "signrelay_caption_lag_seconds",
            "Delay from the end of a final line's audio to its caption going out.",
        );
    }
    {
        let (open, refused) = app.switchboard.admission().with(|a| {
            let mut open = Vec::new();
            let mut refused = Vec::new();
            for r in crate::admission::Resource::ALL {
                open.push((format!("{{resource=\"{}\"}}", r.name()), a.open(r) as u64));
                for (scope, n) in ["address", "rate", "server"].iter().zip(a.refused(r)) {
                    refused.push((
                        format!("{{resource=\"{}\",scope=\"{scope}\"}}", r.name()),
                        n,
                    ));
                }
            }
            (open, refused)
        });
        let open: Vec<(&str, u64)> = open.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        let refused: Vec<(&str, u64)> = refused.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        crate::metrics::family(
            &mut out,
            "signrelay_admission_open",
            "gauge",
            "Held under admission control now (sockets, caption streams, WHIP/WHEP sessions).",
            &open,
        );
        crate::metrics::family(
            &mut out,
            "signrelay_admission_refused_total",
            "counter",
            "Refused by admission control, by what was asked and which limit said no.",
            &refused,
        );
    }
    app.switchboard.answer_wait().render(
        &mut out,
        "signrelay_answer_seconds",
        "Time from placing an interpreted call to its answer.",
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

#[derive(Deserialize)]
struct QrQuery {
    text: String,
}

/// An SVG QR code, so a guest can open an invitation on a phone by pointing its camera.
async fn qr_svg(Query(q): Query<QrQuery>) -> Response {
    if q.text.is_empty() || q.text.len() > MAX_QR_TEXT {
        return (
            StatusCode::BAD_REQUEST,
            format!("text must be 1 to {MAX_QR_TEXT} bytes"),
        )
            .into_response();
    }
    match qrcode::QrCode::new(q.text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .build();
            ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("cannot encode: {e}")).into_response(),
    }
}
