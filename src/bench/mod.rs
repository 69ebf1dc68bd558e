//! Benchmarks (commands that print figures, not tests).

pub mod calls;
pub mod captions;
mod procstat;

pub use calls::{run, BenchArgs};
