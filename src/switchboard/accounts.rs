//! Interpreters sign in on the console against the account store, through the sign-in
//! throttle: wrong passwords slow the next try from the same address, not the account.

use super::{lock, refuse, RequestError, Switchboard};
use crate::admission::signin::MAX_USERNAME_CHARS;
use crate::signal::{ErrorCode, SessionId};
use crate::store::{AccountRole, LoginError};
use std::net::IpAddr;
use std::time::Instant;

impl Switchboard {
    /// Checks a sign-in from `addr` against the throttle and the store. Used by the console's
    /// socket and by the HTTP sign-in, so both share one throttle.
    pub async fn check_password(
        &self,
        addr: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<Result<crate::store::User, LoginError>, SignInRefused> {
        if username.chars().count() > MAX_USERNAME_CHARS {
            // Refused before anything is stored, logged or hashed.
            return Ok(Err(LoginError::Wrong));
        }
        if let Err(wait) = lock(&self.throttle).check(addr, username, Instant::now()) {
            return Err(SignInRefused::Throttled(wait.as_secs().max(1)));
        }
        let res = self.store.login(username, password).await.map_err(|e| {
            tracing::error!(error = %e, "sign-in could not be checked");
            SignInRefused::Unavailable
        })?;
        let mut throttle = lock(&self.throttle);
        match &res {
            Ok(_) => throttle.succeeded(addr, username),
            Err(LoginError::Wrong) => throttle.failed(addr, username, Instant::now()),
            Err(_) => {}
        }
        Ok(res)
    }

    pub(super) async fn interpreter_login(
        &self,
        session: SessionId,
        username: &str,
        password: &str,
    ) -> Result<crate::store::User, RequestError> {
        let Some(addr) = self.addr(session) else {
            return Err(refuse(ErrorCode::AuthFailed, "wrong user name or password"));
        };
        let res = match self.check_password(addr, username, password).await {
            Ok(r) => r,
            Err(SignInRefused::Throttled(secs)) => {
                return Err(refuse(
                    ErrorCode::RateLimited,
                    format!("too many wrong passwords from here; try again in {secs} s"),
                ))
            }
            Err(SignInRefused::Unavailable) => {
                return Err(refuse(
                    ErrorCode::Internal,
                    "sign-in is unavailable; try again",
                ))
            }
        };
        match res {
            Ok(u) if u.role == AccountRole::Interpreter => Ok(u),
            Ok(_) => Err(refuse(
                ErrorCode::Forbidden,
                "this account does not take calls",
            )),
            Err(LoginError::Locked(until)) => {
                let mins = ((until - crate::store::now_ms()) / 60_000).max(1);
                Err(refuse(
                    ErrorCode::AuthFailed,
                    format!("this account is locked by an administrator for {mins} more minutes"),
                ))
            }
            Err(LoginError::Disabled) => Err(refuse(
                ErrorCode::AuthFailed,
                "this account is switched off",
            )),
            Err(LoginError::Wrong) => {
                tracing::warn!(session = %session, "interpreter sign-in failed");
                if username.chars().count() <= MAX_USERNAME_CHARS {
                    self.store
                        .audit(username, "login_failed", "interpreter console")
                        .await;
                }
                Err(refuse(ErrorCode::AuthFailed, "wrong user name or password"))
            }
        }
    }
}

/// Why a sign-in was not even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    /// Too many wrong passwords from this address: wait this many seconds.
    Throttled(u64),
    /// The store could not be asked.
    Unavailable,
}
