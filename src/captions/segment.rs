//! Splitting long audio into utterances at pauses, so each decode sees one stretch of speech:
//! whisper.cpp's 30 s windows otherwise skip utterances and invent text in a short last window.

use super::vad::{Vad, FRAME};

/// A pause at least this long separates utterances.
const MIN_PAUSE_FRAMES: usize = 20; // 400 ms
/// Audio kept around each utterance so onsets and endings are not clipped.
const PAD_FRAMES: usize = 10; // 200 ms
/// Longest utterance decoded at once; longer speech is cut at its quietest frame.
const MAX_FRAMES: usize = 1250; // 25 s

/// Sample ranges `[start, end)` of the utterances in `pcm` (16 kHz).
pub fn utterances(pcm: &[f32]) -> Vec<(usize, usize)> {
    let mut vad = Vad::new();
    let frames: Vec<&[f32]> = pcm.chunks(FRAME).collect();
    let voiced: Vec<bool> = frames
        .iter()
        .map(|f| f.len() == FRAME && vad.frame(f))
        .collect();
    let levels: Vec<f32> = frames.iter().map(|f| super::vad::level_db(f)).collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < voiced.len() {
        if !voiced[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        let mut quiet = 0;
        while i < voiced.len() && quiet < MIN_PAUSE_FRAMES {
            if voiced[i] {
                end = i + 1;
                quiet = 0;
            } else {
                quiet += 1;
            }
            i += 1;
        }
        spans.push((start, end));
    }
    let mut out = Vec::new();
    for (s, e) in spans {
        let mut s = s;
        while e - s > MAX_FRAMES {
            // Cut at the quietest frame of the last fifth of the allowed length.
            let from = s + MAX_FRAMES * 4 / 5;
            let cut = (from..s + MAX_FRAMES)
                .min_by(|a, b| levels[*a].total_cmp(&levels[*b]))
                .unwrap_or(s + MAX_FRAMES);
            out.push((s, cut));
            s = cut;
        }
        out.push((s, e));
    }
    out.into_iter()
        .map(|(s, e)| {
            let a = s.saturating_sub(PAD_FRAMES) * FRAME;
            let b = ((e + PAD_FRAMES) * FRAME).min(pcm.len());
            (a, b)
        })
        .filter(|(a, b)| b > a)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(secs: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| (i as f32 * 0.07).sin() * 0.3 * (1.0 + (i as f32 * 0.001).sin()))
            .collect()
    }

    #[test]
    fn pauses_split_and_silence_yields_nothing() {
        assert!(utterances(&vec![0.0; 16_000 * 5]).is_empty());
        let mut pcm = vec![0.0f32; 8_000];
        pcm.extend(burst(2.0));
        pcm.extend(vec![0.0; 16_000]);
        pcm.extend(burst(1.0));
        pcm.extend(vec![0.0; 8_000]);
        let u = utterances(&pcm);
        assert_eq!(u.len(), 2, "{u:?}");
        assert!(u[0].0 <= 8_000 && u[0].1 >= 8_000 + 32_000, "{u:?}");
        assert!(u[1].0 < 56_000 && u[1].1 >= 56_000 + 16_000, "{u:?}");
    }

    #[test]
    fn long_speech_is_cut_into_pieces_of_at_most_25_s() {
        let pcm = burst(60.0);
        let u = utterances(&pcm);
        assert!(u.len() >= 3, "{u:?}");
        assert!(u
            .iter()
            .all(|(a, b)| b - a <= (MAX_FRAMES + 2 * PAD_FRAMES) * FRAME));
        assert_eq!(u.last().map(|x| x.1), Some(pcm.len()));
    }
}
