//! How a call finds its interpreter: a caller's request (or an interpreter's direct call to
//! a hearing party), the caller giving up while waiting, and the console that rings
//! answering or declining.

use super::{counters, err, Call, CallOptions, CallState, Effect, IState, Relay, RelayError};
use crate::signal::{
    AskOutcome, CallId, EndReason, ErrorCode, Purpose, Role, ServerMsg, SessionId,
};
use std::time::Instant;

impl Relay {
    /// A caller asks for an interpreter.
    pub fn place_call(
        &mut self,
        session: SessionId,
        caller_name: &str,
        purpose: Purpose,
        sign_language: Option<&str>,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        let opts = CallOptions::default();
        self.place_call_with(session, caller_name, purpose, sign_language, opts, now)
    }

    /// A caller asks for an interpreter, with a preference for the interpreter's gender or
    /// from a service point.
    pub fn place_call_with(
        &mut self,
        session: SessionId,
        caller_name: &str,
        purpose: Purpose,
        sign_language: Option<&str>,
        opts: CallOptions<'_>,
        now: Instant,
    ) -> Result<(CallId, Vec<Effect>), RelayError> {
        // Only a known word is kept: this text reaches every console.
        let preference = opts
            .preference
            .filter(|p| matches!(*p, "female" | "male"))
            .map(str::to_owned);
        if self.callers.contains_key(&session)
            || self.guests.contains_key(&session)
            || self.devices_has(session)
        {
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
        let emergency = purpose == Purpose::Emergency;
        let waiting = self
            .calls
            .values()
            .filter(|c| c.state.in_queue() && (c.purpose == Purpose::Emergency) == emergency)
            .count();
        let limit = if emergency {
            self.cfg.max_emergency_queue
        } else {
            self.cfg.max_queue
        };
        if waiting >= limit {
            return err(
                ErrorCode::QueueFull,
                "too many callers are waiting; please try again shortly",
            );
        }
        let id = self.next_call;
        self.next_call.0 += 1;
        let mut call = Call::new(
            session,
            caller_name,
            purpose,
            lang.clone(),
            CallState::Queued,
            now,
        );
        call.preference = preference;
        call.counter = opts.counter.map(|(code, name)| counters::Tag {
            code: code.to_owned(),
            name: name.to_owned(),
            device_left: false,
            seated: None,
        });
        self.calls.insert(id, call);
        self.callers.insert(session, id);
        let mut fx = vec![Effect::Placed {
            call: id,
            purpose,
            sign_language: lang,
            direct: false,
            counter: opts.counter.map(|(code, _)| code.to_owned()),
        }];
        self.ring_waiting(now, &mut fx);
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
        self.next_call.0 += 1;
        let purpose = Purpose::DailyLife;
        let mut call = Call::new(
            session,
            caller_name,
            purpose,
            String::new(),
            CallState::Direct,
            now,
        );
        call.room_open = true;
        self.calls.insert(id, call);
        self.callers.insert(session, id);
        let fx = vec![
            Effect::Placed {
                call: id,
                purpose,
                sign_language: String::new(),
                direct: true,
                counter: None,
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
        if interp.state == IState::Asked(call_id) {
            return self.accept_ask(session, call_id, now);
        }
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
        call.open_stretch(&username, false, now);
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
        self.join_as_interpreter(call_id, session, name, now, &mut fx);
        Ok(fx)
    }

    /// An interpreter passes on a ringing call; it rings someone else.
    pub fn decline(
        &mut self,
        session: SessionId,
        call_id: CallId,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(interp) = self.interpreters.get(&session) else {
            return err(ErrorCode::Forbidden, "only interpreters decline calls");
        };
        if interp.state == IState::Asked(call_id) {
            let mut fx = Vec::new();
            self.end_ask(call_id, AskOutcome::Declined, now, &mut fx);
            self.refresh(now, &mut fx);
            return Ok(fx);
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
        self.ring_waiting(now, &mut fx);
        self.refresh(now, &mut fx);
        Ok(fx)
    }
}
