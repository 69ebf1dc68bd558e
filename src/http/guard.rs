//! What every request passes first: who the client is (its address, through trusted proxies
//! only) and, for requests that change something, that it comes from our own pages or a
//! script, not from another site's form (CSRF).

use super::error::{problem, ApiError};
use super::AppState;
use crate::admission::Refusal;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where the guard puts the client's address for the handlers; any value a client sends in
/// it is replaced.
const CLIENT_HEADER: &str = "x-signrelay-client";

/// The client address the guard found.
pub fn client_addr(headers: &HeaderMap) -> IpAddr {
    headers
        .get(CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// A refusal by admission control: 429 with `Retry-After`.
pub fn too_many(r: Refusal) -> ApiError {
    let mut e = problem(StatusCode::TOO_MANY_REQUESTS, r.message());
    e.retry_after = Some(r.retry_after_secs);
    e
}

/// The origin our pages are served from: the public URL's, or else the one the browser used.
fn own_origin(app: &AppState, headers: &HeaderMap) -> Option<String> {
    let public = app
        .switchboard
        .config()
        .service
        .public_url
        .trim_end_matches('/');
    if !public.is_empty() {
        // scheme://host[:port], without any path.
        let after_scheme = public.find("://").map_or(0, |i| i + 3);
        let end = public[after_scheme..]
            .find('/')
            .map_or(public.len(), |i| after_scheme + i);
        return Some(public[..end].to_ascii_lowercase());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{}", host.to_ascii_lowercase()))
}

/// The content type a state-changing route takes.
fn wanted_type(path: &str) -> &'static str {
    if path.starts_with("/whip/") || path.starts_with("/whep/") {
        "application/sdp"
    } else {
        "application/json"
    }
}

fn csrf_refusal(req: &Request, app: &AppState) -> Option<ApiError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let ours = own_origin(app, headers);
        let same = ours.as_deref().is_some_and(|o| {
            // With no public URL the scheme is not known: compare what follows it.
            let strip = |s: &str| {
                s.split_once("://")
                    .map_or(s.to_owned(), |(_, r)| r.to_owned())
            };
            origin.eq_ignore_ascii_case(o) || strip(&origin.to_ascii_lowercase()) == strip(o)
        });
        if !same {
            tracing::warn!("cross-site request refused");
            return Some(problem(
                StatusCode::FORBIDDEN,
                "requests that change something must come from this service's own pages",
            ));
        }
    }
    // A form from another site can send only urlencoded, multipart or text/plain bodies: a
    // route that changes something takes its own type (or no body at all).
    let path = req.uri().path();
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let want = wanted_type(path);
        // The trickle PATCH of WHIP/WHEP carries ICE fragments.
        let trickle =
            *req.method() == Method::PATCH && ct.starts_with("application/trickle-ice-sdpfrag");
        if !ct.starts_with(want) && !trickle {
            return Some(problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("this request takes {want}"),
            ));
        }
    }
    None
}

/// The guard itself (an axum middleware).
pub async fn guard(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client = app
        .switchboard
        .config()
        .admission
        .client_addr(peer, forwarded);
    let value =
        HeaderValue::from_str(&client.to_string()).unwrap_or(HeaderValue::from_static("0.0.0.0"));
    req.headers_mut().insert(CLIENT_HEADER, value);
    if let Some(refusal) = csrf_refusal(&req, &app) {
        return refusal.into_response();
    }
    next.run(req).await
}
