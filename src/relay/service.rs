//! The service's inner workings: ringing free interpreters in order, keeping queue positions
//! and consoles up to date, and ending calls with their records.

use super::queue::{self, estimate_wait_secs};
use super::{CallId, CallRecord, CallState, Effect, IState, QueuedView, Relay};
use crate::signal::{AskOutcome, EndReason, Role, ServerMsg, SessionId};
use std::time::Instant;

impl Relay {
    pub(super) fn push_status(&self, session: SessionId, fx: &mut Vec<Effect>) {
        if let Some(i) = self.interpreters.get(&session) {
            fx.push(Effect::Send(
                session,
                ServerMsg::Status { status: i.status() },
            ));
        }
    }

    /// An interpreter who answered (a call or a colleague's ask) joins its room as
    /// interpreter and is in that call from now on; every console sees the change.
    pub(super) fn join_as_interpreter(
        &mut self,
        call_id: CallId,
        session: SessionId,
        name: String,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::JoinRoom {
            call: call_id,
            session,
            role: Role::Interpreter,
            name,
        });
        if let Some(i) = self.interpreters.get_mut(&session) {
            i.state = IState::InCall(call_id);
        }
        self.push_status(session, fx);
        self.refresh(now, fx);
    }

    /// Puts a ringing call back in the queue and tells the interpreter the ring stopped.
    pub(super) fn unring(
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

    pub(super) fn requeue_after_drop(
        &mut self,
        call_id: CallId,
        interp: SessionId,
        handed_back: bool,
        fx: &mut Vec<Effect>,
    ) {
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.state = CallState::Queued;
        call.requeued = true;
        fx.push(Effect::LeaveRoom {
            call: call_id,
            session: interp,
        });
        let lost = ServerMsg::InterpreterLost {
            call_id,
            handed_back,
        };
        fx.push(Effect::Send(call.caller, lost.clone()));
        for g in &call.guests {
            fx.push(Effect::Send(*g, lost.clone()));
        }
    }

    pub(super) fn remove_guest(&mut self, call: CallId, session: SessionId, fx: &mut Vec<Effect>) {
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

    pub(super) fn end_call(
        &mut self,
        id: CallId,
        reason: EndReason,
        by: Option<Role>,
        now: Instant,
        fx: &mut Vec<Effect>,
    ) {
        self.end_ask(id, AskOutcome::Cancelled, now, fx);
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
        if let Some(support) = call.support {
            if let Some(i) = self.interpreters.get_mut(&support.session) {
                i.state = IState::Available;
                i.idle_since = now;
            }
            fx.push(Effect::Send(support.session, ended.clone()));
            self.push_status(support.session, fx);
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
            interpreters: call.stretch_records(now),
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
        self.ring_waiting(now, fx);
        self.refresh(now, fx);
    }

    /// Rings free interpreters for waiting calls, in service order.
    pub(super) fn ring_waiting(&mut self, now: Instant, fx: &mut Vec<Effect>) {
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
                .min_by_key(|(s, i)| {
                    (
                        i.misfit(call.purpose, call.preference.as_deref()),
                        i.idle_since,
                        **s,
                    )
                })
                .map(|(s, _)| *s);
            let Some(interp) = pick else {
                continue;
            };
            let deadline = now + self.cfg.ring_timeout;
            let (caller, purpose, lang, waited, preference, service_point) = {
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
                    c.preference.clone(),
                    c.counter.as_ref().map(|t| t.name.clone()),
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
                    preferred_interpreter_gender: preference,
                    service_point,
                },
            ));
            self.push_status(interp, fx);
            fx.push(Effect::Send(caller, ServerMsg::Connecting { call_id }));
            self.sent_positions.remove(&call_id);
        }
    }

    /// Sends queue positions to waiting callers and the queue to consoles, when they changed.
    pub(super) fn refresh(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        self.seat_counters(fx);
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
            let (online, on_duty) = self.staff_for(&c.sign_language);
            let view = QueuedView {
                position,
                est,
                online,
                on_duty,
            };
            if self.sent_positions.get(id) != Some(&view) {
                self.sent_positions.insert(*id, view);
                fx.push(Effect::Send(
                    c.caller,
                    ServerMsg::Queued {
                        call_id: *id,
                        position,
                        estimated_wait_secs: est,
                        interpreters_online: online,
                        interpreters_on_duty: on_duty,
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
        let colleagues = self.colleagues();
        let snapshot = (key, staffing, colleagues);
        if self.sent_snapshot.as_ref() == Some(&snapshot) {
            return;
        }
        let calls = self.queue_entries(now);
        for s in self.interpreters.keys() {
            fx.push(Effect::Send(
                *s,
                ServerMsg::QueueSnapshot {
                    calls: calls.clone(),
                    staffing,
                    colleagues: snapshot.2.clone(),
                },
            ));
        }
        self.sent_snapshot = Some(snapshot);
    }

    /// Waiting and ringing calls in the order they are served.
    pub(super) fn service_order(&self) -> Vec<CallId> {
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
