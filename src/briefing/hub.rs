//! One event's captions: numbered once by the review rules, rendered to JSON once, fanned out
//! to every subscriber of a view (live, checked, the captioners' desk) through one broadcast
//! channel per view, and kept as a growing transcript whose lines (and their revisions) are
//! handed, one by one, to the store's writer so they survive a restart.

use super::review::{chars_changed, Out, ReviewDesk, ReviewError, Rule};
use crate::captions::format::Cue;
use crate::clock::unix_ms;
use crate::signal::{CaptionLine, CaptionView};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;
use tokio::sync::mpsc;

/// Updates a subscriber may fall behind by before it skips ahead (it can then fetch the
/// stable lines it missed from the transcript).
const FANOUT_CAPACITY: usize = 256;

/// A caption update ready to send: the JSON is made once for all subscribers.
#[derive(Debug)]
pub struct HubItem {
    /// Stable line number (or the next one, for an unstable update).
    pub seq: u64,
    /// Revision of the line (0 as first sent).
    pub rev: u32,
    /// A suggestion to the captioner, not a line.
    pub draft: bool,
    /// Final or not.
    pub stable: bool,
    /// The `CaptionLine` as JSON.
    pub json: Arc<str>,
    /// The whole Server-Sent Events frame: every subscriber is sent these same bytes.
    pub sse: bytes::Bytes,
}

impl HubItem {
    fn of(line: &CaptionLine) -> Option<Arc<Self>> {
        let json: Arc<str> = serde_json::to_string(line).ok()?.into();
        // Only a line's first version gets an id, so a reconnecting client resumes after the
        // last new line it has (revisions of older lines are in transcript.json).
        let id = (line.stable && line.review.rev == 0 && !line.review.draft).then_some(line.seq);
        Some(Arc::new(Self {
            seq: line.seq,
            rev: line.review.rev,
            draft: line.review.draft,
            stable: line.stable,
            sse: sse_frame("caption", id, &json),
            json,
        }))
    }
}

/// What the transcript writer is handed.
#[derive(Debug)]
pub enum Keep {
    /// A final line, or a new revision of one: its number and JSON.
    Line(u64, Arc<str>),
    /// Answered once every line before it is stored.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// One Server-Sent Events frame. Only new stable lines get an `id`, so a reconnecting client
/// resumes after the last final line it has.
pub fn sse_frame(event: &str, id: Option<u64>, data: &str) -> bytes::Bytes {
    let mut f = String::with_capacity(data.len() + 40);
    if let Some(id) = id {
        f.push_str(&format!("id: {id}\n"));
    }
    f.push_str("event: ");
    f.push_str(event);
    // Our JSON has no raw newlines; a data field must not contain one.
    for line in data.split('\n') {
        f.push_str("\ndata: ");
        f.push_str(line);
    }
    f.push_str("\n\n");
    f.into()
}

struct Clock {
    /// Wall-clock time of the event's first audio (transcript time 0).
    t0_unix_ms: Option<u64>,
    /// When the captioner began the line they are typing.
    typing_since_ms: Option<u64>,
}

/// The figures of a captioner's work on one event.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReviewStats {
    /// Lines in the transcript.
    pub lines: usize,
    /// Lines a captioner corrected.
    pub corrected: usize,
    /// Lines a captioner typed.
    pub typed: usize,
    /// Characters changed by corrections (edit distance, machine → corrected).
    pub chars_changed: usize,
    /// Median time from a line's first showing to its first correction, ms.
    pub median_correction_ms: Option<u64>,
}

/// Who the hub tells about a change of presence, mode or window.
pub type OnStatus = Box<dyn Fn() + Send + Sync>;

struct Inner {
    live: broadcast::Sender<Arc<HubItem>>,
    checked: broadcast::Sender<Arc<HubItem>>,
    desk: broadcast::Sender<Arc<HubItem>>,
    clock: Mutex<Clock>,
    review: Mutex<ReviewDesk>,
    lines: RwLock<Vec<CaptionLine>>,
    /// Where final lines go to be stored.
    keep: Option<mpsc::UnboundedSender<Keep>>,
    degraded: AtomicBool,
    /// A task waits for the next held line's deadline.
    timer: AtomicBool,
}

/// Captions of one event, in three views: live, checked, and the captioners' desk.
pub struct CaptionHub {
    inner: Arc<Inner>,
}

impl CaptionHub {
    /// A hub that continues the transcript `lines` (loaded from the store after a restart),
    /// hands each new final line or revision to `keep`, and holds lines for checked viewers
    /// for `window_ms` while a captioner is present.
    pub fn open(
        lines: Vec<CaptionLine>,
        keep: Option<mpsc::UnboundedSender<Keep>>,
        window_ms: u64,
        rules: Vec<Rule>,
    ) -> Self {
        let next_seq = lines.last().map_or(0, |l| l.seq + 1);
        let t0 = lines
            .first()
            .map(|l| l.audio_end_unix_ms.saturating_sub(l.end_ms));
        let channel = || broadcast::channel(FANOUT_CAPACITY).0;
        Self {
            inner: Arc::new(Inner {
                live: channel(),
                checked: channel(),
                desk: channel(),
                clock: Mutex::new(Clock {
                    t0_unix_ms: t0,
                    typing_since_ms: None,
                }),
                review: Mutex::new(ReviewDesk::new(next_seq, window_ms, rules)),
                lines: RwLock::new(lines),
                keep,
                degraded: AtomicBool::new(false),
                timer: AtomicBool::new(false),
            }),
        }
    }

    /// Waits until every final line so far is stored (at shutdown).
    pub async fn flush(&self) {
        let Some(keep) = &self.inner.keep else {
            return;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if keep.send(Keep::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Receives every update of one view from now on.
    pub fn subscribe(&self, view: CaptionView) -> broadcast::Receiver<Arc<HubItem>> {
        match view {
            CaptionView::Live => self.inner.live.subscribe(),
            CaptionView::Checked => self.inner.checked.subscribe(),
            CaptionView::Desk => self.inner.desk.subscribe(),
        }
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.inner.live.receiver_count()
            + self.inner.checked.receiver_count()
            + self.inner.desk.receiver_count()
    }

    /// True while the recognizer reports it is behind.
    pub fn degraded(&self) -> bool {
        self.inner.degraded.load(Ordering::Relaxed)
    }

    /// Reads the review rules' state.
    pub fn with_review<R>(&self, f: impl FnOnce(&ReviewDesk) -> R) -> R {
        f(&self.inner.review())
    }

    /// Stable lines from number `from` on, as they read now.
    pub fn lines_from(&self, from: u64) -> Vec<CaptionLine> {
        self.lines_from_at_most(from, usize::MAX)
    }

    /// At most the last `max` stable lines from line number `from` on.
    pub fn lines_from_at_most(&self, from: u64, max: usize) -> Vec<CaptionLine> {
        let lines = self.inner.lines.read().unwrap_or_else(|p| p.into_inner());
        let start = lines
            .partition_point(|l| l.seq < from)
            .max(lines.len().saturating_sub(max));
        lines[start..].to_vec()
    }

    /// What a view's subscriber may be replayed: a checked viewer not the lines still held.
    pub fn replay(&self, view: CaptionView, from: u64, max: usize) -> Vec<CaptionLine> {
        let mut lines = self.lines_from_at_most(from, max);
        if view == CaptionView::Checked {
            if let Some(held) = self.with_review(|r| r.first_held()) {
                lines.retain(|l| l.seq < held);
            }
        }
        lines
    }

    /// The transcript as timed cues (speaker's name first when more than one spoke), with
    /// the corrected text; lines a captioner emptied are left out.
    pub fn cues(&self) -> Vec<Cue> {
        let lines = self.inner.lines.read().unwrap_or_else(|p| p.into_inner());
        let many = lines.iter().any(|l| l.speaker != lines[0].speaker);
        lines
            .iter()
            .filter(|l| !l.text.is_empty())
            .map(|l| Cue {
                start_ms: l.start_ms,
                end_ms: l.end_ms,
                text: if many {
                    format!("{}：{}", l.name, l.text)
                } else {
                    l.text.clone()
                },
            })
            .collect()
    }

    /// The captioner's figures for this event.
    pub fn stats(&self) -> ReviewStats {
        let lines = self.inner.lines.read().unwrap_or_else(|p| p.into_inner());
        let mut delays: Vec<u64> = lines
            .iter()
            .filter_map(|l| l.review.corrected_after_ms)
            .collect();
        delays.sort_unstable();
        ReviewStats {
            lines: lines.len(),
            corrected: lines.iter().filter(|l| l.review.corrected).count(),
            typed: lines.iter().filter(|l| l.review.typed).count(),
            chars_changed: lines
                .iter()
                .filter_map(|l| {
                    l.review
                        .machine_text
                        .as_ref()
                        .map(|m| chars_changed(m, &l.text))
                })
                .sum(),
            median_correction_ms: delays.get(delays.len() / 2).copied(),
        }
    }

    /// Takes one update from a speaker's recognizer: moves its times onto the event's clock
    /// and hands it to the review rules, which number it and say where it goes.
    pub fn publish(&self, mut line: CaptionLine) {
        // The speaker's own stream began at `audio_end - end_ms`; a speaker who reconnects
        // starts a new stream, so times are re-based on the event's first audio.
        let stream_t0 = line.audio_end_unix_ms.saturating_sub(line.end_ms);
        {
            let mut c = self.inner.clock();
            let t0 = *c.t0_unix_ms.get_or_insert(stream_t0);
            let shift = stream_t0.saturating_sub(t0);
            line.start_ms += shift;
            line.end_ms += shift;
        }
        self.inner.degraded.store(line.degraded, Ordering::Relaxed);
        let now = unix_ms();
        let out = self.inner.review().machine(line, now);
        self.run(out);
    }

    /// A captioner typing (速录): the text so far of the line they type, or the whole line
    /// when `done`. Returns whether watchers must be told of a change.
    pub fn typed(
        &self,
        speaker: &str,
        name: &str,
        text: &str,
        done: bool,
    ) -> Result<bool, ReviewError> {
        let now = unix_ms();
        let (start_ms, end_ms) = {
            let mut c = self.inner.clock();
            let t0 = *c.t0_unix_ms.get_or_insert(now);
            let since = *c.typing_since_ms.get_or_insert(now);
            if done {
                c.typing_since_ms = None;
            }
            (since.saturating_sub(t0), now.saturating_sub(t0))
        };
        let line = CaptionLine::typed_by(
            speaker.to_owned(),
            name.to_owned(),
            text.to_owned(),
            done,
            (start_ms, end_ms),
            now,
        );
        let out = self.inner.review().typed(line, done, now)?;
        Ok(self.run(out))
    }

    /// A captioner's correction of line `seq`.
    pub fn correct(&self, seq: u64, text: &str) -> Result<bool, ReviewError> {
        let out = self.inner.review().correct(seq, text, unix_ms())?;
        Ok(self.run(out))
    }

    /// A captioner accepts line `seq` as it is.
    pub fn accept(&self, seq: u64) -> Result<bool, ReviewError> {
        let out = self.inner.review().accept(seq)?;
        Ok(self.run(out))
    }

    /// Runs one input of the review rules and its effects; true if watchers must be told.
    pub fn review<E>(
        &self,
        f: impl FnOnce(&mut ReviewDesk, u64) -> Result<Vec<Out>, E>,
    ) -> Result<bool, E> {
        let out = f(&mut self.inner.review(), unix_ms())?;
        Ok(self.run(out))
    }

    /// Carries out the rules' effects; true if the status changed.
    fn run(&self, out: Vec<Out>) -> bool {
        let status = Inner::apply(&self.inner, out);
        self.arm_timer();
        status
    }

    /// While lines are held, one task waits for the oldest one's deadline and releases it.
    /// The flag is read and set under the review lock, so a line held while the task stops
    /// still gets a task.
    fn arm_timer(&self) {
        {
            let review = self.inner.review();
            if review.next_deadline().is_none() || self.inner.timer.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.inner.timer.store(false, Ordering::Release);
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        rt.spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let due = {
                    let review = inner.review();
                    match review.next_deadline() {
                        Some(due) => due,
                        None => {
                            inner.timer.store(false, Ordering::Release);
                            return;
                        }
                    }
                };
                drop(inner);
                let wait = due.saturating_sub(unix_ms());
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                let Some(inner) = weak.upgrade() else { return };
                let out = inner.review().tick(unix_ms());
                Inner::apply(&inner, out);
            }
        });
    }
}

impl Inner {
    fn clock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn review(&self) -> std::sync::MutexGuard<'_, ReviewDesk> {
        self.review.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn apply(inner: &Arc<Inner>, out: Vec<Out>) -> bool {
        let mut status = false;
        for o in out {
            match o {
                Out::Send(to, line) => {
                    let Some(item) = HubItem::of(&line) else {
                        continue;
                    };
                    // No subscribers is not an error: the transcript still grows.
                    if to.live {
                        let _ = inner.live.send(item.clone());
                    }
                    if to.checked {
                        let _ = inner.checked.send(item.clone());
                    }
                    if to.desk {
                        let _ = inner.desk.send(item);
                    }
                }
                Out::Keep(line) => inner.keep_line(line),
                Out::Status => status = true,
            }
        }
        status
    }

    /// Puts a final line or its new revision in the transcript and hands it to the writer.
    fn keep_line(&self, line: CaptionLine) {
        if let (Some(keep), Ok(json)) = (&self.keep, serde_json::to_string(&line)) {
            if keep.send(Keep::Line(line.seq, json.into())).is_err() {
                tracing::error!("transcript writer is gone; a line is kept in memory only");
            }
        }
        let mut lines = self.lines.write().unwrap_or_else(|p| p.into_inner());
        match lines.binary_search_by_key(&line.seq, |l| l.seq) {
            Ok(at) => lines[at] = line,
            Err(at) => lines.insert(at, line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Role;

    fn line(seq: u64, text: &str, stable: bool, start: u64, end: u64, t0: u64) -> CaptionLine {
        CaptionLine {
            speaker: "p1".into(),
            role: Role::Broadcaster,
            name: "发言人".into(),
            seq,
            text: text.into(),
            stable,
            start_ms: start,
            end_ms: end,
            audio_end_unix_ms: t0 + end,
            degraded: false,
            unsure: Vec::new(),
            review: Default::default(),
        }
    }

    #[test]
    fn a_reconnected_speaker_continues_the_numbering_and_the_clock() {
        let hub = CaptionHub::open(Vec::new(), None, 0, Vec::new());
        let mut rx = hub.subscribe(CaptionView::Live);
        hub.publish(line(0, "各位记者", true, 0, 900, 10_000));
        hub.publish(line(1, "大家", false, 900, 1500, 10_000));
        // The broadcaster dropped and came back 60 s later: their new stream starts at 0.
        hub.publish(line(0, "下面发布", true, 200, 1200, 70_000));
        let lines = hub.lines_from(0);
        assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!((lines[1].start_ms, lines[1].end_ms), (60_200, 61_200));
        let first = rx.try_recv().unwrap();
        assert!(first.stable && first.json.contains("各位记者"));
        let partial = rx.try_recv().unwrap();
        assert_eq!((partial.seq, partial.stable), (1, false));
        assert_eq!(hub.lines_from(1).len(), 1);
    }

    #[test]
    fn a_restarted_hub_continues_the_numbering_and_the_clock_and_hands_lines_on() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hub = CaptionHub::open(Vec::new(), Some(tx), 0, Vec::new());
        hub.publish(line(0, "第一句。", true, 0, 1000, 5_000));
        hub.publish(line(1, "未完", false, 1000, 1500, 5_000));
        hub.publish(line(1, "第二句。", true, 1000, 2000, 5_000));
        let kept: Vec<(u64, Arc<str>)> = std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|k| match k {
                Keep::Line(seq, json) => Some((seq, json)),
                Keep::Flush(_) => None,
            })
            .collect();
        assert_eq!(kept.len(), 2, "only final lines are stored");
        let reloaded: Vec<CaptionLine> = kept
            .iter()
            .map(|(_, j)| serde_json::from_str(j).unwrap())
            .collect();
        let again = CaptionHub::open(reloaded, None, 0, Vec::new());
        assert_eq!(again.cues().len(), 2);
        again.publish(line(0, "第三句。", true, 0, 800, 9_000));
        let l = again.lines_from(2);
        assert_eq!(l[0].seq, 2, "numbering continues after the restart");
        assert_eq!(l[0].start_ms, 4_000, "and so does the clock");
    }
}
