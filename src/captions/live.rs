//! Live captions of one speaker in a call or an event: the SFU hands each speaker's RTP to a
//! bounded queue (a full queue loses caption audio, never media), a task turns it into 16 kHz
//! audio and feeds a streaming recognizer, and each caption update goes to a sink.

use super::stream::SettleInFlight;
use super::tap::OpusTap;
use super::{CaptionEvent, StreamConfig, StreamRecognizer};
use crate::asr::{AsrError, Engine, Lang};
use crate::clock::unix_ms;
use crate::metrics::Histogram;
use crate::signal::{CaptionLine, CaptionStatus, Role};
use rtc::rtp;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// RTP packets of one speaker waiting for the caption task (~20 s of 20 ms frames): a decode
/// that takes seconds must not make the tap lose audio.
pub const TAP_QUEUE: usize = 1024;
/// No packet for this long ends the current utterance (the sender stopped sending).
const IDLE_COMMIT: Duration = Duration::from_millis(700);
/// How long the last decode of a stream that ended may take; past it the text is dropped
/// (nobody may be left to read it) rather than holding the recognizer.
const FINAL_DECODE_LIMIT: Duration = Duration::from_secs(3);
/// How often a stream says how far behind it runs.
const HEALTH_EVERY: Duration = Duration::from_secs(1);
/// Behind by more than this, a stream is reported as delayed (one decode interval plus a
/// decode is normal).
pub const DELAYED_MS: u64 = 3000;
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
    /// How far behind the speaker's captions run (while behind, and once when caught up).
    fn status(&self, status: CaptionStatus);
}

/// A running caption stream. Dropping it ends the stream at once: its queued and running
/// decodes are cancelled and the last words get at most [`FINAL_DECODE_LIMIT`].
pub struct CaptionStream {
    audio: mpsc::Sender<rtp::Packet>,
    /// Packets this stream lost to a full queue (the process-wide count is in `stats`).
    lost: Arc<AtomicU64>,
    stats: Arc<LiveStats>,
    _stop: oneshot::Sender<()>,
}

impl CaptionStream {
    /// Hands one packet to the caption task; a full queue loses it (counted), never waits.
    pub fn feed(&self, p: rtp::Packet) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.audio.try_send(p) {
            self.lost.fetch_add(1, Ordering::Relaxed);
            self.stats.tap_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counts a stream in `/metrics` for exactly as long as its task lives, however it ends.
struct Counted(Arc<LiveStats>);

impl Counted {
    fn new(stats: Arc<LiveStats>) -> Self {
        stats.streams.fetch_add(1, Ordering::Relaxed);
        Self(stats)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
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

    /// Starts captioning a speaker; the SFU feeds the returned stream with their RTP, and
    /// dropping it ends the stream.
    pub fn start(
        &self,
        speaker: Speaker,
        lang: Option<Lang>,
        vocabulary: super::Vocabulary,
        sink: Arc<dyn CaptionSink>,
    ) -> CaptionStream {
        let (tx, rx) = mpsc::channel(TAP_QUEUE);
        let (pcm_tx, pcm_rx) = mpsc::channel(TAP_QUEUE);
        let (stop_tx, stop_rx) = oneshot::channel();
        // Opus decoding and concealment run on a thread of their own, off the runtime's:
        // whatever a sender puts in its packets, it cannot hold up other tasks.
        let id = speaker.id.clone();
        if let Err(e) = std::thread::Builder::new()
            .name("caption-tap".into())
            .spawn(move || decode_audio(id, rx, pcm_tx))
        {
            tracing::error!(error = %e, "no caption decoder thread; this speaker is not captioned");
        }
        let mut cfg = StreamConfig::new(lang.unwrap_or(self.lang));
        cfg.hotwords = self.hotwords.to_vec();
        cfg.vocabulary = vocabulary;
        let rec = StreamRecognizer::new(self.engine.clone(), cfg);
        let stats = self.stats.clone();
        let counted = Counted::new(stats.clone());
        let lost = Arc::new(AtomicU64::new(0));
        let lost_seen = lost.clone();
        tokio::spawn(async move {
            let _counted = counted;
            run(speaker, pcm_rx, stop_rx, lost_seen, rec, sink, stats).await;
        });
        CaptionStream {
            audio: tx,
            lost,
            stats: self.stats.clone(),
            _stop: stop_tx,
        }
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
            if e.stable && !e.revision {
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
                unsure: e.unsure,
                review: crate::signal::Review {
                    settled: e.revision,
                    ..Default::default()
                },
            });
        }
    }
}

/// How far behind a stream's captions run: speech that has arrived since the audio of the
/// last finished decode, while there is speech waiting.
struct Lag {
    /// When the audio the last finished decode covered had all arrived.
    caught_up_at: Instant,
    /// The last status sent said "behind".
    reported_behind: bool,
    last_report: Instant,
}

impl Lag {
    fn behind_ms(&self, pending: bool, now: Instant) -> u64 {
        if pending {
            now.saturating_duration_since(self.caught_up_at).as_millis() as u64
        } else {
            0
        }
    }
}

/// A speaker's audio, decoded: what arrived, and at the end what was still held.
enum Decoded {
    Audio(Vec<f32>),
    End(Vec<f32>),
}

/// The decoder thread of one caption stream: RTP in, 16 kHz samples out, until the stream's
/// sender is dropped (the speaker left) or its reader is gone.
fn decode_audio(speaker: String, mut rx: mpsc::Receiver<rtp::Packet>, out: mpsc::Sender<Decoded>) {
    let mut tap = match OpusTap::new() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, %speaker, "no captions for this speaker");
            return;
        }
    };
    while let Some(first) = rx.blocking_recv() {
        let mut pcm = tap.push(
            first.header.sequence_number,
            first.header.timestamp,
            &first.payload,
        );
        // A decode may have taken a while: take everything that queued up meanwhile at once.
        while let Ok(p) = rx.try_recv() {
            pcm.extend(tap.push(p.header.sequence_number, p.header.timestamp, &p.payload));
        }
        if out.blocking_send(Decoded::Audio(pcm)).is_err() {
            break;
        }
    }
    let _ = out.blocking_send(Decoded::End(tap.flush()));
    let t = tap.stats();
    tracing::info!(
        %speaker,
        decoded = t.decoded,
        lost = t.lost,
        recovered = t.recovered,
        "caption audio ended"
    );
}

async fn run(
    speaker: Speaker,
    mut rx: mpsc::Receiver<Decoded>,
    mut stop: oneshot::Receiver<()>,
    lost: Arc<AtomicU64>,
    mut rec: StreamRecognizer,
    sink: Arc<dyn CaptionSink>,
    stats: Arc<LiveStats>,
) {
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
    let mut lost_seen = 0;
    let now = Instant::now();
    let mut lag = Lag {
        caught_up_at: now,
        reported_behind: false,
        last_report: now,
    };
    // The settling decode out on a background worker, if any.
    let mut settling: Option<SettleInFlight> = None;
    // A decode that is running when the stream is told to stop is abandoned (and cancelled).
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut stop => { break; }
            decoded = settled(&mut settling) => Wake::Settled(decoded),
            r = tokio::time::timeout(IDLE_COMMIT.min(HEALTH_EVERY), rx.recv()) => Wake::Audio(r),
        };
        let next = match next {
            Wake::Audio(r) => r,
            Wake::Settled(decoded) => {
                // Revisions of lines that went out already; the live pass went on meanwhile.
                if let Some(s) = settling.take() {
                    out.send(rec.end_settle(s.job, decoded), rec.stats().degraded);
                }
                // The next span may be waiting for this one.
                settling = rec.begin_settle();
                continue;
            }
        };
        let first = match next {
            Ok(Some(Decoded::Audio(pcm))) => Some(pcm),
            Ok(Some(Decoded::End(rest))) => {
                rec.push_audio(&rest);
                break;
            }
            Ok(None) => break,
            Err(_) => None,
        };
        let mut lost_audio = false;
        if let Some(mut pcm) = first {
            if started.is_none() {
                started = Some(Instant::now());
                out.t0_unix_ms = unix_ms();
            }
            // A decode may have taken a while: take everything that queued up meanwhile at once.
            let mut ended = false;
            while let Ok(d) = rx.try_recv() {
                match d {
                    Decoded::Audio(more) => pcm.extend(more),
                    Decoded::End(rest) => {
                        pcm.extend(rest);
                        ended = true;
                        break;
                    }
                }
            }
            rec.push_audio(&pcm);
            if ended {
                break;
            }
            let now_lost = lost.load(Ordering::Relaxed);
            lost_audio = now_lost > lost_seen;
            lost_seen = now_lost;
        } else if rec.has_pending_audio() {
            // The sender went quiet without silence packets: end the utterance now.
            let evs = tokio::select! {
                biased;
                _ = &mut stop => { break; }
                evs = rec.finish() => evs,
            };
            out.send(evs, rec.stats().degraded);
        }
        if rec.ready() {
            let asked = Instant::now();
            let decodes = rec.stats().decodes;
            let was_degraded = rec.stats().degraded || lost_audio;
            let Some(evs) = reporting(rec.step(), &mut stop, &mut lag, &out, was_degraded).await
            else {
                break;
            };
            let st = rec.stats();
            if st.decodes > decodes {
                lag.caught_up_at = asked;
            }
            if st.skipped > skipped_seen {
                stats
                    .skipped
                    .fetch_add(st.skipped - skipped_seen, Ordering::Relaxed);
                skipped_seen = st.skipped;
            }
            out.send(evs, st.degraded);
        }
        if settling.is_none() {
            // A finished utterance decoded again, whole, beside the live pass.
            settling = rec.begin_settle();
        }
        if !rec.has_pending_audio() {
            lag.caught_up_at = Instant::now();
        }
        report(
            &mut lag,
            &out,
            rec.has_pending_audio(),
            rec.stats().degraded || lost_audio,
        );
    }
    // The last words, unless the recognizer is too busy to say them soon.
    if let Ok(evs) = tokio::time::timeout(FINAL_DECODE_LIMIT, rec.finish()).await {
        out.send(evs, rec.stats().degraded);
        // The transcript keeps the settled text of the last utterances too.
        let last = async {
            if let Some(s) = settling.take() {
                let decoded = s.decode.await;
                out.send(rec.end_settle(s.job, decoded), rec.stats().degraded);
            }
            while rec.settle_due() {
                let evs = rec.settle().await;
                out.send(evs, rec.stats().degraded);
            }
        };
        let _ = tokio::time::timeout(FINAL_DECODE_LIMIT, last).await;
    }
    out.sink.status(CaptionStatus {
        speaker: out.speaker.id.clone(),
        behind_ms: 0,
        degraded: false,
    });
    tracing::info!(speaker = %out.speaker.id, "captioning ended");
}

/// What woke the caption task.
enum Wake {
    /// Audio, its end, or a quiet spell.
    Audio(Result<Option<Decoded>, tokio::time::error::Elapsed>),
    /// The settling decode that was out finished.
    Settled(Result<crate::asr::Decoded, AsrError>),
}

/// The result of the settling decode out, when it comes; never if none is out.
async fn settled(s: &mut Option<SettleInFlight>) -> Result<crate::asr::Decoded, AsrError> {
    match s {
        Some(s) => (&mut s.decode).await,
        None => std::future::pending().await,
    }
}

/// Runs a decode while telling the pages every [`HEALTH_EVERY`] that captions are behind (a
/// slow decode is exactly when they must hear it); `None` once the stream was told to stop.
async fn reporting<T>(
    work: impl std::future::Future<Output = T>,
    stop: &mut oneshot::Receiver<()>,
    lag: &mut Lag,
    out: &Emitter,
    degraded: bool,
) -> Option<T> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            _ = &mut *stop => return None,
            v = &mut work => return Some(v),
            _ = tokio::time::sleep(HEALTH_EVERY) => report(lag, out, true, degraded),
        }
    }
}

/// Tells the sink how far behind the captions are: every [`HEALTH_EVERY`] while behind, and
/// once when they catch up.
fn report(lag: &mut Lag, out: &Emitter, pending: bool, degraded: bool) {
    let now = Instant::now();
    let behind_ms = lag.behind_ms(pending, now);
    let behind = behind_ms >= DELAYED_MS || degraded;
    let due = now.duration_since(lag.last_report) >= HEALTH_EVERY;
    if (behind && due) || behind != lag.reported_behind {
        lag.reported_behind = behind;
        lag.last_report = now;
        out.sink.status(CaptionStatus {
            speaker: out.speaker.id.clone(),
            behind_ms,
            degraded,
        });
    }
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
