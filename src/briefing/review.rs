//! The captioner's rules for one briefing (同步速录), pure: which caption goes to which view
//! and when, corrections as revisions of a line, lines held for "checked" viewers until the
//! captioner accepts them or the correction window passes, typed captions (速录/CART), and
//! replacement rules learnt during the event. Input + now → effects; the hub carries them out.

use crate::signal::{CaptionLine, Captioning, Review as Revision, Role};
use std::collections::VecDeque;
use thiserror::Error;

/// Lines a captioner can still correct (about ten minutes of speech).
pub const CORRECTABLE_LINES: usize = 200;
/// Longest caption line a captioner may send.
pub const MAX_LINE_CHARS: usize = 500;
/// Longest term in a replacement rule, and most rules per event.
pub const MAX_RULE_CHARS: usize = 30;
/// Most replacement rules per event.
pub const MAX_RULES: usize = 200;
/// Longest correction window an organizer may set.
pub const MAX_WINDOW_MS: u64 = 30_000;

/// Why a captioner's request changed nothing.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReviewError {
    /// The line is not among the last [`CORRECTABLE_LINES`] (or was never sent).
    #[error("line {0} cannot be corrected any more (or does not exist)")]
    NoSuchLine(u64),
    /// Over [`MAX_LINE_CHARS`].
    #[error("a caption line may have at most {MAX_LINE_CHARS} characters")]
    TooLong,
    /// A replacement rule that cannot be used.
    #[error("{0}")]
    BadRule(String),
    /// A window over [`MAX_WINDOW_MS`].
    #[error("the correction window may be at most {} s", MAX_WINDOW_MS / 1000)]
    BadWindow,
}

/// Who receives an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct To {
    /// Live viewers.
    pub live: bool,
    /// Checked viewers.
    pub checked: bool,
    /// Captioners' consoles.
    pub desk: bool,
}

impl To {
    const ALL: To = To {
        live: true,
        checked: true,
        desk: true,
    };
    const DESK: To = To {
        live: false,
        checked: false,
        desk: true,
    };
}

/// What the hub is to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    /// Send this line to these views.
    Send(To, CaptionLine),
    /// Store this line (a new one, or a revision replacing the stored one).
    Keep(CaptionLine),
    /// Presence, mode or window changed: tell watchers.
    Status,
}

/// A wrong → right replacement applied to later lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    /// What the recognizer writes.
    pub wrong: String,
    /// What it should say.
    pub right: String,
}

#[derive(Debug, Clone)]
struct Entry {
    line: CaptionLine,
    shown_at_ms: u64,
    released: bool,
    /// The number the speaker's recognizer gave the line (its revisions name that one).
    source_seq: Option<u64>,
}

/// The review state of one briefing.
#[derive(Debug)]
pub struct ReviewDesk {
    next_seq: u64,
    window_ms: u64,
    mode: Captioning,
    desks: usize,
    rules: Vec<Rule>,
    recent: VecDeque<Entry>,
}

impl ReviewDesk {
    /// A desk continuing after line `next_seq - 1`, holding lines for `window_ms`.
    pub fn new(next_seq: u64, window_ms: u64, rules: Vec<Rule>) -> Self {
        Self {
            next_seq,
            window_ms: window_ms.min(MAX_WINDOW_MS),
            mode: Captioning::Machine,
            desks: 0,
            rules,
            recent: VecDeque::new(),
        }
    }

    /// How captions are made now: typed only while a captioner is there to type.
    pub fn mode(&self) -> Captioning {
        if self.desks == 0 {
            Captioning::Machine
        } else {
            self.mode
        }
    }

    /// A captioner's console is connected.
    pub fn captioner_present(&self) -> bool {
        self.desks > 0
    }

    /// The correction window, ms.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The replacement rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number the next stable line gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The oldest line checked viewers have not been sent yet.
    pub fn first_held(&self) -> Option<u64> {
        self.recent.iter().find(|e| !e.released).map(|e| e.line.seq)
    }

    /// When the oldest held line is due, ms.
    pub fn next_deadline(&self) -> Option<u64> {
        self.recent
            .iter()
            .find(|e| !e.released)
            .map(|e| e.shown_at_ms + self.window_ms)
    }

    /// Lines are held for checked viewers only while someone can check them.
    fn holding(&self) -> bool {
        self.desks > 0 && self.window_ms > 0
    }

    /// A caption update from the recognizer (its `seq` is ignored: the desk numbers lines;
    /// a settling revision names the recognizer's number of the line it revises).
    pub fn machine(&mut self, mut line: CaptionLine, now_ms: u64) -> Vec<Out> {
        if line.review.settled {
            return self.settled(line);
        }
        let source_seq = line.seq;
        let replaced = apply_rules(&self.rules, &line.text);
        if replaced != line.text {
            line.text = replaced;
            // The marks were for the recognizer's characters.
            line.unsure.clear();
        }
        line.seq = self.next_seq;
        line.review = Revision::default();
        if self.mode() == Captioning::Typed {
            // A suggestion for the captioner only.
            line.review.draft = true;
            return vec![Out::Send(To::DESK, line)];
        }
        if !line.stable {
            let to = To {
                checked: !self.holding(),
                ..To::ALL
            };
            return vec![Out::Send(to, line)];
        }
        self.commit(line, now_ms, false, Some(source_seq))
    }

    /// The recognizer's settling pass re-read a finished utterance and spells a line of it
    /// otherwise: the next revision of that line, in place, to every view that has it (held
    /// lines go to checked viewers later with this text). A line a captioner checked,
    /// corrected or typed keeps its text: a person outranks the machine. A line too old to
    /// correct, or never sent (typed mode), is left alone.
    fn settled(&mut self, line: CaptionLine) -> Vec<Out> {
        let Some(e) = self
            .recent
            .iter_mut()
            .rev()
            .find(|e| e.source_seq == Some(line.seq) && e.line.speaker == line.speaker)
        else {
            return Vec::new();
        };
        let r = &e.line.review;
        if r.checked || r.corrected || r.typed {
            return Vec::new();
        }
        let text = apply_rules(&self.rules, line.text.trim());
        if text == e.line.text || text.chars().count() > MAX_LINE_CHARS {
            return Vec::new();
        }
        e.line.unsure = if text == line.text.trim() {
            line.unsure
        } else {
            Vec::new()
        };
        e.line.text = text;
        e.line.review.rev += 1;
        e.line.review.settled = true;
        let to = To {
            checked: e.released,
            ..To::ALL
        };
        let line = e.line.clone();
        vec![Out::Keep(line.clone()), Out::Send(to, line)]
    }

    /// A captioner typing (速录): `done` ends the line; before that each call replaces the
    /// text being typed. `line` carries the speaker and the times; its text is the typed text.
    pub fn typed(
        &mut self,
        mut line: CaptionLine,
        done: bool,
        now_ms: u64,
    ) -> Result<Vec<Out>, ReviewError> {
        line.text = line.text.trim().to_owned();
        if line.text.chars().count() > MAX_LINE_CHARS {
            return Err(ReviewError::TooLong);
        }
        line.seq = self.next_seq;
        line.unsure.clear();
        line.review = Revision {
            typed: true,
            checked: true,
            ..Revision::default()
        };
        line.role = Role::Captioner;
        line.stable = done;
        if !done {
            return Ok(vec![Out::Send(To::ALL, line)]);
        }
        if line.text.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.commit(line, now_ms, true, None))
    }

    fn commit(
        &mut self,
        line: CaptionLine,
        now_ms: u64,
        checked: bool,
        source_seq: Option<u64>,
    ) -> Vec<Out> {
        self.next_seq += 1;
        let released = checked || !self.holding();
        let to = To {
            checked: released,
            ..To::ALL
        };
        let out = vec![Out::Keep(line.clone()), Out::Send(to, line.clone())];
        self.recent.push_back(Entry {
            line,
            shown_at_ms: now_ms,
            released,
            source_seq,
        });
        if self.recent.len() > CORRECTABLE_LINES {
            // Too old to correct: if it was still held, it goes out as it is.
            if let Some(old) = self.recent.pop_front() {
                if !old.released {
                    return [out, vec![Out::Send(Self::to_checked(), old.line)]].concat();
                }
            }
        }
        out
    }

    fn to_checked() -> To {
        To {
            live: false,
            checked: true,
            desk: false,
        }
    }

    fn entry(&mut self, seq: u64) -> Result<usize, ReviewError> {
        self.recent
            .iter()
            .position(|e| e.line.seq == seq)
            .ok_or(ReviewError::NoSuchLine(seq))
    }

    /// Sends checked viewers every held line up to entry `upto` (they read in order).
    fn release_through(&mut self, upto: usize, out: &mut Vec<Out>) {
        for e in self.recent.iter_mut().take(upto + 1) {
            if !e.released {
                e.released = true;
                out.push(Out::Send(Self::to_checked(), e.line.clone()));
            }
        }
    }

    /// A captioner's new text for line `seq`: the next revision of it, to every view and the
    /// transcript. The same text again counts as accepting it. The later of two corrections
    /// wins.
    pub fn correct(&mut self, seq: u64, text: &str, now_ms: u64) -> Result<Vec<Out>, ReviewError> {
        let text = text.trim();
        if text.chars().count() > MAX_LINE_CHARS {
            return Err(ReviewError::TooLong);
        }
        let at = self.entry(seq)?;
        if self.recent[at].line.text == text {
            return self.accept(seq);
        }
        let mut out = Vec::new();
        // Earlier held lines go out first, as they are.
        if at > 0 {
            self.release_through(at - 1, &mut out);
        }
        let e = &mut self.recent[at];
        let r = &mut e.line.review;
        if r.machine_text.is_none() && !r.typed {
            r.machine_text = Some(e.line.text.clone());
        }
        r.rev += 1;
        r.corrected = true;
        r.checked = true;
        r.corrected_after_ms
            .get_or_insert(now_ms.saturating_sub(e.shown_at_ms));
        e.line.text = text.to_owned();
        e.line.unsure.clear();
        // Checked viewers get the corrected text now, whether or not they had the line.
        e.released = true;
        let line = e.line.clone();
        out.push(Out::Keep(line.clone()));
        out.push(Out::Send(To::ALL, line));
        Ok(out)
    }

    /// A captioner accepts line `seq` as it is: checked viewers get it now.
    pub fn accept(&mut self, seq: u64) -> Result<Vec<Out>, ReviewError> {
        let at = self.entry(seq)?;
        let mut out = Vec::new();
        let e = &mut self.recent[at];
        if !e.line.review.checked {
            e.line.review.checked = true;
            let line = e.line.clone();
            out.push(Out::Keep(line.clone()));
            out.push(Out::Send(To::DESK, line));
        }
        self.release_through(at, &mut out);
        Ok(out)
    }

    /// Time passes: lines held past the window go to checked viewers unchecked.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Out> {
        let mut out = Vec::new();
        let due = self
            .recent
            .iter()
            .rposition(|e| !e.released && e.shown_at_ms + self.window_ms <= now_ms);
        if let Some(at) = due {
            self.release_through(at, &mut out);
        }
        out
    }

    /// A captioner's console connected.
    pub fn desk_opened(&mut self) -> Vec<Out> {
        self.desks += 1;
        if self.desks == 1 {
            vec![Out::Status]
        } else {
            Vec::new()
        }
    }

    /// A captioner's console went away. With none left, nobody can check lines: checked
    /// viewers get every held line now and from now on the live ones, not silence.
    pub fn desk_closed(&mut self) -> Vec<Out> {
        self.desks = self.desks.saturating_sub(1);
        if self.desks > 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(last) = self.recent.len().checked_sub(1) {
            self.release_through(last, &mut out);
        }
        out.push(Out::Status);
        out
    }

    /// The organizer or captioner changes the correction window.
    pub fn set_window(&mut self, ms: u64, now_ms: u64) -> Result<Vec<Out>, ReviewError> {
        if ms > MAX_WINDOW_MS {
            return Err(ReviewError::BadWindow);
        }
        self.window_ms = ms;
        let mut out = self.tick(now_ms);
        if ms == 0 {
            if let Some(last) = self.recent.len().checked_sub(1) {
                self.release_through(last, &mut out);
            }
        }
        out.push(Out::Status);
        Ok(out)
    }

    /// The captioner switches between correcting the recognizer and typing (速录).
    pub fn set_mode(&mut self, mode: Captioning) -> Vec<Out> {
        if self.mode == mode {
            return Vec::new();
        }
        self.mode = mode;
        vec![Out::Status]
    }

    /// Learns a replacement applied to later lines (a rule for the same wrong text replaces
    /// the old one).
    pub fn add_rule(&mut self, wrong: &str, right: &str) -> Result<(), ReviewError> {
        let (wrong, right) = (wrong.trim(), right.trim());
        let bad = |why: &str| Err(ReviewError::BadRule(why.to_owned()));
        if wrong.is_empty() {
            return bad("a rule needs the wrong text");
        }
        if wrong.chars().count() > MAX_RULE_CHARS || right.chars().count() > MAX_RULE_CHARS {
            return bad("a rule's texts may have at most 30 characters");
        }
        if wrong == right {
            return bad("the right text is the same as the wrong one");
        }
        if let Some(r) = self.rules.iter_mut().find(|r| r.wrong == wrong) {
            r.right = right.to_owned();
            return Ok(());
        }
        if self.rules.len() >= MAX_RULES {
            return bad("this event has as many rules as it may have");
        }
        self.rules.push(Rule {
            wrong: wrong.to_owned(),
            right: right.to_owned(),
        });
        Ok(())
    }
}

/// Applies replacement rules, longest wrong text first, each once over the text (a rule's
/// output is never rewritten by another).
pub fn apply_rules(rules: &[Rule], text: &str) -> String {
    if rules.is_empty() {
        return text.to_owned();
    }
    let mut order: Vec<&Rule> = rules.iter().collect();
    order.sort_by_key(|r| std::cmp::Reverse(r.wrong.chars().count()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for r in &order {
            if let Some(after) = rest.strip_prefix(r.wrong.as_str()) {
                out.push_str(&r.right);
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Characters that differ between two texts (edit distance), for the event's statistics.
pub fn chars_changed(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
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

#[cfg(test)]
#[path = "review_tests.rs"]
mod tests;
