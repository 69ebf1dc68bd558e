//! Calling a caller back: an interpreter answering a videomail whose author has the message's
//! page open offers a call; the caller accepts or declines it there. Accepted, it is an
//! ordinary answered call with that interpreter.

use super::{err, Call, CallState, Effect, IState, Relay, RelayError};
use crate::signal::{AskOutcome, CallId, ErrorCode, Purpose, ServerMsg, SessionId};
use std::time::Instant;

/// An offered call back, waiting for the caller's answer.
#[derive(Debug, Clone)]
pub(super) struct Offer {
    interpreter: SessionId,
    expires: Instant,
    purpose: Purpose,
    sign_language: String,
}

impl Relay {
    /// Interpreter `interp` offers caller `caller` (whose message page is open) a call back.
    pub fn offer_call_back(
        &mut self,
        interp: SessionId,
        caller: SessionId,
        purpose: Purpose,
        sign_language: &str,
        now: Instant,
    ) -> Result<Vec<Effect>, RelayError> {
        let Some(i) = self.interpreters.get(&interp) else {
            return err(ErrorCode::Forbidden, "only interpreters call back");
        };
        if !matches!(i.state, IState::Available | IState::Away) {
            return err(ErrorCode::Busy, "end the current call first");
        }
        let from = i.name.clone();
        if self.callers.contains_key(&caller) || self.guests.contains_key(&caller) {
            return err(
                ErrorCode::InterpreterUnavailable,
                "the caller is in another call now",
            );
        }
        if self.callbacks.values().any(|o| o.interpreter == interp) {
            return err(ErrorCode::Busy, "you are calling someone back already");
        }
        if self.callbacks.contains_key(&caller) {
            return err(
                ErrorCode::InterpreterUnavailable,
                "a colleague is calling this caller back",
            );
        }
        self.callbacks.insert(
            caller,
            Offer {
                interpreter: interp,
                expires: now + self.cfg.ring_timeout,
                purpose,
                sign_language: sign_language.to_owned(),
            },
        );
        Ok(vec![Effect::Send(
            caller,
            ServerMsg::CallBackOffer {
                from,
                ring_timeout_secs: self.cfg.ring_timeout.as_secs(),
            },
        )])
    }

    /// The caller answers an offered call back.
    pub fn answer_call_back(
        &mut self,
        caller: SessionId,
        caller_name: &str,
        accept: bool,
        now: Instant,
    ) -> Result<(Option<CallId>, Vec<Effect>), RelayError> {
        let Some(offer) = self.callbacks.remove(&caller) else {
            return err(ErrorCode::NoSuchCall, "no call back is waiting for you");
        };
        let told = |outcome| Effect::Send(offer.interpreter, ServerMsg::CallBackEnded { outcome });
        if !accept {
            return Ok((None, vec![told(AskOutcome::Declined)]));
        }
        let free = self
            .interpreters
            .get(&offer.interpreter)
            .is_some_and(|i| matches!(i.state, IState::Available | IState::Away));
        if offer.expires <= now || !free || self.callers.contains_key(&caller) {
            return err(
                ErrorCode::InterpreterUnavailable,
                "the interpreter cannot take the call now; they will try again",
            );
        }
        let id = self.next_call;
        self.next_call.0 += 1;
        // Rung on the interpreter who asked, and answered by them at once below.
        let mut call = Call::new(
            caller,
            caller_name,
            offer.purpose,
            offer.sign_language.clone(),
            CallState::Ringing {
                interpreter: offer.interpreter,
                deadline: now + self.cfg.ring_timeout,
            },
            now,
        );
        call.rang = self
            .interpreters
            .get(&offer.interpreter)
            .map(|i| vec![i.username.clone()])
            .unwrap_or_default();
        self.calls.insert(id, call);
        self.callers.insert(caller, id);
        if let Some(i) = self.interpreters.get_mut(&offer.interpreter) {
            i.state = IState::Ringing(id);
        }
        let mut fx = vec![
            Effect::Placed {
                call: id,
                purpose: offer.purpose,
                sign_language: offer.sign_language,
                direct: false,
                counter: None,
            },
            told(AskOutcome::Accepted),
        ];
        fx.extend(self.accept(offer.interpreter, id, now)?);
        Ok((Some(id), fx))
    }

    /// Offers past their ring time, and those whose interpreter or caller left.
    pub(super) fn tick_call_backs(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let gone: Vec<SessionId> = self
            .callbacks
            .iter()
            .filter(|(_, o)| o.expires <= now || !self.interpreters.contains_key(&o.interpreter))
            .map(|(c, _)| *c)
            .collect();
        for caller in gone {
            if let Some(o) = self.callbacks.remove(&caller) {
                fx.push(Effect::Send(
                    o.interpreter,
                    ServerMsg::CallBackEnded {
                        outcome: AskOutcome::Timeout,
                    },
                ));
                fx.push(Effect::Send(
                    caller,
                    ServerMsg::CallBackEnded {
                        outcome: AskOutcome::Timeout,
                    },
                ));
            }
        }
    }

    /// A session left: its offered call backs end.
    pub(super) fn drop_call_backs(&mut self, session: SessionId, fx: &mut Vec<Effect>) {
        if let Some(o) = self.callbacks.remove(&session) {
            fx.push(Effect::Send(
                o.interpreter,
                ServerMsg::CallBackEnded {
                    outcome: AskOutcome::Gone,
                },
            ));
        }
        let mine: Vec<SessionId> = self
            .callbacks
            .iter()
            .filter(|(_, o)| o.interpreter == session)
            .map(|(c, _)| *c)
            .collect();
        for caller in mine {
            self.callbacks.remove(&caller);
            fx.push(Effect::Send(
                caller,
                ServerMsg::CallBackEnded {
                    outcome: AskOutcome::Gone,
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{available, relay, sent_to};
    use super::*;
    use crate::signal::{Presence, Role};
    use std::time::Duration;

    const CALLER: SessionId = SessionId(1);
    const ANNA: SessionId = SessionId(10);
    const BO: SessionId = SessionId(11);

    #[test]
    fn an_accepted_call_back_connects_the_two_at_once() {
        let mut r = relay();
        let t = Instant::now();
        available(&mut r, ANNA, "anna", t);
        r.set_presence(ANNA, Presence::Away, t).unwrap();
        let fx = r
            .offer_call_back(ANNA, CALLER, Purpose::DailyLife, "csl", t)
            .unwrap();
        assert!(matches!(
            sent_to(&fx, CALLER)[..],
            [ServerMsg::CallBackOffer { .. }]
        ));
        let (call, fx) = r.answer_call_back(CALLER, "c", true, t).unwrap();
        let call = call.unwrap();
        assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::CallBackEnded {
            outcome: AskOutcome::Accepted
        }));
        for who in [CALLER, ANNA] {
            assert!(sent_to(&fx, who)
                .iter()
                .any(|m| matches!(m, ServerMsg::CallConnected { .. })));
        }
        assert!(fx.iter().any(|e| matches!(
            e,
            Effect::JoinRoom { session, role: Role::Caller, .. } if *session == CALLER
        )));
        assert!(fx.iter().any(|e| matches!(e, Effect::Answered { .. })));
        assert_eq!(r.call_of(ANNA), Some(call));
        assert!(r.answer_call_back(CALLER, "c", true, t).is_err(), "once");
    }

    #[test]
    fn a_declined_or_unanswered_call_back_tells_the_interpreter() {
        let mut r = relay();
        let t = Instant::now();
        available(&mut r, ANNA, "anna", t);
        r.offer_call_back(ANNA, CALLER, Purpose::DailyLife, "csl", t)
            .unwrap();
        let (call, fx) = r.answer_call_back(CALLER, "c", false, t).unwrap();
        assert_eq!(call, None);
        assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::CallBackEnded {
            outcome: AskOutcome::Declined
        }));
        r.offer_call_back(ANNA, CALLER, Purpose::DailyLife, "csl", t)
            .unwrap();
        let fx = r.tick(t + Duration::from_secs(21));
        assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::CallBackEnded {
            outcome: AskOutcome::Timeout
        }));
        assert!(r.answer_call_back(CALLER, "c", true, t).is_err());
    }

    #[test]
    fn one_call_back_at_a_time_and_never_into_a_call() {
        let mut r = relay();
        let t = Instant::now();
        available(&mut r, ANNA, "anna", t);
        available(&mut r, BO, "bo", t);
        r.offer_call_back(ANNA, CALLER, Purpose::DailyLife, "csl", t)
            .unwrap();
        let e = r
            .offer_call_back(BO, CALLER, Purpose::DailyLife, "csl", t)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InterpreterUnavailable);
        assert_eq!(
            r.offer_call_back(ANNA, SessionId(2), Purpose::DailyLife, "csl", t)
                .unwrap_err()
                .code,
            ErrorCode::Busy
        );
        assert_eq!(
            r.offer_call_back(CALLER, SessionId(2), Purpose::DailyLife, "csl", t)
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        // The interpreter leaves: the caller is told.
        let fx = r.leave(ANNA, crate::signal::EndReason::Disconnected, t);
        assert!(sent_to(&fx, CALLER).contains(&&ServerMsg::CallBackEnded {
            outcome: AskOutcome::Gone
        }));
    }
}
