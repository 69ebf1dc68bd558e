//! Test and benchmark tools for signrelay, outside the server: a scripted WebRTC participant
//! and WHIP/WHEP clients (`loadgen`), used by the integration tests and the benchmarks
//! (`bench`), which the `signrelay-bench` command runs.

pub mod bench;
pub mod loadgen;
