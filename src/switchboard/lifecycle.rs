//! Stopping in order, and the one-time tickets that give a signed-in console its web session.

use super::records::RecordCmd;
use super::{lock, Switchboard, TICKET_TTL};
use crate::signal::{ErrorCode, ServerMsg, SessionId};
use crate::token::new_token;
use std::time::{Duration, Instant};

impl Switchboard {
    /// Stops the service in order: every page is told and its session closed (calls end and
    /// are recorded), then the record and transcript writers are drained. Returns once what
    /// happened is durable, or after `limit`.
    pub async fn shutdown(&self, limit: Duration) {
        let _ = self.closing.send(true);
        let deadline = tokio::time::Instant::now() + limit;
        let sessions: Vec<SessionId> = lock(&self.sessions).keys().copied().collect();
        for s in &sessions {
            self.deliver(
                *s,
                ServerMsg::error(
                    None,
                    ErrorCode::ShuttingDown,
                    "the service is restarting; try again in a moment",
                ),
            );
        }
        for s in sessions {
            self.close_session(s);
        }
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.records.send(RecordCmd::Flush(done)).is_ok() {
            let _ = tokio::time::timeout_at(deadline, flushed).await;
        }
        for b in self.briefings.list() {
            let _ = tokio::time::timeout_at(deadline, b.hub.flush()).await;
        }
        tracing::info!("records and transcripts written; stopping");
    }

    /// A one-time ticket for the web session of an account that just signed in.
    pub(super) fn issue_ticket(&self, username: &str) -> String {
        let ticket = new_token();
        let mut tickets = lock(&self.tickets);
        tickets.retain(|_, (_, at)| at.elapsed() < TICKET_TTL);
        tickets.insert(ticket.clone(), (username.to_owned(), Instant::now()));
        ticket
    }

    /// The account a ticket was issued to, once, within its minute.
    pub fn redeem_ticket(&self, ticket: &str) -> Option<String> {
        let (user, at) = lock(&self.tickets).remove(ticket)?;
        (at.elapsed() < TICKET_TTL).then_some(user)
    }

    /// Becomes true when the service is stopping (sockets close on it).
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }
}
