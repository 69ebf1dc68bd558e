//! Types of interpreters working a call together: a warm transfer to a colleague, a team
//! (an active interpreter and a support who monitors and feeds), and the colleagues a
//! console can ask.

use super::InterpreterStatus;
use serde::{Deserialize, Serialize};

/// What an interpreter in a call asks a colleague to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskKind {
    /// Take the call over (warm transfer): both are in for a moment, then the first leaves.
    Transfer,
    /// Join as support: see and hear everything, feed the active interpreter privately.
    Team,
}

/// How an ask ended, told to the interpreter who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskOutcome {
    /// The colleague joined.
    Accepted,
    /// The colleague said no.
    Declined,
    /// The colleague's console did not answer in time.
    Timeout,
    /// The one who asked took it back.
    Cancelled,
    /// The colleague's console went away.
    Gone,
}

/// A signed-in interpreter as other consoles see them (to pick whom to ask).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Colleague {
    /// Account name: what `transfer`/`ask_team` name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// State now.
    pub status: InterpreterStatus,
    /// Sign-language codes they work in (empty: all).
    pub sign_languages: Vec<String>,
}
