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
    prev: Vec<Unit>,
    /// Units at the end of a hypothesis that heard too little audio after them to be a vote.
    provisional: usize,
    /// A unit whose audio ended this long before the end of the audio a decode heard is
    /// committed on that decode's word, agreed or not (0: never).
    deadline_ms: u64,
    /// Units the last push committed for being overdue rather than agreed.
    last_overdue: usize,
    /// End times of the committed units still inside the decoded audio (`audio_from` drops
    /// those cut away). None left: no hypothesis can hold committed words, so one without
    /// them is placed as surely as one with them.
    ends_in_audio: std::collections::VecDeque<u64>,
    /// The last committed units' keys: the head of a hypothesis is searched for the last
    /// `MAX_NGRAM` of them, and a prompt read back repeats them.
    recent: Vec<String>,
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

    /// The same state with a latency bound: a unit whose audio ended `ms` before the end of
    /// the audio a decode heard is committed as that decode spells it, whether or not the
    /// decode before agreed. Two decodes that keep changing a word would otherwise hold it,
    /// and every word after it, for as long as they disagree (seconds, on long buffers of
    /// unpunctuated speech); a decode that heard `ms` of speech after a word is as well
    /// informed about it as the streaming decodes get.
    pub fn with_deadline(mut self, ms: u64) -> Self {
        self.deadline_ms = ms;
        self
    }

    /// How many units the last push committed for being overdue rather than agreed.
    pub fn last_overdue(&self) -> usize {
        self.last_overdue
    }

    /// End of the committed text, ms.
    pub fn committed_end_ms(&self) -> u64 {
        self.committed_end_ms
    }

    /// The audio decodes hear now starts at `start_ms` (the stream cut its buffer). Once that
    /// is past all committed text, the next hypothesis is all new speech and the deadline
    /// may commit from it: without this, the first words after every sentence-end cut could
    /// only be committed by agreement, and two decodes flipping a digit string ("1380…")
    /// held it and all after it for 7 s.
    pub fn audio_from(&mut self, start_ms: u64) {
        while self.ends_in_audio.front().is_some_and(|e| *e <= start_ms) {
            self.ends_in_audio.pop_front();
        }
    }

    /// True when committed words found ending `p` units into a hypothesis can be the
    /// committed text read again: a decode reads about as many units for it as were committed
    /// for the audio still decoded (`READ_AGAIN_SLACK` more). Deeper, the same words are a
    /// later phrase that repeats them: the decode after a cut that left two committed
    /// characters in the buffer matched "的直播" 50 characters in, and all before it, ten
    /// seconds of speech never committed, was dropped as read before.
    fn reachable(&self, p: usize) -> bool {
        p <= self.ends_in_audio.len() * 3 / 2 + READ_AGAIN_SLACK
    }

    /// The last committed units' keys, as many as are searched for.
    fn committed_tail(&self) -> &[String] {
        &self.recent[self.recent.len().saturating_sub(MAX_NGRAM)..]
    }

    /// Whether committed words found ending the hypothesis head `head` (its last `skip`
    /// units spelt otherwise) are committed text. With committed audio still decoded, where
    /// they lie decides (`reachable`). With none, they can only be the prompt read back,
    /// which repeats the committed text's end: the whole head must be that end. A new
    /// sentence that ends as the last one did ("身份证请到窗口办理。", then "材料请到窗口
    /// 办理。") was dropped as read before.
    fn is_committed(&self, head: &[String], skip: usize) -> bool {
        if !self.ends_in_audio.is_empty() {
            return self.reachable(head.len());
        }
        let said = self.recent.len().saturating_sub(skip);
        let head = &head[..head.len() - skip.min(head.len())];
        let same = head
            .iter()
            .rev()
            .zip(self.recent[..said].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        same == head.len()
    }

    /// Feeds a new hypothesis (absolute times). Returns the newly committed units and the
    /// uncommitted tail (which the next hypothesis may still change).
    pub fn push(&mut self, hyp: Vec<Unit>) -> (Vec<Unit>, Vec<Unit>) {
        self.push_heard(hyp, 0)
    }

    /// Like [`Agreement::push`], for a decode that heard audio up to `heard_to_ms`: units
    /// past the deadline (see [`Agreement::with_deadline`]) are committed as well.
    pub fn push_heard(&mut self, hyp: Vec<Unit>, heard_to_ms: u64) -> (Vec<Unit>, Vec<Unit>) {
        tracing::trace!(
            hyp_units = hyp.len(),
            tail_units = self.committed_tail().len(),
            "agreement input"
        );
        let mut new = hyp;
        // Words first: find where the committed text ends in the new hypothesis. Times are
        // only a fallback, since Whisper's are rough.
        let found = self.recent.is_empty() || self.drop_through_committed(&mut new);
        if !found {
            let end = self.committed_end_ms;
            new.retain(|u| end == 0 || u.start_ms + OVERLAP_TOLERANCE_MS > end);
            self.align_heads(&mut new);
        }
        let anchored = found || self.ends_in_audio.is_empty();
        let agree = common_prefix(&self.prev, &new);
        let agree = self.informed_agreement(agree, &new);
        let agreed = agree;
        // Only where the committed words were found: placed by times alone, the head of the
        // hypothesis may be committed text read again, which is overdue by its times.
        let agree = if anchored {
            self.overdue(agree, &new, heard_to_ms)
        } else {
            agree
        };
        self.last_overdue = agree - agreed;
        let tail = new.split_off(agree);
        let committed = new;
        self.record(&committed);
        self.prev = tail.clone();
        (committed, tail)
    }

    /// Lines up the heads of the previous hypothesis and `new` when `new` was placed by times
    /// alone. Its times are the decode's segment spread evenly over its units, so which unit
    /// comes first after the committed end moves by one from decode to decode ("党西南非洲…"
    /// then "西南非洲…"); compared from their first units, two decodes that agree on
    /// everything else never agreed, and the speech waited seconds for a pause or a cut.
    /// A unit one head has and the other lacks is dropped: it lies at the committed end,
    /// where neither decode can tell it from committed text.
    fn align_heads(&mut self, new: &mut Vec<Unit>) {
        if self.prev.is_empty() || common_prefix(&self.prev, new) > 0 {
            return;
        }
        if common_prefix(&self.prev[1..], new) >= MIN_REALIGNED {
            tracing::trace!(dropped = "previous", "hypothesis heads lined up");
            self.prev.remove(0);
        } else if new.len() > 1 && common_prefix(&self.prev, &new[1..]) >= MIN_REALIGNED {
            tracing::trace!(dropped = "new", "hypothesis heads lined up");
            new.remove(0);
        }
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

    /// Extends the committed prefix `agree` of `new` over the units whose audio ended at least
    /// the deadline before `heard_to_ms`, but no further than the previous hypothesis reached
    /// (and a little): a decode that says far more than the one before about the same audio
    /// is looping or reading committed text again, which no deadline should publish.
    fn overdue(&self, agree: usize, new: &[Unit], heard_to_ms: u64) -> usize {
        if self.deadline_ms == 0 {
            return agree;
        }
        let due = heard_to_ms.saturating_sub(self.deadline_ms);
        let most = self.prev.len().saturating_sub(agree) + OVERDUE_SLACK;
        agree
            + new[agree..]
                .iter()
                .take(most)
                .take_while(|u| u.end_ms <= due)
                .count()
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
        self.ends_in_audio
            .extend(committed.iter().map(|u| u.end_ms));
        let excess = self.ends_in_audio.len().saturating_sub(MAX_IN_AUDIO);
        self.ends_in_audio.drain(..excess);
        self.recent.extend(committed.iter().map(Unit::key));
        let excess = self.recent.len().saturating_sub(MAX_READ_BACK);
        self.recent.drain(..excess);
    }

    /// A decode of a buffer that still holds committed audio repeats the committed words near
    /// its head. Finds the last committed words there (two or more, or one right at the head)
    /// and drops everything up to them. Returns false when they are not found.
    fn drop_through_committed(&self, new: &mut Vec<Unit>) -> bool {
        let tail = self.committed_tail();
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
            // Two words or one may well occur again elsewhere in the buffer: only near the
            // committed end's time do they place it.
            let found: Vec<usize> = (n..=last_start)
                .filter(|&p| keys[p - n..p] == *want && self.is_committed(&keys[..p], 0))
                .filter(|&p| {
                    n >= 3 || new[p - 1].end_ms.abs_diff(self.committed_end_ms) <= SHORT_MATCH_MS
                })
                .collect();
            if let Some(p) = self.nearest_end(new, &found, 0) {
                new.drain(..p);
                return true;
            }
        }
        // The last committed units may be spelt otherwise now (a unit committed on one
        // decode's word, which the next decode changed): find the committed units before
        // them, at least three, and take the same number of units after as theirs.
        for skip in 1..=MAX_RESPELT.min(tail.len().saturating_sub(3)) {
            let want = &tail[..tail.len() - skip];
            let n = want.len();
            let found: Vec<usize> = (n..=keys.len().min(n + SEARCH_SLACK))
                .filter(|&p| {
                    keys[p - n..p] == *want
                        && p + skip <= keys.len()
                        && self.is_committed(&keys[..p + skip], skip)
                })
                .collect();
            if let Some(p) = self.nearest_end(new, &found, skip) {
                new.drain(..p + skip);
                return true;
            }
        }
        false
    }

    /// Of the places `found` where the committed words end in `new` (`skip` units before
    /// the end), the one whose time is nearest the committed end: the same words may occur
    /// twice in a buffer ("你可以装各样的软件……你只要放不同的软件"), and taking the first
    /// occurrence read the text between them again as new.
    fn nearest_end(&self, new: &[Unit], found: &[usize], skip: usize) -> Option<usize> {
        found
            .iter()
            .copied()
            .min_by_key(|&p| new[p + skip - 1].end_ms.abs_diff(self.committed_end_ms))
    }
}

/// Units two heads one unit apart must agree on to be lined up (`Agreement::align_heads`):
/// one could be chance.
const MIN_REALIGNED: usize = 2;

/// How many units `a` and `b` agree on from their heads.
fn common_prefix(a: &[Unit], b: &[Unit]) -> usize {
    a.iter()
        .zip(b)
        .take_while(|(x, y)| x.key() == y.key())
        .count()
}

/// How far past the head of a hypothesis the committed words are looked for: a 12 s buffer
/// of fast Mandarin holds 80 characters (at 40, committed words past the 40th were missed
/// and an earlier occurrence of their last two taken, and the text between read again).
const SEARCH_SLACK: usize = 80;
/// Units more than the committed text still inside the audio that a decode may read
/// before the committed end (see `Agreement::reachable`).
const READ_AGAIN_SLACK: usize = 8;
/// Committed units a read-back is compared with: a few sentences.
const MAX_READ_BACK: usize = 64;
/// Committed units whose times are kept: more than a 12 s buffer holds.
const MAX_IN_AUDIO: usize = 200;
/// How far from the committed end's time a match of one or two words may lie.
const SHORT_MATCH_MS: u64 = 4000;
/// Units a deadline may commit beyond what the previous hypothesis said.
const OVERDUE_SLACK: usize = 2;
/// Most trailing committed units a new hypothesis may spell otherwise and still be anchored.
const MAX_RESPELT: usize = 2;

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

    /// A state in which `words` (from 0 ms) were agreed on and committed.
    fn said(words: &str) -> Agreement {
        let mut a = Agreement::new();
        a.push(hyp(words, 0));
        a.push(hyp(words, 0));
        a.flush();
        a
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
    fn a_unit_heard_past_the_deadline_is_committed_without_agreement() {
        // Two decodes disagree at "your"/"you" (a real disagreement: both heard past it). With
        // no deadline it waits; with 1 s it is committed once the decode heard 1 s after it.
        // hyp() puts unit i at [300 i, 300 i + 250).
        let decode = |a: &mut Agreement, heard| {
            a.push_heard(hyp("ask not what your country can do", 0), 0);
            a.push_heard(hyp("ask not what you country can do for", 0), heard)
        };
        let (c, _) = decode(&mut Agreement::with_provisional(2), 2400);
        assert_eq!(text(&c), "ask not what");
        let mut a = Agreement::with_provisional(2).with_deadline(1000);
        let (c, t) = decode(&mut a, 2400);
        // Units ending by 1400 ms: "ask not what you country" (the fifth ends at 1450: not yet).
        assert_eq!(text(&c), "ask not what you");
        assert_eq!(text(&t), "country can do for");
        assert_eq!(a.last_overdue(), 1);
        // Heard to 3000 ms: everything ending by 2000 ms is due.
        let (c, t) = decode(
            &mut Agreement::with_provisional(2).with_deadline(1000),
            3000,
        );
        assert_eq!(text(&c), "ask not what you country can");
        assert_eq!(text(&t), "do for");
    }

    #[test]
    fn a_deadline_never_publishes_a_loop_or_text_placed_by_times_alone() {
        // The previous decode said four units; this one loops on far more for the same
        // audio. The deadline commits no further than the previous said (and two more).
        let mut a = Agreement::new().with_deadline(500);
        a.push_heard(hyp("we meet today", 0), 0);
        let (c, _) = a.push_heard(hyp("we met today to to to to to to to to to", 0), 10_000);
        assert_eq!(text(&c), "we met today to to");
        // A hypothesis in which the committed words cannot be found is placed by times: its
        // head may be committed text again, so only agreement commits from it.
        let mut a = Agreement::new().with_deadline(500);
        a.push_heard(hyp("one two three", 0), 0);
        a.push_heard(hyp("one two three", 0), 0);
        let (c, t) = a.push_heard(hyp("alpha beta gamma delta epsilon", 1000), 10_000);
        assert!(c.is_empty(), "{}", text(&c));
        assert_eq!(text(&t), "alpha beta gamma delta epsilon");
    }

    #[test]
    fn after_the_audio_of_all_committed_text_is_cut_away_the_deadline_applies_again() {
        // "one two three" committed, ending at 850 ms; the next sentence disagrees with itself
        // ("alpha beta" / "alfa beta"). While the buffer may still hold committed audio, a
        // hypothesis without the committed words is placed by times only: nothing overdue.
        let decode = |a: &mut Agreement| {
            a.push_heard(hyp("alpha beta gamma delta", 1000), 0);
            a.push_heard(hyp("alfa beta gamma delta epsilon", 1000), 3200)
        };
        let committed = || {
            let mut a = Agreement::new().with_deadline(1000);
            a.push_heard(hyp("one two three", 0), 0);
            a.push_heard(hyp("one two three", 0), 0);
            a.flush();
            a
        };
        let mut a = committed();
        a.audio_from(500);
        assert!(decode(&mut a).0.is_empty());
        // Cut at 900 ms, after it: what ended 1 s before the 3200 ms heard is committed.
        let mut a = committed();
        a.audio_from(900);
        let (c, t) = decode(&mut a);
        assert_eq!(text(&c), "alfa beta gamma delta");
        assert_eq!(text(&t), "epsilon");
        // Its own commit is inside the audio again: the words must be found once more.
        let (c, _) = a.push_heard(hyp("zeta eta theta", 3000), 9000);
        assert!(c.is_empty(), "{}", text(&c));
    }

    #[test]
    fn heads_placed_by_times_one_unit_apart_still_agree() {
        // "one two three" committed and still in the audio; decodes spell it otherwise, so
        // times place them, and one keeps a unit at the committed end the other drops.
        let committed = || said("one two three");
        let mut a = committed();
        a.push(hyp("x alpha beta gamma", 800));
        let (c, t) = a.push(hyp("alpha beta gamma delta", 1100));
        assert_eq!(text(&c), "alpha beta gamma");
        assert_eq!(text(&t), "delta");
        let mut a = committed();
        a.push(hyp("alpha beta gamma", 1100));
        let (c, t) = a.push(hyp("x alpha beta gamma delta", 800));
        assert_eq!(text(&c), "alpha beta gamma");
        assert_eq!(text(&t), "delta");
        // One unit in common after the shift is no agreement.
        let mut a = committed();
        a.push(hyp("x alpha beta", 800));
        let (c, _) = a.push(hyp("alpha gamma delta", 1100));
        assert!(c.is_empty(), "{}", text(&c));
    }

    #[test]
    fn committed_words_far_deeper_than_the_committed_audio_are_a_later_phrase() {
        // "a b c d e" committed; the buffer is then cut so only "d e" are still in it. A
        // decode reads twelve new words and then a phrase that repeats "a b c" with two
        // words after it (as the committed text would be, its last two spelt otherwise): not
        // the committed text, which would be at the head. Nothing of the new speech may be
        // dropped as read before.
        let mut a = said("a b c d e");
        a.audio_from(850);
        let words = "n1 n2 n3 n4 n5 n6 n7 n8 n9 n10 n11 n12 a b c x y";
        let (_, t) = a.push(hyp(words, 1500));
        assert_eq!(text(&t), words);
        // Near the head it is the committed text read again, as before.
        let mut a = said("a b c d e");
        a.audio_from(850);
        let (_, t) = a.push(hyp("b c d e f g", 0));
        assert_eq!(text(&t), "f g");
    }

    #[test]
    fn with_no_committed_audio_left_only_the_prompt_read_back_is_committed_text() {
        // A sentence is committed and its audio cut away (a pause). The next sentence ends
        // with the same five words: it is new speech, all of it.
        let committed = || {
            let mut a = said("id card please go to window three");
            a.audio_from(5000);
            a
        };
        let mut a = committed();
        let said = "forms please go to window three";
        let (_, t) = a.push(hyp(said, 6000));
        assert_eq!(text(&t), said);
        // The decoder reading its prompt back at the head of the next sentence: dropped,
        // however much of it it reads back.
        let mut a = committed();
        let (_, t) = a.push(hyp("go to window three next please", 6000));
        assert_eq!(text(&t), "next please");
        let mut a = committed();
        let (_, t) = a.push(hyp("id card please go to window three next", 6000));
        assert_eq!(text(&t), "next");
    }

    #[test]
    fn committed_words_said_twice_in_a_buffer_are_found_where_their_time_is() {
        // The committed text ends with five words the buffer says twice. The second time, at
        // the committed end's time, is the committed one: the words between are not new.
        let said = "one two three four five and one two three four five";
        let mut a = Agreement::new();
        a.push(hyp(said, 0));
        a.push(hyp(said, 0));
        let (c, t) = a.push(hyp(&format!("{said} six"), 0));
        assert!(c.is_empty(), "{}", text(&c));
        assert_eq!(text(&t), "six");
    }

    #[test]
    fn the_last_two_committed_words_far_into_a_long_buffer_are_found_at_their_time() {
        // 49 committed units; "x y" occurs near the head and again at the end. The next
        // decode spells the unit before the end otherwise, so only "x y" can anchor it: the
        // occurrence at the committed end's time, 47 units in, not the one near the head.
        let mut words: Vec<String> = (0..49).map(|i| format!("a{i}")).collect();
        words[4] = "x".into();
        words[5] = "y".into();
        words[46] = "q".into();
        words[47] = "x".into();
        words[48] = "y".into();
        let said = words.join(" ");
        let mut a = Agreement::new();
        a.push(hyp(&said, 0));
        a.push(hyp(&format!("{said} tail"), 0));
        let respelt = said.replace(" q ", " r ");
        let (c, t) = a.push(hyp(&format!("{respelt} more"), 0));
        assert!(c.is_empty(), "{}", text(&c));
        assert_eq!(text(&t), "more");
    }

    #[test]
    fn a_committed_word_the_next_decode_spells_otherwise_still_anchors_it() {
        // "you" was committed on one decode's word; the next decode of the same buffer says
        // "your" there. The words before it place the committed end: "you" is not committed
        // twice, nor is the buffer's head.
        let mut a = Agreement::new().with_deadline(1000);
        a.push_heard(hyp("ask not what your country", 0), 0);
        let (c, _) = a.push_heard(hyp("ask not what you country can", 0), 2200);
        assert_eq!(text(&c), "ask not what you");
        let (c, t) = a.push_heard(hyp("ask not what your country can do for", 0), 0);
        assert_eq!(text(&c), "country can");
        assert_eq!(text(&t), "do for");
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
