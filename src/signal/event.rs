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
    /// Character ranges `[start, end)` of `text` the recognizer was unsure of (for the
    /// captioner's console).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<[u32; 2]>,
    /// What a captioner did to the line.
    #[serde(flatten)]
    pub review: Review,
}

impl CaptionLine {
    /// A line a captioner types (速录), as far as it goes: what is typed is not recognized, so
    /// it has no doubtful marks, and the caption desk numbers and marks it.
    pub fn typed_by(
        speaker: String,
        name: String,
        text: String,
        done: bool,
        (start_ms, end_ms): (u64, u64),
        now_unix_ms: u64,
    ) -> Self {
        Self {
            speaker,
            role: Role::Captioner,
            name,
            seq: 0,
            text,
            stable: done,
            start_ms,
            end_ms: end_ms.max(start_ms),
            audio_end_unix_ms: now_unix_ms,
            degraded: false,
            unsure: Vec::new(),
            review: Review::default(),
        }
    }
}

/// A captioner's work on one caption line. A correction is a revision of the same line (same
/// `seq`, the next `rev`), never a new line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Review {
    /// 0 as first sent, one more per correction.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rev: u32,
    /// A captioner changed the text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub corrected: bool,
    /// A captioner checked the line (accepted or corrected it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub checked: bool,
    /// Typed by a captioner (速录), not recognized.
    #[serde(default, skip_serializing_if = "is_false")]
    pub typed: bool,
    /// The recognizer's text, kept beside a correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_text: Option<String>,
    /// From the line's first showing to its first correction, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_after_ms: Option<u64>,
    /// The recognizer's suggestion while a captioner types (速录): on the captioner's
    /// console only, never a line of the transcript.
    #[serde(default, skip_serializing_if = "is_false")]
    pub draft: bool,
    /// The recognizer re-read the finished utterance (whole, beam search) and revised the
    /// line to that text; set on the revision the recognizer sends and on the line after it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub settled: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// How an event's captions are made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Captioning {
    /// The recognizer writes them; a captioner, if there is one, corrects them.
    #[default]
    Machine,
    /// A captioner types them (速录/CART); the recognizer's text, if it runs, is only a
    /// suggestion on the captioner's console.
    Typed,
}

/// Which captions a viewer follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionView {
    /// At once as recognized; corrections replace lines in place.
    #[default]
    Live,
    /// Each line after the captioner checked it or the correction window passed.
    Checked,
    /// The captioner's console: everything, with the recognizer's suggestions.
    Desk,
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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
    /// Captioners' account names who may correct or type this event's captions.
    #[serde(default)]
    pub captioners: Vec<String>,
    /// How long "checked" viewers wait for the captioner per line, ms (default 4000).
    #[serde(default)]
    pub correction_window_ms: Option<u64>,
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
    /// How captions are made.
    #[serde(default)]
    pub captioning: Captioning,
    /// A captioner's console is connected now.
    #[serde(default)]
    pub captioner_present: bool,
    /// How long "checked" viewers wait for the captioner per line, ms (0: no holding).
    #[serde(default)]
    pub correction_window_ms: u64,
}
