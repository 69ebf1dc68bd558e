//! Offline transcription of a file: `signrelay transcribe`.

use super::format::{self, Cue};
use super::guard::Repeats;
use super::{build_prompt, caption_text, segments_to_units};
use crate::asr::{DecodeRequest, Engine, EngineConfig, Lang};
use std::path::PathBuf;

/// What to transcribe and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Input WAV.
    pub file: PathBuf,
    /// `zh`, `en` or `auto`.
    pub lang: String,
    /// `txt`, `vtt`, `srt` or `json`.
    pub format: String,
    /// Terms to favour.
    pub hotwords: Vec<String>,
    /// Model file.
    pub model: PathBuf,
    /// Beam width.
    pub beam: usize,
    /// CPU threads.
    pub threads: usize,
    /// Stream the file at real-time pace and print caption events as JSON lines, as a live
    /// caption consumer would receive them.
    pub stream: bool,
}

/// Transcribes to cues, one utterance (a stretch between pauses) per decode; silence and
/// steady noise give none.
pub fn cues(
    engine: &Engine,
    pcm: Vec<f32>,
    lang: Lang,
    hotwords: &[String],
    beam: usize,
) -> Result<Vec<Cue>, String> {
    let mut out: Vec<Cue> = Vec::new();
    let mut previous = String::new();
    let mut repeats = Repeats::new();
    for (a, b) in super::segment::utterances(&pcm) {
        let req = DecodeRequest {
            pcm: pcm[a..b].to_vec(),
            lang,
            prompt: build_prompt(lang, hotwords, &previous),
            fit_audio_ctx: true,
            beam: Some(beam),
        };
        let d = engine.decode_blocking(&req).map_err(|e| e.to_string())?;
        let offset = (a / 16) as u64;
        let len = ((b - a) / 16) as u64;
        for s in &d.segments {
            let units = segments_to_units(std::slice::from_ref(s), offset, len, hotwords);
            if units.is_empty() {
                continue;
            }
            let (text, _) = caption_text(&units, lang);
            // The prompt's sentence read again over the next utterance.
            if text.is_empty() || !repeats.admit(&text) {
                continue;
            }
            previous = text.clone();
            out.push(Cue {
                start_ms: units[0].start_ms,
                end_ms: units[units.len() - 1].end_ms,
                text,
            });
        }
    }
    Ok(out)
}

/// Runs the whole command and returns what it prints.
pub fn run(o: &Options) -> Result<String, String> {
    let lang = Lang::parse(&o.lang)
        .ok_or_else(|| format!("--lang must be zh, en or auto, not {}", o.lang))?;
    let render: fn(&[Cue]) -> String = match o.format.as_str() {
        "txt" => format::txt,
        "vtt" => format::vtt,
        "srt" => format::srt,
        "json" => format::json,
        other => {
            return Err(format!(
                "--format must be txt, vtt, srt or json, not {other}"
            ))
        }
    };
    let pcm = crate::audio::read_wav_16k(&o.file).map_err(|e| e.to_string())?;
    let engine = Engine::load(
        &o.model,
        EngineConfig {
            workers: 1,
            threads_per_worker: o.threads.max(1),
            beam: o.beam.max(1),
            // `--stream` settles utterances in the background.
            background_workers: 1,
        },
    )
    .map_err(|e| e.to_string())?;
    if o.stream {
        let mut cfg = super::StreamConfig::new(lang);
        cfg.hotwords = o.hotwords.clone();
        let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
        let run = rt.block_on(super::stream_clip(
            &engine,
            cfg,
            &pcm,
            super::Pace::RealTime,
        ));
        let lines: Vec<String> = run
            .events
            .iter()
            .filter(|e| e.stable || !e.text.is_empty())
            .filter_map(|e| serde_json::to_string(e).ok())
            .collect();
        return Ok(lines.join("\n") + "\n");
    }
    Ok(render(&cues(&engine, pcm, lang, &o.hotwords, o.beam)?))
}
