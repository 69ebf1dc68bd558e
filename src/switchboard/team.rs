//! Interpreters' requests to work a call together (transfer, team, switch, notes), passed to
//! the call rules; team notes share the typing budget of chat.

use super::{lock, refuse, RequestError, Switchboard};
use crate::signal::{ClientMsg, ErrorCode, SessionId};
use std::time::Instant;

impl Switchboard {
    /// Carries out one team request of a signed-in interpreter.
    pub(super) fn team_request(
        &self,
        session: SessionId,
        msg: ClientMsg,
        now: Instant,
    ) -> Result<(), RequestError> {
        let fx = {
            let mut relay = lock(&self.relay);
            match msg {
                ClientMsg::Transfer { to } => {
                    let fx = relay.transfer(session, &to, now)?;
                    tracing::info!(%session, "warm transfer asked");
                    fx
                }
                ClientMsg::AskTeam { to } => {
                    let fx = relay.ask_team(session, to.as_deref(), now)?;
                    tracing::info!(%session, "team interpreter asked");
                    fx
                }
                ClientMsg::CancelAsk => relay.cancel_ask(session, now)?,
                ClientMsg::SwitchActive => {
                    let fx = relay.switch_active(session, now)?;
                    tracing::info!(%session, "team switched");
                    fx
                }
                ClientMsg::LeaveTeam => relay.leave_team(session, now)?,
                ClientMsg::TeamNote { text } => {
                    drop(relay);
                    let admitted = lock(&self.sessions)
                        .get_mut(&session)
                        .map(|s| s.text_flow.admit(&text, Instant::now()));
                    if let Some(Err(why)) = admitted {
                        return Err(refuse(ErrorCode::RateLimited, why.message()));
                    }
                    lock(&self.relay).team_note(session, &text)?
                }
                _ => Vec::new(),
            }
        };
        self.apply(fx);
        Ok(())
    }
}
