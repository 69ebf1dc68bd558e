//! Queue policy: who is served first and how long a caller should expect to wait.

use crate::signal::{CallId, Purpose, Staffing};
use std::time::Instant;

/// Sort key of a waiting call: emergencies first, then calls whose interpreter dropped
/// (they were already being served), then first come, first served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Priority {
    not_emergency: bool,
    not_requeued: bool,
    placed_at: Instant,
    id: CallId,
}

impl Priority {
    pub(super) fn new(purpose: Purpose, requeued: bool, placed_at: Instant, id: CallId) -> Self {
        Self {
            not_emergency: purpose != Purpose::Emergency,
            not_requeued: !requeued,
            placed_at,
            id,
        }
    }
}

/// Estimated seconds until a caller at `position` (1 = next) is answered.
///
/// `None` when nobody is signed in: any number would be a lie. A caller who can be rung at once
/// waits about one ring; otherwise each interpreter on duty clears one call per average call
/// length, so the wait grows in steps of `avg_handle_secs` per full round of interpreters.
pub fn estimate_wait_secs(
    position: usize,
    staffing: Staffing,
    avg_handle_secs: f64,
) -> Option<u64> {
    let on_duty = staffing.available + staffing.busy;
    if on_duty == 0 {
        return None;
    }
    if position <= staffing.available {
        return Some(10);
    }
    let rounds = (position - staffing.available).div_ceil(on_duty);
    Some((rounds as f64 * avg_handle_secs).round() as u64)
}
