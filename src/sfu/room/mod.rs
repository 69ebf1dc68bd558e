//! One call's or event's media room: an actor that owns its participants' connections and
//! does every negotiation step in order, so offers, answers and track changes never interleave.

mod forwarding;
mod rtt;
mod whip;

use super::forward::Fanout;
use super::peer::{self, Codec, PeerSpec};
use super::{participant_id, sdp, RoomKind, SfuError, SfuEvent, Shared};
use crate::captions::live::CaptionSink;
use crate::signal::{
    CallId, CaptionLine, CaptionStatus, ErrorCode, Participant, Role, ServerMsg, SessionId,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription,
};
use webrtc::rtp_transceiver::RtpSender;

/// How long the first offer waits for our ICE candidates (host candidates take milliseconds).
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

/// What a room is asked to do.
pub enum RoomCmd {
    /// Add a participant.
    Join {
        session: SessionId,
        role: Role,
        name: String,
        tx: mpsc::Sender<ServerMsg>,
    },
    /// Remove a participant.
    Leave { session: SessionId },
    /// Tear the room down.
    Close,
    /// A page's SDP answer.
    Answer { session: SessionId, sdp: String },
    /// A page's ICE candidate.
    Candidate {
        session: SessionId,
        init: RTCIceCandidateInit,
    },
    /// A page asks for keyframes.
    Keyframe { session: SessionId },
    /// A participant's connection started receiving a track.
    Track {
        session: SessionId,
        track: Arc<dyn TrackRemote>,
    },
    /// A participant's connection changed state.
    PcState {
        session: SessionId,
        state: RTCPeerConnectionState,
    },
    /// Real-time text typed by a participant (already within their text budget).
    Rtt { session: SessionId, text: String },
    /// A participant's text was refused; tell them why.
    RttRefused {
        session: SessionId,
        why: crate::sfu::text_flow::TextRefusal,
        retry_secs: u64,
    },
    /// An encoder's WHIP offer; the answer (or why not) goes back on `reply`.
    Whip {
        session: SessionId,
        name: String,
        offer: String,
        reply: tokio::sync::oneshot::Sender<Result<String, SfuError>>,
    },
    /// A player's WHEP offer for the broadcaster's audio and video.
    Whep {
        session: SessionId,
        offer: String,
        reply: tokio::sync::oneshot::Sender<Result<String, SfuError>>,
    },
    /// A caption update of someone in a call.
    Caption(CaptionLine),
    /// How far behind someone's captions in a call run.
    CaptionStatus(CaptionStatus),
}

/// Passes a call's captions to the room, which shows them to everyone in the call.
struct RoomCaptions(mpsc::UnboundedSender<RoomCmd>);

impl CaptionSink for RoomCaptions {
    fn caption(&self, line: CaptionLine) {
        let _ = self.0.send(RoomCmd::Caption(line));
    }

    fn status(&self, status: CaptionStatus) {
        let _ = self.0.send(RoomCmd::CaptionStatus(status));
    }
}

struct Subscription {
    publisher: SessionId,
    /// What the forwarded codec is called on this subscriber's leg.
    payload_type: Arc<AtomicU8>,
    /// Set once the subscriber answered an offer that carries this track.
    ready: Arc<AtomicBool>,
    fanout: Weak<Fanout>,
    sender: Arc<dyn RtpSender>,
    writer: JoinHandle<()>,
    feedback: JoinHandle<()>,
}

struct Member {
    session: SessionId,
    pid: String,
    role: Role,
    name: String,
    /// Signaling of the page; none for an encoder that came by WHIP.
    tx: Option<mpsc::Sender<ServerMsg>>,
    pc: Arc<dyn PeerConnection>,
    port: u16,
    gathered: watch::Receiver<bool>,
    offered: bool,
    negotiating: bool,
    needs_offer: bool,
    /// Subscriptions announced in the outstanding offer; they start flowing on its answer.
    announced: Vec<Arc<AtomicBool>>,
    published: Vec<Arc<Fanout>>,
    subs: Vec<Subscription>,
    /// Other participants' typing, one ordered writer each.
    rtt_down: HashMap<SessionId, rtt::TextDown>,
    tasks: Vec<JoinHandle<()>>,
}

impl Member {
    fn send(&self, msg: ServerMsg) {
        if let Some(tx) = &self.tx {
            if tx.try_send(msg).is_err() {
                tracing::warn!(participant = %self.pid, "signaling queue full or closed; message dropped");
            }
        }
    }

    /// Publishes media (as opposed to an event's viewer, who only watches).
    fn publishes(&self) -> bool {
        self.role != Role::Viewer
    }

    /// Can receive forwarded media: an encoder publishing by WHIP cannot renegotiate.
    fn receives(&self) -> bool {
        self.tx.is_some()
    }
}

/// The actor.
pub(super) struct Room {
    call: CallId,
    kind: RoomKind,
    shared: Arc<Shared>,
    me: mpsc::UnboundedSender<RoomCmd>,
    members: BTreeMap<SessionId, Member>,
}

impl Room {
    pub(super) fn spawn(
        call: CallId,
        kind: RoomKind,
        shared: Arc<Shared>,
        me: mpsc::UnboundedSender<RoomCmd>,
        mut rx: mpsc::UnboundedReceiver<RoomCmd>,
    ) {
        let mut room = Room {
            call,
            kind,
            shared,
            me,
            members: BTreeMap::new(),
        };
        tokio::spawn(async move {
            tracing::info!(call, "media room open");
            while let Some(cmd) = rx.recv().await {
                if matches!(cmd, RoomCmd::Close) {
                    break;
                }
                room.handle(cmd).await;
            }
            room.shutdown().await;
            tracing::info!(call, "media room closed");
        });
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join {
                session,
                role,
                name,
                tx,
            } => {
                if self.members.contains_key(&session) {
                    return;
                }
                if let Err(e) = self.join(session, role, name, tx.clone()).await {
                    tracing::error!(call = self.call, session, error = %e, "could not add participant");
                    let _ = tx.try_send(ServerMsg::error(
                        None,
                        ErrorCode::MediaFailed,
                        format!("the media connection could not be set up: {e}"),
                    ));
                    let _ = self.shared.events.send(SfuEvent::MediaFailed {
                        call: self.call,
                        session,
                    });
                }
            }
            RoomCmd::Leave { session } => self.leave(session).await,
            RoomCmd::Close => {}
            RoomCmd::Answer { session, sdp } => self.answer(session, sdp).await,
            RoomCmd::Candidate { session, init } => {
                let Some(m) = self.members.get(&session) else {
                    return;
                };
                if let Err(e) = m.pc.add_ice_candidate(init).await {
                    m.send(ServerMsg::error(
                        None,
                        ErrorCode::BadCandidate,
                        format!("ICE candidate rejected: {e}"),
                    ));
                }
            }
            RoomCmd::Keyframe { session } => {
                if let Some(m) = self.members.get(&session) {
                    for s in &m.subs {
                        if let Some(f) = s.fanout.upgrade() {
                            f.request_keyframe();
                        }
                    }
                }
            }
            RoomCmd::Track { session, track } => self.publish(session, track).await,
            RoomCmd::PcState { session, state } => self.pc_state(session, state),
            RoomCmd::Rtt { session, text } => self.relay_rtt(session, text),
            RoomCmd::RttRefused {
                session,
                why,
                retry_secs,
            } => self.refuse_rtt(session, why, retry_secs),
            RoomCmd::Whip {
                session,
                name,
                offer,
                reply,
            } => {
                let res = self.whip(session, name, offer).await;
                let _ = reply.send(res);
            }
            RoomCmd::Whep {
                session,
                offer,
                reply,
            } => {
                let res = self.whep(session, offer).await;
                let _ = reply.send(res);
            }
            RoomCmd::Caption(line) => {
                for m in self.members.values() {
                    m.send(ServerMsg::Caption(line.clone()));
                }
            }
            RoomCmd::CaptionStatus(status) => {
                for m in self.members.values() {
                    m.send(ServerMsg::CaptionStatus(status.clone()));
                }
            }
        }
    }

    fn is_call(&self) -> bool {
        matches!(self.kind, RoomKind::Call)
    }

    async fn join(
        &mut self,
        session: SessionId,
        role: Role,
        name: String,
        tx: mpsc::Sender<ServerMsg>,
    ) -> Result<(), SfuError> {
        let mut member = self.new_member(session, role, name, Some(tx)).await?;
        if let Err(e) = self.set_up(&mut member).await {
            // Nothing of a half-built participant may linger: its port and connection go.
            self.close_member(member).await;
            return Err(e);
        }
        let viewer = !member.publishes();
        self.members.insert(session, member);
        // Thousands may watch an event: a viewer coming or going changes no one else's roster.
        self.send_roster(viewer.then_some(session));
        self.negotiate(session).await;
        Ok(())
    }

    async fn set_up(&mut self, member: &mut Member) -> Result<(), SfuError> {
        if member.publishes() {
            self.add_own_media(member).await?;
        }
        if self.is_call() {
            self.connect_text(member).await?;
        }
        let publishers: Vec<Arc<Fanout>> = self
            .members
            .values()
            .flat_map(|o| o.published.iter().cloned())
            .collect();
        for f in publishers {
            self.subscribe(member, member.session, &f).await?;
        }
        Ok(())
    }

    /// The page's own camera and microphone land on these first two m-lines.
    async fn add_own_media(&self, member: &mut Member) -> Result<(), SfuError> {
        let recv_only = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                ..Default::default()
            })
        };
        // Pages publish Opus and VP8, which every browser encodes.
        for codec in [Codec::Opus, Codec::Vp8] {
            let t = member
                .pc
                .add_transceiver_from_kind(codec.kind(), recv_only())
                .await?;
            t.set_codec_preferences(vec![codec.params()]).await?;
        }
        Ok(())
    }

    /// A participant with a connection of its own, counted among the live peers until closed.
    /// A page (`tx` set) is sent offers; an encoder or player came with its own offer.
    async fn new_member(
        &self,
        session: SessionId,
        role: Role,
        name: String,
        tx: Option<mpsc::Sender<ServerMsg>>,
    ) -> Result<Member, SfuError> {
        let (built, port) = self.build_peer(session).await?;
        self.shared.stats.peers.fetch_add(1, Ordering::Relaxed);
        let answered = tx.is_none();
        Ok(Member {
            session,
            pid: participant_id(session),
            role,
            name,
            tx,
            pc: built.pc,
            port,
            gathered: built.gathered,
            offered: answered,
            negotiating: false,
            needs_offer: !answered,
            announced: Vec::new(),
            published: Vec::new(),
            subs: Vec::new(),
            rtt_down: HashMap::new(),
            tasks: Vec::new(),
        })
    }

    async fn build_peer(&self, session: SessionId) -> Result<(peer::BuiltPeer, u16), SfuError> {
        let mut last = SfuError::NoPorts;
        // A port another program holds makes the bind fail: move on to the next few.
        for _ in 0..4 {
            let port = self.shared.ports.acquire().ok_or(SfuError::NoPorts)?;
            let spec = PeerSpec {
                media: &self.shared.media,
                port,
                room: self.me.clone(),
                session,
            };
            match peer::build(spec).await {
                Ok(b) => return Ok((b, port)),
                Err(e) => {
                    tracing::warn!(port, error = %e, "media port unusable");
                    self.shared.ports.release(port);
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Sends an offer if one is needed and none is outstanding.
    async fn negotiate(&mut self, session: SessionId) {
        let Some(m) = self.members.get_mut(&session) else {
            return;
        };
        // An encoder or player that came by WHIP/WHEP has no signaling to renegotiate over.
        if m.tx.is_none() {
            return;
        }
        // A viewer with nothing to receive yet would get an offer without a single m-line,
        // which sets up no transport: its first offer waits for the first track.
        if m.negotiating || !m.needs_offer || (!m.offered && !m.publishes() && m.subs.is_empty()) {
            return;
        }
        let offer = match m.pc.create_offer(None).await {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "create_offer failed");
                return;
            }
        };
        if let Err(e) = m.pc.set_local_description(offer).await {
            tracing::error!(error = %e, "set_local_description failed");
            return;
        }
        if !m.offered {
            let mut g = m.gathered.clone();
            let _ = tokio::time::timeout(GATHER_TIMEOUT, g.wait_for(|done| *done)).await;
            m.offered = true;
        }
        let Some(local) = m.pc.local_description().await else {
            return;
        };
        let text = match self.shared.media.public_ip {
            Some(ip) => sdp::rewrite_candidates(&local.sdp, ip),
            None => local.sdp,
        };
        m.negotiating = true;
        m.needs_offer = false;
        m.announced = m.subs.iter().map(|s| s.ready.clone()).collect();
        m.send(ServerMsg::Offer { sdp: text });
    }

    async fn answer(&mut self, session: SessionId, text: String) {
        let Some(m) = self.members.get_mut(&session) else {
            return;
        };
        if !m.negotiating {
            m.send(ServerMsg::error(
                None,
                ErrorCode::BadSdp,
                "no offer is waiting for an answer",
            ));
            return;
        }
        let applied = match RTCSessionDescription::answer(text) {
            Ok(desc) => m.pc.set_remote_description(desc).await,
            Err(e) => Err(e),
        };
        if let Err(e) = applied {
            // The offer stays outstanding: the page may answer again.
            m.send(ServerMsg::error(
                None,
                ErrorCode::BadSdp,
                format!("the SDP answer was refused: {e}"),
            ));
            return;
        }
        m.negotiating = false;
        for r in m.announced.drain(..) {
            r.store(true, Ordering::Release);
        }
        for s in &m.subs {
            if let Some(f) = s.fanout.upgrade() {
                f.request_keyframe();
            }
        }
        self.negotiate(session).await;
    }

    fn pc_state(&mut self, session: SessionId, state: RTCPeerConnectionState) {
        tracing::debug!(call = self.call, session, %state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected => {
                if let Some(m) = self.members.get(&session) {
                    for s in &m.subs {
                        if let Some(f) = s.fanout.upgrade() {
                            f.request_keyframe();
                        }
                    }
                }
            }
            // Our own closes remove the member first, so a closed connection of a member is the
            // far end going away.
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                if self.members.contains_key(&session) =>
            {
                tracing::warn!(call = self.call, session, "media connection failed");
                let _ = self.shared.events.send(SfuEvent::MediaFailed {
                    call: self.call,
                    session,
                });
            }
            _ => {}
        }
    }

    async fn leave(&mut self, session: SessionId) {
        let Some(m) = self.members.remove(&session) else {
            return;
        };
        let viewer = !m.publishes();
        self.close_member(m).await;
        if viewer {
            // Nobody receives anything from a viewer.
            return;
        }
        let others: Vec<SessionId> = self.members.keys().copied().collect();
        for other in others {
            let Some(o) = self.members.get_mut(&other) else {
                continue;
            };
            if let Some(down) = o.rtt_down.remove(&session) {
                down.close().await;
            }
            let (gone, kept): (Vec<Subscription>, Vec<Subscription>) =
                o.subs.drain(..).partition(|s| s.publisher == session);
            o.subs = kept;
            for s in gone {
                s.writer.abort();
                s.feedback.abort();
                if let Err(e) = o.pc.remove_track(&s.sender).await {
                    tracing::debug!(error = %e, "remove_track");
                }
                o.needs_offer = true;
            }
            self.negotiate(other).await;
        }
        self.send_roster(None);
    }

    async fn close_member(&self, m: Member) {
        for f in &m.published {
            f.stop();
        }
        for s in &m.subs {
            s.writer.abort();
            s.feedback.abort();
            if let Some(f) = s.fanout.upgrade() {
                f.remove_subscriber(m.session);
            }
        }
        for t in &m.tasks {
            t.abort();
        }
        for (_, down) in m.rtt_down {
            down.close().await;
        }
        if let Err(e) = m.pc.close().await {
            tracing::debug!(error = %e, "closing peer connection");
        }
        self.shared.ports.release(m.port);
        self.shared.stats.peers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Tells pages who is in the room. An event's roster lists its publishers only, and a
    /// viewer joining (`only`) gets it alone.
    fn send_roster(&self, only: Option<SessionId>) {
        let participants: Vec<Participant> = self
            .members
            .values()
            .filter(|m| self.is_call() || m.publishes())
            .map(|m| Participant {
                id: m.pid.clone(),
                role: m.role,
                name: m.name.clone(),
            })
            .collect();
        for m in self.members.values() {
            if only.is_some_and(|s| s != m.session) {
                continue;
            }
            m.send(ServerMsg::Room {
                call_id: self.call,
                you: m.pid.clone(),
                participants: participants.clone(),
            });
        }
    }

    async fn shutdown(&mut self) {
        let members = std::mem::take(&mut self.members);
        for (_, m) in members {
            self.close_member(m).await;
        }
        self.shared
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.call);
    }
}
