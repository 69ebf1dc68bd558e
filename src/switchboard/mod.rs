//! The async glue between pages, the rules of calls (`relay`) and of briefings (`briefing`),
//! and media (`sfu`): it owns the connected sessions, checks who may do what, carries out the
//! rules' effects, turns what the media plane reports into page messages and caption streams,
//! and runs the clock. It decides nothing the rules decide.

mod accounts;
mod briefings;
mod call_captioner;
mod callback;
mod calls;
mod counters;
mod lifecycle;
mod limits;
mod media;
mod records;
mod route;
mod team;
mod videomail;
mod welcome;

pub use accounts::SignInRefused;
pub use briefings::{WhipError, MAX_WHIP_OFFER_BYTES};
pub use videomail::Desk as VideomailDesk;

use crate::admission::signin::SignInThrottle;
use crate::admission::Gate;
use crate::briefing::{Briefing, Briefings};
use crate::captions::live::LiveCaptions;
use crate::config::Config;
use crate::metrics::Histogram;
use crate::relay::{Relay, RelayConfig, RelayError};
use crate::sfu::text_flow::TextFlow;
use crate::sfu::{PeerId, Sfu};
use crate::signal::{ClientEnvelope, EndReason, ErrorCode, Role, ServerMsg, SessionId};
use crate::store::Store;
use records::{spawn_record_writer, spawn_retention, RecordCmd, ANSWER_BUCKETS};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Messages a page may have waiting before further ones are dropped for it.
pub const SESSION_QUEUE: usize = 256;
/// Longest chat line.
const MAX_CHAT_CHARS: usize = 2000;
/// Longest display name.
const MAX_NAME_CHARS: usize = 40;
/// How long a console's web-session ticket may be exchanged.
pub(super) const TICKET_TTL: Duration = Duration::from_secs(60);
/// How often ring timeouts and invitation expiry are checked.
const TICK: Duration = Duration::from_millis(250);

struct SessionInfo {
    tx: mpsc::Sender<ServerMsg>,
    /// The client's address (admission control counts per address).
    addr: IpAddr,
    role: Option<Role>,
    name: String,
    /// The briefing this page is in.
    briefing: Option<Arc<Briefing>>,
    /// How much text this page may still send as chat.
    text_flow: TextFlow,
    /// The display name of the captioner account whose session cookie opened this page.
    captioner: Option<String>,
}

/// The service: one per server.
pub struct Switchboard {
    cfg: Arc<Config>,
    relay: Mutex<Relay>,
    sessions: Mutex<HashMap<SessionId, SessionInfo>>,
    store: Store,
    records: mpsc::UnboundedSender<RecordCmd>,
    /// Time from placing a call to its answer, for `/metrics`.
    answer_wait: Histogram,
    sfu: Sfu,
    /// What each client address may hold open.
    gate: Gate,
    /// Set when the service stops.
    closing: tokio::sync::watch::Sender<bool>,
    /// Web-session tickets of consoles that just signed in: ticket -> (account, issued).
    tickets: Mutex<HashMap<String, (String, Instant)>>,
    /// WHIP/WHEP sessions: their resource secret and admission place.
    media_sessions: Mutex<HashMap<SessionId, (String, crate::admission::Pass)>>,
    /// Wrong passwords slow the next try from the same address.
    throttle: Mutex<SignInThrottle>,
    /// Live captions, when a speech model is installed.
    captions: Option<LiveCaptions>,
    next_session: AtomicU64,
    briefings: Arc<Briefings>,
    /// Opening hours (none: always open).
    hours: Option<crate::hours::Schedule>,
    /// Videomail, when on.
    videomail: Option<videomail::Desk>,
    /// Captioners on duty for calls, and the calls whose callers agreed to one.
    captioners: Mutex<crate::relay::captioners::Captioners>,
    /// One caption desk per captioned call: line numbers and revisions.
    call_desks: Mutex<HashMap<crate::signal::CallId, crate::briefing::review::ReviewDesk>>,
    /// This service, for tasks it starts from a borrowed `&self`.
    me: std::sync::Weak<Switchboard>,
}

/// Why a page's request was refused: sent back to it as an error message.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human explanation.
    pub message: String,
}

impl From<RelayError> for RequestError {
    fn from(e: RelayError) -> Self {
        Self {
            code: e.code,
            message: e.message,
        }
    }
}

/// A session's peer in the media plane (the same number).
fn peer_of(session: SessionId) -> PeerId {
    PeerId(session.0)
}

/// The session a media peer belongs to.
fn session_of(peer: PeerId) -> SessionId {
    SessionId(peer.0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the whole service down with a poisoned lock.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Switchboard {
    /// Builds the service and starts its clock and media-event tasks.
    pub fn start(
        cfg: Arc<Config>,
        captions: Option<LiveCaptions>,
        briefings: Arc<Briefings>,
        store: Store,
    ) -> Arc<Self> {
        let (failed_tx, mut failed_rx) = mpsc::unbounded_channel();
        let relay = Relay::new(RelayConfig {
            ring_timeout: Duration::from_secs(cfg.service.ring_timeout_secs),
            invite_ttl: Duration::from_secs(cfg.service.invite_ttl_secs),
            max_queue: cfg.service.max_queue,
            max_emergency_queue: cfg.service.max_emergency_queue,
            sign_languages: cfg
                .service
                .sign_languages
                .iter()
                .map(|s| s.code.clone())
                .collect(),
            decline_cooldown: Duration::from_secs(60),
            transfer_overlap: Duration::from_secs(cfg.service.transfer_overlap_secs.into()),
        });
        // The configuration was checked when loaded; one built in code with a bad schedule
        // is told about rather than left to close the service.
        let hours = cfg.service.hours.as_ref().and_then(|h| {
            crate::hours::Schedule::new(h)
                .map_err(|e| tracing::error!(error = %e, "service hours ignored"))
                .ok()
        });
        let videomail = videomail::Desk::open(&cfg);
        let records = spawn_record_writer(store.clone());
        spawn_retention(store.clone(), cfg.records.clone(), briefings.clone());
        let sb = Arc::new_cyclic(|me| Self {
            store,
            records,
            answer_wait: Histogram::new(&ANSWER_BUCKETS),
            sfu: Sfu::new(
                cfg.media.clone(),
                Arc::new(media::Hooks::new(me.clone(), failed_tx)),
            ),
            gate: Gate::new(cfg.admission.limits()),
            closing: tokio::sync::watch::channel(false).0,
            media_sessions: Mutex::new(HashMap::new()),
            tickets: Mutex::new(HashMap::new()),
            throttle: Mutex::new(SignInThrottle::new()),
            cfg,
            relay: Mutex::new(relay),
            sessions: Mutex::new(HashMap::new()),
            captions,
            next_session: AtomicU64::new(1),
            briefings,
            hours,
            videomail,
            captioners: Mutex::new(crate::relay::captioners::Captioners::new()),
            call_desks: Mutex::new(HashMap::new()),
            me: me.clone(),
        });
        sb.spawn_videomail_retention();
        let weak = Arc::downgrade(&sb);
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(TICK);
            loop {
                iv.tick().await;
                let Some(sb) = weak.upgrade() else { break };
                let now = Instant::now();
                let fx = lock(&sb.relay).tick(now);
                sb.apply(fx);
                sb.videomail_tick(now);
            }
        });
        let weak = Arc::downgrade(&sb);
        tokio::spawn(async move {
            while let Some((room, peer, why)) = failed_rx.recv().await {
                let Some(sb) = weak.upgrade() else { break };
                sb.media_failed(room, peer, why);
            }
        });
        sb
    }

    /// Admission control (for the HTTP side and metrics).
    pub fn admission(&self) -> &Gate {
        &self.gate
    }

    /// The media unit (for metrics).
    pub fn sfu(&self) -> &Sfu {
        &self.sfu
    }

    /// Time-to-answer histogram.
    pub fn answer_wait(&self) -> &Histogram {
        &self.answer_wait
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The queue and the interpreters now, for the dashboard.
    pub fn live_view(
        &self,
    ) -> (
        Vec<crate::signal::QueueEntry>,
        Vec<crate::relay::InterpreterView>,
        (usize, usize, usize),
    ) {
        let relay = lock(&self.relay);
        (
            relay.queue_entries(Instant::now()),
            relay.interpreters_view(),
            relay.call_counts(),
        )
    }

    /// Calls waiting, ringing or connected.
    pub fn active_calls(&self) -> usize {
        lock(&self.relay).active_calls()
    }

    /// Calls (waiting, ringing, connected), interpreter staffing and open sessions, for metrics.
    pub fn gauges(&self) -> ((usize, usize, usize), crate::signal::Staffing, usize) {
        let relay = lock(&self.relay);
        let sessions = lock(&self.sessions).len();
        (relay.call_counts(), relay.staffing(), sessions)
    }

    /// Registers a new page; messages for it go to `tx`.
    pub fn open_session(&self, tx: mpsc::Sender<ServerMsg>, addr: IpAddr) -> SessionId {
        let id = self.next_session.fetch_add(1, Ordering::Relaxed);
        let id = SessionId(id);
        lock(&self.sessions).insert(
            id,
            SessionInfo {
                tx,
                addr,
                role: None,
                name: String::new(),
                briefing: None,
                text_flow: TextFlow::new(Instant::now()),
                captioner: None,
            },
        );
        id
    }

    /// A page is gone: whatever it was doing ends or, for an interpreter mid-call, is requeued.
    pub fn close_session(&self, session: SessionId) {
        self.leave_briefing(session);
        // A message being recorded is kept: the caller has its link already.
        self.stop_videomail(session, false);
        self.unwatch(session);
        self.captioner_gone(session);
        let fx = lock(&self.relay).leave(session, EndReason::Disconnected, Instant::now());
        self.apply(fx);
        lock(&self.sessions).remove(&session);
    }

    /// Sends a message to one session; a page that stopped reading loses it.
    pub fn deliver(&self, session: SessionId, msg: ServerMsg) {
        let sessions = lock(&self.sessions);
        if let Some(s) = sessions.get(&session) {
            if let Err(mpsc::error::TrySendError::Full(_)) = s.tx.try_send(msg) {
                tracing::warn!(%session, "page is not reading its messages; one dropped");
            }
        }
    }

    fn role(&self, session: SessionId) -> Option<Role> {
        lock(&self.sessions).get(&session).and_then(|s| s.role)
    }

    fn identify(&self, session: SessionId, role: Role, name: &str) {
        if let Some(s) = lock(&self.sessions).get_mut(&session) {
            s.role = Some(role);
            s.name = name.to_owned();
        }
    }

    /// Handles one message from a page. Every failure is answered with an error on that page
    /// and changes nothing else.
    pub async fn handle(&self, session: SessionId, env: ClientEnvelope) {
        let req = env.req;
        if let Err(e) = self.route(session, env.msg).await {
            tracing::debug!(%session, code = ?e.code, "request refused: {}", e.message);
            self.deliver(session, ServerMsg::error(req, e.code, e.message));
        }
    }

    fn name(&self, session: SessionId) -> String {
        lock(&self.sessions)
            .get(&session)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

/// A database failure behind a page's request: logged, and a sentence that leaks nothing.
fn store_down(e: impl std::fmt::Display) -> RequestError {
    tracing::error!(error = %e, "database request failed");
    refuse(ErrorCode::Internal, "the service is unavailable; try again")
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> RequestError {
    RequestError {
        code,
        message: message.into(),
    }
}

fn clean_name(name: Option<&str>, role: Role) -> String {
    let n: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let n = n.trim();
    if !n.is_empty() {
        return n.to_owned();
    }
    match role {
        Role::Caller => "来电者 Caller".into(),
        Role::Guest => "听人来宾 Guest".into(),
        Role::Interpreter => "翻译员 Interpreter".into(),
        Role::Broadcaster => "发言人 Speaker".into(),
        Role::Viewer => "观众 Viewer".into(),
        Role::Captioner => "速录员 Captioner".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_defaulted() {
        assert_eq!(clean_name(Some("  王医生\u{7} "), Role::Guest), "王医生");
        assert_eq!(clean_name(None, Role::Caller), "来电者 Caller");
        assert_eq!(
            clean_name(Some(&"x".repeat(100)), Role::Guest).len(),
            MAX_NAME_CHARS
        );
    }
}
