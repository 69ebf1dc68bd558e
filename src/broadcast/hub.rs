//! One event's captions: numbered once, rendered to JSON once, fanned out to every subscriber
//! (SSE, WebSocket) through one broadcast channel, and kept as a growing transcript that is
//! appended to a file line by line so it survives a restart.

use crate::captions::format::Cue;
use crate::signal::CaptionLine;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

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
    file: Mutex<Option<File>>,
    path: Option<PathBuf>,
    /// The file ends in a partial line (a crash mid-write).
    torn: AtomicBool,
    degraded: AtomicBool,
}

impl CaptionHub {
    /// A hub whose transcript is appended to `path` (none: memory only). Lines already in the
    /// file are loaded, so a restarted server keeps serving them.
    pub fn open(path: Option<PathBuf>) -> Self {
        let text = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        // A line cut short by a crash is skipped, not fatal; the next one starts on its own line.
        let lines: Vec<CaptionLine> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let torn = !text.is_empty() && !text.ends_with('\n');
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
            file: Mutex::new(None),
            path,
            torn: AtomicBool::new(torn),
            degraded: AtomicBool::new(false),
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
        let lines = self.lines.read().unwrap_or_else(|p| p.into_inner());
        let start = lines.partition_point(|l| l.seq < from);
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
            self.append(&json);
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

    fn append(&self, json: &str) {
        let Some(path) = &self.path else { return };
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => *f = Some(file),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "transcript file unusable");
                    return;
                }
            }
        }
        if let Some(file) = f.as_mut() {
            let lead = if self.torn.swap(false, Ordering::Relaxed) {
                "\n"
            } else {
                ""
            };
            if let Err(e) = writeln!(file, "{lead}{json}") {
                tracing::error!(error = %e, "transcript line not written");
                *f = None;
            }
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
        }
    }

    #[test]
    fn a_reconnected_speaker_continues_the_numbering_and_the_clock() {
        let hub = CaptionHub::open(None);
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
    fn the_transcript_file_survives_a_restart_and_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("signrelay-hub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        let _ = std::fs::remove_file(&path);
        {
            let hub = CaptionHub::open(Some(path.clone()));
            hub.publish(line(0, "第一句。", true, 0, 1000, 5_000));
            hub.publish(line(1, "第二句。", true, 1000, 2000, 5_000));
            hub.publish(line(2, "未完", false, 2000, 2500, 5_000));
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"speaker\":\"p1\",\"ro").unwrap();
        let hub = CaptionHub::open(Some(path.clone()));
        let cues = hub.cues();
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[1].text, "第二句。");
        hub.publish(line(0, "第三句。", true, 0, 800, 9_000));
        let l = hub.lines_from(2);
        assert_eq!(l[0].seq, 2, "numbering continues after the restart");
        assert_eq!(l[0].start_ms, 4_000, "and so does the clock");
        drop(hub);
        let again = CaptionHub::open(Some(path.clone()));
        assert_eq!(
            again.cues().len(),
            3,
            "the torn line did not swallow the next one"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
