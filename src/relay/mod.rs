//! The interpreting service's rules as a pure state machine: presence, the queue, ringing,
//! the call lifecycle and guest invitations. Every operation takes `now` and returns the
//! effects to carry out (messages to send, rooms to join or close); the async glue in
//! `switchboard` performs them. Nothing here does I/O, so every rule is unit-tested.

mod callback;
pub mod captioners;
mod counters;
#[cfg(test)]
mod counters_tests;
mod effects;
mod ending;
mod invites;
mod placing;
mod queue;
mod service;
mod team;
#[cfg(test)]
mod team_tests;
#[cfg(test)]
mod tests;
mod view;

pub use team::{StretchRecord, MAX_TEAM_NOTE_CHARS};

pub use view::InterpreterView;

use crate::signal::{
    AskOutcome, CallId, Colleague, EndReason, ErrorCode, InterpreterStatus, Presence, Purpose,
    ServerMsg, SessionId, Staffing,
};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use effects::{CallRecord, Effect};
pub use queue::estimate_wait_secs;

/// Most guests one call may hold (media costs grow with each).
pub const MAX_GUESTS_PER_CALL: usize = 3;

/// What a caller may add to a call request.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions<'a> {
    /// `female` or `male` if the caller would rather have such an interpreter.
    pub preference: Option<&'a str>,
    /// The service point (code, display name) the call is placed from.
    pub counter: Option<(&'a str, &'a str)>,
}

/// Rules the service is run with.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// How long a console rings before the call moves on.
    pub ring_timeout: Duration,
    /// How long an invitation stays valid.
    pub invite_ttl: Duration,
    /// Most calls waiting at once, emergencies not counted.
    pub max_queue: usize,
    /// Most emergency calls waiting at once: their own lane, so a queue full of other calls
    /// never turns an emergency away.
    pub max_emergency_queue: usize,
    /// Sign-language codes on offer; the first is the default.
    pub sign_languages: Vec<String>,
    /// How long an interpreter who declined a call is not rung for it again.
    pub decline_cooldown: Duration,
    /// After a warm transfer, how long the first interpreter stays in the call with the new
    /// one (to introduce them) before leaving.
    pub transfer_overlap: Duration,
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum IState {
    Available,
    Away,
    Ringing(CallId),
    /// Rung by a colleague to take over or join their call.
    Asked(CallId),
    InCall(CallId),
}

#[derive(Debug, Clone)]
struct Interpreter {
    username: String,
    name: String,
    languages: Vec<String>,
    /// `female` / `male`, or none given.
    gender: Option<String>,
    /// What they know best (medical, legal...): calls on these come to them first.
    topics: Vec<Purpose>,
    state: IState,
    idle_since: Instant,
}

impl Interpreter {
    fn status(&self) -> InterpreterStatus {
        match self.state {
            IState::Available => InterpreterStatus::Available,
            IState::Away => InterpreterStatus::Away,
            IState::Ringing(_) | IState::Asked(_) => InterpreterStatus::Ringing,
            IState::InCall(_) => InterpreterStatus::Busy,
        }
    }
    fn speaks(&self, lang: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == lang)
    }

    /// How badly this interpreter fits a call: a caller's wish for a gender first, then the
    /// call's topic. A preference, never a refusal: the best free interpreter answers.
    fn misfit(&self, purpose: Purpose, preference: Option<&str>) -> (bool, bool) {
        let gender = preference.is_some_and(|p| self.gender.as_deref() != Some(p));
        let topic = !self.topics.contains(&purpose);
        (gender, topic)
    }
}

/// What a waiting caller was last told; sent again only when it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QueuedView {
    position: usize,
    est: Option<u64>,
    online: usize,
    on_duty: usize,
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
    /// `female`/`male` preference for the interpreter, shown on consoles.
    preference: Option<String>,
    /// A team's second interpreter (or the first, for a moment after a transfer).
    support: Option<team::Support>,
    /// A colleague being asked to take over or join.
    ask: Option<team::Ask>,
    /// Every interpreter's time in the call, for the records.
    stretches: Vec<team::Stretch>,
    /// The service point it was placed from.
    counter: Option<counters::Tag>,
}

impl Call {
    /// A new call as placed: nobody rung yet, no guests, no room.
    fn new(
        caller: SessionId,
        caller_name: &str,
        purpose: Purpose,
        sign_language: String,
        state: CallState,
        now: Instant,
    ) -> Self {
        Call {
            caller,
            caller_name: caller_name.to_owned(),
            purpose,
            sign_language,
            state,
            placed_at: now,
            requeued: false,
            declined: HashMap::new(),
            guests: Vec::new(),
            rang: Vec::new(),
            answered: None,
            room_open: false,
            preference: None,
            support: None,
            ask: None,
            stretches: Vec::new(),
            counter: None,
        }
    }
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
    sent_positions: HashMap<CallId, QueuedView>,
    sent_snapshot: Option<SnapshotKey>,
    devices: counters::Devices,
    /// Call backs offered to callers with their videomail page open, by caller.
    callbacks: HashMap<SessionId, callback::Offer>,
}

/// What a queue snapshot showed: (call, ringing, requeued) in order, staffing, colleagues.
type SnapshotKey = (Vec<(CallId, bool, bool)>, Staffing, Vec<Colleague>);

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
            next_call: CallId(1),
            avg_handle_secs: DEFAULT_HANDLE_SECS,
            sent_positions: HashMap::new(),
            sent_snapshot: None,
            devices: counters::Devices::default(),
            callbacks: HashMap::new(),
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
        out.extend(c.support.map(|s| s.session));
        out.extend(c.guests.iter().copied());
        out
    }

    /// Number of calls that exist (waiting, ringing or connected).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Calls placed by these callers, and how many of them are captioned calls.
    pub fn calls_by(&self, callers: &[SessionId]) -> (usize, usize) {
        let mine = self.calls.values().filter(|c| callers.contains(&c.caller));
        mine.fold((0, 0), |(all, direct), c| {
            (all + 1, direct + usize::from(c.state == CallState::Direct))
        })
    }

    /// Captioned calls open now.
    pub fn direct_calls(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.state == CallState::Direct)
            .count()
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

    /// Interpreters signed in who work in `lang`, and those of them not away.
    fn staff_for(&self, lang: &str) -> (usize, usize) {
        self.interpreters
            .values()
            .filter(|i| i.speaks(lang))
            .fold((0, 0), |(online, on_duty), i| {
                (online + 1, on_duty + usize::from(i.state != IState::Away))
            })
    }

    /// Interpreter counts by state.
    pub fn staffing(&self) -> Staffing {
        let mut s = Staffing::default();
        for i in self.interpreters.values() {
            match i.state {
                IState::Available => s.available += 1,
                IState::Away => s.away += 1,
                IState::Ringing(_) | IState::Asked(_) | IState::InCall(_) => s.busy += 1,
            }
        }
        s
    }

    /// The account name of a signed-in interpreter's session.
    pub fn username_of(&self, session: SessionId) -> Option<String> {
        self.interpreters.get(&session).map(|i| i.username.clone())
    }

    /// True when this account already has a signed-in console.
    pub fn is_signed_in(&self, username: &str) -> bool {
        self.interpreters.values().any(|i| i.username == username)
    }

    /// What a signed-in interpreter is matched on beyond sign language: gender (`female` or
    /// `male`; anything else is dropped) and topics.
    pub fn set_skills(&mut self, session: SessionId, gender: Option<&str>, topics: &[Purpose]) {
        if let Some(i) = self.interpreters.get_mut(&session) {
            i.gender = gender
                .filter(|g| matches!(*g, "female" | "male"))
                .map(str::to_owned);
            i.topics = topics.to_vec();
        }
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
                gender: None,
                topics: Vec::new(),
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
            (IState::Ringing(_) | IState::Asked(_), Presence::Available) => {}
            (IState::Asked(call), Presence::Away) => {
                self.end_ask(call, AskOutcome::Declined, now, &mut fx);
                if let Some(i) = self.interpreters.get_mut(&session) {
                    i.state = IState::Away;
                }
            }
            (IState::Available, Presence::Away) => i.state = IState::Away,
            (IState::Away, Presence::Available) => {
                i.state = IState::Available;
                i.idle_since = now;
            }
            _ => {}
        }
        self.push_status(session, &mut fx);
        self.ring_waiting(now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
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
        self.tick_team(now, &mut fx);
        self.tick_call_backs(now, &mut fx);
        self.ring_waiting(now, &mut fx);
        self.refresh(now, &mut fx);
        fx
    }
}
