//! The settling pass: once an utterance is over, its audio is decoded once more, whole and with
//! beam search (as `transcribe` does), and the lines the live pass committed for it are
//! revised to that text in place. Live lines must be committed from decodes of a buffer that
//! ends mid-word, greedily; the settled text hears every word with what follows it. Viewers
//! read the live line at once and see it replaced a few seconds later, like a captioner's
//! correction (same `seq`, a higher `rev`); a line a captioner has touched is not revised.

use super::event::CaptionEvent;
use super::guard::Repeats;
use super::{caption_text, segments_to_units, text};
use crate::asr::{Lang, Segment};

const SAMPLES_PER_MS: usize = 16;
/// Audio kept before the first line of a span while nothing is pending, so an onset is heard.
const PREROLL_MS: u64 = 300;
/// How long a span of speech without an utterance-ending pause grows before it is settled
/// (see `Settler::long_cut`), by default. Long spans give Whisper the context it needs
/// (spans of 4-8 s read names in a list and the starts of sentences worse than the live pass
/// did; the offline pass decodes up to 25 s), but each settling decode holds the live pass
/// up for as long as it takes.
pub const DEFAULT_SPAN_MS: u64 = 20_000;
/// How far past a line's end the cut looks for the quietest moment.
const CUT_SEARCH_MS: u64 = 600;
/// Beam of the settling decode (the offline pass's).
pub const SETTLE_BEAM: usize = 5;
/// Largest alignment the settling pass computes (characters × characters).
const MAX_ALIGN_CELLS: usize = 4_000_000;

/// A stable line still waiting to be settled.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    text: String,
    start_ms: u64,
    end_ms: u64,
}

/// An utterance taken to be settled: its audio and the live lines committed for it.
#[derive(Debug)]
pub struct Span {
    /// 16 kHz audio.
    pub pcm: Vec<f32>,
    /// Where it starts, ms from the stream's start.
    pub start_ms: u64,
    /// How long it is, ms (its audio goes to the decoder, this stays).
    pub len_ms: u64,
    lines: Vec<Pending>,
}

/// The settling state of one stream.
#[derive(Debug)]
pub struct Settler {
    lang: Lang,
    pcm: Vec<f32>,
    start_ms: u64,
    lines: Vec<Pending>,
    /// Middles of the pauses (400 ms and more, as the offline pass splits) in the audio, ms.
    gaps: Vec<u64>,
    /// The last settled text: the next settling decode's prompt.
    prompt: String,
    repeats: Repeats,
    /// A span is settled at any pause, or at a sentence end, once this long (ms); at a pause
    /// after a sentence once 3/5 of it, at any line end once 5/4 of it.
    span_ms: u64,
}

impl Settler {
    /// An empty state for a stream in `lang` settling spans of about `span_ms`.
    pub fn new(lang: Lang, span_ms: u64) -> Self {
        Self {
            span_ms,
            lang,
            pcm: Vec::new(),
            start_ms: 0,
            lines: Vec::new(),
            gaps: Vec::new(),
            prompt: String::new(),
            repeats: Repeats::new(),
        }
    }

    /// Adds audio; while `idle` (no speech waits) and no line is pending, only a short
    /// pre-roll is kept.
    pub fn push_audio(&mut self, pcm: &[f32], idle: bool) {
        self.pcm.extend_from_slice(pcm);
        if idle && self.lines.is_empty() {
            let keep = PREROLL_MS as usize * SAMPLES_PER_MS;
            if self.pcm.len() > keep {
                let drop = self.pcm.len() - keep;
                self.pcm.drain(..drop);
                self.start_ms += (drop / SAMPLES_PER_MS) as u64;
                let start = self.start_ms;
                self.gaps.retain(|g| *g > start);
            }
        }
    }

    /// Audio held for settling, ms.
    pub fn held_ms(&self) -> u64 {
        (self.pcm.len() / SAMPLES_PER_MS) as u64
    }

    /// Where the audio held starts, ms.
    pub fn start_ms(&self) -> u64 {
        self.start_ms
    }

    /// A pause of 400 ms or more ended; `at_ms` is its middle.
    pub fn gap(&mut self, at_ms: u64) {
        if at_ms > self.start_ms {
            self.gaps.push(at_ms);
        }
    }

    /// Notes the stable lines among `events` (revisions are not lines).
    pub fn lines(&mut self, events: &[CaptionEvent]) {
        for e in events.iter().filter(|e| e.stable && !e.revision) {
            self.lines.push(Pending {
                seq: e.seq,
                text: e.text.clone(),
                start_ms: e.start_ms,
                end_ms: e.end_ms,
            });
        }
    }

    /// True while live lines wait to be settled.
    pub fn pending(&self) -> bool {
        !self.lines.is_empty()
    }

    /// The settled text before the next span (its decode's prompt).
    pub fn prompt(&self) -> &str {
        &self.prompt
    }

    /// Where to settle speech that goes on without the pause that ends an utterance, if it is
    /// time: at the last short pause the live lines have moved past, once the span before it
    /// is long enough (the lines on each side are then whole); failing that, after a line that
    /// ends a sentence once the span is long, after any line once it is very long, at the
    /// quietest moment just after that line's end, so no word is cut in two.
    pub fn long_cut(&self, fed_ms: u64) -> Option<u64> {
        let last = self.lines.last()?;
        let mid = |l: &Pending| (l.start_ms + l.end_ms) / 2;
        let ends_sentence = |l: &Pending| text::ends_sentence(&l.text);
        let (any_pause, after_sentence, most) =
            (self.span_ms, self.span_ms * 3 / 5, self.span_ms * 5 / 4);
        let at_pause = self.gaps.iter().rev().find(|g| {
            let g = **g;
            let before = self.lines.iter().rev().find(|l| mid(l) < g);
            let long = g.saturating_sub(self.start_ms);
            g < mid(last)
                && (long >= any_pause
                    || long >= after_sentence && before.is_some_and(ends_sentence))
        });
        if let Some(g) = at_pause {
            return Some(*g);
        }
        let span = fed_ms.saturating_sub(self.start_ms);
        if span >= 2 * most {
            // Line times that never leave room for a cut: the audio held stays bounded.
            return Some(fed_ms);
        }
        if !(span >= most || span >= any_pause && ends_sentence(last)) {
            return None;
        }
        let from = last.end_ms.max(self.start_ms);
        let to = (last.end_ms + CUT_SEARCH_MS).min(fed_ms);
        (from < to).then(|| self.quietest(from, to))
    }

    /// The start of the quietest 20 ms in `[from, to)`, ms.
    fn quietest(&self, from: u64, to: u64) -> u64 {
        let frame = 20 * SAMPLES_PER_MS;
        let at = |ms: u64| (ms.saturating_sub(self.start_ms)) as usize * SAMPLES_PER_MS;
        let (a, b) = (at(from), at(to).min(self.pcm.len()));
        let mut best = (f32::MAX, from);
        let mut i = a;
        while i + frame <= b {
            let energy: f32 = self.pcm[i..i + frame].iter().map(|x| x * x).sum();
            if energy < best.0 {
                best = (energy, self.start_ms + (i / SAMPLES_PER_MS) as u64);
            }
            i += frame;
        }
        best.1
    }

    /// Takes the audio up to `through_ms` and the pending lines whose middle lies before it,
    /// to be settled; `None` (the audio dropped) when there are none.
    pub fn take(&mut self, through_ms: u64) -> Option<Span> {
        let n = ((through_ms.saturating_sub(self.start_ms)) as usize * SAMPLES_PER_MS)
            .min(self.pcm.len());
        let pcm: Vec<f32> = self.pcm.drain(..n).collect();
        let start_ms = self.start_ms;
        self.start_ms += (n / SAMPLES_PER_MS) as u64;
        let start = self.start_ms;
        self.gaps.retain(|g| *g > start);
        let before = self
            .lines
            .iter()
            .take_while(|l| (l.start_ms + l.end_ms) / 2 < through_ms)
            .count();
        if before == 0 {
            return None;
        }
        Some(Span {
            len_ms: (pcm.len() / SAMPLES_PER_MS) as u64,
            pcm,
            start_ms,
            lines: self.lines.drain(..before).collect(),
        })
    }

    /// The revisions a settling decode of `span` makes: each of its lines whose text the
    /// whole-utterance decode spells otherwise, as that text. None when that decode is not
    /// believable beside the live one (it lost or invented much of it: the live lines stand).
    pub fn revise(
        &mut self,
        span: Span,
        segments: &[Segment],
        hotwords: &[String],
    ) -> Vec<CaptionEvent> {
        let len_ms = span.len_ms;
        let sep = if self.lang == Lang::Zh { "" } else { " " };
        let mut parts = Vec::new();
        for s in segments {
            let units = segments_to_units(std::slice::from_ref(s), span.start_ms, len_ms, hotwords);
            if units.is_empty() {
                continue;
            }
            let (t, _) = caption_text(&units, self.lang);
            // The sentence before read again, as the offline pass drops it.
            if t.is_empty() || !self.repeats.admit(&t) {
                continue;
            }
            parts.push(t);
        }
        let settled = parts.join(sep);
        let live: Vec<String> = span.lines.iter().map(|l| l.text.clone()).collect();
        let live_text = live.join(sep);
        if !believable(&live_text, &settled) {
            tracing::debug!(
                lines = live.len(),
                "settling decode not believable; live lines stand"
            );
            self.prompt = live_text;
            return Vec::new();
        }
        self.prompt = settled.clone();
        let Some(revised) = realign(&live, &settled, self.lang) else {
            return Vec::new();
        };
        span.lines
            .iter()
            .zip(revised)
            .filter(|(l, t)| l.text != *t)
            .map(|(l, t)| CaptionEvent {
                seq: l.seq,
                start_ms: l.start_ms,
                end_ms: l.end_ms,
                text: t,
                stable: true,
                unsure: Vec::new(),
                revision: true,
            })
            .collect()
    }
}

impl Span {
    /// Live lines it covers.
    pub fn lines_len(&self) -> usize {
        self.lines.len()
    }
}

/// Reading units of a text (characters of Chinese, words of other scripts).
fn count_units(s: &str) -> usize {
    text::units(&text::normalize(s)).len()
}

/// A settling decode is taken only if it says about as much as the live lines did: one that
/// says far less skipped audio (beam search on a long utterance sometimes stops early), one
/// that says far more invented or repeated some.
pub fn believable(live: &str, settled: &str) -> bool {
    let (n1, n2) = (count_units(live), count_units(settled));
    n2 > 0 && (n2 + 2) * 10 >= n1 * 7 && n2 * 2 <= n1 * 3 + 6
}

/// Splits `settled` into as many lines as `live`, each the part of it that spells the same
/// speech: the two are aligned character by character (edit distance) and each live line's
/// end is carried over. A cut is moved past punctuation, and in other scripts than Chinese
/// never falls inside a word. `None` when the texts are too long to align.
pub fn realign(live: &[String], settled: &str, lang: Lang) -> Option<Vec<String>> {
    let sep = if lang == Lang::Zh { "" } else { " " };
    let joined = live.join(sep);
    let a: Vec<char> = joined.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = settled.chars().collect();
    let lower: Vec<char> = b
        .iter()
        .map(|c| c.to_lowercase().next().unwrap_or(*c))
        .collect();
    // to_lowercase may lengthen a character; then positions no longer line up.
    if a.len() != joined.chars().count() {
        return None;
    }
    let (n, m) = (a.len(), b.len());
    if (n + 1).saturating_mul(m + 1) > MAX_ALIGN_CELLS {
        return None;
    }
    // Edit distance, then the path back: where each position of `a` falls in `b`.
    let w = m + 1;
    let mut d = vec![0u32; (n + 1) * w];
    for (j, cell) in d.iter_mut().take(w).enumerate() {
        *cell = j as u32;
    }
    for i in 1..=n {
        d[i * w] = i as u32;
        for j in 1..=m {
            let sub = d[(i - 1) * w + j - 1] + u32::from(a[i - 1] != lower[j - 1]);
            let del = d[(i - 1) * w + j] + 1;
            let ins = d[i * w + j - 1] + 1;
            d[i * w + j] = sub.min(del).min(ins);
        }
    }
    let mut at = vec![0usize; n + 1];
    let (mut i, mut j) = (n, m);
    at[n] = m;
    while i > 0 || j > 0 {
        let here = d[i * w + j];
        if i > 0 && j > 0 && here == d[(i - 1) * w + j - 1] + u32::from(a[i - 1] != lower[j - 1]) {
            i -= 1;
            j -= 1;
        } else if i > 0 && here == d[(i - 1) * w + j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
        // Text only the settled decode has, at a line's end, stays with that line.
        at[i] = at[i].max(j);
    }
    let mut cuts = Vec::with_capacity(live.len());
    let mut end = 0usize;
    for (k, l) in live.iter().enumerate() {
        end += l.chars().count();
        if k + 1 == live.len() {
            cuts.push(m);
            break;
        }
        let mut c = at[end];
        while c < m && !b[c].is_alphanumeric() && !b[c].is_whitespace() {
            c += 1;
        }
        if lang != Lang::Zh {
            while c > 0 && c < m && !b[c].is_whitespace() && !b[c - 1].is_whitespace() {
                c += 1;
            }
        }
        cuts.push(c.max(cuts.last().copied().unwrap_or(0)));
        end += sep.chars().count();
    }
    let mut out = Vec::with_capacity(live.len());
    let mut from = 0;
    for c in cuts {
        out.push(b[from..c].iter().collect::<String>().trim().to_owned());
        from = c;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_line_gets_the_settled_spelling_of_its_own_speech() {
        let live = lines(&[
            "广州市房地产中介",
            "协会分析，甚至出现",
            "交易几乎停止的情况。",
        ]);
        let out = realign(
            &live,
            "广州市房地产中介协会分析，甚至出现交易几乎停滞的情况。",
            Lang::Zh,
        );
        assert_eq!(
            out.unwrap(),
            [
                "广州市房地产中介",
                "协会分析，甚至出现",
                "交易几乎停滞的情况。"
            ]
        );
    }

    #[test]
    fn words_only_one_decode_heard_stay_with_their_line() {
        // The settled decode lost a character of the first line and heard one the live pass
        // missed at the end of the second; the cut stays after the first line's speech and
        // punctuation goes with the character before it.
        let live = lines(&["韩国三星电子计划", "最早于2015年最晚"]);
        let out = realign(
            &live,
            "韩国三星电计划，最早于2015年，最晚2016年。",
            Lang::Zh,
        )
        .unwrap();
        assert_eq!(out, ["韩国三星电计划，", "最早于2015年，最晚2016年。"]);
    }

    #[test]
    fn english_lines_are_never_cut_inside_a_word() {
        let live = lines(&["ask not what your count", "ry can do for you"]);
        let out = realign(&live, "Ask not what your country can do for you.", Lang::En).unwrap();
        assert_eq!(out, ["Ask not what your country", "can do for you."]);
    }

    #[test]
    fn a_line_the_settled_decode_does_not_hear_becomes_empty() {
        let live = lines(&["今天天气很好。", "谢谢大家观看", "我们开始开会。"]);
        let out = realign(&live, "今天天气很好。我们开始开会。", Lang::Zh).unwrap();
        assert_eq!(out, ["今天天气很好。", "", "我们开始开会。"]);
    }

    #[test]
    fn a_settled_decode_that_lost_or_invented_much_is_not_believed() {
        let live = "我意思是说通用计算机是指我们所有人都能用的这种普通计算机";
        assert!(believable(
            live,
            "我的意思是说通用计算机是指我们所有人都能用的普通计算机"
        ));
        assert!(
            !believable(live, "我意思是说通用计算机"),
            "half the speech lost"
        );
        assert!(!believable(live, ""));
        assert!(
            !believable(&live[..30], live),
            "three times as much as the live lines heard"
        );
        // Short lines may differ by a few units either way.
        assert!(believable("你好", "你好你好啊"));
    }

    fn event(seq: u64, text: &str) -> CaptionEvent {
        CaptionEvent {
            seq,
            start_ms: seq * 1000,
            end_ms: seq * 1000 + 900,
            text: text.into(),
            stable: true,
            unsure: Vec::new(),
            revision: false,
        }
    }

    fn segment(text: &str, end_ms: u64) -> Segment {
        Segment {
            start_ms: 0,
            end_ms,
            text: text.into(),
            no_speech: 0.01,
            char_p: Vec::new(),
            avg_logprob: -0.2,
        }
    }

    #[test]
    fn a_settled_span_revises_only_the_lines_it_spells_otherwise() {
        let mut s = Settler::new(Lang::Zh, DEFAULT_SPAN_MS);
        s.push_audio(&vec![0.0; 3000 * SAMPLES_PER_MS], false);
        s.lines(&[
            event(0, "为给女儿买房"),
            event(1, "国企出纳挪用四千万炒股获刑"),
        ]);
        let span = s.take(3000).unwrap();
        assert!(!s.pending());
        let out = s.revise(
            span,
            &[segment("为给女儿买房国企出纳挪用4000万炒股获刑17年", 3000)],
            &[],
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].seq, out[0].revision), (1, true));
        assert_eq!(out[0].text, "国企出纳挪用4000万炒股获刑17年");
        assert_eq!(s.prompt(), "为给女儿买房国企出纳挪用4000万炒股获刑17年");
    }

    #[test]
    fn an_unbelievable_settled_span_leaves_the_live_lines() {
        let mut s = Settler::new(Lang::Zh, DEFAULT_SPAN_MS);
        s.push_audio(&vec![0.0; 3000 * SAMPLES_PER_MS], false);
        s.lines(&[event(0, "会发现一九九零年后出生的人口急剧减少")]);
        let span = s.take(3000).unwrap();
        assert!(s.revise(span, &[segment("会发现", 3000)], &[]).is_empty());
    }

    #[test]
    fn speech_is_settled_at_a_short_pause_the_live_lines_have_passed() {
        let mut s = Settler::new(Lang::Zh, DEFAULT_SPAN_MS);
        s.push_audio(&vec![0.3f32; 25_000 * SAMPLES_PER_MS], false);
        s.gap(2000);
        s.gap(13_000);
        s.lines(&[event(1, "韩国三星电子"), event(12, "计划最早于2015年")]);
        // Lines end at 12.9 s: the pause at 13 s is not passed yet, the one at 2 s is early.
        assert_eq!(s.long_cut(24_000), None);
        s.lines(&[event(14, "为给女儿买房")]);
        assert_eq!(
            s.long_cut(24_000),
            None,
            "at 13 s, but after no sentence end"
        );
        s.gap(21_000);
        s.lines(&[event(21, "国企出纳挪用4000万")]);
        assert_eq!(s.long_cut(24_000), Some(21_000), "any pause after 20 s");
        let span = s.take(21_000).unwrap();
        assert_eq!(span.lines.len(), 3, "the line after the pause waits");
        assert!(s.pending());
        assert_eq!(span.pcm.len(), 21_000 * SAMPLES_PER_MS);
        // After a sentence, 12 s are enough.
        s.push_audio(&vec![0.3f32; 15_000 * SAMPLES_PER_MS], false);
        s.lines(&[event(30, "获刑17年。")]);
        s.gap(33_500);
        s.lines(&[event(34, "清点出")]);
        assert_eq!(s.long_cut(40_000), Some(33_500));
    }

    #[test]
    fn speech_without_a_pause_is_settled_after_a_sentence_once_long() {
        let mut s = Settler::new(Lang::Zh, DEFAULT_SPAN_MS);
        // 21 s of sound, quiet from 5.2 s to 5.4 s.
        let mut pcm = vec![0.3f32; 21_000 * SAMPLES_PER_MS];
        pcm[5200 * SAMPLES_PER_MS..5400 * SAMPLES_PER_MS].fill(0.0);
        s.push_audio(&pcm, false);
        s.lines(&[event(5, "这并不是告别")]);
        assert_eq!(s.long_cut(21_000), None, "no sentence end, under 25 s");
        s.lines(&[event(5, "这是一个篇章的结束。")]);
        // The line ends at 5.9 s by its times; the quiet comes just before. The cut looks
        // only after the line's end, so its own words stay in the span.
        let cut = s.long_cut(21_000).unwrap();
        assert!((5900..6500).contains(&cut), "{cut}");
        assert_eq!(s.long_cut(19_000), None, "a 19 s span waits");
        // Idle audio is not kept while lines wait.
        s.push_audio(&[0.0; 1600], true);
        let span = s.take(cut).unwrap();
        assert_eq!(span.lines.len(), 2);
        assert_eq!(span.pcm.len(), cut as usize * SAMPLES_PER_MS);
    }
}
