//! `signrelay-bench decode`: how long one streaming decode takes for each buffer length, the
//! figure live-caption latency follows (a word is final two decodes after it is heard).

use super::captions::manifest;
use signrelay::asr::{DecodeRequest, Lang};
use signrelay::captions::build_prompt;
use std::path::PathBuf;

/// Settings.
#[derive(Debug, Clone)]
pub struct DecodeBenchArgs {
    /// Directory with `manifest.tsv` and the clips.
    pub speech_dir: PathBuf,
    /// Model file.
    pub model: PathBuf,
    /// Buffer lengths to time, seconds.
    pub seconds: Vec<usize>,
    /// Decodes per length (each at another place in the clip).
    pub repeats: usize,
    /// Beam width.
    pub beam: usize,
}

/// Runs the benchmark and prints its report.
pub async fn run(a: DecodeBenchArgs) -> Result<(), String> {
    // The longest Mandarin clip: room for every length at several offsets.
    let clips = manifest(&a.speech_dir)?;
    let mut best: Option<(Vec<f32>, String)> = None;
    for c in clips.iter().filter(|c| c.lang == Lang::Zh) {
        let pcm = signrelay::audio::read_wav_16k(&a.speech_dir.join(&c.file))
            .map_err(|e| e.to_string())?;
        if best.as_ref().is_none_or(|(b, _)| pcm.len() > b.len()) {
            best = Some((pcm, c.file.clone()));
        }
    }
    let (pcm, file) = best.ok_or("no Mandarin clip in the manifest")?;
    let cores = super::cores();
    let engine = super::load_engine(&a.model, 1)?;
    // What a stream sends: the style sentence alone at the start of speech, and with the last
    // 80 committed characters once it runs (a fixed stand-in sentence of that length here).
    let recent = "近日，国家发展和改革委员会发布通知，要求各地加快推进重点项目建设，确保全年投资目标按期完成。同时，多地出台政策支持新能源汽车消费，推动绿色低碳发展。";
    let prompts = [
        ("style prompt", build_prompt(Lang::Zh, &[], "")),
        ("style + 80 chars", build_prompt(Lang::Zh, &[], recent)),
    ];
    println!(
        "# signrelay-bench decode: Whisper base ({}), beam {}, {cores} threads, {file}",
        a.model.display(),
        a.beam.max(1)
    );
    println!("# median (min-max) of {} decodes per cell, ms; the encoder window fits the buffer as in streaming", a.repeats);
    println!("buffer s | {} | {}", prompts[0].0, prompts[1].0);
    for &secs in &a.seconds {
        let len = secs * 16_000;
        if len > pcm.len() {
            println!("{secs} | clip too short | -");
            continue;
        }
        let mut cells = Vec::new();
        for (_, prompt) in &prompts {
            let mut ms = Vec::new();
            for r in 0..a.repeats {
                let room = pcm.len() - len;
                let at = room * r / a.repeats.max(1);
                let d = engine
                    .decode(DecodeRequest {
                        pcm: pcm[at..at + len].to_vec(),
                        lang: Lang::Zh,
                        prompt: prompt.clone(),
                        fit_audio_ctx: true,
                        beam: Some(a.beam.max(1)),
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                ms.push(d.elapsed.as_secs_f64() * 1000.0);
            }
            cells.push(format!(
                "{:.0} ({:.0}-{:.0})",
                super::percentile(&ms, 0.5),
                super::percentile(&ms, 0.0),
                super::percentile(&ms, 1.0)
            ));
        }
        println!("{secs} | {} | {}", cells[0], cells[1]);
    }
    Ok(())
}
