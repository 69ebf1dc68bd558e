//! Captioners in calls, in the switchboard: who may consent, propose or correct, carrying out
//! the captioner rules' effects (`relay::captioners`), and one caption desk per call that
//! numbers its lines and turns a captioner's correction into a revision of the same line
//! (`briefing::review`, with no holding: a conversation cannot wait for checking).

use super::{lock, peer_of, refuse, RequestError, Switchboard};
use crate::briefing::review::{Out as DeskOut, ReviewDesk, ReviewError};
use crate::relay::captioners::{CaptionerError, Out};
use crate::sfu::{Presence, RoomId};
use crate::signal::{
    CallCaptioner, CallId, CaptionLine, CaptionerDuty, ClientMsg, EndReason, ErrorCode, Role,
    ServerMsg, SessionId,
};
use std::time::Instant;

impl From<CaptionerError> for RequestError {
    fn from(e: CaptionerError) -> Self {
        let code = match e {
            CaptionerError::NotServing => ErrorCode::NotInCall,
            CaptionerError::NoneOnDuty | CaptionerError::AlreadyWanted => {
                ErrorCode::CaptionerUnavailable
            }
        };
        refuse(code, e.to_string())
    }
}

impl From<ReviewError> for RequestError {
    fn from(e: ReviewError) -> Self {
        let code = match e {
            ReviewError::NoSuchLine(_) => ErrorCode::NoSuchLine,
            ReviewError::TooLong => ErrorCode::TooLarge,
            ReviewError::BadRule(_) | ReviewError::BadWindow => ErrorCode::BadMessage,
        };
        refuse(code, e.to_string())
    }
}

fn now_ms() -> u64 {
    crate::store::now_ms().max(0) as u64
}

impl Switchboard {
    /// Requests about a captioner in a call: consent, a proposal, duty, corrections.
    pub(super) fn captioner_request(
        &self,
        session: SessionId,
        role: Option<Role>,
        msg: ClientMsg,
    ) -> Result<(), RequestError> {
        let now = Instant::now();
        match msg {
            ClientMsg::WantCaptioner { yes } => {
                if role != Some(Role::Caller) {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "only the caller decides whether a captioner listens",
                    ));
                }
                let call = self.connected_call(session)?;
                let out = lock(&self.captioners).consent(call, yes, now);
                self.run_captioners(out);
            }
            ClientMsg::SuggestCaptioner => {
                if role != Some(Role::Interpreter) {
                    return Err(refuse(
                        ErrorCode::Forbidden,
                        "only the call's interpreter may propose a captioner",
                    ));
                }
                let call = self.connected_call(session)?;
                lock(&self.captioners).suggest(call)?;
                for m in self.callers_in(call) {
                    self.deliver(m, ServerMsg::CaptionerSuggested { call_id: call });
                }
            }
            ClientMsg::CaptionerDuty { on } => {
                let name = self.captioner_account(session)?;
                let out = if on {
                    if role.is_none() {
                        self.identify(session, Role::Captioner, &name);
                        self.deliver(session, self.welcome(session, Role::Captioner, &name));
                    }
                    lock(&self.captioners).go_on_duty(session, &name, now)
                } else {
                    lock(&self.captioners).go_off_duty(session)
                };
                tracing::info!(%session, on, "captioner duty for calls");
                self.run_captioners(out);
            }
            ClientMsg::CorrectCaption { seq, text } => {
                let call = lock(&self.captioners).call_of(session)?;
                let out = self.with_desk(call, seq, |d| d.correct(seq, &text, now_ms()))?;
                self.run_desk(call, out);
            }
            ClientMsg::AcceptCaption { seq } => {
                let call = lock(&self.captioners).call_of(session)?;
                let out = self.with_desk(call, seq, |d| d.accept(seq))?;
                self.run_desk(call, out);
            }
            ClientMsg::TypeCaption { text, done } => {
                let (call, name) = {
                    let c = lock(&self.captioners);
                    let call = c.call_of(session)?;
                    let name = c
                        .captioner_of(call)
                        .map(|(_, n)| n.to_owned())
                        .unwrap_or_default();
                    (call, name)
                };
                let now = now_ms();
                // A call keeps no timeline of its own: the wall clock says when it was typed.
                let line = CaptionLine::typed_by(
                    peer_of(session).to_string(),
                    name,
                    text,
                    done,
                    (0, 0),
                    now,
                );
                let out = self
                    .open_desk(call, |d| d.typed(line, done, now))
                    .ok_or(CaptionerError::NotServing)??;
                self.run_desk(call, out);
            }
            ClientMsg::CaptionRule { wrong, right } => {
                let call = lock(&self.captioners).call_of(session)?;
                self.open_desk(call, |d| d.add_rule(&wrong, &right))
                    .ok_or(CaptionerError::NotServing)??;
                tracing::info!(%call, %session, "captioner taught the call a replacement");
            }
            _ => {}
        }
        Ok(())
    }

    /// The display name of a page signed in (by its session cookie) as a captioner.
    fn captioner_account(&self, session: SessionId) -> Result<String, RequestError> {
        lock(&self.sessions)
            .get(&session)
            .and_then(|s| s.captioner.clone())
            .ok_or_else(|| {
                refuse(
                    ErrorCode::Forbidden,
                    "sign in as a captioner on this page first",
                )
            })
    }

    /// Remembers that a page was opened by a signed-in captioner.
    pub fn set_captioner(&self, session: SessionId, display_name: &str) {
        if let Some(s) = lock(&self.sessions).get_mut(&session) {
            s.captioner = Some(display_name.to_owned());
        }
    }

    fn callers_in(&self, call: CallId) -> Vec<SessionId> {
        let members = lock(&self.relay).members(call);
        let sessions = lock(&self.sessions);
        members
            .into_iter()
            .filter(|m| sessions.get(m).and_then(|s| s.role) == Some(Role::Caller))
            .collect()
    }

    /// Runs `f` on a call's desk; a call without captions yet has no line to name.
    fn with_desk<T>(
        &self,
        call: CallId,
        seq: u64,
        f: impl FnOnce(&mut ReviewDesk) -> Result<T, ReviewError>,
    ) -> Result<T, RequestError> {
        let mut desks = lock(&self.call_desks);
        let desk = desks.get_mut(&call).ok_or(ReviewError::NoSuchLine(seq))?;
        Ok(f(desk)?)
    }

    /// Runs `f` on a call's desk, opening it on first use; `None` once the call has ended.
    fn open_desk<T>(&self, call: CallId, f: impl FnOnce(&mut ReviewDesk) -> T) -> Option<T> {
        let mut desks = lock(&self.call_desks);
        // A line decoded after its call ended must not open a desk nobody closes; the check
        // is made under the desks' lock, which the call's end takes too.
        if !desks.contains_key(&call) && lock(&self.relay).members(call).is_empty() {
            return None;
        }
        let desk = desks
            .entry(call)
            .or_insert_with(|| ReviewDesk::new(0, 0, Vec::new()));
        Some(f(desk))
    }

    /// A machine caption of a call (from its caption task; tests feed lines here directly):
    /// numbered for the whole call, so a correction can name it.
    pub fn call_caption(&self, call: CallId, line: CaptionLine) {
        if let Some(out) = self.open_desk(call, |d| d.machine(line, now_ms())) {
            self.run_desk(call, out);
        }
    }

    /// Sends what a call's desk decided: lines for the call's pages and for its captioner.
    /// Nothing of a call is kept, so a `Keep` is not stored.
    fn run_desk(&self, call: CallId, out: Vec<DeskOut>) {
        let captioner = lock(&self.captioners).captioner_of(call).map(|(s, _)| s);
        for o in out {
            let DeskOut::Send(to, line) = o else { continue };
            if to.live {
                self.send_to_call(call, ServerMsg::Caption(Box::new(line.clone())));
            }
            if let Some(c) = captioner.filter(|_| to.desk) {
                self.deliver(c, ServerMsg::Caption(Box::new(line)));
            }
        }
    }

    /// Carries out what the captioner rules decided.
    pub(super) fn run_captioners(&self, out: Vec<Out>) {
        for o in out {
            match o {
                Out::Join { call, captioner } => {
                    // Listening only: the captioner's camera and microphone stay off.
                    let room = RoomId::Call(call.0);
                    if let Err(e) = self.sfu.join(room, peer_of(captioner), Presence::Viewer) {
                        tracing::warn!(%call, session = %captioner, error = %e, "captioner could not join the media room");
                    }
                    self.send_roster(call);
                }
                Out::Leave { call, captioner } => {
                    self.sfu.leave(RoomId::Call(call.0), peer_of(captioner));
                    self.deliver(
                        captioner,
                        ServerMsg::CallEnded {
                            call_id: call,
                            reason: EndReason::HangUp,
                            by: None,
                        },
                    );
                }
                Out::CallState(call) => {
                    let msg = self.call_captioner(call);
                    self.send_to_call(call, ServerMsg::CallCaptioner(msg));
                }
                Out::Duty(captioner) => {
                    let (on, call_id) = lock(&self.captioners).duty(captioner);
                    self.deliver(
                        captioner,
                        ServerMsg::CaptionerDuty(CaptionerDuty { on, call_id }),
                    );
                }
            }
        }
    }

    pub(super) fn call_captioner_state(&self, call: CallId) -> crate::signal::CaptionerState {
        lock(&self.captioners).state(call).0
    }

    fn call_captioner(&self, call: CallId) -> CallCaptioner {
        let c = lock(&self.captioners);
        let (state, name) = c.state(call);
        CallCaptioner {
            call_id: call,
            state,
            name,
            on_duty: c.on_duty(),
        }
    }

    /// The call a captioner listens to, for their media messages.
    pub(super) fn captioned_room(&self, session: SessionId) -> Option<RoomId> {
        let call = lock(&self.captioners).call_of(session).ok()?;
        Some(RoomId::Call(call.0))
    }

    /// A call's room closed: its desk and its captioner go.
    pub(super) fn captioners_call_ended(&self, call: CallId) {
        lock(&self.call_desks).remove(&call);
        let out = lock(&self.captioners).call_ended(call, Instant::now());
        self.run_captioners(out);
    }

    /// A captioner's page is gone.
    pub(super) fn captioner_gone(&self, session: SessionId) {
        let out = lock(&self.captioners).go_off_duty(session);
        self.run_captioners(out);
    }

    /// Calls with a caption desk now (for `/metrics`: zero when no call is captioned).
    pub fn call_caption_desks(&self) -> usize {
        lock(&self.call_desks).len()
    }

    /// Captioners serving calls now, and on duty for them (for `/metrics`).
    pub fn call_captioners(&self) -> (usize, usize) {
        let c = lock(&self.captioners);
        (c.serving(), c.on_duty())
    }
}
