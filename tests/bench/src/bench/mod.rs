//! Benchmarks (commands that print figures, not tests).

pub mod calls;
pub mod captions;
pub mod decode;
mod procstat;
pub mod soak;
pub mod sse;
pub mod viewers;

pub use calls::{run, BenchArgs};

/// The `p` quantile (0..=1) of `v`, nearest rank; NaN for no samples.
pub(crate) fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p.clamp(0.0, 1.0)).round() as usize]
}
