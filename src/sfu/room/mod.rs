//! One call's or briefing's media room: an actor that owns its peers' connections and does
//! every negotiation step in order, so offers, answers and track changes never interleave.

mod media;
mod member;
mod text;
mod whip;

use crate::sfu::candidates::CandidatePolicy;
use crate::sfu::error::SfuError;
use crate::sfu::forward::SfuStats;
use crate::sfu::ids::{PeerId, Presence, RoomId};
use crate::sfu::output::{Failure, Refusal, SfuHooks, SfuOutput};
use crate::sfu::peer::{self, PeerEvent, PeerSpec};
use crate::sfu::ports::PortPool;
use crate::sfu::sdp;
use crate::sfu::settings::MediaConfig;
use crate::sfu::text_flow::TextRefusal;
use futures::FutureExt;
use member::Member;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCPeerConnectionState, RTCSessionDescription};

/// How long the first offer waits for our ICE candidates (host candidates take milliseconds).
const GATHER_TIMEOUT: Duration = Duration::from_secs(3);

/// State shared by all rooms.
pub(crate) struct Shared {
    pub(crate) media: MediaConfig,
    pub(crate) ports: PortPool,
    pub(crate) stats: Arc<SfuStats>,
    pub(crate) hooks: Arc<dyn SfuHooks>,
    pub(crate) rooms: Mutex<HashMap<RoomId, mpsc::UnboundedSender<RoomCmd>>>,
}

/// What a room is asked to do.
pub(crate) enum RoomCmd {
    /// Add a page's peer; the room offers to it.
    Join { peer: PeerId, presence: Presence },
    /// Remove a peer.
    Leave { peer: PeerId },
    /// Tear the room down.
    Close,
    /// A page's SDP answer.
    Answer { peer: PeerId, sdp: String },
    /// A page's ICE candidate.
    Candidate {
        peer: PeerId,
        init: RTCIceCandidateInit,
    },
    /// A page asks for keyframes.
    Keyframe { peer: PeerId },
    /// A peer's time to connect is up.
    ConnectDeadline { peer: PeerId },
    /// A peer's connection started receiving a track.
    Track {
        peer: PeerId,
        track: Arc<dyn TrackRemote>,
    },
    /// A peer's connection changed state.
    PcState {
        peer: PeerId,
        state: RTCPeerConnectionState,
    },
    /// Real-time text typed by a peer (already within their text budget).
    Rtt { peer: PeerId, text: String },
    /// A peer's text was refused; tell them why.
    RttRefused {
        peer: PeerId,
        why: TextRefusal,
        retry_secs: u64,
    },
    /// An encoder's WHIP offer; the answer (or why not) goes back on `reply`.
    Whip {
        peer: PeerId,
        offer: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    /// A player's WHEP offer for the featured publisher's audio and video.
    Whep {
        peer: PeerId,
        offer: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    /// A bug, simulated: the room panics (the containment test).
    #[cfg(test)]
    Panic,
}

/// The actor.
pub(crate) struct Room {
    id: RoomId,
    shared: Arc<Shared>,
    me: mpsc::UnboundedSender<RoomCmd>,
    members: BTreeMap<PeerId, Member>,
    /// Viewers with nothing to watch yet: they get a connection (and a port) only once
    /// something is published, so a crowd waiting for a briefing holds no media ports.
    waiting: BTreeSet<PeerId>,
}

impl Room {
    pub(crate) fn spawn(
        id: RoomId,
        shared: Arc<Shared>,
        me: mpsc::UnboundedSender<RoomCmd>,
        mut rx: mpsc::UnboundedReceiver<RoomCmd>,
    ) {
        let mut room = Room {
            id,
            shared,
            me,
            members: BTreeMap::new(),
            waiting: BTreeSet::new(),
        };
        tokio::spawn(async move {
            tracing::info!(room = %id, "media room open");
            while let Some(cmd) = rx.recv().await {
                if matches!(cmd, RoomCmd::Close) {
                    break;
                }
                // A bug in one room must not take other calls down or keep its ports: the
                // room closes, its peers are reported failed and their ports come back.
                if AssertUnwindSafe(room.handle(cmd))
                    .catch_unwind()
                    .await
                    .is_err()
                {
                    tracing::error!(room = %id, "media room failed; closing it");
                    for peer in room.members.keys().copied().collect::<Vec<_>>() {
                        room.emit(SfuOutput::Failed {
                            room: id,
                            peer,
                            why: Failure::Lost,
                        });
                    }
                    break;
                }
            }
            room.shutdown().await;
            tracing::info!(room = %id, "media room closed");
        });
    }

    pub(crate) fn candidate_policy(&self) -> CandidatePolicy {
        CandidatePolicy::for_bind(
            self.shared.media.bind_ip,
            self.shared.media.allow_private_candidates,
        )
    }

    fn emit(&self, out: SfuOutput) {
        self.shared.hooks.emit(out);
    }

    fn refuse(&self, peer: PeerId, why: Refusal) {
        self.emit(SfuOutput::Refused {
            room: self.id,
            peer,
            why,
        });
    }

    async fn handle(&mut self, cmd: RoomCmd) {
        match cmd {
            RoomCmd::Join { peer, presence } => {
                if self.members.contains_key(&peer) || self.waiting.contains(&peer) {
                    return;
                }
                let nothing_to_watch = self.members.values().all(|m| m.published.is_empty());
                if !presence.publishes() && nothing_to_watch {
                    self.waiting.insert(peer);
                    return;
                }
                if let Err(e) = self.join(peer, presence).await {
                    tracing::error!(room = %self.id, %peer, error = %e, "could not add participant");
                    self.emit(SfuOutput::Failed {
                        room: self.id,
                        peer,
                        why: Failure::SetUp(e.to_string()),
                    });
                }
            }
            RoomCmd::Leave { peer } => self.leave(peer).await,
            RoomCmd::Close => {}
            RoomCmd::Answer { peer, sdp } => self.answer(peer, sdp).await,
            RoomCmd::Candidate { peer, init } => {
                let Some(m) = self.members.get(&peer) else {
                    return;
                };
                // An empty candidate only says gathering is over.
                if !init.candidate.is_empty() {
                    if let Err(why) = self.candidate_policy().check_line(&init.candidate) {
                        self.refuse(peer, Refusal::BadCandidate(why));
                        return;
                    }
                }
                if let Err(e) = m.pc.add_ice_candidate(init).await {
                    self.refuse(peer, Refusal::BadCandidate(e.to_string()));
                }
            }
            RoomCmd::Keyframe { peer } => {
                if let Some(m) = self.members.get(&peer) {
                    m.request_keyframes();
                }
            }
            RoomCmd::Track { peer, track } => self.publish(peer, track).await,
            RoomCmd::ConnectDeadline { peer } => {
                if self.members.get(&peer).is_some_and(|m| !m.connected) {
                    tracing::warn!(room = %self.id, %peer, "peer did not connect in time; its port is freed");
                    self.leave(peer).await;
                    self.emit(SfuOutput::Failed {
                        room: self.id,
                        peer,
                        why: Failure::NotConnected,
                    });
                }
            }
            RoomCmd::PcState { peer, state } => self.pc_state(peer, state),
            RoomCmd::Rtt { peer, text } => self.relay_text(peer, text),
            RoomCmd::RttRefused {
                peer,
                why,
                retry_secs,
            } => self.refuse(peer, Refusal::Text { why, retry_secs }),
            RoomCmd::Whip { peer, offer, reply } => {
                let res = self.whip(peer, offer).await;
                let _ = reply.send(res);
            }
            RoomCmd::Whep { peer, offer, reply } => {
                let res = self.whep(peer, offer).await;
                let _ = reply.send(res);
            }
            #[cfg(test)]
            RoomCmd::Panic => panic!("simulated bug in a room"),
        }
    }

    async fn join(&mut self, peer: PeerId, presence: Presence) -> Result<(), SfuError> {
        let mut member = self.new_member(peer, presence, true).await?;
        if let Err(e) = self.set_up(&mut member).await {
            // Nothing of a half-built participant may linger: its port and connection go.
            self.close_member(member).await;
            return Err(e);
        }
        self.members.insert(peer, member);
        self.negotiate(peer).await;
        Ok(())
    }

    async fn set_up(&mut self, member: &mut Member) -> Result<(), SfuError> {
        if member.presence.publishes() {
            self.add_own_media(member).await?;
        }
        if self.id.is_call() {
            self.connect_text(member).await?;
        }
        let publishers: Vec<_> = self
            .members
            .values()
            .flat_map(|o| o.published.iter().cloned())
            .collect();
        for f in publishers {
            self.subscribe(member, &f).await?;
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
        for codec in [crate::sfu::Codec::Opus, crate::sfu::Codec::Vp8] {
            let t = member
                .pc
                .add_transceiver_from_kind(codec.kind(), recv_only())
                .await?;
            t.set_codec_preferences(vec![codec.params()]).await?;
        }
        Ok(())
    }

    /// A peer with a connection of its own, counted among the live peers until closed.
    /// A page (`signaled`) is sent offers; an encoder or player came with its own offer.
    async fn new_member(
        &self,
        peer: PeerId,
        presence: Presence,
        signaled: bool,
    ) -> Result<Member, SfuError> {
        let (built, port) = self.build_peer(peer).await?;
        self.shared.stats.peers.fetch_add(1, Ordering::Relaxed);
        Ok(Member::new(
            peer,
            presence,
            signaled,
            built.pc,
            port,
            built.gathered,
        ))
    }

    async fn build_peer(&self, peer: PeerId) -> Result<(peer::BuiltPeer, u16), SfuError> {
        let mut last = SfuError::NoPorts;
        // A port another program holds makes the bind fail: move on to the next few.
        for _ in 0..4 {
            let port = self.shared.ports.acquire().ok_or(SfuError::NoPorts)?;
            let room = self.me.clone();
            let spec = PeerSpec {
                media: &self.shared.media,
                port,
                events: Arc::new(move |ev| {
                    let _ = room.send(match ev {
                        PeerEvent::Track(track) => RoomCmd::Track { peer, track },
                        PeerEvent::State(state) => RoomCmd::PcState { peer, state },
                    });
                }),
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

    /// Sends an offer if the peer's negotiation wants one.
    async fn negotiate(&mut self, peer: PeerId) {
        let Some(m) = self.members.get_mut(&peer) else {
            return;
        };
        if !m.signaled || !m.negotiation.wants_offer() {
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
        if m.negotiation.first_offer() {
            let mut g = m.gathered.clone();
            let _ = tokio::time::timeout(GATHER_TIMEOUT, g.wait_for(|done| *done)).await;
        }
        let Some(local) = m.pc.local_description().await else {
            return;
        };
        let text = match self.shared.media.public_ip {
            Some(ip) => sdp::rewrite_candidates(&local.sdp, ip),
            None => local.sdp,
        };
        m.negotiation.offer_sent();
        self.start_deadline(peer);
        self.emit(SfuOutput::Offer {
            room: self.id,
            peer,
            sdp: text,
        });
    }

    /// From a peer's first offer or answer on, it has a while to connect.
    pub(crate) fn start_deadline(&mut self, peer: PeerId) {
        let secs = self.shared.media.ice_connect_timeout_secs;
        let me = self.me.clone();
        let Some(m) = self.members.get_mut(&peer) else {
            return;
        };
        if m.deadline_set || m.connected {
            return;
        }
        m.deadline_set = true;
        m.tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let _ = me.send(RoomCmd::ConnectDeadline { peer });
        }));
    }

    async fn answer(&mut self, peer: PeerId, text: String) {
        let text = self.candidate_policy().filter_sdp(&text);
        let Some(m) = self.members.get_mut(&peer) else {
            return;
        };
        if !m.negotiation.negotiating() {
            self.refuse(peer, Refusal::NoOfferOut);
            return;
        }
        let applied = match RTCSessionDescription::answer(text) {
            Ok(desc) => m.pc.set_remote_description(desc).await,
            Err(e) => Err(e),
        };
        if let Err(e) = applied {
            // The offer stays out: the page may answer again.
            self.refuse(peer, Refusal::BadAnswer(e.to_string()));
            return;
        }
        let Ok(opened) = m.negotiation.answered() else {
            return;
        };
        for s in m.subs.iter().filter(|s| opened.contains(&s.id)) {
            s.ready.store(true, Ordering::Release);
        }
        m.request_keyframes();
        self.negotiate(peer).await;
    }

    fn pc_state(&mut self, peer: PeerId, state: RTCPeerConnectionState) {
        tracing::debug!(room = %self.id, %peer, %state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected => {
                if let Some(m) = self.members.get_mut(&peer) {
                    m.connected = true;
                    m.request_keyframes();
                }
            }
            // Our own closes remove the member first, so a closed connection of a member is the
            // far end going away.
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed
                if self.members.contains_key(&peer) =>
            {
                tracing::warn!(room = %self.id, %peer, "media connection failed");
                self.emit(SfuOutput::Failed {
                    room: self.id,
                    peer,
                    why: Failure::Lost,
                });
            }
            _ => {}
        }
    }

    /// Gives the viewers who waited for something to watch their connections.
    pub(crate) async fn admit_waiting(&mut self) {
        for peer in std::mem::take(&mut self.waiting) {
            if let Err(e) = self.join(peer, Presence::Viewer).await {
                tracing::error!(room = %self.id, %peer, error = %e, "could not add a waiting viewer");
                self.emit(SfuOutput::Failed {
                    room: self.id,
                    peer,
                    why: Failure::SetUp(e.to_string()),
                });
            }
        }
    }

    async fn leave(&mut self, peer: PeerId) {
        if self.waiting.remove(&peer) {
            return;
        }
        let Some(m) = self.members.remove(&peer) else {
            return;
        };
        let publisher = m.presence.publishes();
        self.close_member(m).await;
        if !publisher {
            // Nobody receives anything from a viewer.
            return;
        }
        let others: Vec<PeerId> = self.members.keys().copied().collect();
        for other in others {
            let Some(o) = self.members.get_mut(&other) else {
                continue;
            };
            if let Some(down) = o.text_down.remove(&peer) {
                down.close().await;
            }
            let (gone, kept): (Vec<_>, Vec<_>) =
                o.subs.drain(..).partition(|s| s.publisher == peer);
            o.subs = kept;
            for s in gone {
                s.stop();
                if let Err(e) = o.pc.remove_track(&s.sender).await {
                    tracing::debug!(error = %e, "remove_track");
                }
                o.negotiation.remove(s.id);
            }
            self.negotiate(other).await;
        }
    }

    async fn close_member(&self, m: Member) {
        for f in &m.published {
            f.stop();
        }
        for s in &m.subs {
            s.stop();
            if let Some(f) = s.fanout.upgrade() {
                f.remove_subscriber(m.peer);
            }
        }
        for t in &m.tasks {
            t.abort();
        }
        for (_, down) in m.text_down {
            down.close().await;
        }
        if let Err(e) = m.pc.close().await {
            tracing::debug!(error = %e, "closing peer connection");
        }
        self.shared.ports.release(m.port);
        self.shared.stats.peers.fetch_sub(1, Ordering::Relaxed);
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
            .remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sfu::{MediaTap, Sfu};

    #[derive(Default)]
    struct Seen(Mutex<Vec<SfuOutput>>);

    impl SfuHooks for Seen {
        fn emit(&self, out: SfuOutput) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(out);
        }
        fn audio_tap(&self, _: RoomId, _: PeerId) -> Option<Box<dyn MediaTap>> {
            None
        }
    }

    impl Seen {
        fn has(&self, f: impl Fn(&SfuOutput) -> bool) -> bool {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(f)
        }
    }

    async fn until(what: &str, f: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_room_closes_alone_reports_its_peers_and_frees_their_ports() {
        let seen = Arc::new(Seen::default());
        let media = MediaConfig {
            port_min: 47900,
            port_max: 47909,
            ..MediaConfig::default()
        };
        let sfu = Sfu::new(media, seen.clone());
        let (sick, well) = (RoomId::Call(1), RoomId::Call(2));
        sfu.open_room(sick);
        sfu.open_room(well);
        let publisher = Presence::Publisher { featured: false };
        sfu.join(sick, PeerId(1), publisher).unwrap();
        sfu.join(well, PeerId(2), publisher).unwrap();
        until("both peers are offered", || {
            seen.has(|o| {
                matches!(
                    o,
                    SfuOutput::Offer {
                        peer: PeerId(1),
                        ..
                    }
                )
            }) && seen.has(|o| {
                matches!(
                    o,
                    SfuOutput::Offer {
                        peer: PeerId(2),
                        ..
                    }
                )
            })
        })
        .await;
        assert_eq!(sfu.shared.ports.in_use(), 2);
        sfu.send(sick, RoomCmd::Panic).unwrap();
        until("the sick room's peer is reported failed", || {
            seen.has(|o| {
                matches!(
                    o,
                    SfuOutput::Failed {
                        peer: PeerId(1),
                        why: Failure::Lost,
                        ..
                    }
                )
            })
        })
        .await;
        until("its port comes back and the room is gone", || {
            sfu.shared.ports.in_use() == 1 && sfu.rooms() == 1
        })
        .await;
        // The other room goes on.
        sfu.request_keyframe(well, PeerId(2)).unwrap();
        assert!(!seen.has(|o| matches!(
            o,
            SfuOutput::Failed {
                peer: PeerId(2),
                ..
            }
        )));
        sfu.close(well);
        until("closed", || sfu.rooms() == 0).await;
        assert_eq!(sfu.shared.ports.in_use(), 0);
    }
}
