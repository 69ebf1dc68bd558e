//! Offline transcription of a file: `signrelay transcribe`.

use super::format::{self, Cue};
use super::vad::{Vad, FRAME};
use super::{build_prompt, join_units, segments_to_units};
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
}

/// Transcribes to cues; silence and pure noise give none.
pub fn cues(
    engine: &Engine,
    pcm: Vec<f32>,
    lang: Lang,
    hotwords: &[String],
    beam: usize,
) -> Result<Vec<Cue>, String> {
    let mut vad = Vad::new();
    let voiced = pcm
        .chunks(FRAME)
        .filter(|f| f.len() == FRAME && vad.frame(f))
        .count();
    // Under 0.2 s of anything voice-like: nothing to say, and Whisper would invent something.
    if voiced < 10 {
        return Ok(Vec::new());
    }
    let req = DecodeRequest {
        pcm,
        lang,
        prompt: build_prompt(lang, hotwords, ""),
        fit_audio_ctx: false,
        beam: Some(beam),
    };
    let d = engine.decode_blocking(&req).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in &d.segments {
        let units = segments_to_units(std::slice::from_ref(s), 0);
        if units.is_empty() {
            continue;
        }
        out.push(Cue {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            text: join_units(&units),
        });
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
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(render(&cues(&engine, pcm, lang, &o.hotwords, o.beam)?))
}
