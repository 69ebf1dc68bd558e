//! Service points: their device joins answered calls of its counter by itself.

use super::tests::{available, relay, sent_to};
use super::*;
use crate::signal::{CounterState, Role};

const CALLER: SessionId = SessionId(1);
const CALLER2: SessionId = SessionId(2);
const ANNA: SessionId = SessionId(10);
const BO: SessionId = SessionId(11);
const TABLET: SessionId = SessionId(30);
const TABLET2: SessionId = SessionId(31);

fn at_counter() -> CallOptions<'static> {
    CallOptions {
        preference: None,
        counter: Some(("c0ffee", "3号窗口")),
    }
}

fn states(fx: &[Effect], who: SessionId) -> Vec<CounterState> {
    sent_to(fx, who)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::CounterState { state } => Some(*state),
            _ => None,
        })
        .collect()
}

/// Anna free, the tablet signed in, a resident's call from the counter answered: the effects
/// of the answer.
fn answered_counter_call(r: &mut Relay, t: Instant) -> (CallId, Vec<Effect>) {
    available(r, ANNA, "anna", t);
    r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    let (call, _) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, at_counter(), t)
        .unwrap();
    (call, r.accept(ANNA, call, t).unwrap())
}

fn joined(fx: &[Effect], who: SessionId) -> Option<(CallId, Role)> {
    fx.iter().find_map(|e| match e {
        Effect::JoinRoom {
            call,
            session,
            role,
            ..
        } if *session == who => Some((*call, *role)),
        _ => None,
    })
}

#[test]
fn the_counters_tablet_joins_when_an_interpreter_answers() {
    let mut r = relay();
    let t = Instant::now();
    let fx = r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    assert_eq!(states(&fx, TABLET), vec![CounterState::Ready]);
    let (call, fx) = r
        .place_call_with(
            CALLER,
            "a",
            Purpose::PolicyConsultation,
            None,
            at_counter(),
            t,
        )
        .unwrap();
    assert_eq!(states(&fx, TABLET), vec![CounterState::CallerWaiting]);
    assert!(matches!(
        &fx[0],
        Effect::Placed { counter: Some(c), .. } if c == "c0ffee"
    ));
    let fx = available(&mut r, ANNA, "anna", t);
    let ring = sent_to(&fx, ANNA)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Incoming { service_point, .. } => Some(service_point.clone()),
            _ => None,
        })
        .expect("anna is rung");
    assert_eq!(
        ring.as_deref(),
        Some("3号窗口"),
        "the console says where from"
    );
    assert!(joined(&fx, TABLET).is_none(), "not before an answer");
    let fx = r.accept(ANNA, call, t).unwrap();
    assert_eq!(joined(&fx, TABLET), Some((call, Role::Guest)));
    assert!(sent_to(&fx, TABLET).iter().any(|m| matches!(
        m,
        ServerMsg::CallConnected { interpreter, .. } if interpreter == "anna"
    )));
    assert_eq!(states(&fx, TABLET), vec![CounterState::InCall]);
    assert_eq!(r.members(call).len(), 3);
    let fx = r.hang_up(CALLER, t).unwrap();
    assert!(sent_to(&fx, TABLET)
        .iter()
        .any(|m| matches!(m, ServerMsg::CallEnded { .. })));
    assert_eq!(states(&fx, TABLET), vec![CounterState::Ready]);
    assert_eq!(r.call_of(TABLET), None);
}

#[test]
fn a_tablet_that_signs_in_during_the_call_joins_it_and_one_that_hangs_up_stays_out() {
    let mut r = relay();
    let t = Instant::now();
    available(&mut r, ANNA, "anna", t);
    let (call, _) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, at_counter(), t)
        .unwrap();
    r.accept(ANNA, call, t).unwrap();
    let fx = r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    assert_eq!(joined(&fx, TABLET), Some((call, Role::Guest)));
    let fx = r.hang_up(TABLET, t).unwrap();
    assert!(joined(&fx, TABLET).is_none(), "not pulled straight back");
    assert_eq!(states(&fx, TABLET), vec![CounterState::Ready]);
    assert_eq!(r.call_of(CALLER), Some(call), "the call goes on");
    // A reload of the page (a new session) after a network drop does rejoin.
    let fx = r.leave(TABLET, EndReason::Disconnected, t);
    assert!(fx.is_empty());
    let fx = r.attach_counter(TABLET2, "c0ffee", "3号窗口", t).unwrap();
    assert!(
        joined(&fx, TABLET2).is_none(),
        "hung up on purpose: the call stays without the counter"
    );
}

#[test]
fn a_dropped_tablet_rejoins_and_the_newest_tablet_wins() {
    let mut r = relay();
    let t = Instant::now();
    let (call, _) = answered_counter_call(&mut r, t);
    let fx = r.leave(TABLET, EndReason::Disconnected, t);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::LeaveRoom { session, .. } if *session == TABLET)));
    let fx = r.attach_counter(TABLET2, "c0ffee", "3号窗口", t).unwrap();
    assert_eq!(joined(&fx, TABLET2), Some((call, Role::Guest)));
    // A third sign-in replaces the second, which stays in this call as a plain guest.
    let fx = r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    assert_eq!(states(&fx, TABLET2), vec![CounterState::Replaced]);
    assert_eq!(r.call_of(TABLET2), Some(call));
    assert_eq!(states(&fx, TABLET), vec![CounterState::Ready]);
    assert_eq!(r.counter_devices(), 1);
}

#[test]
fn two_callers_at_one_counter_are_served_in_turn() {
    let mut r = relay();
    let t = Instant::now();
    available(&mut r, ANNA, "anna", t);
    r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    let (first, _) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, at_counter(), t)
        .unwrap();
    let (second, _) = r
        .place_call_with(CALLER2, "b", Purpose::DailyLife, None, at_counter(), t)
        .unwrap();
    r.accept(ANNA, first, t).unwrap();
    available(&mut r, BO, "bo", t);
    let fx = r.accept(BO, second, t).unwrap();
    assert!(joined(&fx, TABLET).is_none(), "the tablet is busy");
    assert_eq!(r.call_of(TABLET), Some(first));
    let fx = r.hang_up(CALLER, t).unwrap();
    assert_eq!(joined(&fx, TABLET), Some((second, Role::Guest)));
}

#[test]
fn a_revoked_counter_tablet_is_told_and_joins_nothing() {
    let mut r = relay();
    let t = Instant::now();
    available(&mut r, ANNA, "anna", t);
    r.attach_counter(TABLET, "c0ffee", "3号窗口", t).unwrap();
    let fx = r.revoke_counter("c0ffee", true, t);
    assert!(sent_to(&fx, TABLET).iter().any(|m| matches!(
        m,
        ServerMsg::Error {
            code: ErrorCode::NoSuchCounter,
            ..
        }
    )));
    let (call, _) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, at_counter(), t)
        .unwrap();
    let fx = r.accept(ANNA, call, t).unwrap();
    assert!(joined(&fx, TABLET).is_none());
    assert!(
        r.attach_counter(CALLER, "x", "y", t).is_err(),
        "a caller page is no tablet"
    );
}

#[test]
fn a_tablet_withdrawn_during_a_call_leaves_it_and_the_call_goes_on() {
    for revoked in [true, false] {
        let mut r = relay();
        let t = Instant::now();
        let (call, fx) = answered_counter_call(&mut r, t);
        assert_eq!(joined(&fx, TABLET), Some((call, Role::Guest)));
        let fx = r.revoke_counter("c0ffee", revoked, t);
        assert!(
            fx.iter().any(|e| matches!(
                e,
                Effect::LeaveRoom { call: c, session } if *c == call && *session == TABLET
            )),
            "the tablet leaves the room (revoked: {revoked})"
        );
        assert_eq!(r.call_of(TABLET), None);
        assert_eq!(r.members(call).len(), 2, "caller and interpreter stay");
        assert_eq!(r.call_of(CALLER), Some(call));
        // Nor does a later refresh seat it again.
        let fx = r.tick(t + Duration::from_secs(1));
        assert!(joined(&fx, TABLET).is_none());
    }
}
