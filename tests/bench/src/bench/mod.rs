//! Benchmarks (commands that print figures, not tests).

pub mod calls;
pub mod captions;
pub mod decode;
mod procstat;
pub mod soak;
pub mod sse;
pub mod viewers;

pub use calls::{run, BenchArgs};

/// Whisper on one worker using every core, with `beam` (1 is greedy).
pub(crate) fn load_engine(
    model: &std::path::Path,
    beam: usize,
) -> Result<signrelay::asr::Engine, String> {
    signrelay::asr::Engine::load(
        model,
        signrelay::asr::EngineConfig {
            workers: 1,
            threads_per_worker: cores(),
            beam,
            background_workers: 1,
        },
    )
    .map_err(|e| e.to_string())
}

/// Cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// The `p` quantile (0..=1) of `v`, nearest rank; NaN for no samples.
pub(crate) fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize]
}
