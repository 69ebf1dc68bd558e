//! TURN REST API credentials (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`):
//! each page session gets a user name `expiry:id` and the password HMAC-SHA1(secret, name),
//! which coturn checks with the same secret and refuses once the expiry has passed. Nothing is
//! stored and nobody shares a password; a leaked one stops working on its own.

use crate::sfu::TurnConfig;
use crate::signal::IceServerInfo;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// A credential never lives shorter than this (pages must have time to use it).
pub const MIN_TTL_SECS: u64 = 300;
/// Nor longer than a week: the point is that it expires.
pub const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

/// One session's TURN credential.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnCredential {
    /// `expiry:id`, expiry in Unix seconds.
    pub username: String,
    /// Base64 of HMAC-SHA1(secret, username).
    pub credential: String,
    /// When coturn stops accepting it, Unix seconds.
    pub expires_unix: u64,
}

/// Issues a credential for `who` (an opaque session id, never a person's name: coturn logs
/// user names) valid for the configured time from `now_unix`.
pub fn issue(cfg: &TurnConfig, who: &str, now_unix: u64) -> TurnCredential {
    let expires_unix = now_unix + cfg.ttl_secs;
    let username = format!("{expires_unix}:{who}");
    TurnCredential {
        credential: sign(&cfg.secret, &username),
        username,
        expires_unix,
    }
}

/// Seconds after issue when a page should ask for a new credential: at three quarters of
/// its life, so a page left open all day always holds a valid one for its next call.
pub fn refresh_after_secs(cfg: &TurnConfig) -> u64 {
    cfg.ttl_secs * 3 / 4
}

/// The credential as the browser's `RTCIceServer`.
pub fn ice_server(cfg: &TurnConfig, cred: TurnCredential) -> IceServerInfo {
    IceServerInfo {
        urls: cfg.urls.clone(),
        username: Some(cred.username),
        credential: Some(cred.credential),
    }
}

/// What is wrong with a `[media.turn]` table, if anything.
pub fn problem(cfg: &TurnConfig) -> Option<String> {
    if cfg.secret.trim().is_empty() {
        return Some(
            "media.turn.secret is missing (set it, or SIGNRELAY_TURN_SECRET, to coturn's static-auth-secret)"
                .into(),
        );
    }
    if cfg.urls.is_empty() {
        return Some("media.turn.urls needs at least one turn: or turns: URL".into());
    }
    if let Some(u) = cfg
        .urls
        .iter()
        .find(|u| !(u.starts_with("turn:") || u.starts_with("turns:")))
    {
        return Some(format!(
            "media.turn.urls: {u:?} is not a turn: or turns: URL"
        ));
    }
    if !(MIN_TTL_SECS..=MAX_TTL_SECS).contains(&cfg.ttl_secs) {
        return Some(format!(
            "media.turn.ttl_secs must be between {MIN_TTL_SECS} and {MAX_TTL_SECS}"
        ));
    }
    None
}

fn sign(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(secret: &str, ttl_secs: u64) -> TurnConfig {
        TurnConfig {
            urls: vec!["turns:turn.example.org:443?transport=tcp".into()],
            secret: secret.into(),
            ttl_secs,
        }
    }

    #[test]
    fn the_password_is_the_base64_hmac_sha1_of_expiry_and_id() {
        let c = issue(&cfg("north-wind", 43_200), "s42", 1_700_000_000);
        assert_eq!(c.username, "1700043200:s42");
        assert_eq!(c.expires_unix, 1_700_043_200);
        // Computed independently (Python's hmac and base64 modules).
        assert_eq!(c.credential, "2H9VhZOjL9JLLXQ4HU7uzKiIAlQ=");
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = Hmac::<Sha1>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn credentials_differ_by_session_secret_and_time() {
        let a = issue(&cfg("s", 3600), "s1", 1000);
        assert_ne!(a, issue(&cfg("s", 3600), "s2", 1000));
        assert_ne!(a.credential, issue(&cfg("t", 3600), "s1", 1000).credential);
        assert_ne!(a, issue(&cfg("s", 3600), "s1", 1001));
        assert_eq!(refresh_after_secs(&cfg("s", 3600)), 2700);
    }

    #[test]
    fn a_missing_secret_or_bad_url_is_named() {
        assert!(problem(&cfg("", 3600))
            .unwrap()
            .contains("secret is missing"));
        assert!(problem(&cfg("  ", 3600)).is_some());
        assert!(problem(&cfg("x", 10)).unwrap().contains("ttl_secs"));
        let mut c = cfg("x", 3600);
        c.urls = vec!["stun:stun.example.org".into()];
        assert!(problem(&c).unwrap().contains("not a turn"));
        c.urls.clear();
        assert!(problem(&c).is_some());
        assert_eq!(problem(&cfg("x", 3600)), None);
    }
}
