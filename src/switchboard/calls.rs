//! Calls in the switchboard: carrying out the call rules' effects, and the one way to reach
//! everyone in a call (chat, captions and the roster all go through [`Switchboard::send_to_call`]).
//! Who is in a call is the rules' to say; the media room only follows.

use super::records::RecordCmd;
use super::{lock, peer_of, refuse, RequestError, Switchboard};
use crate::captions::live::CaptionSink;
use crate::relay::Effect;
use crate::sfu::{Presence, RoomId};
use crate::signal::{
    CallId, CaptionLine, CaptionStatus, ErrorCode, Participant, ServerMsg, SessionId,
};
use std::sync::Weak;

impl Switchboard {
    /// The connected call a session is in, for what needs one (chat, media messages).
    pub(super) fn connected_call(&self, session: SessionId) -> Result<CallId, RequestError> {
        let relay = lock(&self.relay);
        let call = relay
            .call_of(session)
            .ok_or_else(|| refuse(ErrorCode::NotInCall, "you are not in a call"))?;
        if !relay.members(call).contains(&session) {
            return Err(refuse(ErrorCode::NotInCall, "your call is not connected"));
        }
        Ok(call)
    }

    /// Sends one message to everyone in a call.
    pub(super) fn send_to_call(&self, call: CallId, msg: ServerMsg) {
        self.send_to_call_with(call, |_| msg.clone());
    }

    /// Sends everyone in a call a message made for them.
    fn send_to_call_with(&self, call: CallId, msg: impl Fn(SessionId) -> ServerMsg) {
        let members = lock(&self.relay).members(call);
        for m in members {
            self.deliver(m, msg(m));
        }
    }

    /// Tells everyone in a call who is in it (and its captioner, who listens without being
    /// a party to it).
    pub(super) fn send_roster(&self, call: CallId) {
        let (mut members, support) = {
            let relay = lock(&self.relay);
            (relay.members(call), relay.support_of(call))
        };
        members.sort_unstable();
        let participants: Vec<Participant> = {
            let sessions = lock(&self.sessions);
            members
                .iter()
                .filter_map(|m| {
                    let s = sessions.get(m)?;
                    Some(Participant {
                        id: peer_of(*m).to_string(),
                        role: s.role?,
                        name: s.name.clone(),
                        support: support == Some(*m),
                    })
                })
                .collect()
        };
        let room = |m: SessionId| ServerMsg::Room {
            call_id: call,
            you: peer_of(m).to_string(),
            participants: participants.clone(),
        };
        self.send_to_call_with(call, room);
        let captioner = lock(&self.captioners).captioner_of(call).map(|(s, _)| s);
        if let Some(c) = captioner {
            self.deliver(c, room(c));
        }
        // Someone new in the call (a second interpreter, a guest) learns a captioner listens.
        if self.call_captioner_state(call) != crate::signal::CaptionerState::Off {
            self.run_captioners(vec![crate::relay::captioners::Out::CallState(call)]);
        }
    }

    /// Carries out what the call rules decided.
    pub(super) fn apply(&self, fx: Vec<Effect>) {
        // A call that connects moves two people into its room at once: one roster after both.
        let mut rosters = std::collections::BTreeSet::new();
        for e in fx {
            match e {
                Effect::Send(s, m) => self.deliver(s, m),
                Effect::JoinRoom { call, session, .. } => {
                    let room = RoomId::Call(call.0);
                    self.sfu.open_room(room);
                    if let Err(e) = self.sfu.join(
                        room,
                        peer_of(session),
                        Presence::Publisher { featured: false },
                    ) {
                        tracing::warn!(%call, %session, error = %e, "could not join the media room");
                    }
                    rosters.insert(call);
                }
                Effect::LeaveRoom { call, session } => {
                    self.sfu.leave(RoomId::Call(call.0), peer_of(session));
                    rosters.insert(call);
                }
                Effect::Roster { call } => {
                    rosters.insert(call);
                }
                Effect::CloseRoom { call } => {
                    self.sfu.close(RoomId::Call(call.0));
                    self.captioners_call_ended(call);
                }
                Effect::Placed {
                    call,
                    purpose,
                    sign_language,
                    direct,
                    counter,
                } => {
                    let _ = self.records.send(RecordCmd::Placed {
                        call,
                        at_ms: crate::store::now_ms(),
                        purpose: crate::signal::wire_name(&purpose),
                        sign_language,
                        direct,
                        service_point: counter,
                    });
                }
                Effect::Answered { call, by } => {
                    let _ = self.records.send(RecordCmd::Answered {
                        call,
                        at_ms: crate::store::now_ms(),
                        by,
                    });
                }
                Effect::Record(r) => {
                    if r.answered_by.is_some() && !r.direct {
                        self.answer_wait.observe(r.wait.as_secs_f64());
                    }
                    self.log_record(&r);
                    let _ = self.records.send(RecordCmd::Ended {
                        at_ms: crate::store::now_ms(),
                        rec: r,
                    });
                }
            }
        }
        for call in rosters {
            self.send_roster(call);
        }
    }
}

/// A speaker's captions in a call go to everyone in it and its captioner (no transcript is
/// kept).
pub(super) struct CallCaptions {
    pub(super) sb: Weak<Switchboard>,
    pub(super) call: CallId,
}

impl CaptionSink for CallCaptions {
    fn caption(&self, line: CaptionLine) {
        if let Some(sb) = self.sb.upgrade() {
            sb.call_caption(self.call, line);
        }
    }

    fn status(&self, status: CaptionStatus) {
        if let Some(sb) = self.sb.upgrade() {
            sb.send_to_call(self.call, ServerMsg::CaptionStatus(status));
        }
    }
}
