//! Live captions: a streaming recognizer on top of the offline Whisper engine, the text rules
//! that make its Mandarin usable, and subtitle formats.

pub mod agreement;
pub mod format;
pub mod live;
pub mod numbers;
pub mod segment;
mod stream;
pub mod tap;
pub mod text;
pub mod transcribe;
pub mod vad;

pub use stream::{
    stream_clip, CaptionEvent, StreamConfig, StreamRecognizer, StreamRun, StreamStats,
};

use crate::asr::{Lang, Segment};
use agreement::Unit;

/// A run this long said twice back to back is a decoding artefact, not speech.
pub const MIN_DOUBLED_UNITS: usize = 4;

/// Prompt that steers Whisper to Simplified characters and punctuation in Mandarin.
pub const ZH_STYLE_PROMPT: &str = "以下是普通话的句子。";

/// Builds the decoder prompt: style, custom vocabulary, then the most recent committed text.
pub fn build_prompt(lang: Lang, hotwords: &[String], recent: &str) -> String {
    let mut p = String::new();
    if lang == Lang::Zh {
        p.push_str(ZH_STYLE_PROMPT);
    }
    if !hotwords.is_empty() {
        let sep = if lang == Lang::Zh { "、" } else { ", " };
        p.push_str(&hotwords.join(sep));
        p.push_str(if lang == Lang::Zh { "。" } else { ". " });
    }
    let tail: String = {
        let chars: Vec<char> = recent.chars().collect();
        chars[chars.len().saturating_sub(80)..].iter().collect()
    };
    p.push_str(&tail);
    p
}

/// Cleans decoded segments into units with absolute times: Simplified characters, no known
/// hallucinations, no repetition loops. `offset_ms` is where the decoded audio starts and
/// `len_ms` its length: Whisper's last timestamp often runs to the end of its window, past the
/// audio, and a time in the future would make later words look already committed.
pub fn segments_to_units(segments: &[Segment], offset_ms: u64, len_ms: u64) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut previous = String::new();
    for s in segments {
        if s.no_speech > 0.8 || text::is_hallucination(&s.text) {
            continue;
        }
        let simplified = text::to_simplified(&s.text);
        // The same sentence again as the next segment is Whisper re-reading trailing silence.
        let key = text::normalize(&simplified);
        if !key.is_empty() && key == previous {
            continue;
        }
        previous = key;
        let parts = text::cut_repetitions(&text::units(&simplified), 2);
        let parts = text::cut_doubled(&parts, MIN_DOUBLED_UNITS);
        let n = parts.len().max(1) as u64;
        let (start, end) = (s.start_ms.min(len_ms), s.end_ms.min(len_ms));
        let span = end.saturating_sub(start);
        for (i, t) in parts.into_iter().enumerate() {
            let i = i as u64;
            out.push(Unit {
                text: t,
                start_ms: offset_ms + start + span * i / n,
                end_ms: offset_ms + start + span * (i + 1) / n,
            });
        }
    }
    out
}

/// Joins units into display text.
pub fn join_units(units: &[Unit]) -> String {
    units
        .iter()
        .map(|u| u.text.as_str())
        .collect::<String>()
        .trim()
        .to_owned()
}
