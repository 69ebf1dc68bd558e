//! signrelay: remote sign-language interpreting, captions and interpreted press briefings over
//! WebRTC, in one self-hosted binary.

pub mod config;
pub mod relay;
pub mod signal;
