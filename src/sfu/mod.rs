//! The selective forwarding unit, a media plane that knows only media: rooms of peers, their
//! negotiation, packet forwarding, real-time text channels and an audio tap. It speaks to its
//! owner in [`SfuOutput`] and through [`SfuHooks`]; it knows nothing of pages, captions,
//! accounts or the store.
//!
//! The server makes every SDP offer to a page (the page only answers), so renegotiation never
//! collides and the server is always the DTLS server (one round trip less than as client).
//! Encoders (WHIP) and players (WHEP) offer once themselves and are answered.

pub mod candidates;
mod codec;
mod error;
mod forward;
mod ids;
pub mod negotiation;
mod output;
mod peer;
mod ports;
mod room;
pub mod sdp;
mod settings;
pub mod text_channel;
pub mod text_flow;

pub use codec::{codec_for, media_engine, Codec, H264_PT, OPUS_PT, VP8_PT};
pub use error::SfuError;
pub use forward::SfuStats;
pub use ids::{PeerId, Presence, RoomId};
pub use output::{Failure, MediaTap, Refusal, SfuHooks, SfuOutput};
pub use ports::PortPool;
pub use settings::{IceServer, MediaConfig, TurnConfig};

use room::{Room, RoomCmd, Shared};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use webrtc::peer_connection::RTCIceCandidateInit;

/// Handle to the SFU; cheap to clone.
#[derive(Clone)]
pub struct Sfu {
    shared: Arc<Shared>,
}

impl Sfu {
    /// A SFU with no rooms; what it has to say goes to `hooks`.
    pub fn new(media: MediaConfig, hooks: Arc<dyn SfuHooks>) -> Self {
        Self {
            shared: Arc::new(Shared {
                ports: PortPool::new(media.port_min, media.port_max),
                media,
                stats: Arc::new(SfuStats::default()),
                hooks,
                rooms: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Forwarding counters.
    pub fn stats(&self) -> Arc<SfuStats> {
        self.shared.stats.clone()
    }

    /// Rooms open now.
    pub fn rooms(&self) -> usize {
        self.rooms_map().len()
    }

    fn rooms_map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<RoomId, mpsc::UnboundedSender<RoomCmd>>> {
        self.shared.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn room(&self, id: RoomId) -> Result<mpsc::UnboundedSender<RoomCmd>, SfuError> {
        self.rooms_map()
            .get(&id)
            .cloned()
            .ok_or(SfuError::RoomClosed)
    }

    fn send(&self, id: RoomId, cmd: RoomCmd) -> Result<(), SfuError> {
        self.room(id)?.send(cmd).map_err(|_| SfuError::RoomClosed)
    }

    /// Opens a room; nothing happens if it is open already.
    pub fn open_room(&self, id: RoomId) {
        let mut rooms = self.rooms_map();
        if rooms.contains_key(&id) {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        rooms.insert(id, tx.clone());
        Room::spawn(id, self.shared.clone(), tx, rx);
    }

    /// Puts a page's peer into an open room; the room makes it an offer when there is
    /// something to negotiate.
    pub fn join(&self, room: RoomId, peer: PeerId, presence: Presence) -> Result<(), SfuError> {
        self.send(room, RoomCmd::Join { peer, presence })
    }

    /// Takes a peer out of a room (nothing happens if it is not there).
    pub fn leave(&self, room: RoomId, peer: PeerId) {
        let _ = self.send(room, RoomCmd::Leave { peer });
    }

    /// Tears a room down with everyone in it.
    pub fn close(&self, room: RoomId) {
        let _ = self.send(room, RoomCmd::Close);
    }

    /// The page's answer to our last offer.
    pub fn answer(&self, room: RoomId, peer: PeerId, sdp: String) -> Result<(), SfuError> {
        self.send(room, RoomCmd::Answer { peer, sdp })
    }

    /// A trickled candidate from the page.
    pub fn candidate(
        &self,
        room: RoomId,
        peer: PeerId,
        init: RTCIceCandidateInit,
    ) -> Result<(), SfuError> {
        self.send(room, RoomCmd::Candidate { peer, init })
    }

    /// The page asks everyone it receives for a keyframe.
    pub fn request_keyframe(&self, room: RoomId, peer: PeerId) -> Result<(), SfuError> {
        self.send(room, RoomCmd::Keyframe { peer })
    }

    /// Adds an encoder that publishes by WHIP (RFC 9725) as the room's featured publisher:
    /// applies its offer and returns our answer. The encoder only publishes.
    pub async fn whip(
        &self,
        room: RoomId,
        peer: PeerId,
        offer: String,
    ) -> Result<String, SfuError> {
        self.ask(room, |reply| RoomCmd::Whip { peer, offer, reply })
            .await
    }

    /// Adds a player that receives the featured publisher by WHEP: applies its offer
    /// (recvonly audio and video) and returns our answer.
    pub async fn whep(
        &self,
        room: RoomId,
        peer: PeerId,
        offer: String,
    ) -> Result<String, SfuError> {
        self.ask(room, |reply| RoomCmd::Whep { peer, offer, reply })
            .await
    }

    /// Sends a room a command that answers with an SDP answer (or why not).
    async fn ask(
        &self,
        room: RoomId,
        cmd: impl FnOnce(oneshot::Sender<Result<String, SfuError>>) -> RoomCmd,
    ) -> Result<String, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.send(room, cmd(reply))?;
        answer.await.map_err(|_| SfuError::RoomClosed)?
    }
}
