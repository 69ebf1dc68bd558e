//! Speech recognition: the Whisper model (installed and converted by `model install`), and an
//! engine that runs whisper.cpp on dedicated worker threads, never on the async runtime.

pub mod convert;
pub mod ct2;
mod engine;
pub mod install;
pub mod mel;

pub use engine::{DecodeRequest, Decoded, Engine, EngineConfig, Segment};
use std::path::PathBuf;
use thiserror::Error;

/// Speech-recognition failures.
#[derive(Debug, Error)]
pub enum AsrError {
    /// A file could not be read or written.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The model file is not what it should be.
    #[error("bad model: {0}")]
    BadModel(String),
    /// Installing the model failed.
    #[error("model install failed: {0}")]
    Install(String),
    /// No model at the configured path.
    #[error("no speech model at {0}: run `signrelay model install` first")]
    NotInstalled(PathBuf),
    /// whisper.cpp refused.
    #[error("whisper: {0}")]
    Whisper(String),
    /// The engine is shutting down or overloaded.
    #[error("recognizer unavailable: {0}")]
    Unavailable(&'static str),
}

/// Where `serve` and `transcribe` look for the model unless told otherwise.
pub fn default_model_path() -> PathBuf {
    if let Ok(p) = std::env::var("SIGNRELAY_MODEL") {
        return PathBuf::from(p);
    }
    PathBuf::from("models/ggml-whisper-base-q8_0.bin")
}

/// Recognition language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Mandarin Chinese.
    Zh,
    /// English.
    En,
    /// Detect per decode (doubles the CPU cost).
    Auto,
}

impl Lang {
    /// whisper.cpp's code.
    pub fn code(self) -> Option<&'static str> {
        match self {
            Lang::Zh => Some("zh"),
            Lang::En => Some("en"),
            Lang::Auto => None,
        }
    }

    /// Parses `zh`, `en` or `auto`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zh" | "cmn" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            "auto" => Some(Lang::Auto),
            _ => None,
        }
    }
}
