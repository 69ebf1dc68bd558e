//! Admission control as the switchboard applies it: calls counted by the call rules, capped
//! per client address.

use super::{lock, refuse, RequestError, Switchboard};
use crate::admission::{Resource, Who};
use crate::signal::{ErrorCode, SessionId};
use std::net::IpAddr;

impl Switchboard {
    /// The client address of a session.
    pub(super) fn addr(&self, session: SessionId) -> Option<IpAddr> {
        lock(&self.sessions).get(&session).map(|s| s.addr)
    }

    /// The sessions connected from an address.
    pub(super) fn sessions_from(&self, addr: IpAddr) -> Vec<SessionId> {
        lock(&self.sessions)
            .iter()
            .filter(|(_, s)| s.addr == addr)
            .map(|(id, _)| *id)
            .collect()
    }

    /// May this session's address open another call (a captioned one: `captioned`)? The
    /// call rules count the calls; admission sets the caps.
    pub(super) fn admit_call(
        &self,
        session: SessionId,
        who: Who,
        captioned: bool,
    ) -> Result<(), RequestError> {
        let Some(addr) = self.addr(session) else {
            return Ok(());
        };
        let neighbours = self.sessions_from(addr);
        let ((mine, mine_direct), total, direct) = {
            let relay = lock(&self.relay);
            (
                relay.calls_by(&neighbours),
                relay.active_calls(),
                relay.direct_calls(),
            )
        };
        self.gate
            .admit_counted(Resource::Call, who, mine, total)
            .and_then(|()| {
                if captioned {
                    self.gate
                        .admit_counted(Resource::CaptionedCall, who, mine_direct, direct)
                } else {
                    Ok(())
                }
            })
            .map_err(|r| refuse(ErrorCode::RateLimited, r.message()))
    }
}
