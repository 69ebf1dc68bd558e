//! Warm transfer, team interpreting and stretches, without sockets.

use super::tests::{available, relay, sent_to};
use super::*;
use crate::signal::{AskKind, AskOutcome, Role};

const CALLER: SessionId = SessionId(1);
const ANNA: SessionId = SessionId(10);
const BO: SessionId = SessionId(11);
const CY: SessionId = SessionId(12);

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

/// Anna answers a call; Bo is free.
fn in_call(t0: Instant) -> (Relay, CallId) {
    let mut r = relay();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "caller", Purpose::Medical, None, t0)
        .unwrap();
    r.accept(ANNA, call, secs(t0, 2)).unwrap();
    available(&mut r, BO, "bo", secs(t0, 3));
    (r, call)
}

fn ended(fx: &[Effect], who: SessionId) -> Option<EndReason> {
    sent_to(fx, who).iter().find_map(|m| match m {
        ServerMsg::CallEnded { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn ask_outcome(fx: &[Effect], who: SessionId) -> Option<AskOutcome> {
    sent_to(fx, who).iter().find_map(|m| match m {
        ServerMsg::AskEnded { outcome, .. } => Some(*outcome),
        _ => None,
    })
}

fn record(fx: &[Effect]) -> Option<&CallRecord> {
    fx.iter().find_map(|e| match e {
        Effect::Record(r) => Some(r),
        _ => None,
    })
}

#[test]
fn a_warm_transfer_overlaps_then_lets_the_first_interpreter_go() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    let fx = r.transfer(ANNA, "bo", secs(t0, 60)).unwrap();
    assert!(sent_to(&fx, BO).iter().any(|m| matches!(
        m,
        ServerMsg::Asked { kind: AskKind::Transfer, from, .. } if from == "anna"
    )));
    assert_eq!(r.staffing().busy, 2, "an asked console is busy, not free");
    let fx = r.accept(BO, call, secs(t0, 65)).unwrap();
    assert_eq!(ask_outcome(&fx, ANNA), Some(AskOutcome::Accepted));
    assert!(sent_to(&fx, CALLER)
        .iter()
        .any(|m| matches!(m, ServerMsg::CallConnected { interpreter, .. } if interpreter == "bo")));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::JoinRoom {
            session: BO,
            role: Role::Interpreter,
            ..
        }
    )));
    // Both are in for a moment: Bo leads, Anna introduces.
    assert_eq!(r.members(call), vec![CALLER, BO, ANNA]);
    assert_eq!(r.support_of(call), Some(ANNA));
    assert!(
        r.switch_active(ANNA, secs(t0, 66)).is_err(),
        "no switching back"
    );
    assert!(r
        .tick(secs(t0, 79))
        .iter()
        .all(|e| !matches!(e, Effect::LeaveRoom { .. })));
    let fx = r.tick(secs(t0, 80));
    assert_eq!(ended(&fx, ANNA), Some(EndReason::Transferred));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::LeaveRoom { session: ANNA, .. })));
    assert_eq!(r.members(call), vec![CALLER, BO]);
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::Status {
        status: InterpreterStatus::Away
    }));
    let fx = r.hang_up(CALLER, secs(t0, 100)).unwrap();
    let rec = record(&fx).unwrap();
    let stretches: Vec<_> = rec
        .interpreters
        .iter()
        .map(|s| {
            (
                s.username.as_str(),
                s.support,
                s.from_ms / 1000,
                s.ms / 1000,
            )
        })
        .collect();
    assert_eq!(
        stretches,
        vec![
            ("anna", false, 2, 63),
            ("anna", true, 65, 15),
            ("bo", false, 65, 35)
        ]
    );
    assert_eq!(rec.answered_by.as_deref(), Some("anna"));
}

#[test]
fn transfers_to_someone_who_cannot_take_it_are_refused_and_the_call_goes_on() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    r.sign_in(CY, "cy", "cy", vec!["csl-local".into()], t0)
        .unwrap();
    let code = |r: &mut Relay, to: &str| r.transfer(ANNA, to, secs(t0, 9)).unwrap_err().code;
    assert_eq!(code(&mut r, "anna"), ErrorCode::InterpreterUnavailable);
    assert_eq!(code(&mut r, "nobody"), ErrorCode::InterpreterUnavailable);
    assert_eq!(
        code(&mut r, "cy"),
        ErrorCode::InterpreterUnavailable,
        "away"
    );
    r.set_presence(CY, Presence::Available, t0).unwrap();
    assert_eq!(
        code(&mut r, "cy"),
        ErrorCode::InterpreterUnavailable,
        "other language"
    );
    assert_eq!(
        r.transfer(BO, "anna", t0).unwrap_err().code,
        ErrorCode::NotInCall
    );
    assert_eq!(
        r.transfer(CALLER, "bo", t0).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(r.members(call), vec![CALLER, ANNA]);
    r.transfer(ANNA, "bo", secs(t0, 10)).unwrap();
    assert_eq!(
        r.ask_team(ANNA, None, secs(t0, 10)).unwrap_err().code,
        ErrorCode::Busy,
        "one ask at a time"
    );
}

#[test]
fn an_ask_lapses_or_is_declined_or_cancelled_and_the_call_stays_with_its_interpreter() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    r.transfer(ANNA, "bo", secs(t0, 10)).unwrap();
    let fx = r.tick(secs(t0, 30));
    assert_eq!(ask_outcome(&fx, ANNA), Some(AskOutcome::Timeout));
    assert!(sent_to(&fx, BO).contains(&&ServerMsg::RingStopped {
        call_id: call,
        reason: EndReason::Timeout
    }));
    assert!(r.accept(BO, call, secs(t0, 31)).is_err(), "too late");
    r.set_presence(BO, Presence::Available, secs(t0, 32))
        .unwrap();
    r.ask_team(ANNA, Some("bo"), secs(t0, 33)).unwrap();
    let fx = r.decline(BO, call, secs(t0, 34)).unwrap();
    assert_eq!(ask_outcome(&fx, ANNA), Some(AskOutcome::Declined));
    assert_eq!(r.staffing().available, 1, "bo is free again");
    r.ask_team(ANNA, None, secs(t0, 35)).unwrap();
    let fx = r.cancel_ask(ANNA, secs(t0, 36)).unwrap();
    assert_eq!(ask_outcome(&fx, ANNA), Some(AskOutcome::Cancelled));
    // The caller ends the call while a colleague is rung: the ring stops, they are free.
    r.transfer(ANNA, "bo", secs(t0, 37)).unwrap();
    let fx = r.hang_up(CALLER, secs(t0, 38)).unwrap();
    assert!(sent_to(&fx, BO).contains(&&ServerMsg::RingStopped {
        call_id: call,
        reason: EndReason::Taken
    }));
    assert_eq!(r.staffing().available, 2);
}

#[test]
fn a_team_supports_switches_talks_privately_and_the_support_cannot_end_the_call() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    r.ask_team(ANNA, None, secs(t0, 5)).unwrap();
    let fx = r.accept(BO, call, secs(t0, 6)).unwrap();
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::JoinRoom { session: BO, .. })));
    assert!(
        sent_to(&fx, CALLER).is_empty(),
        "the caller keeps their interpreter"
    );
    assert_eq!(r.members(call), vec![CALLER, ANNA, BO]);
    assert_eq!(r.support_of(call), Some(BO));
    assert_eq!(
        r.hang_up(BO, secs(t0, 7)).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        r.hand_back(BO, secs(t0, 7)).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        r.transfer(BO, "anna", secs(t0, 7)).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(r.members(call).len(), 3, "the call goes on");

    let fx = r.team_note(BO, " 药名：阿莫西林 ").unwrap();
    assert_eq!(
        fx,
        vec![Effect::Send(
            ANNA,
            ServerMsg::TeamNote {
                from: "bo".into(),
                text: "药名：阿莫西林".into()
            }
        )]
    );
    assert!(r.team_note(BO, "").is_err());
    assert!(r
        .team_note(BO, &"字".repeat(MAX_TEAM_NOTE_CHARS + 1))
        .is_err());
    assert_eq!(
        r.team_note(CALLER, "x").unwrap_err().code,
        ErrorCode::NotInCall
    );

    let fx = r.switch_active(BO, secs(t0, 600)).unwrap();
    assert!(fx.contains(&Effect::Roster { call }));
    assert_eq!(r.members(call), vec![CALLER, BO, ANNA]);
    assert_eq!(r.support_of(call), Some(ANNA));
    let fx = r.leave_team(ANNA, secs(t0, 700)).unwrap();
    assert_eq!(ended(&fx, ANNA), Some(EndReason::LeftTeam));
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::Status {
        status: InterpreterStatus::Available
    }));
    assert_eq!(
        r.leave_team(BO, secs(t0, 701)).unwrap_err().code,
        ErrorCode::Forbidden
    );
    let fx = r.hang_up(BO, secs(t0, 800)).unwrap();
    let rec = record(&fx).unwrap();
    let s: Vec<_> = rec
        .interpreters
        .iter()
        .map(|s| (s.username.as_str(), s.support))
        .collect();
    assert_eq!(
        s,
        vec![("anna", false), ("bo", true), ("bo", false), ("anna", true)]
    );
}

#[test]
fn when_the_active_interpreter_drops_the_support_takes_over_without_requeueing() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    r.ask_team(ANNA, Some("bo"), secs(t0, 5)).unwrap();
    r.accept(BO, call, secs(t0, 6)).unwrap();
    let fx = r.leave(ANNA, EndReason::Disconnected, secs(t0, 50));
    assert!(!sent_to(&fx, CALLER)
        .iter()
        .any(|m| matches!(m, ServerMsg::InterpreterLost { .. })));
    assert!(sent_to(&fx, CALLER)
        .iter()
        .any(|m| matches!(m, ServerMsg::CallConnected { interpreter, .. } if interpreter == "bo")));
    assert_eq!(r.members(call), vec![CALLER, BO]);
    assert_eq!(r.call_counts(), (0, 0, 1));
    // And a hand-back in a team leaves the call with the support too.
    available(&mut r, CY, "cy", secs(t0, 51));
    r.ask_team(BO, Some("cy"), secs(t0, 52)).unwrap();
    r.accept(CY, call, secs(t0, 53)).unwrap();
    let fx = r.hand_back(BO, secs(t0, 54)).unwrap();
    assert_eq!(ended(&fx, BO), Some(EndReason::HandedBack));
    assert_eq!(r.members(call), vec![CALLER, CY]);
}

#[test]
fn a_support_who_drops_leaves_the_team_and_an_asked_console_is_not_rung_for_the_queue() {
    let t0 = Instant::now();
    let (mut r, call) = in_call(t0);
    r.ask_team(ANNA, Some("bo"), secs(t0, 5)).unwrap();
    let (_, fx) = r
        .place_call(SessionId(2), "b", Purpose::DailyLife, None, secs(t0, 6))
        .unwrap();
    assert!(
        !sent_to(&fx, BO)
            .iter()
            .any(|m| matches!(m, ServerMsg::Incoming { .. })),
        "bo is being asked, not free"
    );
    let fx = r.set_presence(BO, Presence::Away, secs(t0, 7)).unwrap();
    assert_eq!(ask_outcome(&fx, ANNA), Some(AskOutcome::Declined));
    r.set_presence(BO, Presence::Available, secs(t0, 8))
        .unwrap();
    // Bo was rung for the waiting call; Cy joins Anna's call instead.
    available(&mut r, CY, "cy", secs(t0, 9));
    r.ask_team(ANNA, Some("cy"), secs(t0, 10)).unwrap();
    r.accept(CY, call, secs(t0, 11)).unwrap();
    let fx = r.leave(CY, EndReason::Disconnected, secs(t0, 12));
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::LeaveRoom { session: CY, .. })));
    assert_eq!(r.members(call), vec![CALLER, ANNA]);
    assert_eq!(r.support_of(call), None);
}
