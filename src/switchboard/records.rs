//! Call records leave the switchboard through one writer task, in the order things happened
//! and off the signaling path; an hourly job enforces the retention period.

use super::Switchboard;
use crate::relay::CallRecord;
use crate::signal::CallId;
use crate::store::Store;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// Buckets of time to answer, seconds (service levels look at 30 s and 120 s).
pub(super) static ANSWER_BUCKETS: [f64; 8] = [5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// What the record writer is asked to store, in order.
pub(super) enum RecordCmd {
    Placed {
        call: CallId,
        at_ms: i64,
        purpose: String,
        sign_language: String,
        direct: bool,
        service_point: Option<String>,
    },
    Answered {
        call: CallId,
        at_ms: i64,
        by: String,
    },
    Ended {
        at_ms: i64,
        rec: CallRecord,
    },
    /// Answered once everything sent before it is written (shutdown waits for it).
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// One task writes records in the order things happened, off the signaling path.
pub(super) fn spawn_record_writer(store: Store) -> mpsc::UnboundedSender<RecordCmd> {
    let (tx, mut rx) = mpsc::unbounded_channel::<RecordCmd>();
    tokio::spawn(async move {
        let mut rows: HashMap<CallId, i64> = HashMap::new();
        while let Some(cmd) = rx.recv().await {
            let res = match cmd {
                RecordCmd::Placed {
                    call,
                    at_ms,
                    purpose,
                    sign_language,
                    direct,
                    service_point,
                } => store
                    .call_placed(
                        call.0,
                        at_ms,
                        &purpose,
                        &sign_language,
                        direct,
                        service_point.as_deref(),
                    )
                    .await
                    .map(|row| {
                        rows.insert(call, row);
                    }),
                RecordCmd::Answered { call, at_ms, by } => match rows.get(&call) {
                    Some(row) => store.call_answered(*row, at_ms, &by).await,
                    None => Ok(()),
                },
                RecordCmd::Ended { at_ms, rec } => match rows.remove(&rec.call_id) {
                    Some(row) => store.call_ended(row, at_ms, &rec).await,
                    None => Ok(()),
                },
                RecordCmd::Flush(done) => {
                    let _ = done.send(());
                    Ok(())
                }
            };
            if let Err(e) = res {
                tracing::error!(error = %e, "call record not written");
            }
        }
    });
    tx
}

/// Deletes call records past the retention period, and expired sessions, every hour.
pub(super) fn spawn_retention(
    store: Store,
    cfg: crate::config::RecordsConfig,
    briefings: std::sync::Arc<crate::briefing::Briefings>,
) {
    tokio::spawn(async move {
        let mut iv = tokio::time::interval(Duration::from_secs(3600));
        let before = |days: u32| crate::store::now_ms() - i64::from(days) * 86_400_000;
        loop {
            iv.tick().await;
            let purged = [
                (
                    "call records",
                    store.purge_calls(before(cfg.retention_days)).await,
                ),
                (
                    "audit entries",
                    store.purge_audit(before(cfg.audit_retention_days)).await,
                ),
                (
                    "caller profiles",
                    store
                        .purge_profiles(before(cfg.profile_retention_days))
                        .await,
                ),
            ];
            for (what, res) in purged {
                match res {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, what, "past retention; deleted"),
                    Err(e) => tracing::error!(error = %e, what, "retention purge failed"),
                }
            }
            let cut = before(cfg.transcript_retention_days).max(0) as u64;
            match briefings.purge_ended(cut).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "ended briefings past retention deleted"),
                Err(e) => tracing::error!(error = %e, "briefing retention purge failed"),
            }
            if let Err(e) = store.purge_sessions().await {
                tracing::error!(error = %e, "session purge failed");
            }
        }
    });
}

impl Switchboard {
    pub(super) fn log_record(&self, r: &CallRecord) {
        tracing::info!(
                    target: "call_record",
                    call = %r.call_id,
                    purpose = ?r.purpose,
                    sign_language = %r.sign_language,
                    answered_by = ?r.answered_by,
                    rang = ?r.rang,
                    wait_ms = r.wait.as_millis() as u64,
                    talk_ms = r.talk.map(|t| t.as_millis() as u64),
                    reason = ?r.reason,
                    ended_by = ?r.ended_by,
                    direct = r.direct,
                    interpreters = r.interpreters.len(),
                    "call ended"
        );
    }
}
