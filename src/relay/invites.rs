//! One-time invitations that bring a hearing party into a call.

use super::{err, Effect, Invite, Relay, RelayError, MAX_GUESTS_PER_CALL};
use crate::signal::{CallId, ErrorCode, Role, SessionId};
use std::time::{Duration, Instant};

impl Relay {
    /// Creates a one-time guest invitation for the caller's or interpreter's current call.
    /// `token` comes from the caller of this function (random, unguessable).
    pub fn create_invite(
        &mut self,
        session: SessionId,
        token: String,
        now: Instant,
    ) -> Result<(CallId, Duration), RelayError> {
        if self.guests.contains_key(&session) {
            return err(ErrorCode::Forbidden, "guests cannot invite others");
        }
        let Some(call_id) = self.call_of(session) else {
            return err(ErrorCode::NotInCall, "invitations need a connected call");
        };
        let open = self.calls.get(&call_id).is_some_and(|c| c.room_open);
        if !open {
            return err(ErrorCode::NotInCall, "invitations need a connected call");
        }
        self.invites.insert(
            token,
            Invite {
                call: call_id,
                expires: now + self.cfg.invite_ttl,
            },
        );
        Ok((call_id, self.cfg.invite_ttl))
    }

    /// A hearing guest joins by invitation. The token is spent whether or not it still works.
    pub fn join_invite(
        &mut self,
        session: SessionId,
        token: &str,
        name: &str,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        let Some(inv) = self.invites.remove(token) else {
            return err(
                ErrorCode::InviteInvalid,
                "this invitation link is unknown or was already used",
            );
        };
        if inv.expires <= now {
            return err(ErrorCode::InviteInvalid, "this invitation link has expired");
        }
        let Some(call) = self.calls.get_mut(&inv.call).filter(|c| c.room_open) else {
            return err(
                ErrorCode::InviteInvalid,
                "the call this link was for has ended",
            );
        };
        if call.guests.len() >= MAX_GUESTS_PER_CALL {
            return err(
                ErrorCode::InviteInvalid,
                "this call has no room for more guests",
            );
        }
        call.guests.push(session);
        self.guests.insert(session, inv.call);
        let fx = vec![Effect::JoinRoom {
            call: inv.call,
            session,
            role: Role::Guest,
            name: name.to_owned(),
        }];
        Ok((inv.call, fx))
    }
}
