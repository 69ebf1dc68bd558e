//! Captioners (速录员) in calls, pure: who is on duty for call work, which calls' callers have
//! agreed to a captioner, and who serves which call. A captioner hears a private conversation,
//! so nothing here puts one into a call without the caller's yes, and a withdrawn yes takes
//! them out at once. Input + now → [`Out`]; the switchboard carries it out.

use crate::signal::{CallId, CaptionerState, SessionId};
use std::collections::BTreeMap;
use std::time::Instant;
use thiserror::Error;

/// Why a captioner request changed nothing.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CaptionerError {
    /// Nobody is on duty for calls, so asking the caller would only raise hopes.
    #[error("no captioner is on duty for calls now")]
    NoneOnDuty,
    /// The caller already agreed (a captioner is in the call or on the way).
    #[error("this call already has a captioner or is waiting for one")]
    AlreadyWanted,
    /// The console is not on duty, or serves no call.
    #[error("you are not captioning a call")]
    NotServing,
}

/// What the switchboard is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Let this captioner listen to the call and send them its captions.
    Join {
        /// The call.
        call: CallId,
        /// The captioner's session.
        captioner: SessionId,
    },
    /// Take this captioner out of the call.
    Leave {
        /// The call.
        call: CallId,
        /// The captioner's session.
        captioner: SessionId,
    },
    /// Tell the call's pages where it stands (see [`Captioners::state`]).
    CallState(CallId),
    /// Tell a captioner's console its duty and call (see [`Captioners::duty`]).
    Duty(SessionId),
}

#[derive(Debug, Clone)]
struct Desk {
    name: String,
    call: Option<CallId>,
    /// Since when free: the longest free captioner is given the next call.
    free_since: Instant,
}

#[derive(Debug, Clone)]
struct Want {
    agreed_at: Instant,
    captioner: Option<SessionId>,
}

/// Captioners for calls on this server.
#[derive(Debug, Default)]
pub struct Captioners {
    desks: BTreeMap<SessionId, Desk>,
    wants: BTreeMap<CallId, Want>,
}

impl Captioners {
    /// No one on duty, no call waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Captioners on duty for calls.
    pub fn on_duty(&self) -> usize {
        self.desks.len()
    }

    /// Captioners serving a call now (for `/metrics`: zero when no call has one).
    pub fn serving(&self) -> usize {
        self.desks.values().filter(|d| d.call.is_some()).count()
    }

    /// A call's captioner state and, while on, the captioner's name.
    pub fn state(&self, call: CallId) -> (CaptionerState, Option<String>) {
        match self.wants.get(&call) {
            None => (CaptionerState::Off, None),
            Some(Want {
                captioner: Some(c), ..
            }) => (
                CaptionerState::On,
                self.desks.get(c).map(|d| d.name.clone()),
            ),
            Some(_) => (CaptionerState::Waiting, None),
        }
    }

    /// A console's duty: on or not, and the call it serves.
    pub fn duty(&self, captioner: SessionId) -> (bool, Option<CallId>) {
        match self.desks.get(&captioner) {
            Some(d) => (true, d.call),
            None => (false, None),
        }
    }

    /// The call a captioner serves.
    pub fn call_of(&self, captioner: SessionId) -> Result<CallId, CaptionerError> {
        self.desks
            .get(&captioner)
            .and_then(|d| d.call)
            .ok_or(CaptionerError::NotServing)
    }

    /// The captioner serving a call.
    pub fn captioner_of(&self, call: CallId) -> Option<(SessionId, &str)> {
        let c = self.wants.get(&call)?.captioner?;
        Some((c, self.desks.get(&c)?.name.as_str()))
    }

    /// A captioner's console takes call work; the call waiting longest gets them.
    pub fn go_on_duty(&mut self, captioner: SessionId, name: &str, now: Instant) -> Vec<Out> {
        if self.desks.contains_key(&captioner) {
            return vec![Out::Duty(captioner)];
        }
        self.desks.insert(
            captioner,
            Desk {
                name: name.to_owned(),
                call: None,
                free_since: now,
            },
        );
        let mut out = vec![Out::Duty(captioner)];
        self.match_up(&mut out);
        // Pages asking "is anyone on duty?" learn the answer changed.
        self.all_states(&mut out);
        out
    }

    /// A console stops call work (or is gone): its call goes back to waiting for another.
    pub fn go_off_duty(&mut self, captioner: SessionId) -> Vec<Out> {
        let Some(desk) = self.desks.remove(&captioner) else {
            return Vec::new();
        };
        let mut out = vec![Out::Duty(captioner)];
        if let Some(call) = desk.call {
            out.push(Out::Leave { call, captioner });
            if let Some(w) = self.wants.get_mut(&call) {
                w.captioner = None;
            }
        }
        self.match_up(&mut out);
        self.all_states(&mut out);
        out
    }

    /// The caller of `call` agrees (`yes`) to a captioner, or withdraws.
    pub fn consent(&mut self, call: CallId, yes: bool, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        if yes {
            if self.wants.contains_key(&call) {
                return vec![Out::CallState(call)];
            }
            self.wants.insert(
                call,
                Want {
                    agreed_at: now,
                    captioner: None,
                },
            );
            self.match_up(&mut out);
            if !out.contains(&Out::CallState(call)) {
                out.push(Out::CallState(call));
            }
            return out;
        }
        let Some(w) = self.wants.remove(&call) else {
            return vec![Out::CallState(call)];
        };
        if let Some(c) = w.captioner {
            self.release(c, call, now, &mut out);
            self.match_up(&mut out);
        }
        out.push(Out::CallState(call));
        out
    }

    /// An interpreter proposes a captioner: the caller is to be asked, if asking can help.
    pub fn suggest(&self, call: CallId) -> Result<(), CaptionerError> {
        if self.wants.contains_key(&call) {
            return Err(CaptionerError::AlreadyWanted);
        }
        if self.desks.is_empty() {
            return Err(CaptionerError::NoneOnDuty);
        }
        Ok(())
    }

    /// A call ended: its captioner is free for the next.
    pub fn call_ended(&mut self, call: CallId, now: Instant) -> Vec<Out> {
        let Some(w) = self.wants.remove(&call) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(c) = w.captioner {
            self.release(c, call, now, &mut out);
            self.match_up(&mut out);
        }
        out
    }

    fn release(&mut self, captioner: SessionId, call: CallId, now: Instant, out: &mut Vec<Out>) {
        if let Some(d) = self.desks.get_mut(&captioner) {
            d.call = None;
            d.free_since = now;
        }
        out.push(Out::Leave { call, captioner });
        out.push(Out::Duty(captioner));
    }

    /// Gives waiting calls (longest waiting first) the captioners free longest.
    fn match_up(&mut self, out: &mut Vec<Out>) {
        loop {
            let Some(call) = self
                .wants
                .iter()
                .filter(|(_, w)| w.captioner.is_none())
                .min_by_key(|(c, w)| (w.agreed_at, **c))
                .map(|(c, _)| *c)
            else {
                return;
            };
            let Some(captioner) = self
                .desks
                .iter()
                .filter(|(_, d)| d.call.is_none())
                .min_by_key(|(s, d)| (d.free_since, **s))
                .map(|(s, _)| *s)
            else {
                return;
            };
            if let Some(d) = self.desks.get_mut(&captioner) {
                d.call = Some(call);
            }
            if let Some(w) = self.wants.get_mut(&call) {
                w.captioner = Some(captioner);
            }
            out.push(Out::Join { call, captioner });
            out.push(Out::Duty(captioner));
            out.push(Out::CallState(call));
        }
    }

    /// Every call with a captioner wanted hears the new count on duty.
    fn all_states(&self, out: &mut Vec<Out>) {
        for call in self.wants.keys() {
            let o = Out::CallState(*call);
            if !out.contains(&o) {
                out.push(o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t0() -> Instant {
        Instant::now()
    }

    const A: SessionId = SessionId(10);
    const B: SessionId = SessionId(11);
    const C1: CallId = CallId(1);
    const C2: CallId = CallId(2);

    fn joins(out: &[Out]) -> Vec<(CallId, SessionId)> {
        out.iter()
            .filter_map(|o| match o {
                Out::Join { call, captioner } => Some((*call, *captioner)),
                _ => None,
            })
            .collect()
    }

    fn leaves(out: &[Out]) -> Vec<(CallId, SessionId)> {
        out.iter()
            .filter_map(|o| match o {
                Out::Leave { call, captioner } => Some((*call, *captioner)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn nobody_joins_without_the_callers_yes() {
        let now = t0();
        let mut c = Captioners::new();
        let out = c.go_on_duty(A, "小王", now);
        assert!(joins(&out).is_empty());
        // A suggestion is only a question to the caller.
        assert_eq!(c.suggest(C1), Ok(()));
        assert_eq!(c.state(C1), (CaptionerState::Off, None));
        assert_eq!(c.serving(), 0);
        let out = c.consent(C1, true, now);
        assert_eq!(joins(&out), vec![(C1, A)]);
        assert!(out.contains(&Out::CallState(C1)));
        assert_eq!(c.state(C1), (CaptionerState::On, Some("小王".into())));
        assert_eq!(c.call_of(A), Ok(C1));
        assert_eq!(c.captioner_of(C1), Some((A, "小王")));
    }

    #[test]
    fn withdrawing_takes_the_captioner_out_at_once() {
        let now = t0();
        let mut c = Captioners::new();
        c.go_on_duty(A, "a", now);
        c.consent(C1, true, now);
        let out = c.consent(C1, false, now);
        assert_eq!(leaves(&out), vec![(C1, A)]);
        assert_eq!(c.state(C1).0, CaptionerState::Off);
        assert_eq!(c.call_of(A), Err(CaptionerError::NotServing));
        assert_eq!(c.duty(A), (true, None));
        assert_eq!(c.serving(), 0);
    }

    #[test]
    fn a_yes_with_nobody_free_waits_and_the_next_captioner_takes_it() {
        let now = t0();
        let mut c = Captioners::new();
        let out = c.consent(C1, true, now);
        assert!(joins(&out).is_empty());
        assert_eq!(c.state(C1).0, CaptionerState::Waiting);
        let out = c.go_on_duty(A, "a", now + Duration::from_secs(5));
        assert_eq!(joins(&out), vec![(C1, A)]);
    }

    #[test]
    fn the_call_waiting_longest_gets_the_captioner_free_longest() {
        let now = t0();
        let mut c = Captioners::new();
        c.consent(C2, true, now);
        c.consent(C1, true, now + Duration::from_secs(1));
        c.go_on_duty(B, "b", now + Duration::from_secs(2));
        assert_eq!(c.call_of(B), Ok(C2));
        assert_eq!(c.state(C1).0, CaptionerState::Waiting);
        // C2 ends: B takes C1.
        let out = c.call_ended(C2, now + Duration::from_secs(3));
        assert_eq!(leaves(&out), vec![(C2, B)]);
        assert_eq!(joins(&out), vec![(C1, B)]);
        c.call_ended(C1, now + Duration::from_secs(4));
        assert_eq!(c.serving(), 0);
        assert_eq!(c.state(C1).0, CaptionerState::Off);
    }

    #[test]
    fn a_captioner_who_drops_out_leaves_the_call_waiting_for_another() {
        let now = t0();
        let mut c = Captioners::new();
        c.go_on_duty(A, "a", now);
        c.go_on_duty(B, "b", now + Duration::from_secs(1));
        c.consent(C1, true, now);
        assert_eq!(c.call_of(A), Ok(C1));
        let out = c.go_off_duty(A);
        assert_eq!(leaves(&out), vec![(C1, A)]);
        assert_eq!(joins(&out), vec![(C1, B)]);
        let out = c.go_off_duty(B);
        assert_eq!(leaves(&out), vec![(C1, B)]);
        assert_eq!(c.state(C1).0, CaptionerState::Waiting);
        assert_eq!(c.on_duty(), 0);
        // Off twice is nothing.
        assert!(c.go_off_duty(B).is_empty());
    }

    #[test]
    fn suggestions_that_cannot_help_are_refused() {
        let now = t0();
        let mut c = Captioners::new();
        assert_eq!(c.suggest(C1), Err(CaptionerError::NoneOnDuty));
        c.go_on_duty(A, "a", now);
        c.consent(C1, true, now);
        assert_eq!(c.suggest(C1), Err(CaptionerError::AlreadyWanted));
        // Saying yes twice changes nothing.
        let out = c.consent(C1, true, now);
        assert!(joins(&out).is_empty());
        assert_eq!(c.call_of(A), Ok(C1));
    }

    #[test]
    fn one_captioner_serves_one_call_at_a_time() {
        let now = t0();
        let mut c = Captioners::new();
        c.go_on_duty(A, "a", now);
        c.consent(C1, true, now);
        let out = c.consent(C2, true, now);
        assert!(joins(&out).is_empty());
        assert_eq!(c.state(C2).0, CaptionerState::Waiting);
        assert_eq!(c.serving(), 1);
        // A call that ends while waiting leaves nothing behind.
        c.call_ended(C2, now);
        assert_eq!(c.state(C2).0, CaptionerState::Off);
        assert!(c.call_ended(C2, now).is_empty());
    }
}
