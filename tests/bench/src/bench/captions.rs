//! `signrelay-bench captions`: every manifest clip through the offline recognizer and through
//! the streaming recognizer at real-time pace, then several streams at once.

use super::procstat;
use signrelay::asr::{Engine, EngineConfig, Lang};
use signrelay::captions::numbers::canonical_numbers;
use signrelay::captions::text::{cer, wer};
use signrelay::captions::{stream_clip, Commit, Pace, StreamConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Settings.
#[derive(Debug, Clone)]
pub struct CaptionBenchArgs {
    /// Directory with `manifest.tsv` and the clips.
    pub speech_dir: PathBuf,
    /// Model file.
    pub model: PathBuf,
    /// Numbers of concurrent streams to try.
    pub streams: Vec<usize>,
    /// Beam for the offline reference decode.
    pub offline_beam: usize,
    /// Streaming decode interval, ms.
    pub chunk_ms: u64,
    /// Pause that ends an utterance, ms.
    pub pause_ms: u64,
    /// Feed clips at real-time pace on the clock, or on a clock with modeled decode times
    /// (the same decode points every run: for comparing two recognizer versions).
    pub modeled: bool,
    /// Where to write each clip's caption events (JSON lines, with the time each was sent).
    pub events_dir: Option<PathBuf>,
    /// Provisional tail units (Mandarin characters; English gets about half as many words).
    pub provisional: Option<usize>,
    /// Commit deadline, ms (0: off; `None`: the recognizer's default).
    pub deadline_ms: Option<u64>,
    /// Run the settling pass (decode each finished utterance again, whole, with beam 5).
    pub settle: bool,
    /// Settling span, ms (`None`: the recognizer's default).
    pub settle_span_ms: Option<u64>,
}

impl CaptionBenchArgs {
    fn stream_config(&self, lang: Lang) -> StreamConfig {
        let mut c = StreamConfig::new(lang);
        c.min_chunk = Duration::from_millis(self.chunk_ms);
        c.pause = Duration::from_millis(self.pause_ms);
        if let Some(n) = self.provisional {
            c.provisional_units = if lang == Lang::Zh { n } else { n.div_ceil(2) };
        }
        if let Some(ms) = self.deadline_ms {
            c.deadline = Duration::from_millis(ms);
        }
        c.settle = self.settle;
        if let Some(ms) = self.settle_span_ms {
            c.settle_span = Duration::from_millis(ms);
        }
        c
    }
}

/// A clip of the manifest.
#[derive(Debug, Clone)]
pub struct Clip {
    /// File name.
    pub file: String,
    /// Language.
    pub lang: Lang,
    /// Reference transcript.
    pub reference: String,
}

/// Reads `manifest.tsv`.
pub fn manifest(dir: &Path) -> Result<Vec<Clip>, String> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Some(Clip {
                file: f.first()?.to_string(),
                lang: Lang::parse(f.get(1)?)?,
                reference: f.get(3)?.to_string(),
            })
        })
        .collect())
}

/// Error rate appropriate to the language: CER for Chinese, WER otherwise.
pub fn error_rate(lang: Lang, reference: &str, hyp: &str) -> f64 {
    if lang == Lang::Zh {
        // References spell numbers as read (二零一五年), Whisper as digits (2015年): both are
        // right, so both sides are scored in one spelling.
        cer(&canonical_numbers(reference), &canonical_numbers(hyp))
    } else {
        wer(reference, hyp)
    }
}

/// Runs the benchmark and prints its report.
pub async fn run(a: CaptionBenchArgs) -> Result<(), String> {
    let clips = manifest(&a.speech_dir)?;
    let cores = super::cores();
    let offline = super::load_engine(&a.model, a.offline_beam)?;
    let live = super::load_engine(&a.model, 1)?;
    println!(
        "# signrelay-bench captions: Whisper base ({}), {cores} cores",
        a.model.display()
    );
    println!(
        "# offline: beam {}, one decode per utterance; streaming: greedy, real-time pace{} in 100 ms chunks, decode every {} ms, pause {} ms",
        a.offline_beam,
        if a.modeled { " (modeled decode times)" } else { "" },
        a.chunk_ms,
        a.pause_ms
    );
    println!("clip | lang | secs | offline err | live err | settled err | live latency p50/p95 s | settled latency p50/p95 s | lines revised | stream RTF");
    let (mut all_lat_zh, mut all_lat_en) = (Vec::new(), Vec::new());
    let mut settle_lat = Vec::new();
    let (mut sum_live, mut sum_live_en, mut lines, mut revised) = (0.0, 0.0, 0, 0);
    let mut by_commit: std::collections::BTreeMap<Commit, Vec<f64>> = Default::default();
    let (mut sum_off, mut sum_str, mut n_zh, mut sum_off_en, mut sum_str_en, mut n_en) =
        (0.0, 0.0, 0, 0.0, 0.0, 0);
    let (me, ticks) = (std::process::id(), procstat::clock_ticks());
    let cpu0 = procstat::cpu_secs(me, ticks);
    let wall0 = Instant::now();
    let mut audio_total = 0.0;
    for c in &clips {
        let pcm = signrelay::audio::read_wav_16k(&a.speech_dir.join(&c.file))
            .map_err(|e| e.to_string())?;
        let off_cues = signrelay::captions::transcribe::cues(
            &offline,
            pcm.clone(),
            c.lang,
            &[],
            a.offline_beam,
        )?;
        let off_text: String = off_cues
            .iter()
            .map(|q| q.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let pace = if a.modeled {
            Pace::Modeled
        } else {
            Pace::RealTime
        };
        let r = stream_clip(&live, a.stream_config(c.lang), &pcm, pace).await;
        audio_total += r.audio_secs;
        if let Some(dir) = &a.events_dir {
            let lines: Vec<String> = r
                .events
                .iter()
                .zip(&r.sent_at)
                .filter(|(e, _)| e.stable)
                .filter_map(|(e, t)| {
                    let mut v = serde_json::to_value(e).ok()?;
                    v["sent_s"] = serde_json::json!((t * 1000.0).round() / 1000.0);
                    serde_json::to_string(&v).ok()
                })
                .collect();
            let path = dir.join(format!("{}.jsonl", c.file.trim_end_matches(".wav")));
            std::fs::write(&path, lines.join("\n") + "\n")
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for (why, l) in &r.by_commit {
            by_commit.entry(*why).or_default().extend(l);
        }
        let (eo, es, el) = (
            error_rate(c.lang, &c.reference, &off_text),
            error_rate(c.lang, &c.reference, &r.text),
            error_rate(c.lang, &c.reference, &r.live_text),
        );
        settle_lat.extend(&r.settle_latencies);
        lines += r.lines;
        revised += r.revised;
        if c.lang == Lang::Zh {
            sum_live += el;
            sum_off += eo;
            sum_str += es;
            n_zh += 1;
            all_lat_zh.extend(&r.latencies);
        } else {
            sum_live_en += el;
            sum_off_en += eo;
            sum_str_en += es;
            n_en += 1;
            all_lat_en.extend(&r.latencies);
        }
        println!(
            "{} | {:?} | {:.1} | {:.1}% | {:.1}% | {:.1}% | {:.2} / {:.2} | {:.2} / {:.2} | {}/{} | {:.2}",
            c.file,
            c.lang,
            r.audio_secs,
            eo * 100.0,
            el * 100.0,
            es * 100.0,
            super::percentile(&r.latencies, 0.5),
            super::percentile(&r.latencies, 0.95),
            super::percentile(&r.settle_latencies, 0.5),
            super::percentile(&r.settle_latencies, 0.95),
            r.revised,
            r.lines,
            r.decode_secs / r.audio_secs
        );
    }
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = procstat::cpu_secs(me, ticks) - cpu0;
    let (zh, en) = (n_zh.max(1) as f64 / 100.0, n_en.max(1) as f64 / 100.0);
    println!(
        "mean Mandarin CER: offline {:.1}%, streaming live {:.1}%, settled {:.1}%; mean English WER: offline {:.1}%, streaming live {:.1}%, settled {:.1}%",
        sum_off / zh, sum_live / zh, sum_str / zh,
        sum_off_en / en, sum_live_en / en, sum_str_en / en
    );
    println!(
        "settling pass: {revised} of {lines} lines revised; latency of revised text p50 {:.2} s, p95 {:.2} s",
        super::percentile(&settle_lat, 0.5),
        super::percentile(&settle_lat, 0.95)
    );
    let mut all = all_lat_zh.clone();
    all.extend(&all_lat_en);
    println!(
        "committed-text latency: all mean {:.2} s, p50 {:.2} s, p95 {:.2} s (Mandarin p50 {:.2} / p95 {:.2}; English p50 {:.2} / p95 {:.2})",
        all.iter().sum::<f64>() / all.len().max(1) as f64, super::percentile(&all, 0.5), super::percentile(&all, 0.95),
        super::percentile(&all_lat_zh, 0.5), super::percentile(&all_lat_zh, 0.95), super::percentile(&all_lat_en, 0.5), super::percentile(&all_lat_en, 0.95)
    );
    // Where the latency comes from: text two decodes agreed on waits for the second one,
    // text a pause committed waits for the pause.
    let causes: Vec<String> = by_commit
        .iter()
        .map(|(why, l)| {
            format!(
                "{why:?} {:.0}% p50 {:.2} / p95 {:.2}",
                l.len() as f64 / all.len().max(1) as f64 * 100.0,
                super::percentile(l, 0.5),
                super::percentile(l, 0.95)
            )
        })
        .collect();
    println!("latency by what committed the text: {}", causes.join("; "));
    println!("process CPU {:.0}% of one core over {:.0} s wall for {:.0} s of audio (offline and streaming together); peak RSS {:.0} MB", cpu / wall * 100.0, wall, audio_total, procstat::status_mb(me, "VmHWM:"));
    drop(offline);

    // Concurrency: K streams of the Mandarin clips at once, each decode 1 thread when K > 1.
    let zh: Vec<&Clip> = clips.iter().filter(|c| c.lang == Lang::Zh).collect();
    for &k in a.streams.iter().filter(|k| **k > 0) {
        let threads = if k > 1 { 1 } else { cores };
        let engine = Engine::load(
            &a.model,
            EngineConfig {
                workers: k.min(cores),
                threads_per_worker: threads,
                beam: 1,
                background_workers: 1,
            },
        )
        .map_err(|e| e.to_string())?;
        let mut tasks = Vec::new();
        for i in 0..k {
            let clip = zh[i % zh.len().max(1)].clone();
            let pcm = signrelay::audio::read_wav_16k(&a.speech_dir.join(&clip.file))
                .map_err(|e| e.to_string())?;
            let e = engine.clone();
            let cfg = a.stream_config(Lang::Zh);
            tasks.push(tokio::spawn(async move {
                let r = stream_clip(&e, cfg, &pcm, Pace::RealTime).await;
                (error_rate(Lang::Zh, &clip.reference, &r.text), r.latencies)
            }));
        }
        let (mut lat, mut errs) = (Vec::new(), Vec::new());
        for t in tasks {
            if let Ok((e, l)) = t.await {
                errs.push(e);
                lat.extend(l);
            }
        }
        let real_time = super::percentile(&lat, 0.95) < 5.0;
        println!(
            "{k} concurrent Mandarin streams: latency p50 {:.2} s, p95 {:.2} s, mean CER {:.1}% -> {}",
            super::percentile(&lat, 0.5), super::percentile(&lat, 0.95), errs.iter().sum::<f64>() / errs.len().max(1) as f64 * 100.0,
            if real_time { "keeps up" } else { "falls behind" }
        );
    }
    Ok(())
}
