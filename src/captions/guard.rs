//! Guards against what Whisper writes that nobody said, shared by the streaming and the
//! offline path: its own prompt read back (the style sentence, the hotword list), a sentence
//! said again, and text the decoder itself did not believe. Each rule is about how the model
//! fails, not about any one sentence.

use super::text::normalize;
use crate::asr::Segment;
use std::collections::VecDeque;

/// Below this mean token log probability a segment is usually invented (Whisper's own
/// `logprob_threshold` is -1.0; it retries at a higher temperature, which live captions cannot
/// afford, so such text is dropped when the decoder also doubted there was speech).
pub const INVENTED_LOGPROB: f32 = -1.0;
/// ...and with it this probability of "no speech".
const INVENTED_NO_SPEECH: f32 = 0.3;
/// Far below this a segment is dropped whatever the no-speech probability.
const HOPELESS_LOGPROB: f32 = -1.6;
/// A character the decoder gave less than this is marked as uncertain for the captioner.
pub const UNSURE_P: f32 = 0.4;
/// Mandarin is spoken at 3–7 characters a second; more than this in a segment's time is text
/// the audio cannot hold.
const MAX_CHARS_PER_SEC: f64 = 12.0;
/// English is spoken at 2–4 words a second.
const MAX_WORDS_PER_SEC: f64 = 7.0;

/// Similarity of `a` to `b`: the share of `a`'s characters found, in order, in `b`.
pub fn contained_in(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    share_in_order(&a, &b)
}

/// The share of `a`'s items found, in order, in `b` (longest common subsequence).
fn share_in_order<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()] as f64 / a.len() as f64
}

/// A line as the units the captions are made of (`text::units`: each Chinese character,
/// each word of other scripts), normalised. Letters are too few to compare by: 18 of the 19
/// letters of "what you can do for your" occur, in order, in "ask not what your country can
/// do for you", and streaming commits English in such fragments.
fn reading_units(line: &str) -> Vec<String> {
    super::text::units(line)
        .iter()
        .map(|u| normalize(u))
        .filter(|k| !k.is_empty())
        .collect()
}

/// True when a segment is the decoder reading its prompt back: mostly the style sentence, or
/// nothing but terms from the hotword list.
pub fn echoes_prompt(segment: &str, style: &str, hotwords: &[String]) -> bool {
    let seg = normalize(segment).replace(' ', "");
    let n = seg.chars().count();
    if n == 0 {
        return false;
    }
    let style = normalize(style).replace(' ', "");
    if !style.is_empty()
        && n >= 4
        && n <= style.chars().count() + 4
        && contained_in(&style, &seg) >= 0.6
    {
        return true;
    }
    // Two or more listed terms and nothing else: the vocabulary, not speech.
    let mut rest = seg.clone();
    let mut found = 0;
    let mut terms: Vec<String> = hotwords
        .iter()
        .map(|h| normalize(h).replace(' ', ""))
        .filter(|h| !h.is_empty())
        .collect();
    terms.sort_by_key(|t| std::cmp::Reverse(t.chars().count()));
    for t in &terms {
        while let Some(at) = rest.find(t.as_str()) {
            rest.replace_range(at..at + t.len(), "");
            found += 1;
        }
    }
    found >= 2 && rest.is_empty()
}

/// A segment's text without the sentences that read the style sentence back, and which of its
/// characters were kept. Whisper also appends a garbled copy of it after real speech in the
/// same segment ("…岁之间。这位女生，是普通话的句子。"), where a whole-segment check misses it.
pub fn drop_style_sentences(segment: &str, style: &str) -> (String, Vec<bool>) {
    let mut kept = String::with_capacity(segment.len());
    let mut mask = Vec::with_capacity(segment.chars().count());
    let mut sentence = String::new();
    let flush = |sentence: &mut String, kept: &mut String, mask: &mut Vec<bool>| {
        let n = sentence.chars().count();
        let keep = !echoes_prompt(sentence, style, &[]) && !quotes_style(sentence, style);
        if keep {
            kept.push_str(sentence);
        }
        mask.extend(std::iter::repeat_n(keep, n));
        sentence.clear();
    };
    for c in segment.chars() {
        sentence.push(c);
        if matches!(c, '。' | '！' | '？' | '.' | '!' | '?') {
            flush(&mut sentence, &mut kept, &mut mask);
        }
    }
    flush(&mut sentence, &mut kept, &mut mask);
    (kept, mask)
}

/// True when `sentence` holds two thirds of the style sentence word for word (at least six
/// characters), however much else it holds: a loop can wrap the copy in repeated words.
fn quotes_style(sentence: &str, style: &str) -> bool {
    let a: Vec<char> = normalize(sentence).replace(' ', "").chars().collect();
    let b: Vec<char> = normalize(style).replace(' ', "").chars().collect();
    let need = (b.len() * 2).div_ceil(3).max(6);
    if b.len() < need || a.len() < need {
        return false;
    }
    // Longest common run of characters, by dynamic programming over the two short strings.
    let mut best = 0;
    let mut prev = vec![0usize; b.len() + 1];
    for ca in &a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best >= need
}

/// A segment's text with a leading copy of the style sentence cut off.
pub fn strip_style_prefix(segment: &str, style: &str) -> String {
    let s = segment.trim_start();
    let style = style.trim_end_matches(['。', '.']);
    s.strip_prefix(style)
        .map(|r| r.trim_start_matches(['。', '，', ',', '.', ' ']).to_owned())
        .unwrap_or_else(|| segment.to_owned())
}

/// Why a segment is taken for invented text, if it is.
pub fn invented(s: &Segment) -> Option<&'static str> {
    if s.avg_logprob < HOPELESS_LOGPROB {
        return Some("improbable");
    }
    if s.avg_logprob < INVENTED_LOGPROB && s.no_speech > INVENTED_NO_SPEECH {
        return Some("doubtful over silence");
    }
    let secs = s.end_ms.saturating_sub(s.start_ms) as f64 / 1000.0;
    if secs <= 0.0 {
        return None;
    }
    // Characters for Mandarin, words for languages written with spaces.
    let cjk = s.text.chars().filter(|c| super::text::is_cjk(*c)).count() as f64;
    let words = s.text.split_whitespace().count() as f64;
    if (cjk >= 8.0 && cjk / secs > MAX_CHARS_PER_SEC)
        || (cjk == 0.0 && words >= 8.0 && words / secs > MAX_WORDS_PER_SEC)
    {
        return Some("too dense for its audio");
    }
    None
}

/// Shortest sentence (in units) whose echo is taken for a loop.
const MIN_ECHO_UNITS: usize = 3;
/// Share of the middle sentence's units found, in order, in the sentence it shortens.
const ECHO_SHARE: f64 = 0.75;

/// Where a loop that rephrases itself starts, if one does: a sentence, then a shortened copy
/// of it, then the sentence again ("It's a very pleasant. It's a pleasant. It's a very
/// pleasant." over an "um"). Whisper's greedy decoder does this over a hesitation or a
/// filler, and the exact-repeat guards miss it since the copies differ. `keys` are the
/// units' normalised keys, `ends` whether each ends a sentence; the answer is the first
/// unit of the copy, from which the decode is not believed.
pub fn sentence_loop_start(keys: &[String], ends: &[bool]) -> Option<usize> {
    let mut sentences: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, end) in ends.iter().enumerate() {
        if *end {
            sentences.push((start, i + 1));
            start = i + 1;
        }
    }
    let words = |(a, b): (usize, usize)| -> Vec<&String> {
        keys[a..b].iter().filter(|k| !k.is_empty()).collect()
    };
    sentences.windows(3).find_map(|w| {
        let (first, copy, again) = (words(w[0]), words(w[1]), words(w[2]));
        (again.len() >= MIN_ECHO_UNITS
            && again == first
            && share_in_order(&copy, &first) >= ECHO_SHARE)
            .then_some(w[1].0)
    })
}

/// Remembers the last lines shown, to drop a line that says one of them again: Whisper
/// re-reads the sentence in its prompt when the audio after it is quiet or unclear.
#[derive(Debug, Default)]
pub struct Repeats {
    recent: VecDeque<Vec<String>>,
}

/// Lines remembered.
const REMEMBER: usize = 3;
/// A line this short may well be said twice ("谢谢", "好的", "thank you very much").
const MIN_REPEAT_UNITS: usize = 6;

impl Repeats {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// True if `line` is new; remembers it. A line mostly made of a recent line is not new.
    pub fn admit(&mut self, line: &str) -> bool {
        let key = reading_units(line);
        let n = key.len();
        if n == 0 {
            return false;
        }
        let repeat = n >= MIN_REPEAT_UNITS
            && self
                .recent
                .iter()
                .any(|r| share_in_order(&key, r) >= 0.8 && r.len() + 2 >= n);
        if repeat {
            return false;
        }
        self.recent.push_back(key);
        if self.recent.len() > REMEMBER {
            self.recent.pop_front();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, ms: u64, logprob: f32, no_speech: f32) -> Segment {
        Segment {
            start_ms: 0,
            end_ms: ms,
            text: text.into(),
            no_speech,
            char_p: Vec::new(),
            avg_logprob: logprob,
        }
    }

    #[test]
    fn the_style_sentence_and_its_garbled_copies_are_prompt_echoes() {
        let style = super::super::ZH_STYLE_PROMPT;
        for s in [
            "以下是普通话的句子。",
            "参与肯定是普通话的句子。",
            "以下是普通话句子",
            "下面是普通话的句子",
        ] {
            assert!(echoes_prompt(s, style, &[]), "{s}");
        }
        for s in [
            "广州市房地产中介协会分析",
            "我们要推广普通话，方便群众办事。",
            "是的",
        ] {
            assert!(!echoes_prompt(s, style, &[]), "{s}");
        }
        assert_eq!(
            strip_style_prefix("以下是普通话的句子。今天开会", style),
            "今天开会"
        );
    }

    #[test]
    fn a_style_sentence_after_speech_in_the_same_segment_is_cut_and_the_speech_kept() {
        let style = super::super::ZH_STYLE_PROMPT;
        let (kept, mask) = drop_style_sentences(
            "购房者主要集中在25到35岁之间。这位女生，是普通话的句子。",
            style,
        );
        assert_eq!(kept, "购房者主要集中在25到35岁之间。");
        assert_eq!(mask.iter().filter(|k| **k).count(), kept.chars().count());
        assert_eq!(
            mask.len(),
            "购房者主要集中在25到35岁之间。这位女生，是普通话的句子。"
                .chars()
                .count()
        );
        // Speech about Mandarin, in sentences of any length, stays.
        for s in [
            "我们要推广普通话。方便群众办事。",
            "今天的发布会用普通话和手语进行。",
            "下面请市残联的同志介绍。",
        ] {
            assert_eq!(drop_style_sentences(s, style).0, s);
        }
        assert_eq!(drop_style_sentences("以下是普通话的句子。", style).0, "");
        // Wrapped in a loop's repeated words it is still the style sentence.
        assert_eq!(
            drop_style_sentences("岁之间。这位女生，这位女生，是普通话的句子。", style).0,
            "岁之间。"
        );
        assert_eq!(
            drop_style_sentences("没有句号的一句话", style).0,
            "没有句号的一句话"
        );
    }

    #[test]
    fn a_list_of_hotwords_alone_is_an_echo_but_speech_using_them_is_not() {
        let hw: Vec<String> = ["临清", "聊城", "残联"].map(String::from).to_vec();
        assert!(echoes_prompt("临清、聊城、残联。", "", &hw));
        assert!(echoes_prompt("聊城 残联", "", &hw));
        assert!(!echoes_prompt("聊城市残联今天发布", "", &hw));
        assert!(!echoes_prompt("临清", "", &hw));
    }

    #[test]
    fn a_sentence_said_again_is_dropped_but_new_ones_and_short_replies_pass() {
        let mut r = Repeats::new();
        assert!(r.admit("甚至出现交易几乎停滞的情况。"));
        assert!(r.admit("广州市房地产中介协会分析"));
        assert!(!r.admit("甚至出现交易几乎停滞的情况"), "said again");
        assert!(!r.admit("出现交易几乎停滞的情况。"), "most of it again");
        assert!(r.admit("谢谢"));
        assert!(r.admit("谢谢"), "short replies may repeat");
        assert!(r.admit("甚至出现交易几乎停滞的情况以后政府出台了新的政策来稳定市场"));
    }

    #[test]
    fn english_lines_are_compared_word_by_word() {
        let mut r = Repeats::new();
        let first = "ask not what your country can do for you, ask";
        assert!(r.admit(first));
        // 18 of its 19 letters occur, in order, in the line before; 4 of its 6 words do.
        assert!(r.admit("what you can do for your"));
        assert!(!r.admit(first), "said again");
        assert!(r.admit("thank you very much"));
        assert!(r.admit("thank you very much"), "short replies may repeat");
    }

    #[test]
    fn doubtful_or_impossibly_dense_segments_are_invented() {
        assert!(invented(&seg("至于完工通车进攻十七米", 3000, -1.2, 0.5)).is_some());
        assert!(invented(&seg("至于完工通车进攻十七米", 3000, -1.8, 0.0)).is_some());
        let dense = seg("一二三四五六七八九十一二三四五六七八九十", 1000, -0.2, 0.0);
        assert_eq!(invented(&dense), Some("too dense for its audio"));
        assert_eq!(
            invented(&seg("甚至出现交易几乎停滞的情况", 3000, -0.4, 0.1)),
            None
        );
        assert_eq!(invented(&seg("不太确定的一句话", 2000, -1.2, 0.05)), None);
    }

    #[test]
    fn english_density_is_counted_in_words_not_letters() {
        let normal = seg(
            "The council will open three new service halls next year",
            3500,
            -0.3,
            0.0,
        );
        assert_eq!(invented(&normal), None, "about three words a second");
        let dense = seg(
            "one two three four five six seven eight nine ten eleven",
            1000,
            -0.3,
            0.0,
        );
        assert_eq!(invented(&dense), Some("too dense for its audio"));
    }

    #[test]
    fn a_sentence_said_again_after_a_shortened_copy_of_it_is_a_loop() {
        let cut = |text: &str| {
            let units = crate::captions::text::units(text);
            let keys: Vec<String> = units.iter().map(|u| normalize(u)).collect();
            let ends: Vec<bool> = units
                .iter()
                .map(|u| crate::captions::text::ends_sentence(u))
                .collect();
            sentence_loop_start(&keys, &ends).map(|i| units[..i].concat())
        };
        assert_eq!(
            cut("our presence. It's a very pleasant. It's a pleasant. It's a very pleasant. It")
                .as_deref(),
            Some("our presence. It's a very pleasant.")
        );
        assert_eq!(
            cut("会议开始了。大家好欢迎。大家好。大家好欢迎。").as_deref(),
            Some("会议开始了。大家好欢迎。")
        );
        // A sentence said again after a different one, a short reply said twice, a
        // sentence that only starts like the first: speech.
        assert_eq!(cut("请到三号窗口。带上身份证。请到三号窗口。"), None);
        assert_eq!(cut("好的。好。好的。"), None);
        assert_eq!(
            cut("It's a very pleasant. It's a pleasant. It's a very good day."),
            None
        );
    }

    #[test]
    fn containment_counts_characters_in_order() {
        assert_eq!(contained_in("abc", "xaybzc"), 1.0);
        assert_eq!(contained_in("", "abc"), 0.0);
        assert!((contained_in("abcd", "ab") - 0.5).abs() < 1e-9);
    }
}
