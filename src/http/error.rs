//! Refusals of HTTP requests: a status and, as JSON, a code and a sentence saying why.

use axum::http::{header, HeaderValue, StatusCode};

use axum::response::{IntoResponse, Response};

/// A refused request: status, a sentence saying why, and when to try again (429). No 401
/// asks for HTTP Basic: a browser would cache the credentials and send them with another
/// site's forms (scripts send Basic without being asked).
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) why: String,
    pub(crate) retry_after: Option<u64>,
    /// A `WWW-Authenticate` to send (only Bearer, for WHIP clients).
    pub(crate) challenge: Option<&'static str>,
}

pub fn problem(status: StatusCode, why: impl Into<String>) -> ApiError {
    ApiError {
        status,
        why: why.into(),
        retry_after: None,
        challenge: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // `{"error": "<reason phrase, snake_case>", "message": "<why, for people>"}`
        let code = self
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
            .replace([' ', '-'], "_");
        let body = serde_json::json!({ "error": code, "message": self.why });
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(c) = self.challenge {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// A database failure: logged, and a sentence for the client that leaks nothing.
pub fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "database request failed");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the database is unavailable",
    )
}

/// A store refusal: the caller's mistake (400 with its reason) or a failure (500).
pub fn store_error(e: crate::store::StoreError) -> ApiError {
    match e {
        crate::store::StoreError::Invalid(why) => problem(StatusCode::BAD_REQUEST, why),
        other => internal(other),
    }
}
