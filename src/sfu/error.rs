//! The media plane's failures.

use thiserror::Error;

/// Why a media operation failed.
#[derive(Debug, Error)]
pub enum SfuError {
    /// webrtc-rs refused an operation.
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::error::Error),
    /// Every port of the media range is taken.
    #[error("no free media port in the configured range")]
    NoPorts,
    /// An offer from an encoder or player (WHIP/WHEP) could not be used.
    #[error("unusable SDP offer: {0}")]
    BadOffer(String),
    /// The room is not open (never opened, or its call or briefing ended).
    #[error("the room is closed")]
    RoomClosed,
    /// Nothing is published that a player could receive.
    #[error("the event is not live yet; try again when it is")]
    NotLive,
}
