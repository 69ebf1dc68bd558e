//! One event's captions: numbered once, rendered to JSON once, fanned out to every subscriber
//! (SSE, WebSocket) through one broadcast channel, and kept as a growing transcript whose lines
//! are handed, one by one, to the store's writer so they survive a restart.

use crate::captions::format::Cue;
use crate::signal::CaptionLine;
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
    /// Final or not.
    pub stable: bool,
    /// The `CaptionLine` as JSON.
    pub json: Arc<str>,
    /// The whole Server-Sent Events frame: every subscriber is sent these same bytes.
    pub sse: bytes::Bytes,
}

/// What the transcript writer is handed.
#[derive(Debug)]
pub enum Keep {
    /// A final line: its number and JSON.
    Line(u64, Arc<str>),
    /// Answered once every line before it is stored.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// One Server-Sent Events frame. Only stable lines get an `id`, so a reconnecting client
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
    next_seq: u64,
}

/// Captions of one event.
pub struct CaptionHub {
    tx: broadcast::Sender<Arc<HubItem>>,
    clock: Mutex<Clock>,
    lines: RwLock<Vec<CaptionLine>>,
    /// Where final lines go to be stored.
    keep: Option<mpsc::UnboundedSender<Keep>>,
    degraded: AtomicBool,
}

impl CaptionHub {
    /// A hub that continues the transcript `lines` (loaded from the store after a restart) and
    /// hands each new final line to `keep`.
    pub fn open(lines: Vec<CaptionLine>, keep: Option<mpsc::UnboundedSender<Keep>>) -> Self {
        let next_seq = lines.last().map_or(0, |l| l.seq + 1);
        let t0 = lines
            .first()
            .map(|l| l.audio_end_unix_ms.saturating_sub(l.end_ms));
        let (tx, _) = broadcast::channel(FANOUT_CAPACITY);
        Self {
            tx,
            clock: Mutex::new(Clock {
                t0_unix_ms: t0,
                next_seq,
            }),
            lines: RwLock::new(lines),
            keep,
            degraded: AtomicBool::new(false),
        }
    }

    /// Waits until every final line so far is stored (at shutdown).
    pub async fn flush(&self) {
        let Some(keep) = &self.keep else {
            return;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if keep.send(Keep::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Receives every update from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubItem>> {
        self.tx.subscribe()
    }

    /// Subscribers connected now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// True while the recognizer reports it is behind.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Stable lines from number `from` on.
    pub fn lines_from(&self, from: u64) -> Vec<CaptionLine> {
        self.lines_from_at_most(from, usize::MAX)
    }

    /// At most the last `max` stable lines from line number `from` on.
    pub fn lines_from_at_most(&self, from: u64, max: usize) -> Vec<CaptionLine> {
        let lines = self.lines.read().unwrap_or_else(|p| p.into_inner());
        let start = lines
            .partition_point(|l| l.seq < from)
            .max(lines.len().saturating_sub(max));
        lines[start..].to_vec()
    }

    /// The transcript as timed cues (speaker's name first when more than one spoke).
    pub fn cues(&self) -> Vec<Cue> {
        let lines = self.lines.read().unwrap_or_else(|p| p.into_inner());
        let many = lines.iter().any(|l| l.speaker != lines[0].speaker);
        lines
            .iter()
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

    /// Takes one update from a speaker's recognizer: renumbers it in the event's sequence,
    /// moves its times onto the event's clock, keeps it if stable, and fans it out.
    pub fn publish(&self, mut line: CaptionLine) -> Option<Arc<HubItem>> {
        // The speaker's own stream began at `audio_end - end_ms`; a speaker who reconnects
        // starts a new stream, so times are re-based on the event's first audio.
        let stream_t0 = line.audio_end_unix_ms.saturating_sub(line.end_ms);
        {
            let mut c = self.clock.lock().unwrap_or_else(|p| p.into_inner());
            let t0 = *c.t0_unix_ms.get_or_insert(stream_t0);
            let shift = stream_t0.saturating_sub(t0);
            line.start_ms += shift;
            line.end_ms += shift;
            line.seq = c.next_seq;
            if line.stable {
                c.next_seq += 1;
            }
        }
        self.degraded.store(line.degraded, Ordering::Relaxed);
        let json: Arc<str> = serde_json::to_string(&line).ok()?.into();
        if line.stable {
            if let Some(keep) = &self.keep {
                if keep.send(Keep::Line(line.seq, json.clone())).is_err() {
                    tracing::error!("transcript writer is gone; a line is kept in memory only");
                }
            }
            self.lines
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .push(line.clone());
        }
        let item = Arc::new(HubItem {
            seq: line.seq,
            stable: line.stable,
            sse: sse_frame("caption", line.stable.then_some(line.seq), &json),
            json,
        });
        // No subscribers is not an error: the transcript still grows.
        let _ = self.tx.send(item.clone());
        Some(item)
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
        }
    }

    #[test]
    fn a_reconnected_speaker_continues_the_numbering_and_the_clock() {
        let hub = CaptionHub::open(Vec::new(), None);
        let mut rx = hub.subscribe();
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
        let hub = CaptionHub::open(Vec::new(), Some(tx));
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
        let again = CaptionHub::open(reloaded, None);
        assert_eq!(again.cues().len(), 2);
        again.publish(line(0, "第三句。", true, 0, 800, 9_000));
        let l = again.lines_from(2);
        assert_eq!(l[0].seq, 2, "numbering continues after the restart");
        assert_eq!(l[0].start_ms, 4_000, "and so does the clock");
    }
}
