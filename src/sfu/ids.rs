//! Names of things in the media plane. A room says what it is for, so nothing needs a
//! numbering convention to tell a call's room from a briefing's.

use std::fmt;

/// One peer connection's owner in a room (the glue uses its session number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    /// The media id pages see: `msid` stream id and data channel label (`p<n>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A media room: an interpreted call, where everyone sends and receives and texts, or a
/// briefing, where publishers send and viewers only receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomId {
    /// The room of a call (the call's number).
    Call(u64),
    /// The room of a press briefing (a number the briefings hand out).
    Briefing(u64),
    /// A room where one peer publishes to be recorded, and nobody subscribes.
    Recording(u64),
}

impl RoomId {
    /// Calls carry real-time text between every pair of participants; briefings do not.
    pub fn is_call(self) -> bool {
        matches!(self, RoomId::Call(_))
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomId::Call(n) => write!(f, "call-{n}"),
            RoomId::Briefing(n) => write!(f, "briefing-{n}"),
            RoomId::Recording(n) => write!(f, "recording-{n}"),
        }
    }
}

/// How a peer takes part in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Sends camera and microphone and receives the other publishers. The featured publisher
    /// of a briefing (its speaker) is what WHEP players receive.
    Publisher {
        /// The one WHEP players are given.
        featured: bool,
    },
    /// Only receives the publishers (a briefing's audience).
    Viewer,
}

impl Presence {
    /// Sends media of its own.
    pub fn publishes(self) -> bool {
        matches!(self, Presence::Publisher { .. })
    }

    /// The featured publisher.
    pub fn featured(self) -> bool {
        matches!(self, Presence::Publisher { featured: true })
    }
}
