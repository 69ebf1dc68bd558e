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
mod team;
mod videomail;
mod welcome;

pub use accounts::SignInRefused;
pub use briefings::{WhipError, MAX_WHIP_OFFER_BYTES};
pub use videomail::Desk as VideomailDesk;

use crate::admission::signin::SignInThrottle;
use crate::admission::{Gate, Who};
use crate::briefing::{Briefing, Briefings};
use crate::captions::live::LiveCaptions;
use crate::config::Config;
use crate::metrics::Histogram;
use crate::relay::{Relay, RelayConfig, RelayError};
use crate::sfu::text_flow::TextFlow;
use crate::sfu::{PeerId, Sfu};
use crate::signal::{ClientEnvelope, ClientMsg, EndReason, ErrorCode, Role, ServerMsg, SessionId};
use crate::store::Store;
use crate::token::new_token;
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

    async fn route(&self, session: SessionId, msg: ClientMsg) -> Result<(), RequestError> {
        if self.briefing_of(session).is_some() {
            return self.route_briefing(session, msg);
        }
        let now = Instant::now();
        let role = self.role(session);
        let need = |want: Role| -> Result<(), RequestError> {
            match role {
                Some(r) if r == want => Ok(()),
                None => Err(refuse(
                    ErrorCode::NotIdentified,
                    "say hello or sign in first",
                )),
                Some(_) => Err(refuse(
                    ErrorCode::Forbidden,
                    format!("only a {want:?} may do that").to_lowercase(),
                )),
            }
        };
        match msg {
            ClientMsg::Ping => self.deliver(session, ServerMsg::Pong),
            ClientMsg::RefreshIce => {
                let (ice_servers, ice_refresh_secs) = self.ice_servers(session);
                self.deliver(
                    session,
                    ServerMsg::IceServers {
                        ice_servers,
                        ice_refresh_secs,
                    },
                );
            }
            ClientMsg::Hello {
                role: r,
                name,
                invite,
            } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                let name = clean_name(name.as_deref(), r);
                match r {
                    Role::Caller => {
                        self.identify(session, Role::Caller, &name);
                        self.deliver(session, self.welcome(session, Role::Caller, &name));
                    }
                    Role::Guest => {
                        let Some(token) = invite else {
                            return Err(refuse(
                                ErrorCode::InviteInvalid,
                                "guests join with an invitation link",
                            ));
                        };
                        let (_, fx) = lock(&self.relay).join_invite(session, &token, &name, now)?;
                        self.identify(session, Role::Guest, &name);
                        self.deliver(session, self.welcome(session, Role::Guest, &name));
                        self.apply(fx);
                    }
                    Role::Interpreter => {
                        return Err(refuse(
                            ErrorCode::Forbidden,
                            "interpreters sign in with a user name and password",
                        ))
                    }
                    Role::Broadcaster | Role::Viewer | Role::Captioner => {
                        return Err(refuse(
                            ErrorCode::Forbidden,
                            "events are joined with join_event (captioners use the caption desk)",
                        ))
                    }
                }
            }
            ClientMsg::JoinEvent { event, token, name } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                self.join_briefing(session, &event, token.as_deref(), name.as_deref())?;
            }
            ClientMsg::Login { username, password } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                let acct = self
                    .interpreter_login(session, &username, &password)
                    .await?;
                let fx = lock(&self.relay).sign_in(
                    session,
                    &acct.username,
                    &acct.display_name,
                    acct.sign_languages.clone(),
                    now,
                )?;
                let topics: Vec<crate::signal::Purpose> = acct
                    .topics
                    .iter()
                    .filter_map(|t| crate::signal::from_wire(t))
                    .collect();
                lock(&self.relay).set_skills(
                    session,
                    Some(acct.gender.as_str()).filter(|g| !g.is_empty()),
                    &topics,
                );
                self.identify(session, Role::Interpreter, &acct.display_name);
                tracing::info!(%session, username = %acct.username, "interpreter signed in");
                self.deliver(
                    session,
                    self.welcome(session, Role::Interpreter, &acct.display_name),
                );
                self.deliver(
                    session,
                    ServerMsg::WebTicket {
                        ticket: self.issue_ticket(&acct.username),
                    },
                );
                self.apply(fx);
            }
            ClientMsg::SetPresence { status } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).set_presence(session, status, now)?;
                self.apply(fx);
            }
            ClientMsg::PlaceCall {
                purpose,
                sign_language,
                preferred_interpreter_gender,
                counter,
            } => {
                need(Role::Caller)?;
                if self.recording_room(session).is_some() {
                    return Err(refuse(
                        ErrorCode::AlreadyInCall,
                        "finish your message first",
                    ));
                }
                let point = match counter.as_deref() {
                    Some(code) => Some(self.counter_for_call(code).await?),
                    None => None,
                };
                let purpose = match &point {
                    Some(p) => counters::counter_purpose(p, purpose),
                    None => purpose,
                };
                // Out of hours only emergencies ring; the page has said so before the tap.
                if purpose != crate::signal::Purpose::Emergency
                    && self.service_hours().is_some_and(|h| !h.open)
                {
                    return Err(refuse(
                        ErrorCode::ServiceClosed,
                        "the service is closed now; emergency calls still ring",
                    ));
                }
                let who = if purpose == crate::signal::Purpose::Emergency {
                    Who::Emergency
                } else {
                    Who::Anonymous
                };
                self.admit_call(session, who, false)?;
                let name = self.name(session);
                let sign_language = sign_language
                    .or_else(|| point.as_ref().map(|p| p.sign_language.clone()))
                    .filter(|l| !l.is_empty());
                let opts = crate::relay::CallOptions {
                    preference: preferred_interpreter_gender.as_deref(),
                    counter: point.as_ref().map(|p| (p.code.as_str(), p.name.as_str())),
                };
                let (call, fx) = lock(&self.relay).place_call_with(
                    session,
                    &name,
                    purpose,
                    sign_language.as_deref(),
                    opts,
                    now,
                )?;
                tracing::info!(%session, %call, ?purpose, counter = point.is_some(), "call placed");
                self.apply(fx);
            }
            ClientMsg::StartVideomail { sign_language } => {
                need(Role::Caller)?;
                self.start_videomail(session, sign_language)?;
            }
            ClientMsg::WatchVideomail { token } => {
                need(Role::Caller)?;
                self.watch_videomail(session, &token).await?;
            }
            ClientMsg::CallBack { videomail } => {
                need(Role::Interpreter)?;
                self.call_back(session, &videomail).await?;
            }
            ClientMsg::AnswerCallBack { accept } => {
                need(Role::Caller)?;
                self.answer_call_back(session, accept)?;
            }
            ClientMsg::RecordAnswer { videomail, text } => {
                need(Role::Interpreter)?;
                self.start_answer(session, &videomail, text).await?;
            }
            ClientMsg::StopVideomail => {
                if !matches!(role, Some(Role::Caller | Role::Interpreter)) {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "nothing of yours is recording",
                    ));
                }
                if self.recording_room(session).is_none() {
                    return Err(refuse(ErrorCode::NotInCall, "you are not recording"));
                }
                self.stop_videomail(session, false);
            }
            ClientMsg::CounterSignIn { device } => {
                if role.is_some() {
                    return Err(refuse(ErrorCode::AlreadyIdentified, "already identified"));
                }
                self.counter_sign_in(session, &device).await?;
            }
            ClientMsg::HandBack => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).hand_back(session, now)?;
                tracing::info!(%session, "call handed back to the queue");
                self.apply(fx);
            }
            ClientMsg::StartCaptionedCall => {
                need(Role::Caller)?;
                self.admit_call(session, Who::Anonymous, true)?;
                let name = self.name(session);
                let (call, fx) = lock(&self.relay).start_direct(session, &name, now)?;
                tracing::info!(%session, %call, "captioned call started");
                self.apply(fx);
            }
            ClientMsg::CancelCall => {
                need(Role::Caller)?;
                let fx = lock(&self.relay).cancel(session, now)?;
                self.apply(fx);
            }
            ClientMsg::Accept { call_id } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).accept(session, call_id, now)?;
                tracing::info!(%session, call = %call_id, "call answered");
                self.apply(fx);
            }
            ClientMsg::Decline { call_id } => {
                need(Role::Interpreter)?;
                let fx = lock(&self.relay).decline(session, call_id, now)?;
                self.apply(fx);
            }
            ClientMsg::HangUp => {
                if role.is_none() {
                    return Err(refuse(
                        ErrorCode::NotIdentified,
                        "say hello or sign in first",
                    ));
                }
                let fx = lock(&self.relay).hang_up(session, now)?;
                self.apply(fx);
            }
            ClientMsg::CreateInvite => {
                let token = new_token();
                let (call_id, ttl) =
                    lock(&self.relay).create_invite(session, token.clone(), now)?;
                let path = format!("/guest#{token}");
                let base = self.cfg.service.public_url.trim_end_matches('/');
                self.deliver(
                    session,
                    ServerMsg::InviteCreated {
                        call_id,
                        token,
                        url: (!base.is_empty()).then(|| format!("{base}{path}")),
                        path,
                        expires_in_secs: ttl.as_secs(),
                    },
                );
            }
            ClientMsg::Chat { text } => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    return Err(refuse(
                        ErrorCode::BadMessage,
                        format!("chat text must be 1 to {MAX_CHAT_CHARS} characters"),
                    ));
                }
                let call = self.connected_call(session)?;
                // The same budget as typing over the text channel: a page cannot flood a
                // call through the signaling socket either.
                let admitted = lock(&self.sessions)
                    .get_mut(&session)
                    .map(|s| s.text_flow.admit(text, Instant::now()));
                if let Some(Err(why)) = admitted {
                    return Err(refuse(ErrorCode::RateLimited, why.message()));
                }
                self.send_to_call(
                    call,
                    ServerMsg::Chat {
                        from: peer_of(session).to_string(),
                        name: self.name(session),
                        role: role.unwrap_or(Role::Caller),
                        text: text.to_owned(),
                    },
                );
            }
            m @ (ClientMsg::Transfer { .. }
            | ClientMsg::AskTeam { .. }
            | ClientMsg::CancelAsk
            | ClientMsg::SwitchActive
            | ClientMsg::LeaveTeam
            | ClientMsg::TeamNote { .. }) => {
                need(Role::Interpreter)?;
                self.team_request(session, m, now)?;
            }
            m @ (ClientMsg::WantCaptioner { .. }
            | ClientMsg::SuggestCaptioner
            | ClientMsg::CaptionerDuty { .. }
            | ClientMsg::CorrectCaption { .. }
            | ClientMsg::AcceptCaption { .. }
            | ClientMsg::TypeCaption { .. }
            | ClientMsg::CaptionRule { .. }) => {
                self.captioner_request(session, role, m)?;
            }
            m @ (ClientMsg::Answer { .. }
            | ClientMsg::Candidate { .. }
            | ClientMsg::RequestKeyframe) => {
                if let Some(room) = self
                    .recording_room(session)
                    .or_else(|| self.captioned_room(session))
                {
                    return self.media(room, session, m);
                }
                let call = self.connected_call(session)?;
                self.media(crate::sfu::RoomId::Call(call.0), session, m)?;
            }
        }
        Ok(())
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
