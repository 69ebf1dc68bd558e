//! Types of a captioner (速录员) in a call: the caller's consent, and what the call's pages and
//! the captioner's console are told. A captioner hears a private conversation, so one joins a
//! call only while its caller agrees.

use super::CallId;
use serde::{Deserialize, Serialize};

/// Where a call stands with a captioner, as its pages show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionerState {
    /// No captioner: the caller has not agreed, or withdrew.
    Off,
    /// The caller agreed; no captioner is free yet (machine captions go on meanwhile).
    Waiting,
    /// A captioner listens and corrects the captions.
    On,
}

/// To everyone in a call: the captioner's state there (sent on every change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCaptioner {
    /// The call.
    pub call_id: CallId,
    /// Off, waiting or on.
    pub state: CaptionerState,
    /// The captioner's display name while on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Captioners on duty for calls now (so a caller knows whether asking can help).
    pub on_duty: usize,
}

/// To a captioner's console: whether it takes call work, and the call it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptionerDuty {
    /// Taking call work.
    pub on: bool,
    /// The call being captioned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
}
