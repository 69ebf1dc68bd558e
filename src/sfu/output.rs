//! What the media plane tells its owner, and the hook through which spoken audio leaves it.
//! The owner turns these into page messages and caption streams; the media plane never
//! learns what a page or a caption is.

use crate::sfu::ids::{PeerId, RoomId};
use crate::sfu::text_flow::TextRefusal;
use rtc::rtp;

/// Something the owner of a room must act on.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuOutput {
    /// Send this SDP offer to the peer's page; its answer comes back through `Sfu::answer`.
    Offer {
        /// The room.
        room: RoomId,
        /// To whom.
        peer: PeerId,
        /// The offer.
        sdp: String,
    },
    /// Something the peer sent was refused; nothing changed.
    Refused {
        /// The room.
        room: RoomId,
        /// Whose request.
        peer: PeerId,
        /// Why.
        why: Refusal,
    },
    /// The peer's media could not be set up or failed for good; it is still in the room
    /// until the owner takes it out.
    Failed {
        /// The room.
        room: RoomId,
        /// Whose connection.
        peer: PeerId,
        /// What happened.
        why: Failure,
    },
}

/// Why a peer's request was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// An answer came while no offer was out.
    NoOfferOut,
    /// The answer could not be applied (the offer stays out).
    BadAnswer(String),
    /// The ICE candidate could not be used.
    BadCandidate(String),
    /// Typed text over its budget (`retry_secs` until it is back).
    Text {
        /// Which limit.
        why: TextRefusal,
        /// Seconds until the budget allows a line again.
        retry_secs: u64,
    },
}

/// How a peer's media failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Its connection could not be set up (for example no free port).
    SetUp(String),
    /// Its connection was lost (ICE timeout, DTLS failure, the far end closed).
    Lost,
    /// It did not connect in time; its connection and port are gone already.
    NotConnected,
}

/// Receives a copy of every packet of one published track; dropping it ends the tap.
pub trait MediaTap: Send + Sync + 'static {
    /// One RTP packet as received. Must not block: the forwarder calls it inline.
    fn feed(&self, packet: rtp::Packet);
    /// Whether the tap needs a keyframe (it starts or lost packets); the forwarder then asks
    /// the publisher for one (rate-limited).
    fn wants_keyframe(&self) -> bool {
        false
    }
}

/// The owner of the media plane.
pub trait SfuHooks: Send + Sync + 'static {
    /// Something to act on; called on the room's task, so it must not block.
    fn emit(&self, out: SfuOutput);
    /// A peer started publishing audio: where a copy should go, if anywhere.
    fn audio_tap(&self, room: RoomId, peer: PeerId) -> Option<Box<dyn MediaTap>>;
    /// A peer started publishing video: where a copy should go, if anywhere.
    fn video_tap(&self, _room: RoomId, _peer: PeerId) -> Option<Box<dyn MediaTap>> {
        None
    }
}
