//! Who is asking: a session cookie (HttpOnly, SameSite=Strict) from `POST /api/login`, or HTTP
//! Basic for scripts. Both go through the same password check and sign-in throttle.

use super::error::{internal, problem, store_error, ApiError};
use super::guard::client_addr;
use super::AppState;
use crate::admission::signin::MAX_USERNAME_CHARS;
use crate::store::{AccountRole, LoginError, User};
use crate::switchboard::SignInRefused;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;

/// Name of the session cookie.
pub const COOKIE: &str = "signrelay_session";

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .ok()?,
    )
    .ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn login_refused(e: LoginError) -> ApiError {
    match e {
        LoginError::Wrong => problem(StatusCode::UNAUTHORIZED, "wrong user name or password"),
        LoginError::Disabled => problem(StatusCode::FORBIDDEN, "this account is switched off"),
        LoginError::Locked(until) => {
            let mins = ((until - crate::store::now_ms()) / 60_000).max(1);
            problem(
                StatusCode::LOCKED,
                format!("locked by an administrator for {mins} more minutes"),
            )
        }
    }
}

/// The signed-in account, if any. A forged or expired cookie is simply no account; wrong
/// Basic credentials are a refusal and slow the next try from that address.
pub async fn current_user(app: &AppState, headers: &HeaderMap) -> Result<Option<User>, ApiError> {
    let store = &app.store;
    if let Some(token) = cookie_token(headers) {
        if let Some(u) = store.session_user(&token).await.map_err(internal)? {
            return Ok(Some(u));
        }
    }
    if let Some((user, pass)) = basic(headers) {
        return match checked_login(app, headers, &user, &pass).await? {
            Ok(u) => Ok(Some(u)),
            Err(e) => {
                audit_failure(app, &user, "http basic").await;
                Err(login_refused(e))
            }
        };
    }
    Ok(None)
}

/// A password check through the sign-in throttle of the client's address.
async fn checked_login(
    app: &AppState,
    headers: &HeaderMap,
    user: &str,
    pass: &str,
) -> Result<Result<User, LoginError>, ApiError> {
    match app
        .switchboard
        .check_password(client_addr(headers), user, pass)
        .await
    {
        Ok(r) => Ok(r),
        Err(SignInRefused::Throttled(secs)) => {
            let mut e = problem(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many wrong passwords from here; try again in {secs} s"),
            );
            e.retry_after = Some(secs);
            Err(e)
        }
        Err(SignInRefused::Unavailable) => Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "sign-in is unavailable; try again",
        )),
    }
}

/// Keeps a failed sign-in in the audit log, if the name is short enough to be a name.
async fn audit_failure(app: &AppState, user: &str, via: &str) {
    if user.chars().count() <= MAX_USERNAME_CHARS {
        app.store.audit(user, "login_failed", via).await;
    }
}

/// The signed-in account if it has one of `roles`: 401 without an account, 403 with another.
pub async fn require(
    app: &AppState,
    headers: &HeaderMap,
    roles: &[AccountRole],
) -> Result<User, ApiError> {
    match current_user(app, headers).await? {
        None => Err(problem(StatusCode::UNAUTHORIZED, "sign in first")),
        Some(u) if roles.contains(&u.role) => Ok(u),
        Some(u) => {
            tracing::warn!(user = %u.username, role = ?u.role, "request beyond the account's role");
            Err(problem(
                StatusCode::FORBIDDEN,
                "your account's role may not do this",
            ))
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// A console's ticket from its socket's sign-in (instead of the password again).
    #[serde(default)]
    ticket: Option<String>,
}

fn set_cookie(app: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if app
        .switchboard
        .config()
        .service
        .public_url
        .starts_with("https://")
    {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static("signrelay_session=; Path=/"))
}

/// `POST /api/login` `{username, password}`: starts a session (cookie) and returns the account.
pub async fn login(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: LoginBody = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable sign-in: {e}")))?;
    let store = &app.store;
    let user = if let Some(ticket) = &b.ticket {
        let Some(name) = app.switchboard.redeem_ticket(ticket) else {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "this sign-in ticket is not valid (used, or older than a minute)",
            ));
        };
        match store.user(&name).await.map_err(internal)? {
            Some(u) if !u.disabled => u,
            _ => return Err(login_refused(LoginError::Disabled)),
        }
    } else {
        match checked_login(&app, &headers, &b.username, &b.password).await? {
            Ok(u) => u,
            Err(e) => {
                audit_failure(&app, &b.username, "web").await;
                return Err(login_refused(e));
            }
        }
    };
    let token = store.create_session(&user).await.map_err(internal)?;
    store.audit(&user.username, "login", "web").await;
    let mut res = Json(&user).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&app, &token, crate::store::users::SESSION_MS / 1000),
    );
    Ok(res)
}

/// `POST /api/logout`: ends the session.
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie_token(&headers) {
        if let Err(e) = app.store.delete_session(&token).await {
            tracing::error!(error = %e, "session not deleted");
        }
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&app, "", 0));
    res
}

/// `GET /api/me`: the signed-in account.
pub async fn me(State(app): State<AppState>, headers: HeaderMap) -> Result<Json<User>, ApiError> {
    match current_user(&app, &headers).await? {
        Some(u) => Ok(Json(u)),
        None => Err(problem(StatusCode::UNAUTHORIZED, "not signed in")),
    }
}

/// The token of an `Authorization: Bearer` header.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A caller profile is reached with its own token only.
fn profile_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    bearer(headers).ok_or_else(|| problem(StatusCode::UNAUTHORIZED, "no profile token"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    consent: bool,
    #[serde(default)]
    name: String,
    #[serde(default)]
    preferred_interpreter_gender: String,
    #[serde(default)]
    sign_variety: String,
}

/// `POST /api/caller-profile {consent: true, name, preferred_interpreter_gender, sign_variety}`:
/// a caller asks to be remembered. Without `consent: true` nothing is stored. Returns the token
/// the caller's browser keeps (send it back as `Authorization: Bearer` to read, replace or
/// delete the profile).
pub async fn save_profile(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let b: ProfileBody = serde_json::from_slice(&body)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, format!("unreadable profile: {e}")))?;
    if !b.consent {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "a profile is kept only with consent (consent: true)",
        ));
    }
    let token = app
        .store
        .save_profile(
            bearer(&headers),
            &crate::store::CallerProfile {
                name: b.name,
                preferred_interpreter_gender: b.preferred_interpreter_gender,
                sign_variety: b.sign_variety,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(Json(serde_json::json!({ "token": token })).into_response())
}

/// `GET /api/caller-profile` with the caller's bearer token.
pub async fn get_profile(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = profile_token(&headers)?;
    match app.store.profile(token).await.map_err(internal)? {
        Some(p) => Ok(Json(p).into_response()),
        None => Err(problem(StatusCode::NOT_FOUND, "no such profile")),
    }
}

/// `DELETE /api/caller-profile`: consent withdrawn, the profile is gone.
pub async fn delete_profile(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = profile_token(&headers)?;
    if app.store.delete_profile(token).await.map_err(internal)? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(problem(StatusCode::NOT_FOUND, "no such profile"))
    }
}
