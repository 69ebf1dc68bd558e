//! Media messages of pages in calls, and media failures the SFU reports.

use super::{lock, refuse, Switchboard};
use crate::broadcast::EVENT_ROOM_BASE;
use crate::relay::RelayError;
use crate::sfu::SfuEvent;
use crate::signal::{ClientMsg, ErrorCode, Role, ServerMsg, SessionId};
use std::time::Instant;
use webrtc::peer_connection::RTCIceCandidateInit;

impl Switchboard {
    /// Passes a page's media negotiation message to its room.
    pub(super) fn media(
        &self,
        room: u64,
        session: SessionId,
        msg: ClientMsg,
    ) -> Result<(), RelayError> {
        match msg {
            ClientMsg::Answer { sdp } => self.sfu.answer(room, session, sdp),
            ClientMsg::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                if candidate.len() > 1024 {
                    return Err(refuse(ErrorCode::BadCandidate, "candidate too long"));
                }
                self.sfu.candidate(
                    room,
                    session,
                    RTCIceCandidateInit {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                        username_fragment: None,
                        url: None,
                    },
                );
            }
            ClientMsg::RequestKeyframe => self.sfu.request_keyframe(room, session),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn in_room(&self, session: SessionId) -> Result<u64, RelayError> {
        let relay = lock(&self.relay);
        match relay.call_of(session) {
            Some(call) if relay.members(call).contains(&session) => Ok(call),
            _ => Err(refuse(
                ErrorCode::NotInCall,
                "media messages need a connected call",
            )),
        }
    }

    pub(super) fn on_sfu_event(&self, ev: SfuEvent) {
        let SfuEvent::MediaFailed { call, session } = ev;
        if call >= EVENT_ROOM_BASE {
            self.event_media_failed(call, session);
            return;
        }
        let now = Instant::now();
        let fx = {
            let mut relay = lock(&self.relay);
            if relay.call_of(session) != Some(call) {
                return; // stale: the session already left that call
            }
            match self.role(session) {
                // An interpreter without video cannot interpret: someone else takes the call.
                Some(Role::Interpreter) => relay.interpreter_media_failed(session, now),
                // A caller or guest whose video is blocked (UDP filtered, no TURN) keeps the
                // call: text goes on over this socket. A page that vanished entirely is caught
                // by the socket's idle timeout instead.
                _ => {
                    drop(relay);
                    tracing::warn!(session, call, "media failed; the call continues as text");
                    self.deliver(
                        session,
                        ServerMsg::error(
                            None,
                            ErrorCode::MediaFailed,
                            "video could not connect; the text conversation still works",
                        ),
                    );
                    return;
                }
            }
        };
        self.apply(fx);
    }
}
