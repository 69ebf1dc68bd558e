//! Replays a recorded clip through a stream recognizer at real-time pace, timing each
//! committed unit: the latency figures of the tests and `signrelay-bench captions`.

use super::event::CaptionEvent;
use super::stream::{Commit, StreamConfig, StreamRecognizer};
use crate::asr::Engine;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Result of streaming one clip.
#[derive(Debug, Clone, Default)]
pub struct StreamRun {
    /// Final text: the live lines as the settling pass left them.
    pub text: String,
    /// The live lines as first committed.
    pub live_text: String,
    /// Latency of each committed unit, seconds (emitted minus its audio's end).
    pub latencies: Vec<f64>,
    /// Latency of each unit of a line the settling pass revised, to its revision.
    pub settle_latencies: Vec<f64>,
    /// Lines committed.
    pub lines: usize,
    /// Lines the settling pass revised.
    pub revised: usize,
    /// The same latencies by why their text was committed.
    pub by_commit: BTreeMap<Commit, Vec<f64>>,
    /// Decode time, s.
    pub decode_secs: f64,
    /// Audio length, s.
    pub audio_secs: f64,
    /// All events in order.
    pub events: Vec<CaptionEvent>,
}

/// How audio is fed to the recognizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// As it would arrive from a speaker: the clock decides what has arrived by each decode.
    RealTime,
    /// As fast as decodes run: every decode sees the same audio, but latency means nothing.
    AsFast,
    /// Real-time pace on a simulated clock on which each decode takes
    /// `modeled_decode_time`: the same decode points and text in every run (on any machine,
    /// under any load), with the latencies the reference machine would see.
    Modeled,
}

/// Streams `pcm` through a recognizer at the given pace.
pub async fn stream_clip(engine: &Engine, cfg: StreamConfig, pcm: &[f32], pace: Pace) -> StreamRun {
    let cfg_lang = cfg.lang;
    let mut rec = StreamRecognizer::new(engine.clone(), cfg);
    if pace == Pace::Modeled {
        rec.use_modeled_decode_time();
    }
    let started = Instant::now();
    // The simulated clock of `Pace::Modeled`, s.
    let mut sim_now = 0.0f64;
    let chunk = 1600; // 100 ms
    let mut run = StreamRun {
        audio_secs: pcm.len() as f64 / 16_000.0,
        ..Default::default()
    };
    let mut fed = 0usize;
    let mut lines: BTreeMap<u64, String> = BTreeMap::new();
    let mut record =
        |evs: Vec<CaptionEvent>, why: Option<Commit>, run: &mut StreamRun, t_emit: f64| {
            for e in evs {
                if e.revision {
                    let n = reading_units(&e.text);
                    for i in 0..n {
                        run.settle_latencies.push(t_emit - unit_end(&e, i, n));
                    }
                    run.revised += 1;
                    lines.insert(e.seq, e.text.clone());
                } else if e.stable {
                    run.lines += 1;
                    lines.insert(e.seq, e.text.clone());
                }
                if e.stable && !e.revision {
                    let units = reading_units(&e.text);
                    for i in 0..units {
                        let latency = t_emit - unit_end(&e, i, units);
                        run.latencies.push(latency);
                        if let Some(why) = why {
                            run.by_commit.entry(why).or_default().push(latency);
                        }
                    }
                }
                run.events.push(e);
            }
        };
    let elapsed = |sim_now: f64| match pace {
        Pace::Modeled => sim_now,
        _ => started.elapsed().as_secs_f64(),
    };
    while fed < pcm.len() {
        if pace == Pace::Modeled {
            // Everything that arrived while the last decode ran, and the next 100 ms.
            let due = ((sim_now * 16_000.0) as usize / chunk + 1) * chunk;
            let to = due.max(fed + chunk).min(pcm.len());
            sim_now = sim_now.max(to as f64 / 16_000.0);
            rec.push_audio(&pcm[fed..to]);
            fed = to;
        } else if pace == Pace::RealTime {
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
        let spent = rec.stats().decode_time;
        let evs = rec.step().await;
        sim_now += (rec.stats().decode_time - spent).as_secs_f64();
        record(evs, rec.last_commit(), &mut run, elapsed(sim_now));
        if rec.settle_due() {
            // The live loop runs it right after the step, before taking more audio.
            let spent = rec.stats().decode_time;
            let evs = rec.settle().await;
            sim_now += (rec.stats().decode_time - spent).as_secs_f64();
            record(evs, None, &mut run, elapsed(sim_now));
        }
    }
    let spent = rec.stats().decode_time;
    let evs = rec.finish().await;
    sim_now += (rec.stats().decode_time - spent).as_secs_f64();
    record(evs, rec.last_commit(), &mut run, elapsed(sim_now));
    let spent = rec.stats().decode_time;
    let evs = rec.settle().await;
    sim_now += (rec.stats().decode_time - spent).as_secs_f64();
    record(evs, None, &mut run, elapsed(sim_now));
    let sep = if cfg_lang == crate::asr::Lang::Zh {
        ""
    } else {
        " "
    };
    run.text = lines
        .values()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(sep);
    run.live_text = rec.committed_text().to_owned();
    run.decode_secs = rec.stats().decode_time.as_secs_f64();
    run
}

/// Characters (Chinese) or words (other scripts) of a caption line: the units latency is
/// counted in.
fn reading_units(text: &str) -> usize {
    if text.contains(' ') {
        text.split_whitespace().count().max(1)
    } else {
        text.chars()
            .filter(|c| c.is_alphanumeric() || super::text::is_cjk(*c))
            .count()
            .max(1)
    }
}

/// Where the audio of unit `i` of `n` of a line ends, s: its times spread evenly.
fn unit_end(e: &CaptionEvent, i: usize, n: usize) -> f64 {
    (e.start_ms as f64 + (e.end_ms - e.start_ms) as f64 * (i + 1) as f64 / n as f64) / 1000.0
}
