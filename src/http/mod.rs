//! The HTTP face: embedded web pages, the signaling WebSocket, health and QR codes.

mod assets;
mod ws;

use crate::switchboard::Switchboard;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Longest text a QR code is made for (an invitation URL is far shorter).
const MAX_QR_TEXT: usize = 512;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The service.
    pub switchboard: Arc<Switchboard>,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ws", get(ws::upgrade))
        .route("/qr.svg", get(qr_svg))
        .route("/", get(assets::page))
        .route("/interpreter", get(assets::page))
        .route("/guest", get(assets::page))
        .route("/static/{*path}", get(assets::file))
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

async fn healthz(State(app): State<AppState>) -> impl IntoResponse {
    let stats = app.switchboard.sfu().stats();
    Json(serde_json::json!({
        "status": "ok",
        "calls": app.switchboard.active_calls(),
        "rooms": app.switchboard.sfu().rooms(),
        "peers": stats.peers.load(Ordering::Relaxed),
        "rtp_in": stats.rtp_in.load(Ordering::Relaxed),
        "rtp_out": stats.rtp_out.load(Ordering::Relaxed),
        "rtp_dropped": stats.rtp_dropped.load(Ordering::Relaxed),
    }))
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
