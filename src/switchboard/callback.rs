//! Calling a videomail's author back on the switchboard: their message page registers itself,
//! and the call-back rule (`relay/callback.rs`) decides the rest.

use super::{lock, refuse, store_down, RequestError, Switchboard};
use crate::signal::{ErrorCode, ServerMsg, SessionId};
use std::time::Instant;

impl Switchboard {
    /// A caller's message page is open: an interpreter may call them back from it.
    pub(super) async fn watch_videomail(
        &self,
        session: SessionId,
        token: &str,
    ) -> Result<(), RequestError> {
        let Some(desk) = self.videomail.as_ref() else {
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "videomail is not offered here",
            ));
        };
        let unknown = || refuse(ErrorCode::VideomailUnavailable, "no message for this link");
        if token.is_empty() || token.len() > 128 {
            return Err(unknown());
        }
        let m = self
            .store
            .videomail_by_token(token)
            .await
            .map_err(store_down)?
            .filter(|m| m.deleted_at_ms.is_none())
            .ok_or_else(unknown)?;
        lock(&desk.watchers).insert(m.id, session);
        self.deliver(session, ServerMsg::VideomailWatched);
        Ok(())
    }

    /// An interpreter offers the author of message `id` a call back (their page must be open).
    pub(super) async fn call_back(&self, session: SessionId, id: &str) -> Result<(), RequestError> {
        let Some(desk) = self.videomail.as_ref() else {
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "videomail is not offered here",
            ));
        };
        let Some(caller) = lock(&desk.watchers).get(id).copied() else {
            return Err(refuse(
                ErrorCode::InterpreterUnavailable,
                "the caller's page is not open now; answer in text or video instead",
            ));
        };
        let m = self
            .store
            .videomail(id)
            .await
            .map_err(store_down)?
            .ok_or_else(|| refuse(ErrorCode::VideomailUnavailable, "no such message"))?;
        let fx = lock(&self.relay).offer_call_back(
            session,
            caller,
            crate::signal::Purpose::DailyLife,
            &m.sign_language,
            Instant::now(),
        )?;
        tracing::info!(%session, "call back offered");
        self.apply(fx);
        Ok(())
    }

    /// The caller takes or declines a call back.
    pub(super) fn answer_call_back(
        &self,
        session: SessionId,
        accept: bool,
    ) -> Result<(), RequestError> {
        let name = self.name(session);
        let (call, fx) =
            lock(&self.relay).answer_call_back(session, &name, accept, Instant::now())?;
        if let Some(call) = call {
            tracing::info!(%session, %call, "call back connected");
        }
        self.apply(fx);
        Ok(())
    }

    /// A page is gone: it can no longer be called back.
    pub(super) fn unwatch(&self, session: SessionId) {
        if let Some(desk) = self.videomail.as_ref() {
            lock(&desk.watchers).retain(|_, s| *s != session);
        }
    }
}
