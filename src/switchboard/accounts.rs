//! Interpreters sign in on the console against the account store.

use super::{refuse, RequestError, Switchboard};
use crate::signal::{ErrorCode, SessionId};
use crate::store::{AccountRole, LoginError};

impl Switchboard {
    pub(super) async fn interpreter_login(
        &self,
        session: SessionId,
        username: &str,
        password: &str,
    ) -> Result<crate::store::User, RequestError> {
        let res = self.store.login(username, password).await.map_err(|e| {
            tracing::error!(error = %e, "sign-in could not be checked");
            refuse(ErrorCode::Internal, "sign-in is unavailable; try again")
        })?;
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
                    format!(
                        "too many wrong passwords: the account is locked for {mins} more minutes"
                    ),
                ))
            }
            Err(LoginError::Disabled) => Err(refuse(
                ErrorCode::AuthFailed,
                "this account is switched off",
            )),
            Err(LoginError::Wrong) => {
                tracing::warn!(%session, %username, "interpreter sign-in failed");
                self.store
                    .audit(username, "login_failed", "interpreter console")
                    .await;
                Err(refuse(ErrorCode::AuthFailed, "wrong user name or password"))
            }
        }
    }
}
