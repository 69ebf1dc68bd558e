//! Types of press-briefing events and live captions, shared by the HTTP API, the signaling
//! socket, the caption stream (SSE) and the tests.

use super::Role;
use serde::{Deserialize, Serialize};

/// One caption update of one speaker, as pages, SSE clients and transcripts see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaptionLine {
    /// Speaker's participant id.
    pub speaker: String,
    /// Speaker's role.
    pub role: Role,
    /// Speaker's display name.
    pub name: String,
    /// Number of the stable line this is (an unstable update carries the next one's number).
    pub seq: u64,
    /// The text.
    pub text: String,
    /// Final (never changes) or a guess that the next update replaces.
    pub stable: bool,
    /// Start of the text's audio, ms from the start of the stream (an event's first audio).
    pub start_ms: u64,
    /// End of the text's audio.
    pub end_ms: u64,
    /// Wall-clock time (Unix ms) at which that audio reached the server, so a page can show
    /// how far behind the captions run.
    pub audio_end_unix_ms: u64,
    /// The recognizer is behind and decodes less often than it should.
    #[serde(default)]
    pub degraded: bool,
}

/// How far one speaker's captions run behind their speech, sent about once a second while
/// they are behind and once when they catch up: a page that gets no caption must still be
/// able to tell "silence" from "the recognizer is stuck".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaptionStatus {
    /// Speaker's participant id.
    pub speaker: String,
    /// Speech that has arrived but is not captioned yet, ms (0 when caught up).
    pub behind_ms: u64,
    /// The recognizer is overloaded or lost audio: captions come later and less complete.
    pub degraded: bool,
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventState {
    /// Created; the broadcaster has not started.
    Scheduled,
    /// The broadcaster is on air.
    Live,
    /// The broadcaster dropped out; the event resumes when they return.
    Paused,
    /// The organizer ended it; the transcript stays available.
    Ended,
}

/// How the captions of an event are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionHealth {
    /// Keeping up.
    Ok,
    /// Speech is waiting to be captioned for longer than usual (`captions_behind_secs`).
    Delayed,
    /// The recognizer is overloaded: captions come later and less often.
    Degraded,
    /// No speech model on this server.
    Off,
}

/// What an organizer sends to create an event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Title shown to viewers.
    pub title: String,
    /// Spoken language: `zh` (default) or `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// Names and terms the recognizer should favour (speakers, places, programmes).
    #[serde(default)]
    pub hotwords: Vec<String>,
    /// Planned start, Unix ms.
    #[serde(default)]
    pub starts_at_unix_ms: Option<u64>,
}

/// The organizer's copy of a new event: the three links and the WHIP endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventCreated {
    /// Public state.
    pub event: EventInfo,
    /// Page for the speaker's camera and microphone (keep private).
    pub broadcaster_path: String,
    /// Page for the sign interpreter (keep private).
    pub interpreter_path: String,
    /// Public page for viewers.
    pub viewer_path: String,
    /// WHIP endpoint for an encoder such as OBS; use `broadcaster_token` as its bearer token.
    pub whip_path: String,
    /// The broadcaster's secret.
    pub broadcaster_token: String,
    /// The interpreter's secret.
    pub interpreter_token: String,
}

/// An event as anyone may see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventInfo {
    /// Public id (in the viewer link).
    pub id: String,
    /// Title.
    pub title: String,
    /// Spoken language code.
    pub language: String,
    /// Planned start, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at_unix_ms: Option<u64>,
    /// Where it is in its life.
    pub state: EventState,
    /// How captions are doing.
    pub captions: CaptionHealth,
    /// Speech not yet captioned, whole seconds (0 when the captions keep up).
    #[serde(default)]
    pub captions_behind_secs: u64,
    /// Is a sign interpreter on screen now.
    pub interpreter_present: bool,
    /// People watching in the browser or by WHEP now.
    pub viewers: usize,
}
