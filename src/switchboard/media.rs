//! What the media plane reports, turned into page messages, caption streams and the rules'
//! inputs; and pages' media negotiation messages passed to their room.

use super::briefings::BriefingCaptions;
use super::calls::CallCaptions;
use super::{lock, peer_of, refuse, session_of, RequestError, Switchboard};
use crate::captions::live::{CaptionStream, Speaker};
use crate::sfu::text_flow::TextRefusal;
use crate::sfu::{Failure, MediaTap, PeerId, Refusal, RoomId, SfuHooks, SfuOutput};
use crate::signal::{CallId, ClientMsg, ErrorCode, Role, ServerMsg, SessionId};
use rtc::rtp;
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCIceCandidateInit;

/// Longest ICE candidate line a page may send.
const MAX_CANDIDATE_BYTES: usize = 1024;

/// A media failure, handled off the room's task (it takes the call rules' lock).
pub(super) type Failed = (RoomId, PeerId, Failure);

/// The switchboard's side of the media plane.
pub(super) struct Hooks {
    sb: Weak<Switchboard>,
    failed: mpsc::UnboundedSender<Failed>,
}

impl Hooks {
    pub(super) fn new(sb: Weak<Switchboard>, failed: mpsc::UnboundedSender<Failed>) -> Self {
        Self { sb, failed }
    }
}

impl SfuHooks for Hooks {
    fn emit(&self, out: SfuOutput) {
        let Some(sb) = self.sb.upgrade() else {
            return;
        };
        match out {
            SfuOutput::Offer { peer, sdp, .. } => {
                sb.deliver(session_of(peer), ServerMsg::Offer { sdp })
            }
            SfuOutput::Refused { peer, why, .. } => {
                let (code, message) = match why {
                    Refusal::NoOfferOut => (
                        ErrorCode::BadSdp,
                        "no offer is waiting for an answer".to_owned(),
                    ),
                    Refusal::BadAnswer(e) => (
                        ErrorCode::BadSdp,
                        format!("the SDP answer was refused: {e}"),
                    ),
                    Refusal::BadCandidate(e) => (
                        ErrorCode::BadCandidate,
                        format!("ICE candidate rejected: {e}"),
                    ),
                    Refusal::Text { why, retry_secs } => (
                        ErrorCode::RateLimited,
                        match why {
                            TextRefusal::TooFast => {
                                format!("{} (try again in {retry_secs} s)", why.message())
                            }
                            _ => why.message().to_owned(),
                        },
                    ),
                };
                sb.deliver(session_of(peer), ServerMsg::error(None, code, message));
            }
            SfuOutput::Failed { room, peer, why } => {
                if let Failure::SetUp(e) = &why {
                    sb.deliver(
                        session_of(peer),
                        ServerMsg::error(
                            None,
                            ErrorCode::MediaFailed,
                            format!("the media connection could not be set up: {e}"),
                        ),
                    );
                }
                let _ = self.failed.send((room, peer, why));
            }
        }
    }

    fn video_tap(&self, room: RoomId, peer: PeerId) -> Option<Box<dyn MediaTap>> {
        match room {
            RoomId::Recording(n) => self.sb.upgrade()?.record_tap(n, session_of(peer), true),
            _ => None,
        }
    }

    fn audio_tap(&self, room: RoomId, peer: PeerId) -> Option<Box<dyn MediaTap>> {
        let sb = self.sb.upgrade()?;
        if let RoomId::Recording(n) = room {
            return sb.record_tap(n, session_of(peer), false);
        }
        let live = sb.captions.as_ref()?;
        let stream = match room {
            // Everyone who speaks in a call is captioned, for everyone in it.
            RoomId::Call(call) => {
                let (role, name) = {
                    let sessions = lock(&sb.sessions);
                    let s = sessions.get(&session_of(peer))?;
                    (s.role?, s.name.clone())
                };
                let speaker = Speaker {
                    id: peer.to_string(),
                    role,
                    name,
                };
                let sink = Arc::new(CallCaptions {
                    sb: self.sb.clone(),
                    call: CallId(call),
                });
                live.start(speaker, None, Default::default(), sink)
            }
            RoomId::Recording(_) => return None,
            // At a briefing, the speaker only, into its transcript.
            RoomId::Briefing(n) => {
                let b = sb.briefings.by_room(n)?;
                let name = b.with_core(|c| {
                    c.seat_of(session_of(peer))
                        .filter(|_| c.is_speaker(session_of(peer)))
                        .map(|p| p.name.clone())
                })?;
                let speaker = Speaker {
                    id: peer.to_string(),
                    role: Role::Broadcaster,
                    name,
                };
                let (lang, vocabulary) = (b.lang(), b.vocabulary());
                let sink = Arc::new(BriefingCaptions {
                    sb: self.sb.clone(),
                    briefing: b,
                });
                live.start(speaker, Some(lang), vocabulary, sink)
            }
        };
        Some(Box::new(stream))
    }
}

/// Captions lose audio rather than hold up media: feeding never blocks.
impl MediaTap for CaptionStream {
    fn feed(&self, packet: rtp::Packet) {
        CaptionStream::feed(self, packet);
    }
}

impl Switchboard {
    /// Passes a page's media negotiation message to its room.
    pub(super) fn media(
        &self,
        room: RoomId,
        session: SessionId,
        msg: ClientMsg,
    ) -> Result<(), RequestError> {
        let peer = peer_of(session);
        let sent = match msg {
            ClientMsg::Answer { sdp } => self.sfu.answer(room, peer, sdp),
            ClientMsg::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                if candidate.len() > MAX_CANDIDATE_BYTES {
                    return Err(refuse(ErrorCode::BadCandidate, "candidate too long"));
                }
                self.sfu.candidate(
                    room,
                    peer,
                    RTCIceCandidateInit {
                        candidate,
                        sdp_mid,
                        sdp_mline_index,
                        username_fragment: None,
                        url: None,
                    },
                )
            }
            ClientMsg::RequestKeyframe => self.sfu.request_keyframe(room, peer),
            _ => Ok(()),
        };
        // The room closes a moment after its call ends; a late message changes nothing.
        if let Err(e) = sent {
            tracing::debug!(%room, error = %e, "media message for a closed room");
        }
        Ok(())
    }

    /// A peer's media could not be set up or was lost.
    pub(super) fn media_failed(&self, room: RoomId, peer: PeerId, why: Failure) {
        match room {
            RoomId::Briefing(n) => self.briefing_media_failed(n, session_of(peer)),
            RoomId::Call(call) => self.call_media_failed(CallId(call), session_of(peer), why),
            // What was recorded before the failure is kept (or the caller told there is none).
            RoomId::Recording(_) => self.stop_videomail(session_of(peer), false),
        }
    }

    fn call_media_failed(&self, call: CallId, session: SessionId, _why: Failure) {
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
                    tracing::warn!(%session, %call, "media failed; the call continues as text");
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
