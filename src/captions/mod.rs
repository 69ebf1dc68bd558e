//! Live captions: a streaming recognizer on top of the offline Whisper engine, the text rules
//! that make its Mandarin usable, and subtitle formats.

pub mod agreement;
pub mod event;
pub mod format;
pub mod guard;
pub mod itn;
pub mod live;
pub mod numbers;
mod replay;
pub mod segment;
pub mod settle;
mod stream;
pub mod tap;
pub mod text;
pub mod transcribe;
pub mod vad;

pub use event::CaptionEvent;
pub use replay::{stream_clip, Pace, StreamRun};
pub use stream::{Commit, StreamConfig, StreamRecognizer, StreamStats};

use crate::asr::{Lang, Segment};
use agreement::Unit;
use std::sync::{Arc, RwLock};

/// Terms the recognizer favours, shared with whoever adds to them while a stream runs (a
/// captioner's correction teaches the event's vocabulary).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary(Arc<RwLock<Vec<String>>>);

impl Vocabulary {
    /// A vocabulary of these terms.
    pub fn new(terms: Vec<String>) -> Self {
        Self(Arc::new(RwLock::new(terms)))
    }

    /// The terms now.
    pub fn terms(&self) -> Vec<String> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the terms; running streams use them from their next decode.
    pub fn set(&self, terms: Vec<String>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = terms;
    }
}

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
/// hallucinations, no prompt read back, no text the decoder did not believe, no repetition
/// loops. `offset_ms` is where the decoded audio starts and `len_ms` its length: Whisper's
/// last timestamp often runs to the end of its window, past the audio, and a time in the
/// future would make later words look already committed. `hotwords` are the prompt's terms.
pub fn segments_to_units(
    segments: &[Segment],
    offset_ms: u64,
    len_ms: u64,
    hotwords: &[String],
) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut previous = String::new();
    for s in segments {
        if s.no_speech > 0.8 || text::is_hallucination(&s.text) {
            continue;
        }
        if let Some(why) = guard::invented(s) {
            // Never the text: caption text stays out of the log.
            tracing::debug!(
                why,
                avg_logprob = s.avg_logprob,
                no_speech = s.no_speech,
                ms = s.end_ms.saturating_sub(s.start_ms),
                chars = s.text.chars().count(),
                "segment dropped as invented"
            );
            continue;
        }
        let converted = text::to_simplified(&s.text);
        // Probabilities line up with the text only if the conversion kept its length.
        let char_p: &[f32] = if converted.chars().count() == s.char_p.len() {
            &s.char_p
        } else {
            &[]
        };
        let stripped = guard::strip_style_prefix(&converted, ZH_STYLE_PROMPT);
        let skip = converted.chars().count() - stripped.chars().count();
        let char_p = char_p.get(skip..).unwrap_or(&[]);
        let (stripped, kept) = guard::drop_style_sentences(&stripped, ZH_STYLE_PROMPT);
        let char_p: Vec<f32> = if char_p.len() == kept.len() {
            char_p
                .iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(p, _)| *p)
                .collect()
        } else {
            Vec::new()
        };
        let char_p = &char_p[..];
        if guard::echoes_prompt(&stripped, ZH_STYLE_PROMPT, hotwords) {
            tracing::debug!("segment dropped as the prompt read back");
            continue;
        }
        // The same sentence again as the next segment is Whisper re-reading trailing silence.
        let key = text::normalize(&stripped);
        if key.is_empty() || key == previous {
            continue;
        }
        previous = key;
        let all = text::units(&stripped);
        let unsure = unsure_units(&all, char_p);
        let parts = text::cut_repetitions(&all, 2);
        let parts = text::cut_doubled(&parts, MIN_DOUBLED_UNITS);
        let flags = flags_of_kept(&all, &unsure, &parts);
        let n = parts.len().max(1) as u64;
        let (start, end) = (s.start_ms.min(len_ms), s.end_ms.min(len_ms));
        let span = end.saturating_sub(start);
        for (i, (t, unsure)) in parts.into_iter().zip(flags).enumerate() {
            let i = i as u64;
            out.push(Unit {
                text: t,
                start_ms: offset_ms + start + span * i / n,
                end_ms: offset_ms + start + span * (i + 1) / n,
                unsure,
            });
        }
    }
    cut_loops_across_segments(out)
}

/// The loop guards again over the whole decode: Whisper often gives each sentence of a loop
/// its own segment, and the sentences of a loop need not split where the segments do ("共房者
/// 主要" | "集中在二十五岁……。共房者主要" | …), so no one segment held the repeat.
fn cut_loops_across_segments(units: Vec<Unit>) -> Vec<Unit> {
    let key: Vec<String> = units.iter().map(|u| text::normalize(&u.text)).collect();
    let kept = text::repetitions_kept(&key, 2);
    let kept_keys: Vec<String> = kept.iter().map(|&i| key[i].clone()).collect();
    let mut kept: Vec<usize> = text::doubled_kept(&kept_keys, MIN_DOUBLED_UNITS)
        .into_iter()
        .map(|j| kept[j])
        .collect();
    let kept_keys: Vec<String> = kept.iter().map(|&i| key[i].clone()).collect();
    let ends: Vec<bool> = kept
        .iter()
        .map(|&i| text::ends_sentence(&units[i].text))
        .collect();
    if let Some(at) = guard::sentence_loop_start(&kept_keys, &ends) {
        kept.truncate(at);
    }
    if kept.len() == units.len() {
        return units;
    }
    tracing::debug!(
        units = units.len(),
        kept = kept.len(),
        "repetition across segments cut"
    );
    let mut keep = vec![false; units.len()];
    for i in kept {
        keep[i] = true;
    }
    units
        .into_iter()
        .zip(keep)
        .filter_map(|(u, k)| k.then_some(u))
        .collect()
}

/// Which units hold a character the decoder was unsure of (units spell the text in order).
fn unsure_units(units: &[String], char_p: &[f32]) -> Vec<bool> {
    let mut at = 0;
    units
        .iter()
        .map(|u| {
            let n = u.chars().count();
            let low = u
                .chars()
                .zip(char_p.iter().skip(at))
                .any(|(c, p)| c.is_alphanumeric() && *p < guard::UNSURE_P);
            at += n;
            low
        })
        .collect()
}

/// The flags of the units a cut kept (they are a subsequence of the originals).
fn flags_of_kept(all: &[String], flags: &[bool], kept: &[String]) -> Vec<bool> {
    let mut j = 0;
    kept.iter()
        .map(|k| {
            while j < all.len() && all[j] != *k {
                j += 1;
            }
            let f = flags.get(j).copied().unwrap_or(false);
            j += 1;
            f
        })
        .collect()
}

/// The caption text of committed units as viewers read it (numbers per GB/T 15835 in
/// Mandarin), and where in it the decoder was unsure: `[start, end)` character ranges.
pub fn caption_text(units: &[Unit], lang: Lang) -> (String, Vec<[u32; 2]>) {
    let mut marked: Vec<itn::Marked> = Vec::new();
    for u in units {
        marked.extend(u.text.chars().map(|c| (c, u.unsure && c.is_alphanumeric())));
    }
    while marked.first().is_some_and(|(c, _)| c.is_whitespace()) {
        marked.remove(0);
    }
    while marked.last().is_some_and(|(c, _)| c.is_whitespace()) {
        marked.pop();
    }
    if lang != Lang::En {
        marked = itn::apply_marked(&marked);
    }
    let text: String = marked.iter().map(|(c, _)| *c).collect();
    let mut spans: Vec<[u32; 2]> = Vec::new();
    for (i, (_, unsure)) in marked.iter().enumerate() {
        if !*unsure {
            continue;
        }
        let i = i as u32;
        match spans.last_mut() {
            Some(last) if last[1] == i => last[1] = i + 1,
            _ => spans.push([i, i + 1]),
        }
    }
    (text, spans)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(text: &str, start_ms: u64, end_ms: u64) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.into(),
            no_speech: 0.01,
            char_p: Vec::new(),
            avg_logprob: -0.3,
        }
    }

    #[test]
    fn a_loop_whose_sentences_straddle_segments_is_cut() {
        // Each segment alone repeats nothing; together they say one sentence three times.
        let segs = [
            segment("购房者主要集中在二十五到三十五岁之间。共房者主要", 0, 4000),
            segment("集中在二十五到三十五岁之间。共房者主要", 4000, 8000),
            segment("集中在二十五到三十五岁之间。", 8000, 10000),
        ];
        let units = segments_to_units(&segs, 0, 10_000, &[]);
        let text = join_units(&units);
        assert_eq!(text.matches("之间").count(), 2, "{text}");
        assert!(text.starts_with("购房者主要集中在"), "{text}");
        // Speech that does not repeat is left whole.
        let segs = [
            segment("购房者主要集中在二十五到三十五岁之间。", 0, 4000),
            segment("会发现一九九零年后出生的人口急剧减少。", 4000, 8000),
        ];
        let units = segments_to_units(&segs, 0, 8000, &[]);
        assert_eq!(
            join_units(&units),
            "购房者主要集中在二十五到三十五岁之间。会发现一九九零年后出生的人口急剧减少。"
        );
    }
}
