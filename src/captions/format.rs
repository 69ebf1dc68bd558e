//! Transcript formats: plain text, WebVTT, SRT and JSON.

use serde::Serialize;

/// A timed line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cue {
    /// Start, ms.
    pub start_ms: u64,
    /// End, ms.
    pub end_ms: u64,
    /// Text.
    pub text: String,
}

fn stamp(ms: u64, sep: char) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

/// One line per cue.
pub fn txt(cues: &[Cue]) -> String {
    cues.iter().map(|c| format!("{}\n", c.text)).collect()
}

/// WebVTT.
pub fn vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(c.start_ms, '.'),
            stamp(c.end_ms.max(c.start_ms + 1), '.'),
            c.text
        ));
    }
    out
}

/// SubRip.
pub fn srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, c) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(c.start_ms, ','),
            stamp(c.end_ms.max(c.start_ms + 1), ','),
            c.text
        ));
    }
    out
}

/// JSON array of cues.
pub fn json(cues: &[Cue]) -> String {
    serde_json::to_string_pretty(cues).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_have_their_timestamps() {
        let cues = vec![Cue {
            start_ms: 1_500,
            end_ms: 3_723_004,
            text: "你好".into(),
        }];
        assert_eq!(
            vtt(&cues),
            "WEBVTT\n\n00:00:01.500 --> 01:02:03.004\n你好\n\n"
        );
        assert_eq!(srt(&cues), "1\n00:00:01,500 --> 01:02:03,004\n你好\n\n");
        assert_eq!(txt(&cues), "你好\n");
        assert!(json(&cues).contains("\"start_ms\": 1500"));
    }
}
