//! Service points' own devices: the tablet signed in for a counter joins that counter's calls
//! as the hearing party by itself once an interpreter has answered, with no invitation step.

use super::{err, CallState, Effect, Relay, RelayError, MAX_GUESTS_PER_CALL};
use crate::signal::{CounterState, ErrorCode, Role, ServerMsg, SessionId};
use std::collections::HashMap;
use std::time::Instant;

/// The service point a call was placed from.
#[derive(Debug, Clone)]
pub(super) struct Tag {
    pub(super) code: String,
    pub(super) name: String,
    /// The counter's device hung up this call: it is not brought back in.
    pub(super) device_left: bool,
    /// The device last seated in this call (while it is still a guest there, the counter is
    /// represented and a newer device of the same counter does not join too).
    pub(super) seated: Option<SessionId>,
}

/// Signed-in counter devices, one per service point.
#[derive(Debug, Default)]
pub(super) struct Devices {
    by_code: HashMap<String, SessionId>,
    /// Code and display name of each device's counter.
    by_session: HashMap<SessionId, (String, String)>,
    /// The state each device was last told.
    told: HashMap<SessionId, CounterState>,
}

impl Devices {
    /// Forgets a device; true if it was one.
    fn remove(&mut self, session: SessionId) -> bool {
        self.told.remove(&session);
        let Some((code, _)) = self.by_session.remove(&session) else {
            return false;
        };
        if self.by_code.get(&code) == Some(&session) {
            self.by_code.remove(&code);
        }
        true
    }
}

impl Relay {
    /// A service point's device has signed in (its secret checked by the caller of this
    /// function). The newest device of a counter wins; an older one is told it was replaced.
    pub fn attach_counter(
        &mut self,
        session: SessionId,
        code: &str,
        name: &str,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        if self.call_of(session).is_some()
            || self.interpreters.contains_key(&session)
            || self.callers.contains_key(&session)
        {
            return err(ErrorCode::AlreadyInCall, "this page is already in use");
        }
        let mut fx = Vec::new();
        if let Some(old) = self.devices.by_code.get(code).copied() {
            if old != session {
                // An older tablet in a call stays in it as a plain guest until it ends.
                self.devices.remove(old);
                fx.push(Effect::Send(
                    old,
                    ServerMsg::CounterState {
                        state: CounterState::Replaced,
                    },
                ));
            }
        }
        self.devices.by_code.insert(code.to_owned(), session);
        self.devices
            .by_session
            .insert(session, (code.to_owned(), name.to_owned()));
        self.refresh(now, &mut fx);
        Ok(fx)
    }

    /// The device is gone (page closed); its counter's calls go on without it.
    pub(super) fn detach_counter(&mut self, session: SessionId) {
        self.devices.remove(session);
    }

    /// The device of `session` hung up its call: it stays out of that call.
    pub(super) fn counter_device_left(&mut self, session: SessionId, call: super::CallId) {
        let Some((code, _)) = self.devices.by_session.get(&session) else {
            return;
        };
        if let Some(tag) = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.counter.as_mut())
            .filter(|t| &t.code == code)
        {
            tag.device_left = true;
        }
    }

    /// A service point was revoked (or its device secret renewed, `revoked` false): its device
    /// is told, leaves a call it sits in and joins no more. Secrets are renewed and points
    /// revoked when a tablet is lost or stolen, so it must not stay in a conversation either.
    pub fn revoke_counter(&mut self, code: &str, revoked: bool, now: Instant) -> Vec<Effect> {
        let Some(session) = self.devices.by_code.get(code).copied() else {
            return Vec::new();
        };
        let mut fx = Vec::new();
        if let Some(&call) = self.guests.get(&session) {
            self.counter_device_left(session, call);
            self.remove_guest(call, session, &mut fx);
        }
        self.devices.remove(session);
        fx.push(Effect::Send(
            session,
            if revoked {
                ServerMsg::Error {
                    req: None,
                    code: ErrorCode::NoSuchCounter,
                    message: "this service point was withdrawn; ask an administrator".into(),
                }
            } else {
                ServerMsg::CounterState {
                    state: CounterState::Replaced,
                }
            },
        ));
        self.refresh(now, &mut fx);
        fx
    }

    /// Whether the session is a counter's device.
    pub(super) fn devices_has(&self, session: SessionId) -> bool {
        self.devices.by_session.contains_key(&session)
    }

    /// Signed-in counter devices.
    pub fn counter_devices(&self) -> usize {
        self.devices.by_session.len()
    }

    /// Brings free counter devices into answered calls of their counter, and tells every
    /// device its counter's state when it changed.
    pub(super) fn seat_counters(&mut self, fx: &mut Vec<Effect>) {
        // Runs on every refresh (each clock tick): most servers have no counter tablets.
        if self.devices.by_session.is_empty() {
            return;
        }
        let devices: Vec<(SessionId, String, String)> = self
            .devices
            .by_session
            .iter()
            .map(|(s, (c, n))| (*s, c.clone(), n.clone()))
            .collect();
        for (session, code, name) in devices {
            if !self.guests.contains_key(&session) {
                let ready = self.calls.iter().find_map(|(id, c)| match c.state {
                    CallState::Connected { interpreter }
                        if c.guests.len() < MAX_GUESTS_PER_CALL
                            && c.counter.as_ref().is_some_and(|t| {
                                t.code == code
                                    && !t.device_left
                                    && t.seated.is_none_or(|s| !c.guests.contains(&s))
                            }) =>
                    {
                        Some((*id, interpreter, c.purpose))
                    }
                    _ => None,
                });
                if let Some((id, interp, purpose)) = ready {
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.guests.push(session);
                        if let Some(t) = c.counter.as_mut() {
                            t.seated = Some(session);
                        }
                    }
                    self.guests.insert(session, id);
                    let interpreter = self
                        .interpreters
                        .get(&interp)
                        .map(|i| i.name.clone())
                        .unwrap_or_default();
                    fx.push(Effect::Send(
                        session,
                        ServerMsg::CallConnected {
                            call_id: id,
                            interpreter,
                            purpose,
                        },
                    ));
                    fx.push(Effect::JoinRoom {
                        call: id,
                        session,
                        role: Role::Guest,
                        name,
                    });
                }
            }
            let state =
                if self.guests.contains_key(&session) {
                    CounterState::InCall
                } else if self.calls.values().any(|c| {
                    c.state.in_queue() && c.counter.as_ref().is_some_and(|t| t.code == code)
                }) {
                    CounterState::CallerWaiting
                } else {
                    CounterState::Ready
                };
            if self.devices.told.get(&session) != Some(&state) {
                self.devices.told.insert(session, state);
                fx.push(Effect::Send(session, ServerMsg::CounterState { state }));
            }
        }
    }
}
