//! Interpreters working one call together: a warm transfer to a named colleague, a team of
//! an active interpreter and a support, the switch between them, and each one's stretch for
//! the records. An ask rings the colleague like a call does; they accept or decline with the
//! same `accept`/`decline`.

use super::{err, Call, CallState, Effect, IState, Relay, RelayError};
use crate::signal::{
    AskKind, AskOutcome, CallId, EndReason, ErrorCode, Role, ServerMsg, SessionId,
};
use std::time::{Duration, Instant};

/// Longest private line between the two interpreters of a team.
pub const MAX_TEAM_NOTE_CHARS: usize = 500;

/// A colleague rung to take over or to join a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Ask {
    pub(super) kind: AskKind,
    pub(super) from: SessionId,
    pub(super) to: SessionId,
    pub(super) deadline: Instant,
}

/// The second interpreter of a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Support {
    pub(super) session: SessionId,
    /// Set for an interpreter who just transferred the call: they leave by this time.
    pub(super) until: Option<Instant>,
}

/// One interpreter's time in a call, in one role.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Stretch {
    pub(super) username: String,
    pub(super) support: bool,
    pub(super) from: Instant,
    pub(super) to: Option<Instant>,
}

/// One interpreter's stretch as the records keep it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StretchRecord {
    /// Account name.
    pub username: String,
    /// Supporting (not active) during this stretch.
    #[serde(default)]
    pub support: bool,
    /// From the call's placing to the start of the stretch, ms.
    pub from_ms: u64,
    /// Length, ms.
    pub ms: u64,
}

impl Call {
    pub(super) fn open_stretch(&mut self, username: &str, support: bool, now: Instant) {
        self.stretches.push(Stretch {
            username: username.to_owned(),
            support,
            from: now,
            to: None,
        });
    }

    pub(super) fn close_stretch(&mut self, username: &str, now: Instant) {
        for s in &mut self.stretches {
            if s.username == username && s.to.is_none() {
                s.to = Some(now);
            }
        }
    }

    /// The stretches for the records, every open one closed at `now`.
    pub(super) fn stretch_records(&self, now: Instant) -> Vec<StretchRecord> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.stretches
            .iter()
            .map(|s| StretchRecord {
                username: s.username.clone(),
                support: s.support,
                from_ms: ms(s.from.duration_since(self.placed_at)),
                ms: ms(s.to.unwrap_or(now).duration_since(s.from)),
            })
            .collect()
    }

    fn active(&self) -> Option<SessionId> {
        match self.state {
            CallState::Connected { interpreter } => Some(interpreter),
            _ => None,
        }
    }
}

impl Relay {
    /// The call's support interpreter, if it has a team.
    pub fn support_of(&self, call: CallId) -> Option<SessionId> {
        self.calls.get(&call)?.support.map(|s| s.session)
    }

    /// Whether this session supports a call rather than leading it.
    pub(super) fn is_support(&self, session: SessionId) -> Option<CallId> {
        let IState::InCall(call) = self.interpreters.get(&session)?.state else {
            return None;
        };
        (self.support_of(call) == Some(session)).then_some(call)
    }

    /// The active interpreter asks a colleague to take the call over (warm transfer).
    pub fn transfer(
        &mut self,
        session: SessionId,
        to: &str,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        self.ask(session, AskKind::Transfer, Some(to), now)
    }

    /// The active interpreter asks a colleague (named, or the best free one) to join as support.
    pub fn ask_team(
        &mut self,
        session: SessionId,
        to: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        self.ask(session, AskKind::Team, to, now)
    }

    fn ask(
        &mut self,
        session: SessionId,
        kind: AskKind,
        to: Option<&str>,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let call_id = self.leading(session)?;
        let Some(call) = self.calls.get(&call_id) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        if call.ask.is_some() {
            return err(
                ErrorCode::Busy,
                "a colleague is already being asked: wait for the answer or cancel it",
            );
        }
        if call.support.is_some() {
            return err(
                ErrorCode::Busy,
                "the call already has a second interpreter: switch, or let them leave first",
            );
        }
        let lang = call.sign_language.clone();
        let target = match to {
            Some(name) => self.free_colleague(session, name, &lang)?,
            None => self
                .interpreters
                .iter()
                .filter(|(s, i)| **s != session && i.state == IState::Available && i.speaks(&lang))
                .min_by_key(|(s, i)| (i.misfit(call.purpose, None), i.idle_since, **s))
                .map(|(s, _)| *s)
                .ok_or(RelayError {
                    code: ErrorCode::InterpreterUnavailable,
                    message: "no colleague who works in this sign language is free".into(),
                })?,
        };
        let (purpose, from) = (
            call.purpose,
            self.interpreters
                .get(&session)
                .map(|i| i.name.clone())
                .unwrap_or_default(),
        );
        if let Some(c) = self.calls.get_mut(&call_id) {
            c.ask = Some(Ask {
                kind,
                from: session,
                to: target,
                deadline: now + self.cfg.ring_timeout,
            });
        }
        if let Some(i) = self.interpreters.get_mut(&target) {
            i.state = IState::Asked(call_id);
        }
        let mut fx = vec![Effect::Send(
            target,
            ServerMsg::Asked {
                call_id,
                kind,
                from,
                purpose,
                sign_language: lang,
                ring_timeout_secs: self.cfg.ring_timeout.as_secs(),
            },
        )];
        self.push_status(target, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// The call this session leads as its active interpreter.
    fn leading(&self, session: SessionId) -> Result<CallId, RelayError> {
        let Some(i) = self.interpreters.get(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters do this");
        };
        let IState::InCall(call) = i.state else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        if self.calls.get(&call).and_then(Call::active) != Some(session) {
            return err(
                ErrorCode::Forbidden,
                "only the active interpreter of the call can do this",
            );
        }
        Ok(call)
    }

    fn free_colleague(
        &self,
        session: SessionId,
        username: &str,
        lang: &str,
    ) -> Result<SessionId, RelayError> {
        let unavailable = |m: String| RelayError {
            code: ErrorCode::InterpreterUnavailable,
            message: m,
        };
        let (s, i) = self
            .interpreters
            .iter()
            .find(|(_, i)| i.username == username)
            .ok_or_else(|| unavailable(format!("{username:?} is not signed in")))?;
        if *s == session {
            return Err(unavailable("you cannot ask yourself".into()));
        }
        if i.state != IState::Available {
            return Err(unavailable(format!("{username:?} is not free now")));
        }
        if !i.speaks(lang) {
            return Err(unavailable(format!(
                "{username:?} does not work in the call's sign language"
            )));
        }
        Ok(*s)
    }

    /// The interpreter who asked takes the ask back.
    pub fn cancel_ask(
        &mut self,
        session: SessionId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let call = self.leading(session)?;
        if self.calls.get(&call).and_then(|c| c.ask).is_none() {
            return err(ErrorCode::NoSuchCall, "no colleague is being asked");
        }
        let mut fx = Vec::new();
        self.end_ask(call, AskOutcome::Cancelled, now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// Ends a call's pending ask: the colleague's ring stops (they are free again, or away
    /// after not answering) and the asker hears how it ended.
    pub(super) fn end_ask(
        &mut self,
        call_id: CallId,
        outcome: AskOutcome,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        let Some(ask) = self.calls.get_mut(&call_id).and_then(|c| c.ask.take()) else {
            return;
        };
        if let Some(i) = self.interpreters.get_mut(&ask.to) {
            if i.state == IState::Asked(call_id) {
                // Ring-no-answer means an unattended console, as for a call.
                i.state = if outcome == AskOutcome::Timeout {
                    IState::Away
                } else {
                    IState::Available
                };
                i.idle_since = now;
                let reason = match outcome {
                    AskOutcome::Declined => EndReason::Declined,
                    AskOutcome::Timeout => EndReason::Timeout,
                    _ => EndReason::Taken,
                };
                fx.push(Effect::Send(
                    ask.to,
                    ServerMsg::RingStopped { call_id, reason },
                ));
                self.push_status(ask.to, fx);
            }
        }
        fx.push(Effect::Send(
            ask.from,
            ServerMsg::AskEnded {
                call_id,
                kind: ask.kind,
                outcome,
            },
        ));
        self.ring_waiting(now, fx);
    }

    /// The asked colleague accepts: a transfer makes them active and the first interpreter
    /// support until the overlap ends; a team request makes them support.
    pub(super) fn accept_ask(
        &mut self,
        session: SessionId,
        call_id: CallId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return err(ErrorCode::NoSuchCall, "that call has ended");
        };
        let Some(ask) = call.ask.filter(|a| a.to == session) else {
            return err(ErrorCode::NoSuchCall, "that ask is no longer open");
        };
        let Some(me) = self.interpreters.get(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters answer");
        };
        let (name, username) = (me.name.clone(), me.username.clone());
        let first = self
            .interpreters
            .get(&ask.from)
            .map(|i| i.username.clone())
            .unwrap_or_default();
        call.ask = None;
        let mut fx = Vec::new();
        match ask.kind {
            AskKind::Transfer => {
                call.state = CallState::Connected {
                    interpreter: session,
                };
                call.support = Some(super::team::Support {
                    session: ask.from,
                    until: Some(now + self.cfg.transfer_overlap),
                });
                call.close_stretch(&first, now);
                call.open_stretch(&first, true, now);
                call.open_stretch(&username, false, now);
                // Caller and guests see the new interpreter's name.
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
            }
            AskKind::Team => {
                call.support = Some(super::team::Support {
                    session,
                    until: None,
                });
                call.open_stretch(&username, true, now);
                fx.push(Effect::Send(
                    session,
                    ServerMsg::CallConnected {
                        call_id,
                        interpreter: name.clone(),
                        purpose: call.purpose,
                    },
                ));
            }
        }
        fx.push(Effect::Send(
            ask.from,
            ServerMsg::AskEnded {
                call_id,
                kind: ask.kind,
                outcome: AskOutcome::Accepted,
            },
        ));
        self.join_as_interpreter(call_id, session, name, now, &mut fx);
        Ok(fx)
    }

    /// Either interpreter of a team swaps active and support.
    pub fn switch_active(
        &mut self,
        session: SessionId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(IState::InCall(call_id)) = self.interpreters.get(&session).map(|i| i.state) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        let Some(call) = self.calls.get(&call_id) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        let (Some(active), Some(support)) = (call.active(), call.support) else {
            return err(ErrorCode::NotInCall, "the call has no second interpreter");
        };
        if support.until.is_some() {
            return err(
                ErrorCode::Busy,
                "the call was just transferred: the first interpreter is leaving",
            );
        }
        let name = |s: SessionId| {
            self.interpreters
                .get(&s)
                .map(|i| (i.username.clone(), i.name.clone()))
                .unwrap_or_default()
        };
        let ((a_user, _), (s_user, s_name)) = (name(active), name(support.session));
        let Some(call) = self.calls.get_mut(&call_id) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        call.state = CallState::Connected {
            interpreter: support.session,
        };
        call.support = Some(super::team::Support {
            session: active,
            until: None,
        });
        call.close_stretch(&a_user, now);
        call.close_stretch(&s_user, now);
        call.open_stretch(&s_user, false, now);
        call.open_stretch(&a_user, true, now);
        let connected = ServerMsg::CallConnected {
            call_id,
            interpreter: s_name,
            purpose: call.purpose,
        };
        let mut fx = vec![Effect::Send(call.caller, connected.clone())];
        for g in &call.guests {
            fx.push(Effect::Send(*g, connected.clone()));
        }
        fx.push(Effect::Roster { call: call_id });
        Ok(fx)
    }

    /// The support interpreter leaves; the call goes on with the active one.
    pub fn leave_team(
        &mut self,
        session: SessionId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(call) = self.is_support(session) else {
            return err(
                ErrorCode::Forbidden,
                "only a support interpreter leaves a team; the active one hangs up or hands over",
            );
        };
        let mut fx = Vec::new();
        self.support_out(call, now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// Takes the support interpreter out of a call: one who just transferred goes away (they
    /// handed over to rest), a support who helped is free again.
    pub(super) fn support_out(&mut self, call_id: CallId, now: Instant, fx: &mut Vec<Effect>) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        let Some(support) = call.support.take() else {
            return;
        };
        let reason = if support.until.is_some() {
            EndReason::Transferred
        } else {
            EndReason::LeftTeam
        };
        if let Some(i) = self.interpreters.get_mut(&support.session) {
            call.close_stretch(&i.username, now);
            i.state = if support.until.is_some() {
                IState::Away
            } else {
                IState::Available
            };
            i.idle_since = now;
        }
        fx.push(Effect::LeaveRoom {
            call: call_id,
            session: support.session,
        });
        fx.push(Effect::Send(
            support.session,
            ServerMsg::CallEnded {
                call_id,
                reason,
                by: Some(Role::Interpreter),
            },
        ));
        self.push_status(support.session, fx);
        self.ring_waiting(now, fx);
    }

    /// The active interpreter is gone from a team call: the support takes over at once, so
    /// the caller is not put back in the queue.
    pub(super) fn promote_support(
        &mut self,
        call_id: CallId,
        leaving: SessionId,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let leaving_user = self
            .interpreters
            .get(&leaving)
            .map(|i| i.username.clone())
            .unwrap_or_default();
        let Some(call) = self.calls.get_mut(&call_id) else {
            return false;
        };
        let Some(support) = call.support.take() else {
            return false;
        };
        let Some(next) = self.interpreters.get(&support.session) else {
            return false;
        };
        call.state = CallState::Connected {
            interpreter: support.session,
        };
        call.close_stretch(&leaving_user, now);
        call.close_stretch(&next.username, now);
        call.open_stretch(&next.username, false, now);
        fx.push(Effect::LeaveRoom {
            call: call_id,
            session: leaving,
        });
        let connected = ServerMsg::CallConnected {
            call_id,
            interpreter: next.name.clone(),
            purpose: call.purpose,
        };
        fx.push(Effect::Send(call.caller, connected.clone()));
        for g in &call.guests {
            fx.push(Effect::Send(*g, connected.clone()));
        }
        fx.push(Effect::Roster { call: call_id });
        true
    }

    /// A private line to the other interpreter of a team.
    pub fn team_note(&self, session: SessionId, text: &str) -> Result<Vec<Effect>, RelayError> {
        let Some(IState::InCall(call_id)) = self.interpreters.get(&session).map(|i| i.state) else {
            return err(ErrorCode::NotInCall, "you are not in a call");
        };
        let call = self.calls.get(&call_id);
        let (Some(active), Some(support)) = (
            call.and_then(Call::active),
            call.and_then(|c| c.support).map(|s| s.session),
        ) else {
            return err(ErrorCode::NotInCall, "the call has no second interpreter");
        };
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEAM_NOTE_CHARS {
            return err(
                ErrorCode::BadMessage,
                format!("a team note is 1 to {MAX_TEAM_NOTE_CHARS} characters"),
            );
        }
        let other = if session == active { support } else { active };
        let from = self
            .interpreters
            .get(&session)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        Ok(vec![Effect::Send(
            other,
            ServerMsg::TeamNote {
                from,
                text: text.to_owned(),
            },
        )])
    }

    /// Time moves asks and overlaps on: an unanswered ask lapses, a transferring
    /// interpreter's moment in the call ends.
    pub(super) fn tick_team(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let lapsed: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.ask.is_some_and(|a| a.deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for call in lapsed {
            self.end_ask(call, AskOutcome::Timeout, now, fx);
        }
        let over: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.support.is_some_and(|s| s.until.is_some_and(|u| u <= now)))
            .map(|(id, _)| *id)
            .collect();
        for call in over {
            self.support_out(call, now, fx);
        }
    }
}
