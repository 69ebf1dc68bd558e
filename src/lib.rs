//! signrelay: remote sign-language interpreting, captions and interpreted press briefings over
//! WebRTC, in one self-hosted binary.

pub mod admission;
pub mod asr;
pub mod audio;
pub mod briefing;
pub mod captions;
pub mod clock;
pub mod config;
pub mod hours;
pub mod http;
pub mod metrics;
pub mod relay;
pub mod server;
pub mod sfu;
pub mod signal;
pub mod store;
pub mod switchboard;
pub mod token;
pub mod turn;
pub mod videomail;
