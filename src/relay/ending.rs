//! How a call, or one person's part in it, ends: hanging up, a page that left, an
//! interpreter handing the caller back to the queue, and an interpreter whose media failed.

use super::{err, CallState, Effect, IState, Relay, RelayError};
use crate::signal::{AskOutcome, CallId, EndReason, ErrorCode, Role, ServerMsg, SessionId};
use std::time::Instant;

impl Relay {
    /// Someone in a call hangs up: the caller or interpreter ends it for all; a guest leaves.
    pub fn hang_up(&mut self, session: SessionId, now: Instant) -> Result<Vec<Effect>, RelayError> {
        let mut fx = Vec::new();
        if let Some(&call) = self.guests.get(&session) {
            self.counter_device_left(session, call);
            self.remove_guest(call, session, &mut fx);
            self.refresh(now, &mut fx);
            return Ok(fx);
        }
        let role = if self.callers.contains_key(&session) {
            Role::Caller
        } else {
            Role::Interpreter
        };
        let Some(call) = self.call_of(session) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        if self.is_support(session).is_some() {
            return err(
                ErrorCode::Forbidden,
                "the active interpreter ends the call; you can leave the team",
            );
        }
        self.end_call(call, EndReason::HangUp, Some(role), now, &mut fx);
        Ok(fx)
    }

    /// A session is gone (page closed, network lost) or its media failed for good.
    /// A dropped interpreter's call goes back to the front of the queue; nothing is lost.
    pub fn leave(&mut self, session: SessionId, reason: EndReason, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.detach_counter(session);
        self.drop_call_backs(session, &mut fx);
        if let Some(&call) = self.guests.get(&session) {
            self.remove_guest(call, session, &mut fx);
        } else if let Some(&call) = self.callers.get(&session) {
            self.end_call(call, reason, Some(Role::Caller), now, &mut fx);
        } else if let Some(state) = self.interpreters.get(&session).map(|i| i.state) {
            match state {
                IState::Ringing(call) => {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.state = CallState::Queued;
                    }
                }
                IState::Asked(call) => self.end_ask(call, AskOutcome::Gone, now, &mut fx),
                IState::InCall(call) if self.is_support(session).is_some() => {
                    self.support_out(call, now, &mut fx)
                }
                IState::InCall(call) => self.active_out(call, session, false, now, &mut fx),
                IState::Available | IState::Away => {}
            }
            self.interpreters.remove(&session);
            self.ring_waiting(now, &mut fx);
            self.refresh(now, &mut fx);
        }
        fx
    }

    /// An interpreter gives their call back. In a team the support takes over; otherwise it
    /// goes to the front of the queue (same sign language, same place as a dropped call) and
    /// the next free interpreter is rung. The one who handed it back is set away so it does
    /// not ring straight back to them.
    pub fn hand_back(
        &mut self,
        session: SessionId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(i) = self.interpreters.get(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters hand calls back");
        };
        let IState::InCall(call) = i.state else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        if self.is_support(session).is_some() {
            return err(
                ErrorCode::Forbidden,
                "you support this call: leave the team instead",
            );
        }
        Ok(self.active_gone(session, call, EndReason::HandedBack, now))
    }

    /// The interpreter's media failed but their console is still here: a support leaves the
    /// team, an active interpreter's call is taken over or requeued; either is set away so
    /// the console is not rung at once.
    pub fn interpreter_media_failed(&mut self, session: SessionId, now: Instant) -> Vec<Effect> {
        let Some(IState::InCall(call)) = self.interpreters.get(&session).map(|i| i.state) else {
            return Vec::new();
        };
        if self.is_support(session).is_some() {
            let mut fx = Vec::new();
            self.support_out(call, now, &mut fx);
            if let Some(i) = self.interpreters.get_mut(&session) {
                i.state = IState::Away;
            }
            self.push_status(session, &mut fx);
            self.refresh(now, &mut fx);
            return fx;
        }
        self.active_gone(session, call, EndReason::MediaFailed, now)
    }

    /// The active interpreter leaves a call while their console stays: set away, the call
    /// taken over or requeued, and the console told why.
    fn active_gone(
        &mut self,
        session: SessionId,
        call: CallId,
        reason: EndReason,
        now: Instant,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.active_out(call, session, reason == EndReason::HandedBack, now, &mut fx);
        if let Some(i) = self.interpreters.get_mut(&session) {
            i.state = IState::Away;
            i.idle_since = now;
        }
        let by = (reason == EndReason::HandedBack).then_some(Role::Interpreter);
        fx.push(Effect::Send(
            session,
            ServerMsg::CallEnded {
                call_id: call,
                reason,
                by,
            },
        ));
        self.push_status(session, &mut fx);
        self.ring_waiting(now, &mut fx);
        self.refresh(now, &mut fx);
        fx
    }

    /// The active interpreter is out of a call: a colleague being asked is no longer, a
    /// team's support takes over, and without one the call goes back to the queue front.
    fn active_out(
        &mut self,
        call: CallId,
        session: SessionId,
        handed_back: bool,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        self.end_ask(call, AskOutcome::Cancelled, now, fx);
        if self.promote_support(call, session, now, fx) {
            return;
        }
        let user = self.interpreters.get(&session).map(|i| i.username.clone());
        if let (Some(c), Some(u)) = (self.calls.get_mut(&call), user) {
            c.close_stretch(&u, now);
        }
        self.requeue_after_drop(call, session, handed_back, fx);
    }
}
