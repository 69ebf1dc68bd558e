use super::*;
use crate::signal::Role;

const CALLER: SessionId = SessionId(1);
const CALLER2: SessionId = SessionId(2);
const CALLER3: SessionId = SessionId(3);
const ANNA: SessionId = SessionId(10);
const BO: SessionId = SessionId(11);
const GUEST: SessionId = SessionId(20);

pub(super) fn relay() -> Relay {
    Relay::new(RelayConfig {
        ring_timeout: Duration::from_secs(20),
        invite_ttl: Duration::from_secs(600),
        max_queue: 3,
        max_emergency_queue: 2,
        sign_languages: vec!["csl".into(), "csl-local".into()],
        decline_cooldown: Duration::from_secs(60),
        transfer_overlap: Duration::from_secs(15),
    })
}

pub(super) fn sent_to(fx: &[Effect], who: SessionId) -> Vec<&ServerMsg> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(s, m) if *s == who => Some(m),
            _ => None,
        })
        .collect()
}

fn rang(fx: &[Effect]) -> Vec<(SessionId, CallId)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send(s, ServerMsg::Incoming { call_id, .. }) => Some((*s, *call_id)),
            _ => None,
        })
        .collect()
}

fn pref(gender: &str) -> CallOptions<'_> {
    CallOptions {
        preference: Some(gender),
        counter: None,
    }
}

pub(super) fn available(r: &mut Relay, s: SessionId, name: &str, t: Instant) -> Vec<Effect> {
    r.sign_in(s, name, name, vec![], t).unwrap();
    r.set_presence(s, Presence::Available, t).unwrap()
}

#[test]
fn a_call_rings_the_longest_idle_interpreter_and_connects_on_accept() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, BO, "bo", t0 + Duration::from_secs(5));
    available(&mut r, ANNA, "anna", t0);
    let (call, fx) = r
        .place_call(
            CALLER,
            "caller",
            Purpose::DailyLife,
            None,
            t0 + Duration::from_secs(6),
        )
        .unwrap();
    assert_eq!(rang(&fx), vec![(ANNA, call)], "anna has been idle longest");
    assert!(sent_to(&fx, CALLER).contains(&&ServerMsg::Connecting { call_id: call }));

    let fx = r.accept(ANNA, call, t0 + Duration::from_secs(8)).unwrap();
    let joins: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::JoinRoom { session, role, .. } => Some((*session, *role)),
            _ => None,
        })
        .collect();
    assert_eq!(
        joins,
        vec![(CALLER, Role::Caller), (ANNA, Role::Interpreter)]
    );
    assert!(
        matches!(sent_to(&fx, CALLER)[0], ServerMsg::CallConnected { interpreter, .. } if interpreter == "anna")
    );
    assert_eq!(r.members(call), vec![CALLER, ANNA]);
    assert_eq!(
        r.staffing(),
        Staffing {
            available: 1,
            busy: 1,
            away: 0
        }
    );
}

#[test]
fn emergencies_are_served_first_then_fifo() {
    let mut r = relay();
    let t0 = Instant::now();
    let (c1, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    let (c2, _) = r
        .place_call(
            CALLER2,
            "b",
            Purpose::PolicyConsultation,
            None,
            t0 + Duration::from_secs(1),
        )
        .unwrap();
    let (c3, fx) = r
        .place_call(
            CALLER3,
            "c",
            Purpose::Emergency,
            None,
            t0 + Duration::from_secs(2),
        )
        .unwrap();
    // Nobody is signed in: positions are known, the wait is not.
    assert!(sent_to(&fx, CALLER3).contains(&&ServerMsg::Queued {
        call_id: c3,
        position: 1,
        estimated_wait_secs: None,
        interpreters_online: 0,
        interpreters_on_duty: 0,
    }));
    assert_eq!(r.service_order(), vec![c3, c1, c2]);
    let fx = available(&mut r, ANNA, "anna", t0 + Duration::from_secs(3));
    assert_eq!(rang(&fx), vec![(ANNA, c3)]);
}

#[test]
fn queue_positions_update_live_as_calls_ahead_leave() {
    let mut r = relay();
    let t0 = Instant::now();
    r.sign_in(ANNA, "anna", "anna", vec![], t0).unwrap();
    r.place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    let (c2, _) = r
        .place_call(CALLER2, "b", Purpose::DailyLife, None, t0)
        .unwrap();
    let fx = r.cancel(CALLER, t0 + Duration::from_secs(1)).unwrap();
    let q: Vec<_> = sent_to(&fx, CALLER2);
    assert!(
        q.iter()
            .any(|m| matches!(m, ServerMsg::Queued { call_id, position: 1, .. } if *call_id == c2)),
        "{q:?}"
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::Record(rec) if rec.reason == EndReason::Cancelled && rec.answered_by.is_none())));
    // The interpreter's console saw the queue shrink.
    assert!(sent_to(&fx, ANNA)
        .iter()
        .any(|m| matches!(m, ServerMsg::QueueSnapshot { calls, .. } if calls.len() == 1)));
}

#[test]
fn an_unanswered_ring_moves_on_and_sets_the_console_away() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    available(&mut r, BO, "bo", t0 + Duration::from_secs(1));
    let (call, _) = r
        .place_call(
            CALLER,
            "a",
            Purpose::DailyLife,
            None,
            t0 + Duration::from_secs(2),
        )
        .unwrap();
    assert!(r.tick(t0 + Duration::from_secs(21)).is_empty(), "not yet");
    let fx = r.tick(t0 + Duration::from_secs(22));
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::RingStopped {
        call_id: call,
        reason: EndReason::Timeout
    }));
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::Status {
        status: InterpreterStatus::Away
    }));
    assert_eq!(
        rang(&fx),
        vec![(BO, call)],
        "the call rings the next interpreter"
    );
    assert!(
        r.accept(ANNA, call, t0 + Duration::from_secs(23)).is_err(),
        "anna's ring is over"
    );
    r.accept(BO, call, t0 + Duration::from_secs(23)).unwrap();
}

#[test]
fn a_declined_call_rings_someone_else_and_not_the_decliner_again_soon() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    let fx = r.decline(ANNA, call, t0 + Duration::from_secs(1)).unwrap();
    assert!(
        rang(&fx).is_empty(),
        "nobody else is free and anna just declined"
    );
    let fx = available(&mut r, BO, "bo", t0 + Duration::from_secs(2));
    assert_eq!(rang(&fx), vec![(BO, call)]);
    r.decline(BO, call, t0 + Duration::from_secs(3)).unwrap();
    let fx = r.tick(t0 + Duration::from_secs(62));
    assert_eq!(
        rang(&fx),
        vec![(ANNA, call)],
        "after the cooldown anna is rung again"
    );
}

#[test]
fn a_dropped_interpreter_puts_the_caller_back_at_the_front() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    r.accept(ANNA, call, t0).unwrap();
    let (later, _) = r
        .place_call(
            CALLER2,
            "b",
            Purpose::PolicyConsultation,
            None,
            t0 + Duration::from_secs(1),
        )
        .unwrap();
    let fx = r.leave(ANNA, EndReason::Disconnected, t0 + Duration::from_secs(30));
    assert!(sent_to(&fx, CALLER).contains(&&ServerMsg::InterpreterLost {
        call_id: call,
        handed_back: false
    }));
    assert!(fx.contains(&Effect::LeaveRoom {
        call,
        session: ANNA
    }));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::CloseRoom { .. })),
        "the room stays for the caller"
    );
    assert!(sent_to(&fx, CALLER)
        .iter()
        .any(|m| matches!(m, ServerMsg::Queued { position: 1, .. })));
    assert_eq!(r.service_order(), vec![call, later]);
    // The next interpreter joins the same room; the caller does not rejoin.
    let fx = available(&mut r, BO, "bo", t0 + Duration::from_secs(31));
    assert_eq!(rang(&fx), vec![(BO, call)]);
    let fx = r.accept(BO, call, t0 + Duration::from_secs(32)).unwrap();
    let joins: Vec<_> = fx
        .iter()
        .filter(|e| matches!(e, Effect::JoinRoom { .. }))
        .collect();
    assert_eq!(joins.len(), 1);
    // The record keeps the first answer.
    let fx = r.hang_up(CALLER, t0 + Duration::from_secs(40)).unwrap();
    let rec = fx
        .iter()
        .find_map(|e| match e {
            Effect::Record(r) => Some(r.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(rec.answered_by.as_deref(), Some("anna"));
    assert_eq!(rec.rang, vec!["anna".to_string(), "bo".to_string()]);
    assert_eq!(rec.ended_by, Some(Role::Caller));
}

#[test]
fn hang_up_ends_it_for_everyone_and_frees_the_interpreter() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    r.accept(ANNA, call, t0).unwrap();
    r.create_invite(ANNA, "tok".into(), t0).unwrap();
    r.join_invite(GUEST, "tok", "clinic", t0).unwrap();
    let fx = r.hang_up(ANNA, t0 + Duration::from_secs(60)).unwrap();
    for s in [CALLER, GUEST, ANNA] {
        assert!(
            sent_to(&fx, s).iter().any(|m| matches!(
                m,
                ServerMsg::CallEnded {
                    by: Some(Role::Interpreter),
                    ..
                }
            )),
            "{s} told"
        );
    }
    assert!(fx.contains(&Effect::CloseRoom { call }));
    assert_eq!(r.staffing().available, 1);
    assert_eq!(r.call_of(CALLER), None);
    assert_eq!(r.call_of(GUEST), None);
}

#[test]
fn invitations_are_one_time_expire_and_die_with_the_call() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    assert_eq!(
        r.create_invite(CALLER, "early".into(), t0)
            .unwrap_err()
            .code,
        ErrorCode::NotInCall,
        "no invitations before the call connects"
    );
    r.accept(ANNA, call, t0).unwrap();
    r.create_invite(CALLER, "once".into(), t0).unwrap();
    r.join_invite(GUEST, "once", "clinic", t0).unwrap();
    assert_eq!(
        r.join_invite(SessionId(GUEST.0 + 1), "once", "x", t0)
            .unwrap_err()
            .code,
        ErrorCode::InviteInvalid
    );
    assert_eq!(
        r.create_invite(GUEST, "g".into(), t0).unwrap_err().code,
        ErrorCode::Forbidden
    );

    r.create_invite(ANNA, "late".into(), t0).unwrap();
    let t_exp = t0 + Duration::from_secs(601);
    assert_eq!(
        r.join_invite(SessionId(GUEST.0 + 2), "late", "x", t_exp)
            .unwrap_err()
            .code,
        ErrorCode::InviteInvalid
    );

    r.create_invite(ANNA, "orphan".into(), t0).unwrap();
    r.hang_up(CALLER, t0 + Duration::from_secs(5)).unwrap();
    assert_eq!(
        r.join_invite(SessionId(GUEST.0 + 3), "orphan", "x", t0)
            .unwrap_err()
            .code,
        ErrorCode::InviteInvalid
    );
}

#[test]
fn wrong_roles_and_wrong_calls_are_refused_without_changing_anything() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    available(&mut r, BO, "bo", t0 + Duration::from_secs(1));
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::DailyLife, None, t0)
        .unwrap();
    assert_eq!(
        r.accept(CALLER, call, t0).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        r.accept(BO, call, t0).unwrap_err().code,
        ErrorCode::NoSuchCall
    );
    assert_eq!(
        r.accept(ANNA, CallId(999), t0).unwrap_err().code,
        ErrorCode::NoSuchCall
    );
    assert_eq!(
        r.set_presence(CALLER, Presence::Away, t0).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        r.place_call(CALLER, "a", Purpose::DailyLife, None, t0)
            .unwrap_err()
            .code,
        ErrorCode::AlreadyInCall
    );
    assert_eq!(
        r.place_call(CALLER2, "b", Purpose::DailyLife, Some("klingon"), t0)
            .unwrap_err()
            .code,
        ErrorCode::UnknownSignLanguage
    );
    assert_eq!(
        r.sign_in(SessionId(99), "anna", "anna", vec![], t0)
            .unwrap_err()
            .code,
        ErrorCode::AlreadySignedIn
    );
    assert_eq!(
        r.hang_up(CALLER2, t0).unwrap_err().code,
        ErrorCode::NotInCall
    );
    r.accept(ANNA, call, t0).unwrap();
    assert_eq!(
        r.set_presence(ANNA, Presence::Away, t0).unwrap_err().code,
        ErrorCode::Busy
    );
}

#[test]
fn the_queue_has_a_limit() {
    let mut r = relay();
    let t0 = Instant::now();
    for s in 1..=3 {
        r.place_call(SessionId(s), "x", Purpose::DailyLife, None, t0)
            .unwrap();
    }
    assert_eq!(
        r.place_call(SessionId(4), "x", Purpose::DailyLife, None, t0)
            .unwrap_err()
            .code,
        ErrorCode::QueueFull
    );
    // Emergencies have their own lane: a full queue never turns one away...
    for s in 5..=6 {
        r.place_call(SessionId(s), "x", Purpose::Emergency, None, t0)
            .unwrap();
    }
    // ...but the lane has a bound of its own.
    assert_eq!(
        r.place_call(SessionId(7), "x", Purpose::Emergency, None, t0)
            .unwrap_err()
            .code,
        ErrorCode::QueueFull
    );
}

#[test]
fn interpreters_are_matched_by_sign_language() {
    let mut r = relay();
    let t0 = Instant::now();
    r.sign_in(ANNA, "anna", "anna", vec!["csl".into()], t0)
        .unwrap();
    r.set_presence(ANNA, Presence::Available, t0).unwrap();
    let (_, fx) = r
        .place_call(CALLER, "a", Purpose::DailyLife, Some("csl-local"), t0)
        .unwrap();
    assert!(rang(&fx).is_empty());
    let fx = available(&mut r, BO, "bo", t0);
    assert_eq!(rang(&fx).len(), 1);
}

#[test]
fn a_caller_who_vanishes_while_ringing_stops_the_ring() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, _) = r
        .place_call(CALLER, "a", Purpose::Emergency, None, t0)
        .unwrap();
    let fx = r.leave(CALLER, EndReason::Disconnected, t0 + Duration::from_secs(3));
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::RingStopped {
        call_id: call,
        reason: EndReason::Taken
    }));
    assert_eq!(r.staffing().available, 1);
    assert_eq!(r.active_calls(), 0);
}

#[test]
fn wait_estimates() {
    let s = |a, b| Staffing {
        available: a,
        busy: b,
        away: 0,
    };
    assert_eq!(estimate_wait_secs(1, s(0, 0), 180.0), None);
    assert_eq!(estimate_wait_secs(1, s(1, 0), 180.0), Some(10));
    assert_eq!(estimate_wait_secs(1, s(0, 2), 180.0), Some(180));
    assert_eq!(estimate_wait_secs(3, s(0, 2), 180.0), Some(360));
    assert_eq!(estimate_wait_secs(3, s(1, 1), 100.0), Some(100));
}

#[test]
fn a_captioned_call_needs_no_interpreter_and_never_enters_the_queue() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (call, fx) = r.start_direct(CALLER, "a", t0).unwrap();
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::JoinRoom {
            session: CALLER,
            role: Role::Caller,
            ..
        }
    )));
    assert!(matches!(
        sent_to(&fx, CALLER)[..],
        [ServerMsg::CallConnected { .. }]
    ));
    assert!(rang(&fx).is_empty(), "no interpreter is rung");
    assert_eq!(r.call_counts(), (0, 0, 1));
    assert_eq!(
        r.start_direct(CALLER, "a", t0).unwrap_err().code,
        ErrorCode::AlreadyInCall
    );
    assert_eq!(
        r.cancel(CALLER, t0).unwrap_err().code,
        ErrorCode::AlreadyInCall
    );
    // Another caller's interpreted call still rings Anna: the captioned call took no one.
    let (other, fx) = r
        .place_call(CALLER2, "b", Purpose::DailyLife, None, t0)
        .unwrap();
    assert_eq!(rang(&fx), vec![(ANNA, other)]);

    r.create_invite(CALLER, "hear".into(), t0).unwrap();
    let (joined, fx) = r.join_invite(GUEST, "hear", "clinic", t0).unwrap();
    assert_eq!(joined, call);
    assert!(matches!(
        fx[..],
        [Effect::JoinRoom {
            role: Role::Guest,
            ..
        }]
    ));
    assert_eq!(r.members(call), vec![CALLER, GUEST]);
    let fx = r.hang_up(CALLER, t0 + Duration::from_secs(30)).unwrap();
    let rec = fx
        .iter()
        .find_map(|e| match e {
            Effect::Record(rec) => Some(rec),
            _ => None,
        })
        .unwrap();
    assert!(rec.direct && rec.answered_by.is_none());
    assert!(matches!(
        sent_to(&fx, GUEST)[..],
        [ServerMsg::CallEnded { .. }]
    ));
}

#[test]
fn a_preference_for_the_interpreter_is_shown_on_the_ring_and_in_the_queue() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    let (_, fx) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, pref("female"), t0)
        .unwrap();
    let ring = sent_to(&fx, ANNA)
        .into_iter()
        .find_map(|m| match m {
            ServerMsg::Incoming {
                preferred_interpreter_gender,
                ..
            } => Some(preferred_interpreter_gender.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(ring.as_deref(), Some("female"));
    // Anything but the two words is not passed on to the consoles.
    let (_, _) = r
        .place_call_with(CALLER2, "b", Purpose::DailyLife, None, pref("<b>x</b>"), t0)
        .unwrap();
    let q = r.queue_entries(t0);
    assert_eq!(q.len(), 2);
    assert_eq!(q[1].preferred_interpreter_gender, None);
}

/// The last `queued` a caller was sent.
fn last_queued(fx: &[Effect], who: SessionId) -> Option<(usize, usize, usize)> {
    sent_to(fx, who).into_iter().rev().find_map(|m| match m {
        ServerMsg::Queued {
            position,
            interpreters_online,
            interpreters_on_duty,
            ..
        } => Some((*position, *interpreters_online, *interpreters_on_duty)),
        _ => None,
    })
}

#[test]
fn a_waiting_caller_is_told_when_interpreters_go_away_or_come_back() {
    let mut r = relay();
    let t0 = Instant::now();
    // Signed in but away: online, yet nobody on duty (the page must not say "you are next"
    // as if someone would answer soon).
    r.sign_in(ANNA, "anna", "anna", vec!["csl".into()], t0)
        .unwrap();
    let (call, fx) = r
        .place_call(CALLER, "c", Purpose::DailyLife, Some("csl"), t0)
        .unwrap();
    assert_eq!(last_queued(&fx, CALLER), Some((1, 1, 0)));
    // Someone who signs only another language does not count for this call.
    let fx = r
        .sign_in(BO, "bo", "bo", vec!["csl-local".into()], t0)
        .unwrap();
    assert_eq!(
        last_queued(&fx, CALLER),
        None,
        "nothing changed for this caller"
    );
    let fx = r.set_presence(BO, Presence::Available, t0).unwrap();
    assert!(rang(&fx).is_empty());
    let fx = r.set_presence(ANNA, Presence::Available, t0).unwrap();
    assert_eq!(rang(&fx), vec![(ANNA, call)]);
}

#[test]
fn a_wished_for_gender_and_the_calls_topic_choose_among_free_interpreters() {
    let mut r = relay();
    let t0 = Instant::now();
    // Bo has been idle longest, but Anna is a woman and knows medical calls.
    available(&mut r, BO, "bo", t0);
    available(&mut r, ANNA, "anna", t0 + Duration::from_secs(5));
    r.set_skills(BO, Some("male"), &[Purpose::Legal]);
    r.set_skills(ANNA, Some("female"), &[Purpose::Medical]);
    let t = t0 + Duration::from_secs(10);
    let (call, fx) = r
        .place_call_with(CALLER, "a", Purpose::DailyLife, None, pref("female"), t)
        .unwrap();
    assert_eq!(
        rang(&fx),
        vec![(ANNA, call)],
        "the caller asked for a woman"
    );
    // Anna declines (and may not be rung again at once): a preference, not a refusal, so
    // the only other free interpreter is rung rather than the caller left waiting.
    let fx = r.decline(ANNA, call, t).unwrap();
    assert_eq!(rang(&fx), vec![(BO, call)]);
}

#[test]
fn a_medical_call_goes_to_the_medical_interpreter_and_a_legal_one_to_the_legal() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    available(&mut r, BO, "bo", t0 + Duration::from_secs(1));
    r.set_skills(ANNA, None, &[Purpose::Legal]);
    r.set_skills(BO, None, &[Purpose::Medical]);
    let t = t0 + Duration::from_secs(5);
    let (medical, fx) = r
        .place_call(CALLER, "a", Purpose::Medical, None, t)
        .unwrap();
    assert_eq!(rang(&fx), vec![(BO, medical)], "Bo knows medical calls");
    let (legal, fx) = r.place_call(CALLER2, "b", Purpose::Legal, None, t).unwrap();
    assert_eq!(rang(&fx), vec![(ANNA, legal)]);
    // Skills that were not given change nothing: the longest idle is rung.
    let mut r = relay();
    available(&mut r, ANNA, "anna", t0);
    available(&mut r, BO, "bo", t0 + Duration::from_secs(1));
    r.set_skills(BO, Some("someone"), &[]);
    let (c, fx) = r
        .place_call_with(CALLER, "a", Purpose::Medical, None, pref("male"), t)
        .unwrap();
    assert_eq!(
        rang(&fx),
        vec![(ANNA, c)],
        "an unknown gender word is dropped"
    );
}

#[test]
fn a_handed_back_call_goes_to_the_front_and_rings_the_next_interpreter_not_the_same() {
    let mut r = relay();
    let t0 = Instant::now();
    available(&mut r, ANNA, "anna", t0);
    // An older call waits (Anna passed on it), then Anna takes a newer one.
    let (later, _) = r
        .place_call(CALLER2, "b", Purpose::DailyLife, None, t0)
        .unwrap();
    r.decline(ANNA, later, t0).unwrap();
    let (call, fx) = r
        .place_call(
            CALLER,
            "a",
            Purpose::DailyLife,
            None,
            t0 + Duration::from_secs(1),
        )
        .unwrap();
    assert_eq!(rang(&fx), vec![(ANNA, call)]);
    r.accept(ANNA, call, t0 + Duration::from_secs(1)).unwrap();
    let t = t0 + Duration::from_secs(2);
    let fx = r.hand_back(ANNA, t).unwrap();
    assert!(sent_to(&fx, CALLER).contains(&&ServerMsg::InterpreterLost {
        call_id: call,
        handed_back: true
    }));
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::CallEnded {
        call_id: call,
        reason: EndReason::HandedBack,
        by: Some(Role::Interpreter)
    }));
    assert!(
        rang(&fx).is_empty(),
        "Anna is away now: not rung with her own call again"
    );
    assert!(sent_to(&fx, ANNA).contains(&&ServerMsg::Status {
        status: InterpreterStatus::Away
    }));
    // The next interpreter to come free gets the handed-back call before the older one that
    // was waiting: it keeps the front of the line.
    let fx = available(&mut r, BO, "bo", t + Duration::from_secs(1));
    assert_eq!(rang(&fx), vec![(BO, call)]);
    assert!(r.queue_entries(t).iter().any(|e| e.call_id == later));
    // Not in a call: a clear refusal, nothing changed.
    assert_eq!(r.hand_back(ANNA, t).unwrap_err().code, ErrorCode::NotInCall);
    assert_eq!(
        r.hand_back(CALLER, t).unwrap_err().code,
        ErrorCode::Forbidden
    );
}
