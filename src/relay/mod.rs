//! The interpreting service's rules as a pure state machine: presence, the queue, ringing,
//! the call lifecycle and guest invitations. Every operation takes `now` and returns the
//! effects to carry out (messages to send, rooms to join or close); the async glue in
//! `switchboard` performs them. Nothing here does I/O, so every rule is unit-tested.

mod queue;
#[cfg(test)]
mod tests;
mod view;

pub use view::InterpreterView;

use crate::signal::{
    CallId, EndReason, ErrorCode, InterpreterStatus, Presence, Purpose, Role, ServerMsg, SessionId,
    Staffing,
};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use queue::estimate_wait_secs;

/// Most guests one call may hold (media costs grow with each).
pub const MAX_GUESTS_PER_CALL: usize = 3;

/// Rules the service is run with.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// How long a console rings before the call moves on.
    pub ring_timeout: Duration,
    /// How long an invitation stays valid.
    pub invite_ttl: Duration,
    /// Most calls waiting at once.
    pub max_queue: usize,
    /// Sign-language codes on offer; the first is the default.
    pub sign_languages: Vec<String>,
    /// How long an interpreter who declined a call is not rung for it again.
    pub decline_cooldown: Duration,
}

/// A refused operation: a code for the page and a sentence for the person.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{message}")]
pub struct RelayError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human explanation.
    pub message: String,
}

fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, RelayError> {
    Err(RelayError {
        code,
        message: message.into(),
    })
}

/// Something the glue must do because of an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Deliver a message to a session.
    Send(SessionId, ServerMsg),
    /// Put a session into a call's media room (creating the room on first join).
    JoinRoom {
        /// The call.
        call: CallId,
        /// Who.
        session: SessionId,
        /// Role in the call.
        role: Role,
        /// Display name.
        name: String,
    },
    /// Take a session out of a call's media room.
    LeaveRoom {
        /// The call.
        call: CallId,
        /// Who.
        session: SessionId,
    },
    /// Tear down a call's media room.
    CloseRoom {
        /// The call.
        call: CallId,
    },
    /// A call entered the service (for the records).
    Placed {
        /// The call.
        call: CallId,
        /// Why.
        purpose: Purpose,
        /// Sign language asked for.
        sign_language: String,
        /// A captioned call without interpreter.
        direct: bool,
    },
    /// A call was answered for the first time (for the records).
    Answered {
        /// The call.
        call: CallId,
        /// The interpreter's account name.
        by: String,
    },
    /// A call is over: what happened, for the records.
    Record(CallRecord),
}

/// How a call ended, for service-level figures. Holds no media and no text.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Call id.
    pub call_id: CallId,
    /// Why the caller called.
    pub purpose: Purpose,
    /// Sign language asked for.
    pub sign_language: String,
    /// Interpreters whose consoles rang, in order.
    pub rang: Vec<String>,
    /// The interpreter who answered first.
    pub answered_by: Option<String>,
    /// Time from placing the call to the first answer (or to the end, if never answered).
    pub wait: Duration,
    /// Time from the first answer to the end.
    pub talk: Option<Duration>,
    /// Why it ended.
    pub reason: EndReason,
    /// Who ended it.
    pub ended_by: Option<Role>,
    /// A captioned call without an interpreter (not part of interpreting service levels).
    pub direct: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum IState {
    Available,
    Away,
    Ringing(CallId),
    InCall(CallId),
}

#[derive(Debug, Clone)]
struct Interpreter {
    username: String,
    name: String,
    languages: Vec<String>,
    state: IState,
    idle_since: Instant,
}

impl Interpreter {
    fn status(&self) -> InterpreterStatus {
        match self.state {
            IState::Available => InterpreterStatus::Available,
            IState::Away => InterpreterStatus::Away,
            IState::Ringing(_) => InterpreterStatus::Ringing,
            IState::InCall(_) => InterpreterStatus::Busy,
        }
    }
    fn speaks(&self, lang: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == lang)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CallState {
    Queued,
    Ringing {
        interpreter: SessionId,
        deadline: Instant,
    },
    Connected {
        interpreter: SessionId,
    },
    /// A captioned call between a caller and a hearing party, with no interpreter.
    Direct,
}

impl CallState {
    /// Waiting for or ringing an interpreter.
    fn in_queue(self) -> bool {
        matches!(self, CallState::Queued | CallState::Ringing { .. })
    }
}

#[derive(Debug, Clone)]
struct Call {
    caller: SessionId,
    caller_name: String,
    purpose: Purpose,
    sign_language: String,
    state: CallState,
    placed_at: Instant,
    /// Set when its interpreter dropped: it goes back to the front, not the back.
    requeued: bool,
    declined: HashMap<SessionId, Instant>,
    guests: Vec<SessionId>,
    rang: Vec<String>,
    answered: Option<(Instant, String)>,
    room_open: bool,
}

#[derive(Debug, Clone)]
struct Invite {
    call: CallId,
    expires: Instant,
}

/// The whole service state.
#[derive(Debug)]
pub struct Relay {
    cfg: RelayConfig,
    interpreters: BTreeMap<SessionId, Interpreter>,
    callers: HashMap<SessionId, CallId>,
    guests: HashMap<SessionId, CallId>,
    calls: BTreeMap<CallId, Call>,
    invites: HashMap<String, Invite>,
    next_call: CallId,
    avg_handle_secs: f64,
    sent_positions: HashMap<CallId, (usize, Option<u64>)>,
    sent_snapshot: Option<SnapshotKey>,
}

/// What a queue snapshot showed: (call, ringing, requeued) in order, and staffing.
type SnapshotKey = (Vec<(CallId, bool, bool)>, Staffing);

/// First guess of a call's length before any call has ended.
const DEFAULT_HANDLE_SECS: f64 = 180.0;

impl Relay {
    /// An empty service.
    pub fn new(cfg: RelayConfig) -> Self {
        Self {
            cfg,
            interpreters: BTreeMap::new(),
            callers: HashMap::new(),
            guests: HashMap::new(),
            calls: BTreeMap::new(),
            invites: HashMap::new(),
            next_call: 1,
            avg_handle_secs: DEFAULT_HANDLE_SECS,
            sent_positions: HashMap::new(),
            sent_snapshot: None,
        }
    }

    /// The call a session takes part in, whatever its role.
    pub fn call_of(&self, session: SessionId) -> Option<CallId> {
        if let Some(c) = self
            .callers
            .get(&session)
            .or_else(|| self.guests.get(&session))
        {
            return Some(*c);
        }
        match self.interpreters.get(&session)?.state {
            IState::InCall(c) => Some(c),
            _ => None,
        }
    }

    /// Everyone in a call's room: caller, interpreter when connected, guests.
    pub fn members(&self, call: CallId) -> Vec<SessionId> {
        let Some(c) = self.calls.get(&call) else {
            return Vec::new();
        };
        let mut out = vec![c.caller];
        if let CallState::Connected { interpreter } = c.state {
            out.push(interpreter);
        }
        out.extend(c.guests.iter().copied());
        out
    }

    /// Number of calls that exist (waiting, ringing or connected).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Calls waiting, ringing and connected.
    pub fn call_counts(&self) -> (usize, usize, usize) {
        self.calls
            .values()
            .fold((0, 0, 0), |(w, r, c), call| match call.state {
                CallState::Queued => (w + 1, r, c),
                CallState::Ringing { .. } => (w, r + 1, c),
                CallState::Connected { .. } | CallState::Direct => (w, r, c + 1),
            })
    }

    /// Interpreter counts by state.
    pub fn staffing(&self) -> Staffing {
        let mut s = Staffing::default();
        for i in self.interpreters.values() {
            match i.state {
                IState::Available => s.available += 1,
                IState::Away => s.away += 1,
                IState::Ringing(_) | IState::InCall(_) => s.busy += 1,
            }
        }
        s
    }

    /// True when this account already has a signed-in console.
    pub fn is_signed_in(&self, username: &str) -> bool {
        self.interpreters.values().any(|i| i.username == username)
    }

    /// An interpreter's console signs in; it starts away until they say they are ready.
    pub fn sign_in(
        &mut self,
        session: SessionId,
        username: &str,
        name: &str,
        languages: Vec<String>,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        if self.is_signed_in(username) {
            return err(
                ErrorCode::AlreadySignedIn,
                "this account is already signed in on another console",
            );
        }
        self.interpreters.insert(
            session,
            Interpreter {
                username: username.to_owned(),
                name: name.to_owned(),
                languages,
                state: IState::Away,
                idle_since: now,
            },
        );
        let mut fx = vec![Effect::Send(
            session,
            ServerMsg::Status {
                status: InterpreterStatus::Away,
            },
        )];
        self.sent_snapshot = None; // the new console needs the queue
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// An interpreter sets themselves available or away.
    pub fn set_presence(
        &mut self,
        session: SessionId,
        presence: Presence,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(i) = self.interpreters.get_mut(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters set presence");
        };
        let mut fx = Vec::new();
        match (i.state, presence) {
            (IState::InCall(_), _) => {
                return err(ErrorCode::Busy, "end the current call first");
            }
            (IState::Ringing(call), Presence::Away) => {
                // Going away while rung is a decline that also stops further rings.
                i.state = IState::Away;
                self.unring(call, session, EndReason::Declined, now, &mut fx);
            }
            (IState::Ringing(_), Presence::Available) => {}
            (IState::Available, Presence::Away) => i.state = IState::Away,
            (IState::Away, Presence::Available) => {
                i.state = IState::Available;
                i.idle_since = now;
            }
            _ => {}
        }
        self.push_status(session, &mut fx);
        self.dispatch(now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// A caller asks for an interpreter.
    pub fn place_call(
        &mut self,
        session: SessionId,
        caller_name: &str,
        purpose: Purpose,
        sign_language: Option<&str>,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        if self.callers.contains_key(&session) || self.guests.contains_key(&session) {
            return err(ErrorCode::AlreadyInCall, "you already have a call");
        }
        let lang = match sign_language {
            None => self.cfg.sign_languages.first().cloned().unwrap_or_default(),
            Some(l) if self.cfg.sign_languages.iter().any(|s| s == l) => l.to_owned(),
            Some(l) => {
                return err(
                    ErrorCode::UnknownSignLanguage,
                    format!("sign language {l:?} is not offered"),
                )
            }
        };
        let waiting = self.calls.values().filter(|c| c.state.in_queue()).count();
        if waiting >= self.cfg.max_queue {
            return err(
                ErrorCode::QueueFull,
                "too many callers are waiting; please try again shortly",
            );
        }
        let id = self.next_call;
        self.next_call += 1;
        self.calls.insert(
            id,
            Call {
                caller: session,
                caller_name: caller_name.to_owned(),
                purpose,
                sign_language: lang.clone(),
                state: CallState::Queued,
                placed_at: now,
                requeued: false,
                declined: HashMap::new(),
                guests: Vec::new(),
                rang: Vec::new(),
                answered: None,
                room_open: false,
            },
        );
        self.callers.insert(session, id);
        let mut fx = vec![Effect::Placed {
            call: id,
            purpose,
            sign_language: lang,
            direct: false,
        }];
        self.dispatch(now, &mut fx);
        self.refresh(now, &mut fx);
        Ok((id, fx))
    }

    /// A caller starts a captioned call with a hearing party and no interpreter: it is
    /// connected at once, and the caller brings the other side in with an invitation link.
    pub fn start_direct(
        &mut self,
        session: SessionId,
        caller_name: &str,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        if self.callers.contains_key(&session) || self.guests.contains_key(&session) {
            return err(ErrorCode::AlreadyInCall, "you already have a call");
        }
        let id = self.next_call;
        self.next_call += 1;
        let purpose = Purpose::DailyLife;
        self.calls.insert(
            id,
            Call {
                caller: session,
                caller_name: caller_name.to_owned(),
                purpose,
                sign_language: String::new(),
                state: CallState::Direct,
                placed_at: now,
                requeued: false,
                declined: HashMap::new(),
                guests: Vec::new(),
                rang: Vec::new(),
                answered: None,
                room_open: true,
            },
        );
        self.callers.insert(session, id);
        let fx = vec![
            Effect::Placed {
                call: id,
                purpose,
                sign_language: String::new(),
                direct: true,
            },
            Effect::Send(
                session,
                ServerMsg::CallConnected {
                    call_id: id,
                    interpreter: String::new(),
                    purpose,
                },
            ),
            Effect::JoinRoom {
                call: id,
                session,
                role: Role::Caller,
                name: caller_name.to_owned(),
            },
        ];
        Ok((id, fx))
    }

    /// A caller gives up before being answered.
    pub fn cancel(&mut self, session: SessionId, now: Instant) -> Result<Vec<Effect>, RelayError> {
        let Some(&id) = self.callers.get(&session) else {
            return err(ErrorCode::NotInCall, "you have no call to cancel");
        };
        if self.calls.get(&id).is_some_and(|c| !c.state.in_queue()) {
            return err(
                ErrorCode::AlreadyInCall,
                "the call is connected: hang up instead",
            );
        }
        let mut fx = Vec::new();
        self.end_call(id, EndReason::Cancelled, Some(Role::Caller), now, &mut fx);
        Ok(fx)
    }

    /// An interpreter answers the call ringing on their console.
    pub fn accept(
        &mut self,
        session: SessionId,
        call_id: CallId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(interp) = self.interpreters.get(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters answer calls");
        };
        let name = interp.name.clone();
        let username = interp.username.clone();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return err(ErrorCode::NoSuchCall, "that call is no longer waiting");
        };
        if !matches!(call.state, CallState::Ringing { interpreter, .. } if interpreter == session) {
            return err(
                ErrorCode::NoSuchCall,
                "that call is not ringing on your console",
            );
        }
        call.state = CallState::Connected {
            interpreter: session,
        };
        call.requeued = false;
        let mut fx = Vec::new();
        if call.answered.is_none() {
            call.answered = Some((now, username.clone()));
            fx.push(Effect::Answered {
                call: call_id,
                by: username,
            });
        }
        let connected = ServerMsg::CallConnected {
            call_id,
            interpreter: name.clone(),
            purpose: call.purpose,
        };
        fx.push(Effect::Send(call.caller, connected.clone()));
        for g in &call.guests {
            fx.push(Effect::Send(*g, connected.clone()));
        }
        fx.push(Effect::Send(session, connected));
        if !call.room_open {
            call.room_open = true;
            fx.push(Effect::JoinRoom {
                call: call_id,
                session: call.caller,
                role: Role::Caller,
                name: call.caller_name.clone(),
            });
        }
        fx.push(Effect::JoinRoom {
            call: call_id,
            session,
            role: Role::Interpreter,
            name,
        });
        if let Some(i) = self.interpreters.get_mut(&session) {
            i.state = IState::InCall(call_id);
        }
        self.push_status(session, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// An interpreter passes on a ringing call; it rings someone else.
    pub fn decline(
        &mut self,
        session: SessionId,
        call_id: CallId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        if !self.interpreters.contains_key(&session) {
            return err(ErrorCode::Forbidden, "only interpreters decline calls");
        }
        let ringing_here = matches!(
            self.calls.get(&call_id).map(|c| c.state),
            Some(CallState::Ringing { interpreter, .. }) if interpreter == session
        );
        if !ringing_here {
            return err(
                ErrorCode::NoSuchCall,
                "that call is not ringing on your console",
            );
        }
        let mut fx = Vec::new();
        if let Some(i) = self.interpreters.get_mut(&session) {
            i.state = IState::Available;
        }
        self.unring(call_id, session, EndReason::Declined, now, &mut fx);
        self.push_status(session, &mut fx);
        self.dispatch(now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// Someone in a call hangs up: the caller or interpreter ends it for all; a guest leaves.
    pub fn hang_up(&mut self, session: SessionId, now: Instant) -> Result<Vec<Effect>, RelayError> {
        let mut fx = Vec::new();
        if let Some(&call) = self.guests.get(&session) {
            self.remove_guest(call, session, &mut fx);
            return Ok(fx);
        }
        let role = if self.callers.contains_key(&session) {
            Role::Caller
        } else {
            Role::Interpreter
        };
        let Some(call) = self.call_of(session) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        self.end_call(call, EndReason::HangUp, Some(role), now, &mut fx);
        Ok(fx)
    }

    /// A session is gone (page closed, network lost) or its media failed for good.
    /// A dropped interpreter's call goes back to the front of the queue; nothing is lost.
    pub fn leave(&mut self, session: SessionId, reason: EndReason, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        if let Some(&call) = self.guests.get(&session) {
            self.remove_guest(call, session, &mut fx);
        } else if let Some(&call) = self.callers.get(&session) {
            self.end_call(call, reason, Some(Role::Caller), now, &mut fx);
        } else if let Some(i) = self.interpreters.remove(&session) {
            match i.state {
                IState::Ringing(call) => {
                    if let Some(c) = self.calls.get_mut(&call) {
                        c.state = CallState::Queued;
                    }
                }
                IState::InCall(call) => self.requeue_after_drop(call, session, &mut fx),
                IState::Available | IState::Away => {}
            }
            self.dispatch(now, &mut fx);
            self.refresh(now, &mut fx);
        }
        fx
    }

    /// The interpreter's media failed but their console is still here: the call goes back to
    /// the queue front and the interpreter is set away so the console is not rung at once.
    pub fn interpreter_media_failed(&mut self, session: SessionId, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        let Some(i) = self.interpreters.get_mut(&session) else {
            return fx;
        };
        if let IState::InCall(call) = i.state {
            i.state = IState::Away;
            self.requeue_after_drop(call, session, &mut fx);
            fx.push(Effect::Send(
                session,
                ServerMsg::CallEnded {
                    call_id: call,
                    reason: EndReason::MediaFailed,
                    by: None,
                },
            ));
            self.push_status(session, &mut fx);
            self.dispatch(now, &mut fx);
            self.refresh(now, &mut fx);
        }
        fx
    }

    /// Creates a one-time guest invitation for the caller's or interpreter's current call.
    /// `token` comes from the caller of this function (random, unguessable).
    pub fn create_invite(
        &mut self,
        session: SessionId,
        token: String,
        now: Instant,
    ) -> Result<(CallId, Duration), RelayError> {
        if self.guests.contains_key(&session) {
            return err(ErrorCode::Forbidden, "guests cannot invite others");
        }
        let Some(call_id) = self.call_of(session) else {
            return err(ErrorCode::NotInCall, "invitations need a connected call");
        };
        let open = self.calls.get(&call_id).is_some_and(|c| c.room_open);
        if !open {
            return err(ErrorCode::NotInCall, "invitations need a connected call");
        }
        self.invites.insert(
            token,
            Invite {
                call: call_id,
                expires: now + self.cfg.invite_ttl,
            },
        );
        Ok((call_id, self.cfg.invite_ttl))
    }

    /// A hearing guest joins by invitation. The token is spent whether or not it still works.
    pub fn join_invite(
        &mut self,
        session: SessionId,
        token: &str,
        name: &str,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        let Some(inv) = self.invites.remove(token) else {
            return err(
                ErrorCode::InviteInvalid,
                "this invitation link is unknown or was already used",
            );
        };
        if inv.expires <= now {
            return err(ErrorCode::InviteInvalid, "this invitation link has expired");
        }
        let Some(call) = self.calls.get_mut(&inv.call).filter(|c| c.room_open) else {
            return err(
                ErrorCode::InviteInvalid,
                "the call this link was for has ended",
            );
        };
        if call.guests.len() >= MAX_GUESTS_PER_CALL {
            return err(
                ErrorCode::InviteInvalid,
                "this call has no room for more guests",
            );
        }
        call.guests.push(session);
        self.guests.insert(session, inv.call);
        let fx = vec![Effect::JoinRoom {
            call: inv.call,
            session,
            role: Role::Guest,
            name: name.to_owned(),
        }];
        Ok((inv.call, fx))
    }

    /// Advances time: ring timeouts move calls on, invitations expire.
    pub fn tick(&mut self, now: Instant) -> Vec<Effect> {
        let mut fx = Vec::new();
        let expired: Vec<(CallId, SessionId)> = self
            .calls
            .iter()
            .filter_map(|(id, c)| match c.state {
                CallState::Ringing {
                    interpreter,
                    deadline,
                } if deadline <= now => Some((*id, interpreter)),
                _ => None,
            })
            .collect();
        for (call, interp) in expired {
            // Ring-no-answer: the console is unattended, so stop ringing it until they return.
            if let Some(i) = self.interpreters.get_mut(&interp) {
                i.state = IState::Away;
            }
            self.unring(call, interp, EndReason::Timeout, now, &mut fx);
            self.push_status(interp, &mut fx);
        }
        self.invites.retain(|_, inv| inv.expires > now);
        self.dispatch(now, &mut fx);
        self.refresh(now, &mut fx);
        fx
    }

    fn push_status(&self, session: SessionId, fx: &mut Vec<Effect>) {
        if let Some(i) = self.interpreters.get(&session) {
            fx.push(Effect::Send(
                session,
                ServerMsg::Status { status: i.status() },
            ));
        }
    }

    /// Puts a ringing call back in the queue and tells the interpreter the ring stopped.
    fn unring(
        &mut self,
        call: CallId,
        interp: SessionId,
        reason: EndReason,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Queued;
            c.declined.insert(interp, now);
        }
        fx.push(Effect::Send(
            interp,
            ServerMsg::RingStopped {
                call_id: call,
                reason,
            },
        ));
    }

    fn requeue_after_drop(&mut self, call_id: CallId, interp: SessionId, fx: &mut Vec<Effect>) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.state = CallState::Queued;
        call.requeued = true;
        fx.push(Effect::LeaveRoom {
            call: call_id,
            session: interp,
        });
        let lost = ServerMsg::InterpreterLost { call_id };
        fx.push(Effect::Send(call.caller, lost.clone()));
        for g in &call.guests {
            fx.push(Effect::Send(*g, lost.clone()));
        }
    }

    fn remove_guest(&mut self, call: CallId, session: SessionId, fx: &mut Vec<Effect>) {
        self.guests.remove(&session);
        if let Some(c) = self.calls.get_mut(&call) {
            c.guests.retain(|g| *g != session);
        }
        fx.push(Effect::LeaveRoom { call, session });
        fx.push(Effect::Send(
            session,
            ServerMsg::CallEnded {
                call_id: call,
                reason: EndReason::HangUp,
                by: Some(Role::Guest),
            },
        ));
    }

    fn end_call(
        &mut self,
        id: CallId,
        reason: EndReason,
        by: Option<Role>,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        self.callers.remove(&call.caller);
        self.sent_positions.remove(&id);
        self.invites.retain(|_, inv| inv.call != id);
        let ended = ServerMsg::CallEnded {
            call_id: id,
            reason,
            by,
        };
        match call.state {
            CallState::Ringing { interpreter, .. } => {
                if let Some(i) = self.interpreters.get_mut(&interpreter) {
                    i.state = IState::Available;
                }
                fx.push(Effect::Send(
                    interpreter,
                    ServerMsg::RingStopped {
                        call_id: id,
                        reason: EndReason::Taken,
                    },
                ));
                self.push_status(interpreter, fx);
            }
            CallState::Connected { interpreter } => {
                if let Some(i) = self.interpreters.get_mut(&interpreter) {
                    i.state = IState::Available;
                    i.idle_since = now;
                }
                fx.push(Effect::Send(interpreter, ended.clone()));
                self.push_status(interpreter, fx);
            }
            CallState::Queued | CallState::Direct => {}
        }
        fx.push(Effect::Send(call.caller, ended.clone()));
        for g in &call.guests {
            self.guests.remove(g);
            fx.push(Effect::Send(*g, ended.clone()));
        }
        if call.room_open {
            fx.push(Effect::CloseRoom { call: id });
        }
        let (wait, talk, answered_by) = match &call.answered {
            Some((at, who)) => (
                at.duration_since(call.placed_at),
                Some(now.duration_since(*at)),
                Some(who.clone()),
            ),
            None => (now.duration_since(call.placed_at), None, None),
        };
        if let Some(t) = talk {
            // Exponential average: recent calls say most about the next waits.
            self.avg_handle_secs = 0.8 * self.avg_handle_secs + 0.2 * t.as_secs_f64().max(1.0);
        }
        let direct = call.state == CallState::Direct;
        fx.push(Effect::Record(CallRecord {
            direct,
            call_id: id,
            purpose: call.purpose,
            sign_language: call.sign_language,
            rang: call.rang,
            answered_by,
            wait,
            talk,
            reason,
            ended_by: by,
        }));
        self.dispatch(now, fx);
        self.refresh(now, fx);
    }

    /// Rings free interpreters for waiting calls, in service order.
    fn dispatch(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let cooldown = self.cfg.decline_cooldown;
        for call_id in self.service_order() {
            let Some(call) = self.calls.get(&call_id) else {
                continue;
            };
            if call.state != CallState::Queued {
                continue;
            }
            let pick = self
                .interpreters
                .iter()
                .filter(|(s, i)| {
                    i.state == IState::Available
                        && i.speaks(&call.sign_language)
                        && call
                            .declined
                            .get(s)
                            .is_none_or(|t| now.duration_since(*t) >= cooldown)
                })
                .min_by_key(|(s, i)| (i.idle_since, **s))
                .map(|(s, _)| *s);
            let Some(interp) = pick else {
                continue;
            };
            let deadline = now + self.cfg.ring_timeout;
            let (caller, purpose, lang, waited) = {
                let Some(c) = self.calls.get_mut(&call_id) else {
                    continue;
                };
                c.state = CallState::Ringing {
                    interpreter: interp,
                    deadline,
                };
                if let Some(i) = self.interpreters.get(&interp) {
                    c.rang.push(i.username.clone());
                }
                (
                    c.caller,
                    c.purpose,
                    c.sign_language.clone(),
                    now.duration_since(c.placed_at).as_secs(),
                )
            };
            if let Some(i) = self.interpreters.get_mut(&interp) {
                i.state = IState::Ringing(call_id);
            }
            fx.push(Effect::Send(
                interp,
                ServerMsg::Incoming {
                    call_id,
                    purpose,
                    sign_language: lang,
                    waited_secs: waited,
                    ring_timeout_secs: self.cfg.ring_timeout.as_secs(),
                },
            ));
            self.push_status(interp, fx);
            fx.push(Effect::Send(caller, ServerMsg::Connecting { call_id }));
            self.sent_positions.remove(&call_id);
        }
    }

    /// Sends queue positions to waiting callers and the queue to consoles, when they changed.
    fn refresh(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let staffing = self.staffing();
        let order = self.service_order();
        let mut position = 0;
        for id in &order {
            let Some(c) = self.calls.get(id) else {
                continue;
            };
            if c.state != CallState::Queued {
                continue;
            }
            position += 1;
            let est = estimate_wait_secs(position, staffing, self.avg_handle_secs);
            if self.sent_positions.get(id) != Some(&(position, est)) {
                self.sent_positions.insert(*id, (position, est));
                fx.push(Effect::Send(
                    c.caller,
                    ServerMsg::Queued {
                        call_id: *id,
                        position,
                        estimated_wait_secs: est,
                        interpreters_online: staffing.available + staffing.busy + staffing.away,
                    },
                ));
            }
        }
        let key: Vec<(CallId, bool, bool)> = order
            .iter()
            .filter_map(|id| {
                let c = self.calls.get(id)?;
                Some((
                    *id,
                    matches!(c.state, CallState::Ringing { .. }),
                    c.requeued,
                ))
            })
            .collect();
        if self.sent_snapshot.as_ref() == Some(&(key.clone(), staffing)) {
            return;
        }
        let calls = self.queue_entries(now);
        self.sent_snapshot = Some((key, staffing));
        for s in self.interpreters.keys() {
            fx.push(Effect::Send(
                *s,
                ServerMsg::QueueSnapshot {
                    calls: calls.clone(),
                    staffing,
                },
            ));
        }
    }

    /// Waiting and ringing calls in the order they are served.
    fn service_order(&self) -> Vec<CallId> {
        let mut v: Vec<(queue::Priority, CallId)> = self
            .calls
            .iter()
            .filter(|(_, c)| c.state.in_queue())
            .map(|(id, c)| {
                (
                    queue::Priority::new(c.purpose, c.requeued, c.placed_at, *id),
                    *id,
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }
}
