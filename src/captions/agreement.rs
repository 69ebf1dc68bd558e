//! LocalAgreement-2 (Macháček et al., whisper_streaming): a word is final once two consecutive
//! decodes of the growing buffer agree on it and on everything before it.

use super::text::normalize;

/// A recognised unit (Chinese character or word) with its place in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Text as shown (with its punctuation and leading space).
    pub text: String,
    /// Start, ms from the stream's start.
    pub start_ms: u64,
    /// End, ms from the stream's start.
    pub end_ms: u64,
    /// The decoder gave some of it a low probability (marked for the captioner).
    pub unsure: bool,
}

impl Unit {
    fn key(&self) -> String {
        normalize(&self.text)
    }
}

/// How much a new hypothesis may reach back into committed time and still count as new.
const OVERLAP_TOLERANCE_MS: u64 = 100;
/// Longest run of committed units searched for at the head of a new hypothesis.
const MAX_NGRAM: usize = 5;

/// The agreement state of one stream.
#[derive(Debug, Default)]
pub struct Agreement {
    committed_end_ms: u64,
    committed_tail: Vec<String>,
    prev: Vec<Unit>,
    /// Units at the end of a hypothesis that heard too little audio after them to be a vote.
    provisional: usize,
}

impl Agreement {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state in which the last `n` units of a hypothesis are only a guess: where the
    /// previous hypothesis differs only within its last `n`, the new one's units that have `n`
    /// after them are committed without waiting for another decode.
    pub fn with_provisional(n: usize) -> Self {
        Self {
            provisional: n,
            ..Self::default()
        }
    }

    /// End of the committed text, ms.
    pub fn committed_end_ms(&self) -> u64 {
        self.committed_end_ms
    }

    /// Feeds a new hypothesis (absolute times). Returns the newly committed units and the
    /// uncommitted tail (which the next hypothesis may still change).
    pub fn push(&mut self, hyp: Vec<Unit>) -> (Vec<Unit>, Vec<Unit>) {
        tracing::trace!(
            hyp_units = hyp.len(),
            tail_units = self.committed_tail.len(),
            "agreement input"
        );
        let mut new = hyp;
        // Words first: find where the committed text ends in the new hypothesis. Times are
        // only a fallback, since Whisper's are rough.
        if !self.drop_through_committed(&mut new) {
            let end = self.committed_end_ms;
            new.retain(|u| end == 0 || u.start_ms + OVERLAP_TOLERANCE_MS > end);
        }
        let agree = self
            .prev
            .iter()
            .zip(new.iter())
            .take_while(|(a, b)| a.key() == b.key())
            .count();
        let agree = self.informed_agreement(agree, &new);
        let tail = new.split_off(agree);
        let committed = new;
        self.record(&committed);
        self.prev = tail.clone();
        (committed, tail)
    }

    /// Extends the agreed prefix `agree` of `new` past a difference the previous hypothesis
    /// cannot vote on: it lay in that hypothesis's last `provisional` units, whose audio was
    /// cut off mid-word or had no following words to settle it. The new hypothesis heard more
    /// and commits what has `provisional` units after it, up to the first unit the decoder was
    /// unsure of. A difference earlier in the previous hypothesis is a real disagreement and
    /// waits, as in LocalAgreement-2.
    fn informed_agreement(&self, agree: usize, new: &[Unit]) -> usize {
        let k = self.provisional;
        if k == 0 || self.prev.is_empty() || agree < self.prev.len().saturating_sub(k) {
            return agree;
        }
        let settled = new.len().saturating_sub(k).max(agree);
        agree + new[agree..settled].iter().take_while(|u| !u.unsure).count()
    }

    /// Commits whatever the last hypothesis said (end of an utterance, end of stream).
    pub fn flush(&mut self) -> Vec<Unit> {
        let out = std::mem::take(&mut self.prev);
        self.record(&out);
        out
    }

    /// Forgets the uncommitted tail (after the buffer it came from was dropped).
    pub fn clear_tail(&mut self) {
        self.prev.clear();
    }

    fn record(&mut self, committed: &[Unit]) {
        if let Some(last) = committed.last() {
            self.committed_end_ms = self.committed_end_ms.max(last.end_ms);
        }
        self.committed_tail.extend(committed.iter().map(Unit::key));
        let excess = self.committed_tail.len().saturating_sub(MAX_NGRAM);
        self.committed_tail.drain(..excess);
    }

    /// A decode of a buffer that still holds committed audio repeats the committed words near
    /// its head. Finds the last committed words there (two or more, or one right at the head)
    /// and drops everything up to them. Returns false when they are not found.
    fn drop_through_committed(&self, new: &mut Vec<Unit>) -> bool {
        let tail = &self.committed_tail;
        if tail.is_empty() {
            return false;
        }
        let keys: Vec<String> = new.iter().map(Unit::key).collect();
        for n in (1..=tail.len().min(keys.len())).rev() {
            let want = &tail[tail.len() - n..];
            let last_start = if n >= 2 {
                keys.len().min(n + SEARCH_SLACK)
            } else {
                n
            };
            for p in n..=last_start {
                if keys[p - n..p] == *want {
                    new.drain(..p);
                    return true;
                }
            }
        }
        false
    }
}

/// How far past the head of a hypothesis the committed words are looked for.
const SEARCH_SLACK: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;

    fn hyp(words: &str, start: u64) -> Vec<Unit> {
        words
            .split(' ')
            .enumerate()
            .map(|(i, w)| Unit {
                text: format!(" {w}"),
                start_ms: start + i as u64 * 300,
                end_ms: start + i as u64 * 300 + 250,
                unsure: false,
            })
            .collect()
    }

    fn text(u: &[Unit]) -> String {
        u.iter()
            .map(|u| u.text.as_str())
            .collect::<String>()
            .trim()
            .to_owned()
    }

    #[test]
    fn commits_the_longest_common_prefix_of_two_hypotheses() {
        let mut a = Agreement::new();
        let (c, t) = a.push(hyp("ask not what", 0));
        assert!(c.is_empty(), "one hypothesis commits nothing");
        assert_eq!(text(&t), "ask not what");
        let (c, t) = a.push(hyp("ask not what your country", 0));
        assert_eq!(text(&c), "ask not what");
        assert_eq!(text(&t), "your country");
        // A changed tail word is not committed; agreement resumes after it.
        let (c, t) = a.push(hyp("ask not what you country can", 0));
        assert!(c.is_empty());
        assert_eq!(text(&t), "you country can");
        let (c, _) = a.push(hyp("ask not what you country can do", 0));
        assert_eq!(text(&c), "you country can");
    }

    #[test]
    fn committed_text_is_never_repeated_or_retracted() {
        let mut a = Agreement::new();
        a.push(hyp("one two three", 0));
        let (c, _) = a.push(hyp("one two three four", 0));
        assert_eq!(text(&c), "one two three");
        // The buffer was trimmed after "two": the next decode starts at "three" again.
        let (c, t) = a.push(hyp("three four five", 600));
        assert_eq!(
            text(&c),
            "four",
            "three is not committed twice; four now agrees"
        );
        assert_eq!(text(&t), "five");
        // A head that repeats committed words is recognised by the words, not the times.
        let (c, t) = a.push(hyp("four five six", 1300));
        assert_eq!(text(&c), "five");
        assert_eq!(text(&t), "six");
    }

    /// What the second of two decodes commits, and leaves as its tail, with a provisional
    /// tail of `k` units (the units of `unsure` marked so).
    fn second_commit(k: usize, first: &str, second: &str, unsure: &[usize]) -> (String, String) {
        let mut a = Agreement::with_provisional(k);
        a.push(hyp(first, 0));
        let mut h = hyp(second, 0);
        for &i in unsure {
            h[i].unsure = true;
        }
        let (c, t) = a.push(h);
        (text(&c), text(&t))
    }

    #[test]
    fn a_difference_in_the_last_units_of_the_previous_guess_is_no_vote() {
        // The first decode heard "country" cut off and guessed "count"; the two differ only in
        // its last two units, so what has two units after it now is committed, though no
        // decode agreed on "your country".
        let (c, t) = second_commit(
            2,
            "ask not what your count",
            "ask not what you country can do",
            &[],
        );
        assert_eq!(c, "ask not what you country");
        assert_eq!(t, "can do");
    }

    #[test]
    fn a_difference_the_previous_guess_had_heard_past_still_waits() {
        // "your" had four units after it in the first decode: a real disagreement.
        let (c, t) = second_commit(
            2,
            "ask not what your country can do",
            "ask not what you country can do for",
            &[],
        );
        assert_eq!(c, "ask not what");
        assert_eq!(t, "you country can do for");
    }

    #[test]
    fn an_unsure_unit_is_not_committed_on_one_decode() {
        assert_eq!(
            second_commit(
                2,
                "ask not what your count",
                "ask not what you country can do",
                &[3]
            )
            .0,
            "ask not what"
        );
    }

    #[test]
    fn without_a_provisional_tail_it_is_local_agreement_2() {
        assert_eq!(
            second_commit(
                0,
                "ask not what your count",
                "ask not what you country can do",
                &[]
            )
            .0,
            "ask not what"
        );
    }

    #[test]
    fn flush_commits_the_tail_once() {
        let mut a = Agreement::new();
        a.push(hyp("good morning", 0));
        assert_eq!(text(&a.flush()), "good morning");
        assert!(a.flush().is_empty());
        assert_eq!(a.committed_end_ms(), 550);
    }
}
