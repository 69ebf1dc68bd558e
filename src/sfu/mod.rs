//! The selective forwarding unit: one media room per call, one peer connection per participant,
//! every published track forwarded to every other participant, real-time text relayed over data
//! channels. The server makes every SDP offer (the page only answers), so renegotiation never
//! collides and the server is always the DTLS server (one round trip less than as client).

mod forward;
pub(crate) mod peer;
mod ports;
mod room;
pub mod sdp;
pub mod text_flow;

pub use forward::SfuStats;
pub use peer::{media_engine, Codec, H264_PT, OPUS_PT, VP8_PT};
pub use ports::PortPool;

use crate::asr::Lang;
use crate::captions::live::{CaptionSink, LiveCaptions};
use crate::config::MediaConfig;
use crate::signal::{CallId, Role, ServerMsg, SessionId};
use room::{Room, RoomCmd};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::sync::mpsc;
use webrtc::peer_connection::RTCIceCandidateInit;

/// Media failures.
#[derive(Debug, Error)]
pub enum SfuError {
    /// webrtc-rs refused an operation.
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    /// Every port of the media range is taken.
    #[error("no free media port in the configured range")]
    NoPorts,
    /// An offer from an encoder (WHIP) could not be used.
    #[error("unusable SDP offer: {0}")]
    BadOffer(String),
    /// The room is gone (its call or event ended).
    #[error("the room is closed")]
    RoomClosed,
    /// Nothing is being published to play.
    #[error("the event is not live yet; try again when it is")]
    NotLive,
}

/// What a room is for, which decides who receives whom and whose speech is captioned.
#[derive(Clone)]
pub enum RoomKind {
    /// An interpreted call: everyone sees, hears and texts everyone; every speaker is
    /// captioned and the captions go to the people in the call only (no transcript is kept).
    Call,
    /// A press briefing: publishers (broadcaster, interpreter) see each other, viewers only
    /// receive; the broadcaster's speech is captioned into `sink`.
    Event {
        /// Where the captions go.
        sink: Arc<dyn CaptionSink>,
        /// Spoken language.
        lang: Lang,
        /// Vocabulary for the recognizer.
        hotwords: Vec<String>,
    },
}

/// What the SFU tells the service about.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// A participant's connection failed for good (ICE timeout, DTLS failure).
    MediaFailed {
        /// The call.
        call: CallId,
        /// Whose connection.
        session: SessionId,
    },
}

/// State shared by all rooms.
pub(crate) struct Shared {
    media: MediaConfig,
    ports: PortPool,
    stats: Arc<SfuStats>,
    events: mpsc::UnboundedSender<SfuEvent>,
    rooms: Mutex<HashMap<CallId, mpsc::UnboundedSender<RoomCmd>>>,
    captions: Option<LiveCaptions>,
}

/// Handle to the SFU; cheap to clone.
#[derive(Clone)]
pub struct Sfu {
    shared: Arc<Shared>,
}

/// The media id of a session in a room (used as `msid` stream id and data channel label).
pub fn participant_id(session: SessionId) -> String {
    format!("p{session}")
}

impl Sfu {
    /// A SFU with no rooms; failures are reported on `events`; speech is captioned when
    /// `captions` is given.
    pub fn new(
        media: MediaConfig,
        events: mpsc::UnboundedSender<SfuEvent>,
        captions: Option<LiveCaptions>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                ports: PortPool::new(media.port_min, media.port_max),
                media,
                stats: Arc::new(SfuStats::default()),
                events,
                rooms: Mutex::new(HashMap::new()),
                captions,
            }),
        }
    }

    /// Forwarding counters.
    pub fn stats(&self) -> Arc<SfuStats> {
        self.shared.stats.clone()
    }

    /// Rooms open now.
    pub fn rooms(&self) -> usize {
        self.shared
            .rooms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn room(
        &self,
        call: CallId,
        create: Option<RoomKind>,
    ) -> Option<mpsc::UnboundedSender<RoomCmd>> {
        let mut rooms = self.shared.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = rooms.get(&call) {
            return Some(tx.clone());
        }
        let kind = create?;
        let (tx, rx) = mpsc::unbounded_channel();
        rooms.insert(call, tx.clone());
        Room::spawn(call, kind, self.shared.clone(), tx.clone(), rx);
        Some(tx)
    }

    fn send(&self, call: CallId, cmd: RoomCmd) {
        if let Some(tx) = self.room(call, None) {
            let _ = tx.send(cmd);
        }
    }

    /// Opens an event's room if it is not open yet.
    pub fn open_room(&self, room: CallId, kind: RoomKind) {
        self.room(room, Some(kind));
    }

    /// Captioning counters, when captions are on.
    pub fn captions(&self) -> Option<&LiveCaptions> {
        self.shared.captions.as_ref()
    }

    /// Adds an encoder that publishes by WHIP (RFC 9725): applies its offer and returns our
    /// answer. The encoder only publishes; it receives nothing.
    pub async fn whip(
        &self,
        room: CallId,
        session: SessionId,
        name: String,
        offer: String,
    ) -> Result<String, SfuError> {
        self.ask(room, |reply| RoomCmd::Whip {
            session,
            name,
            offer,
            reply,
        })
        .await
    }

    /// Puts a session into a room (a call's room is opened on first join); the room sends it
    /// an offer through `tx`.
    pub fn join(
        &self,
        call: CallId,
        session: SessionId,
        role: Role,
        name: String,
        tx: mpsc::Sender<ServerMsg>,
    ) {
        if let Some(room) = self.room(call, Some(RoomKind::Call)) {
            let _ = room.send(RoomCmd::Join {
                session,
                role,
                name,
                tx,
            });
        }
    }

    /// Takes a session out of a room.
    pub fn leave(&self, call: CallId, session: SessionId) {
        self.send(call, RoomCmd::Leave { session });
    }

    /// Adds a player that receives the broadcaster by WHEP: applies its offer (recvonly audio
    /// and video) and returns our answer.
    pub async fn whep(
        &self,
        room: CallId,
        session: SessionId,
        offer: String,
    ) -> Result<String, SfuError> {
        self.ask(room, |reply| RoomCmd::Whep {
            session,
            offer,
            reply,
        })
        .await
    }

    /// Sends a room a command that answers with an SDP answer (or why not).
    async fn ask(
        &self,
        room: CallId,
        cmd: impl FnOnce(tokio::sync::oneshot::Sender<Result<String, SfuError>>) -> RoomCmd,
    ) -> Result<String, SfuError> {
        let tx = self.room(room, None).ok_or(SfuError::RoomClosed)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        tx.send(cmd(reply)).map_err(|_| SfuError::RoomClosed)?;
        answer.await.map_err(|_| SfuError::RoomClosed)?
    }

    /// Tears a room down.
    pub fn close(&self, call: CallId) {
        self.send(call, RoomCmd::Close);
    }

    /// The page's answer to our last offer.
    pub fn answer(&self, call: CallId, session: SessionId, sdp: String) {
        self.send(call, RoomCmd::Answer { session, sdp });
    }

    /// A trickled candidate from the page.
    pub fn candidate(&self, call: CallId, session: SessionId, init: RTCIceCandidateInit) {
        self.send(call, RoomCmd::Candidate { session, init });
    }

    /// The page asks everyone else for a keyframe.
    pub fn request_keyframe(&self, call: CallId, session: SessionId) {
        self.send(call, RoomCmd::Keyframe { session });
    }
}
