//! Replays a recorded clip through a stream recognizer at real-time pace, timing each
//! committed unit: the latency figures of the tests and `signrelay-bench captions`.

use super::event::CaptionEvent;
use super::stream::{modeled_settle_time, Commit, SettleJob, StreamConfig, StreamRecognizer};
use crate::asr::{AsrError, Decoded, Engine};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

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
    /// Live decode time, s.
    pub decode_secs: f64,
    /// Audio length, s.
    pub audio_secs: f64,
    /// All events in order.
    pub events: Vec<CaptionEvent>,
    /// When each of `events` went out, s from the clip's start (on the pace's clock).
    pub sent_at: Vec<f64>,
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
    /// under any load), with the latencies the reference machine would see. A settling
    /// decode, beside the live ones at idle priority, advances only while no live decode
    /// runs and needs `modeled_settle_time` of that.
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
                run.sent_at.push(t_emit);
            }
        };
    let elapsed = |sim_now: f64| match pace {
        Pace::Modeled => sim_now,
        _ => started.elapsed().as_secs_f64(),
    };
    let mut settling = Background::default();
    while fed < pcm.len() {
        if pace == Pace::Modeled {
            // Everything that arrived while the last decode ran, and the next 100 ms.
            let due = ((sim_now * 16_000.0) as usize / chunk + 1) * chunk;
            let to = due.max(fed + chunk).min(pcm.len());
            let idle_until = to as f64 / 16_000.0;
            if let Some(done) = settling.idle(sim_now, idle_until) {
                record(settling.end(&mut rec).await, None, &mut run, done);
            }
            sim_now = sim_now.max(idle_until);
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
        if pace != Pace::Modeled && settling.finished() {
            record(
                settling.end(&mut rec).await,
                None,
                &mut run,
                elapsed(sim_now),
            );
        }
        let spent = rec.stats().decode_time;
        let evs = rec.step().await;
        sim_now += (rec.stats().decode_time - spent).as_secs_f64();
        record(evs, rec.last_commit(), &mut run, elapsed(sim_now));
        // As the live task does: the settling decode goes out right after the step.
        settling.begin(&mut rec, pace);
    }
    let spent = rec.stats().decode_time;
    let evs = rec.finish().await;
    sim_now += (rec.stats().decode_time - spent).as_secs_f64();
    record(evs, rec.last_commit(), &mut run, elapsed(sim_now));
    // The settling decodes still to come: the one out, then the rest one by one.
    loop {
        if pace == Pace::Modeled {
            if let Some(done) = settling.idle(sim_now, f64::INFINITY) {
                sim_now = done;
            }
        }
        let evs = settling.end(&mut rec).await;
        record(evs, None, &mut run, elapsed(sim_now));
        settling.begin(&mut rec, pace);
        if settling.out.is_none() {
            break;
        }
    }
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

/// The replay's settling decode out, if any, run as the live task runs it: spawned beside the
/// live decodes.
#[derive(Default)]
struct Background {
    out: Option<(SettleJob, JoinHandle<Result<Decoded, AsrError>>)>,
    /// Idle time it still needs on the simulated clock, s (`Pace::Modeled`).
    left: f64,
}

impl Background {
    /// Sends the next settling decode out if one is due and none is out.
    fn begin(&mut self, rec: &mut StreamRecognizer, pace: Pace) {
        if self.out.is_some() {
            return;
        }
        if let Some(s) = rec.begin_settle() {
            if pace == Pace::Modeled {
                self.left = modeled_settle_time(s.job.audio_ms()).as_secs_f64();
            }
            self.out = Some((s.job, tokio::spawn(s.decode)));
        }
    }

    /// The live pass is idle from `from` to `until` on the simulated clock: when the decode
    /// out finishes in that time, the moment it does.
    fn idle(&mut self, from: f64, until: f64) -> Option<f64> {
        self.out.as_ref()?;
        spend_idle(&mut self.left, from, until)
    }

    /// True when the decode out has finished (real time).
    fn finished(&self) -> bool {
        self.out.as_ref().is_some_and(|(_, h)| h.is_finished())
    }

    /// Waits for the decode out and returns the revisions it makes.
    async fn end(&mut self, rec: &mut StreamRecognizer) -> Vec<CaptionEvent> {
        let Some((job, handle)) = self.out.take() else {
            return Vec::new();
        };
        let decoded = handle
            .await
            .unwrap_or(Err(AsrError::Unavailable("settling decode task failed")));
        rec.end_settle(job, decoded)
    }
}

/// Spends the idle time from `from` to `until` on a decode that still needs `left` of it;
/// the moment it is done, if it is done by `until`.
fn spend_idle(left: &mut f64, from: f64, until: f64) -> Option<f64> {
    let idle = (until - from).max(0.0);
    if idle >= *left {
        let done = from + *left;
        *left = 0.0;
        Some(done)
    } else {
        *left -= idle;
        None
    }
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

#[cfg(test)]
mod tests {
    use super::spend_idle;

    #[test]
    fn a_background_decode_advances_only_in_the_live_passs_idle_time() {
        // 1.5 s of work: 0.4 s idle, then a live decode (no idle), then idle again.
        let mut left = 1.5;
        assert_eq!(spend_idle(&mut left, 0.0, 0.4), None);
        assert!((left - 1.1).abs() < 1e-9);
        // A live decode from 0.4 to 1.2 s spends none of it; idle from 1.2 on finishes it.
        assert_eq!(spend_idle(&mut left, 1.2, 1.2), None);
        let done = spend_idle(&mut left, 1.2, 5.0);
        assert!(done.is_some_and(|t| (t - 2.3).abs() < 1e-9), "{done:?}");
        assert_eq!(left, 0.0);
        // A clock that did not move spends nothing.
        let mut left = 0.5;
        assert_eq!(spend_idle(&mut left, 3.0, 2.0), None);
        assert_eq!(left, 0.5);
    }
}
