//! The web pages, compiled into the binary so `signrelay serve` needs no other files.

use axum::extract::Path;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

macro_rules! web {
    ($p:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $p))
    };
}

/// Embedded static files by path under `/static/`.
const FILES: &[(&str, &str, &str)] = &[
    (
        "css/app.css",
        "text/css; charset=utf-8",
        web!("css/app.css"),
    ),
    (
        "js/i18n.js",
        "text/javascript; charset=utf-8",
        web!("js/i18n.js"),
    ),
    (
        "js/caption.js",
        "text/javascript; charset=utf-8",
        web!("js/caption.js"),
    ),
    (
        "js/signal.js",
        "text/javascript; charset=utf-8",
        web!("js/signal.js"),
    ),
    (
        "js/media.js",
        "text/javascript; charset=utf-8",
        web!("js/media.js"),
    ),
    (
        "js/incall.js",
        "text/javascript; charset=utf-8",
        web!("js/incall.js"),
    ),
    (
        "js/team.js",
        "text/javascript; charset=utf-8",
        web!("js/team.js"),
    ),
    (
        "js/counter.js",
        "text/javascript; charset=utf-8",
        web!("js/counter.js"),
    ),
    (
        "js/videomail.js",
        "text/javascript; charset=utf-8",
        web!("js/videomail.js"),
    ),
    (
        "js/vm-console.js",
        "text/javascript; charset=utf-8",
        web!("js/vm-console.js"),
    ),
    (
        "js/poster.js",
        "text/javascript; charset=utf-8",
        web!("js/poster.js"),
    ),
    (
        "js/caller.js",
        "text/javascript; charset=utf-8",
        web!("js/caller.js"),
    ),
    (
        "js/interpreter.js",
        "text/javascript; charset=utf-8",
        web!("js/interpreter.js"),
    ),
    (
        "js/guest.js",
        "text/javascript; charset=utf-8",
        web!("js/guest.js"),
    ),
    (
        "js/api.js",
        "text/javascript; charset=utf-8",
        web!("js/api.js"),
    ),
    (
        "js/captions.js",
        "text/javascript; charset=utf-8",
        web!("js/captions.js"),
    ),
    (
        "js/watch.js",
        "text/javascript; charset=utf-8",
        web!("js/watch.js"),
    ),
    (
        "js/stage.js",
        "text/javascript; charset=utf-8",
        web!("js/stage.js"),
    ),
    (
        "js/organize.js",
        "text/javascript; charset=utf-8",
        web!("js/organize.js"),
    ),
    (
        "js/admin.js",
        "text/javascript; charset=utf-8",
        web!("js/admin.js"),
    ),
];

/// One of the three pages, by route.
pub async fn page(uri: Uri) -> Response {
    let html = match uri.path() {
        "/interpreter" => web!("interpreter.html"),
        "/guest" => web!("guest.html"),
        "/stage" => web!("stage.html"),
        "/organize" => web!("organize.html"),
        "/admin" => web!("admin.html"),
        "/caption" => web!("caption.html"),
        "/counter" => web!("counter.html"),
        "/poster" => web!("poster.html"),
        "/videomail" => web!("videomail.html"),
        p if p.starts_with("/events/") => web!("watch.html"),
        _ => web!("index.html"),
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// A script or stylesheet.
pub async fn file(Path(path): Path<String>) -> Response {
    match FILES.iter().find(|(p, _, _)| *p == path) {
        Some((_, ctype, body)) => (
            [
                (header::CONTENT_TYPE, *ctype),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
