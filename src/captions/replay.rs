//! Replays a recorded clip through a stream recognizer at real-time pace, timing each
//! committed unit: the latency figures of the tests and `signrelay-bench captions`.

use super::stream::{CaptionEvent, Commit, StreamConfig, StreamRecognizer};
use crate::asr::Engine;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Result of streaming one clip.
#[derive(Debug, Clone, Default)]
pub struct StreamRun {
    /// Final committed text.
    pub text: String,
    /// Latency of each committed unit, seconds (emitted minus its audio's end).
    pub latencies: Vec<f64>,
    /// The same latencies by why their text was committed.
    pub by_commit: BTreeMap<Commit, Vec<f64>>,
    /// Decode time, s.
    pub decode_secs: f64,
    /// Audio length, s.
    pub audio_secs: f64,
    /// All events in order.
    pub events: Vec<CaptionEvent>,
}

/// Streams `pcm` through a recognizer at real-time pace (`realtime`) or as fast as it decodes.
pub async fn stream_clip(
    engine: &Engine,
    cfg: StreamConfig,
    pcm: &[f32],
    realtime: bool,
) -> StreamRun {
    let mut rec = StreamRecognizer::new(engine.clone(), cfg);
    let started = Instant::now();
    let chunk = 1600; // 100 ms
    let mut run = StreamRun {
        audio_secs: pcm.len() as f64 / 16_000.0,
        ..Default::default()
    };
    let mut fed = 0usize;
    let record =
        |evs: Vec<CaptionEvent>, why: Option<Commit>, run: &mut StreamRun, now: Instant| {
            for e in evs {
                if e.stable {
                    let n = e
                        .text
                        .chars()
                        .filter(|c| c.is_alphanumeric() || super::text::is_cjk(*c))
                        .count()
                        .max(1);
                    let units = if e.text.contains(' ') {
                        e.text.split_whitespace().count()
                    } else {
                        n
                    };
                    let t_emit = now.duration_since(started).as_secs_f64();
                    for i in 0..units {
                        let end = e.start_ms as f64
                            + (e.end_ms - e.start_ms) as f64 * (i + 1) as f64 / units as f64;
                        run.latencies.push(t_emit - end / 1000.0);
                        if let Some(why) = why {
                            run.by_commit
                                .entry(why)
                                .or_default()
                                .push(t_emit - end / 1000.0);
                        }
                    }
                }
                run.events.push(e);
            }
        };
    while fed < pcm.len() {
        if realtime {
            // Feed everything that has "arrived" by now.
            let due = ((started.elapsed().as_secs_f64() * 16_000.0) as usize / chunk + 1) * chunk;
            if due > fed {
                let to = due.min(pcm.len());
                rec.push_audio(&pcm[fed..to]);
                fed = to;
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        } else {
            let to = (fed + chunk).min(pcm.len());
            rec.push_audio(&pcm[fed..to]);
            fed = to;
        }
        let evs = rec.step().await;
        record(evs, rec.last_commit(), &mut run, Instant::now());
    }
    let evs = rec.finish().await;
    record(evs, rec.last_commit(), &mut run, Instant::now());
    run.text = rec.committed_text().to_owned();
    run.decode_secs = rec.stats().decode_time.as_secs_f64();
    run
}
