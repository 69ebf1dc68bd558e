//! What a service point's own device is told about its counter.

use serde::{Deserialize, Serialize};

/// The state of a service point, as its device (the tablet at the counter) shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterState {
    /// Signed in; nobody from this counter is waiting.
    Ready,
    /// A resident scanned this counter's code and waits for an interpreter: the staff can
    /// expect the call (it joins by itself when answered).
    CallerWaiting,
    /// The device is in one of the counter's calls.
    InCall,
    /// Another device signed in for this counter; this one no longer joins its calls.
    Replaced,
}
