//! Benchmarks (commands that print figures, not tests).

pub mod calls;
pub mod captions;

pub use calls::{run, BenchArgs};
