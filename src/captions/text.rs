//! Text rules for captions: Simplified characters, known Whisper hallucinations, repetition
//! loops, and the normalisation used to score CER/WER.

use std::sync::OnceLock;

/// Phrases Whisper invents over silence, music or noise (subtitle credits and sign-offs from
/// its training data). A segment that is only one of these is dropped.
const HALLUCINATIONS: &[&str] = &[
    "谢谢观看",
    "谢谢收看",
    "谢谢大家观看",
    "感谢观看",
    "谢谢",
    "字幕由amara.org社群提供",
    "字幕由amara.org社区提供",
    "由amara.org社群提供的字幕",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "明镜需要您的支持欢迎订阅明镜",
    "中文字幕",
    "字幕",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "please subscribe",
    "you",
    "bye",
    "music",
    "音乐",
    "掌声",
];

fn opencc() -> Option<&'static ferrous_opencc::OpenCC> {
    static CC: OnceLock<Option<ferrous_opencc::OpenCC>> = OnceLock::new();
    CC.get_or_init(|| {
        ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
            .map_err(|e| tracing::error!(error = %e, "OpenCC T2S unavailable"))
            .ok()
    })
    .as_ref()
}

/// Converts Traditional characters to Simplified (Whisper often writes Traditional).
pub fn to_simplified(s: &str) -> String {
    match opencc() {
        Some(cc) => cc.convert(s),
        None => s.to_owned(),
    }
}

/// True for CJK ideographs (each is one "word" for agreement and CER).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Lower-case, no punctuation, no spaces between Chinese characters: the form compared when
/// scoring and when deciding whether two hypotheses agree. Traditional characters are left
/// as they are, so Traditional output counts as wrong when scored.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            last_space = false;
        } else if (c.is_whitespace() || c == '-') && !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    let out = out.trim().to_owned();
    // Spaces between Chinese characters carry nothing.
    let chars: Vec<char> = out.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !(**c == ' '
                && *i > 0
                && *i + 1 < chars.len()
                && (is_cjk(chars[i - 1]) || is_cjk(chars[i + 1])))
        })
        .map(|(_, c)| *c)
        .collect()
}

/// True when a decoded segment is a known hallucination rather than speech.
pub fn is_hallucination(segment: &str) -> bool {
    let n = normalize(&to_simplified(segment)).replace(' ', "");
    if n.is_empty() {
        return true;
    }
    HALLUCINATIONS
        .iter()
        .any(|h| normalize(h).replace(' ', "") == n)
}

/// True when text ends a sentence (。！？ or . ! ?), where captions may be cut.
pub fn ends_sentence(s: &str) -> bool {
    s.trim_end().ends_with(['。', '！', '？', '.', '!', '?'])
}

/// Splits text into units: one per Chinese character (with its trailing punctuation), one per
/// word otherwise (with its leading space and punctuation).
pub fn units(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if is_cjk(c) || (c.is_whitespace() && !cur.trim().is_empty()) {
            if !cur.is_empty() && cur.chars().any(|x| x.is_alphanumeric()) {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c);
            if is_cjk(c) {
                out.push(std::mem::take(&mut cur));
            }
        } else if !c.is_alphanumeric() && !c.is_whitespace() && cur.trim().is_empty() {
            // Punctuation after a finished unit belongs to it (keeps "，" with its character).
            match out.last_mut() {
                Some(last) if cur.is_empty() => last.push(c),
                _ => cur.push(c),
            }
        } else {
            cur.push(c);
        }
    }
    if cur.chars().any(|x| x.is_alphanumeric()) {
        out.push(cur);
    } else if let Some(last) = out.last_mut() {
        last.push_str(cur.trim_end());
    }
    out
}

/// Removes a run of at least `min_len` units said twice in a row: nobody repeats a whole
/// phrase back to back, but Whisper does when the audio ends in silence (it "hears" the
/// sentence again in the quiet part).
pub fn cut_doubled(units: &[String], min_len: usize) -> Vec<String> {
    let key: Vec<String> = units.iter().map(|u| normalize(u)).collect();
    doubled_kept(&key, min_len)
        .into_iter()
        .map(|k| units[k].clone())
        .collect()
}

/// Which of the units (as their normalised keys) `cut_doubled` keeps.
pub fn doubled_kept(key: &[String], min_len: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(key.len());
    let mut i = 0;
    while i < key.len() {
        let longest = (key.len() - i) / 2;
        let doubled = (min_len.max(1)..=longest)
            .rev()
            .find(|&len| key[i..i + len] == key[i + len..i + 2 * len]);
        match doubled {
            Some(len) => {
                out.extend(i..i + len);
                i += 2 * len;
            }
            None => {
                out.push(i);
                i += 1;
            }
        }
    }
    out
}

/// Removes a loop: the same run of 1–40 units repeated more than `max_repeats` times in a row
/// is cut to one occurrence (Whisper's greedy decoder can get stuck repeating a phrase, a
/// whole sentence of twenty characters and more too).
pub fn cut_repetitions(units: &[String], max_repeats: usize) -> Vec<String> {
    let key: Vec<String> = units.iter().map(|u| normalize(u)).collect();
    repetitions_kept(&key, max_repeats)
        .into_iter()
        .map(|k| units[k].clone())
        .collect()
}

/// Longest run of units a loop is looked for in.
const LOOP_UNITS: usize = 40;

/// Which of the units (as their normalised keys) `cut_repetitions` keeps.
pub fn repetitions_kept(key: &[String], max_repeats: usize) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(key.len());
    let mut i = 0;
    while i < key.len() {
        let mut skipped = false;
        for len in 1..=LOOP_UNITS {
            if i + len * (max_repeats + 1) > key.len() {
                break;
            }
            let pat = &key[i..i + len];
            if pat.iter().all(|k| k.is_empty()) {
                continue;
            }
            let mut reps = 1;
            while i + (reps + 1) * len <= key.len()
                && key[i + reps * len..i + (reps + 1) * len] == *pat
            {
                reps += 1;
            }
            if reps > max_repeats {
                out.extend(i..i + len);
                i += reps * len;
                skipped = true;
                break;
            }
        }
        if !skipped {
            out.push(i);
            i += 1;
        }
    }
    out
}

/// Levenshtein distance between two token sequences.
fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Character error rate of `hyp` against `reference` after normalisation.
pub fn cer(reference: &str, hyp: &str) -> f64 {
    let r: Vec<char> = normalize(reference)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let h: Vec<char> = normalize(hyp)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

/// Word error rate of `hyp` against `reference` after normalisation (disfluencies dropped).
pub fn wer(reference: &str, hyp: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        normalize(s)
            .split_whitespace()
            .filter(|w| !matches!(*w, "uh" | "um" | "er" | "ah"))
            .map(str::to_owned)
            .collect()
    };
    let (r, h) = (words(reference), words(hyp));
    edit_distance(&r, &h) as f64 / r.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phrase_said_twice_in_a_row_is_kept_once_but_short_repeats_stay() {
        let u = units("这是一个篇章的结束。这是一个篇章的结束。谢谢谢谢");
        let out: String = cut_doubled(&u, 4).concat();
        assert_eq!(out, "这是一个篇章的结束。谢谢谢谢");
        let u = units("one two three four one two three four five");
        assert_eq!(cut_doubled(&u, 4).concat(), "one two three four five");
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(
            to_simplified("廣州市房地產中介協會"),
            "广州市房地产中介协会"
        );
        assert_eq!(to_simplified("聊城 臨清 殘聯"), "聊城 临清 残联");
    }

    #[test]
    fn normalisation_drops_punctuation_case_and_cjk_spaces() {
        assert_eq!(normalize("你好， 世界！"), "你好世界");
        assert_eq!(
            normalize("And so, my Fellow Americans"),
            "and so my fellow americans"
        );
        assert_eq!(normalize("在 2021 年"), "在2021年");
    }

    #[test]
    fn known_hallucinations_are_recognised_and_speech_is_not() {
        assert!(is_hallucination("谢谢观看!"));
        assert!(is_hallucination("字幕由Amara.org社群提供"));
        assert!(is_hallucination(" Thank you."));
        assert!(is_hallucination("。"));
        assert!(!is_hallucination("谢谢您的来电，请讲"));
        assert!(!is_hallucination(
            "Thank you for the question about pensions"
        ));
    }

    #[test]
    fn units_split_chinese_by_character_and_english_by_word() {
        assert_eq!(units("你好，世界"), vec!["你", "好，", "世", "界"]);
        assert_eq!(units(" ask not, what"), vec![" ask", " not,", " what"]);
        assert_eq!(units("在2021年"), vec!["在", "2021", "年"]);
    }

    #[test]
    fn repetition_loops_are_cut() {
        let u = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(cut_repetitions(&u("a b c c c c c d"), 2), u("a b c d"));
        assert_eq!(cut_repetitions(&u("x y z y z y z y z"), 2), u("x y z"));
        assert_eq!(
            cut_repetitions(&u("go go now"), 2),
            u("go go now"),
            "a double is speech"
        );
    }

    #[test]
    fn error_rates() {
        assert_eq!(cer("广州市房地产", "广州市房地产"), 0.0);
        assert!((cer("广州市房地产", "广州是房地产") - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(
            cer("广州", "廣州"),
            0.5,
            "Traditional output is scored as wrong"
        );
        assert!((wer("ask not what", "ask what") - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(wer("the uh results", "the results"), 0.0);
    }
}
