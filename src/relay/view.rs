//! What the dashboard shows of the service right now.

use super::{CallState, Relay};
use crate::signal::{Colleague, InterpreterStatus, QueueEntry};
use serde::Serialize;
use std::time::Instant;

/// An interpreter as the dashboard lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterpreterView {
    /// Account name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// State now.
    pub status: InterpreterStatus,
}

impl Relay {
    /// Waiting and ringing calls in service order.
    pub fn queue_entries(&self, now: Instant) -> Vec<QueueEntry> {
        self.service_order()
            .iter()
            .filter_map(|id| {
                let c = self.calls.get(id)?;
                Some(QueueEntry {
                    call_id: *id,
                    purpose: c.purpose,
                    sign_language: c.sign_language.clone(),
                    waited_secs: now.duration_since(c.placed_at).as_secs(),
                    ringing: matches!(c.state, CallState::Ringing { .. }),
                    requeued: c.requeued,
                    preferred_interpreter_gender: c.preference.clone(),
                    service_point: c.counter.as_ref().map(|t| t.name.clone()),
                })
            })
            .collect()
    }

    /// Signed-in interpreters and their states, by name.
    pub fn interpreters_view(&self) -> Vec<InterpreterView> {
        let mut v: Vec<InterpreterView> = self
            .interpreters
            .values()
            .map(|i| InterpreterView {
                username: i.username.clone(),
                name: i.name.clone(),
                status: i.status(),
            })
            .collect();
        v.sort_by(|a, b| a.username.cmp(&b.username));
        v
    }

    /// Signed-in interpreters by account name, as consoles list them to pick a colleague.
    pub fn colleagues(&self) -> Vec<Colleague> {
        let mut v: Vec<Colleague> = self
            .interpreters
            .values()
            .map(|i| Colleague {
                username: i.username.clone(),
                name: i.name.clone(),
                status: i.status(),
                sign_languages: i.languages.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.username.cmp(&b.username));
        v
    }
}
