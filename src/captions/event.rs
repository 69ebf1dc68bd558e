//! What a caption stream says: the one type the recognizer, its settling pass and every
//! consumer of captions share.

use serde::Serialize;

/// One caption update. Stable text is never taken back, and only a settling revision replaces
/// it; an unstable event replaces the previous unstable one (it is the recognizer's current
/// guess at what follows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptionEvent {
    /// Sequence number of the stable text this belongs to (an unstable event carries the
    /// number the next stable event will have).
    pub seq: u64,
    /// Start of the text's audio, ms from the stream's start.
    pub start_ms: u64,
    /// End of the text's audio.
    pub end_ms: u64,
    /// The text.
    pub text: String,
    /// Final or not.
    pub stable: bool,
    /// Character ranges `[start, end)` of `text` the decoder was unsure of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsure: Vec<[u32; 2]>,
    /// The settling pass's text for stable line `seq`, sent earlier: it replaces that line.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub revision: bool,
}
