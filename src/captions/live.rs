//! Live captions of one speaker in a call or an event: the SFU hands each speaker's RTP to a
//! bounded queue (a full queue loses caption audio, never media), a task turns it into 16 kHz
//! audio and feeds a streaming recognizer, and each caption update goes to a sink.

use super::tap::OpusTap;
use super::{CaptionEvent, StreamConfig, StreamRecognizer};
use crate::asr::{Engine, Lang};
use crate::clock::unix_ms;
use crate::metrics::Histogram;
use crate::signal::{CaptionLine, Role};
use rtc::rtp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// RTP packets of one speaker waiting for the caption task (~20 s of 20 ms frames): a decode
/// that takes seconds must not make the tap lose audio.
pub const TAP_QUEUE: usize = 1024;
/// No packet for this long ends the current utterance (the sender stopped sending).
const IDLE_COMMIT: Duration = Duration::from_millis(700);
/// Buckets of caption delay, seconds.
static LAG_BUCKETS: [f64; 8] = [0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0];

/// Who is speaking.
#[derive(Debug, Clone)]
pub struct Speaker {
    /// Participant id (`p<session>`).
    pub id: String,
    /// Role in the room.
    pub role: Role,
    /// Display name.
    pub name: String,
}

/// Where a speaker's captions go.
pub trait CaptionSink: Send + Sync + 'static {
    /// One update (stable lines never change; an unstable one replaces the previous).
    fn caption(&self, line: CaptionLine);
}

/// Process-wide caption counters (for `/metrics`).
#[derive(Debug)]
pub struct LiveStats {
    /// Speakers being captioned now.
    pub streams: AtomicU64,
    /// Stable lines produced.
    pub lines: AtomicU64,
    /// Decodes skipped because every recognizer worker was busy.
    pub skipped: AtomicU64,
    /// Audio packets the caption tap lost because its queue was full.
    pub tap_dropped: AtomicU64,
    /// Delay from the end of a stable line's audio to its caption going out.
    pub lag: Histogram,
}

impl Default for LiveStats {
    fn default() -> Self {
        Self {
            streams: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            tap_dropped: AtomicU64::new(0),
            lag: Histogram::new(&LAG_BUCKETS),
        }
    }
}

/// The captioning service shared by all rooms; cheap to clone.
#[derive(Clone)]
pub struct LiveCaptions {
    engine: Engine,
    lang: Lang,
    hotwords: Arc<Vec<String>>,
    stats: Arc<LiveStats>,
}

impl LiveCaptions {
    /// A service on a loaded engine with the server's default language and vocabulary.
    pub fn new(engine: Engine, lang: Lang, hotwords: Vec<String>) -> Self {
        Self {
            engine,
            lang,
            hotwords: Arc::new(hotwords),
            stats: Arc::new(LiveStats::default()),
        }
    }

    /// Counters.
    pub fn stats(&self) -> Arc<LiveStats> {
        self.stats.clone()
    }

    /// Decodes waiting or running on the recognizer.
    pub fn queue_depth(&self) -> usize {
        self.engine.queue_depth()
    }

    /// Starts captioning a speaker; returns the queue the SFU feeds with their RTP. The task
    /// ends (committing what is left) when the queue's sender is dropped.
    pub fn start(
        &self,
        speaker: Speaker,
        lang: Option<Lang>,
        extra_hotwords: &[String],
        sink: Arc<dyn CaptionSink>,
    ) -> mpsc::Sender<rtp::Packet> {
        let (tx, rx) = mpsc::channel(TAP_QUEUE);
        let mut cfg = StreamConfig::new(lang.unwrap_or(self.lang));
        cfg.hotwords = self
            .hotwords
            .iter()
            .chain(extra_hotwords)
            .cloned()
            .collect();
        let rec = StreamRecognizer::new(self.engine.clone(), cfg);
        let stats = self.stats.clone();
        tokio::spawn(run(speaker, rx, rec, sink, stats));
        tx
    }
}

struct Emitter {
    speaker: Speaker,
    sink: Arc<dyn CaptionSink>,
    stats: Arc<LiveStats>,
    /// Wall-clock time of the stream's first sample.
    t0_unix_ms: u64,
    last_unstable_empty: bool,
}

impl Emitter {
    fn send(&mut self, events: Vec<CaptionEvent>, degraded: bool) {
        let now = unix_ms();
        for e in events {
            if !e.stable {
                // Repeated empty guesses say nothing new.
                let empty = e.text.is_empty();
                if empty && self.last_unstable_empty {
                    continue;
                }
                self.last_unstable_empty = empty;
            } else {
                self.last_unstable_empty = false;
            }
            let audio_end_unix_ms = self.t0_unix_ms + e.end_ms;
            if e.stable {
                self.stats.lines.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .lag
                    .observe(now.saturating_sub(audio_end_unix_ms) as f64 / 1000.0);
            }
            self.sink.caption(CaptionLine {
                speaker: self.speaker.id.clone(),
                role: self.speaker.role,
                name: self.speaker.name.clone(),
                seq: e.seq,
                text: e.text,
                stable: e.stable,
                start_ms: e.start_ms,
                end_ms: e.end_ms,
                audio_end_unix_ms,
                degraded,
            });
        }
    }
}

async fn run(
    speaker: Speaker,
    mut rx: mpsc::Receiver<rtp::Packet>,
    mut rec: StreamRecognizer,
    sink: Arc<dyn CaptionSink>,
    stats: Arc<LiveStats>,
) {
    let mut tap = match OpusTap::new() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, speaker = %speaker.id, "no captions for this speaker");
            return;
        }
    };
    stats.streams.fetch_add(1, Ordering::Relaxed);
    tracing::info!(speaker = %speaker.id, role = ?speaker.role, "captioning speaker");
    let mut out = Emitter {
        speaker,
        sink,
        stats: stats.clone(),
        t0_unix_ms: 0,
        last_unstable_empty: true,
    };
    let mut started: Option<Instant> = None;
    let mut skipped_seen = 0;
    loop {
        let first = match tokio::time::timeout(IDLE_COMMIT, rx.recv()).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(_) => {
                // The sender went quiet without silence packets: end the utterance now.
                if rec.has_pending_audio() {
                    let evs = rec.finish().await;
                    out.send(evs, rec.stats().degraded);
                }
                continue;
            }
        };
        if started.is_none() {
            started = Some(Instant::now());
            out.t0_unix_ms = unix_ms();
        }
        let mut pcm = tap.push(
            first.header.sequence_number,
            first.header.timestamp,
            &first.payload,
        );
        // A decode may have taken a while: take everything that queued up meanwhile at once.
        while let Ok(p) = rx.try_recv() {
            pcm.extend(tap.push(p.header.sequence_number, p.header.timestamp, &p.payload));
        }
        rec.push_audio(&pcm);
        if rec.ready() {
            let evs = rec.step().await;
            let st = rec.stats();
            if st.skipped > skipped_seen {
                stats
                    .skipped
                    .fetch_add(st.skipped - skipped_seen, Ordering::Relaxed);
                skipped_seen = st.skipped;
            }
            out.send(evs, st.degraded);
        }
    }
    rec.push_audio(&tap.flush());
    let evs = rec.finish().await;
    out.send(evs, rec.stats().degraded);
    stats.streams.fetch_sub(1, Ordering::Relaxed);
    let t = tap.stats();
    tracing::info!(
        speaker = %out.speaker.id,
        decoded = t.decoded,
        lost = t.lost,
        recovered = t.recovered,
        "captioning ended"
    );
}
