//! A captioner (速录员) in a call, over the real protocol and media: nobody listens without
//! the caller's yes, an interpreter's proposal is only a question, the captioner hears the
//! call and corrects its lines as revisions everyone sees, a withdrawn yes or a dropped
//! console takes them out, and bad requests change nothing. Lines are fed to the call as its
//! caption task does, so this runs without the speech model.

mod common;

use base64::Engine as _;
use common::{caller, connect_call, error_code, interpreter, join, server, wait_for, T};
use signrelay::signal::{
    CallCaptioner, CallId, CaptionLine, CaptionerDuty, CaptionerState, ClientMsg, ErrorCode, Role,
    ServerMsg,
};
use signrelay::store::AccountRole;
use signrelay_bench::loadgen::Participant;
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn captioner(srv: &signrelay::server::Running, user: &str) -> Participant {
    let _ = srv
        .store
        .create_user(
            user,
            &format!("速录员{user}"),
            AccountRole::Captioner,
            &format!("pw-{user}-123"),
            &[],
        )
        .await;
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw-{user}-123"))
    );
    let mut p = Participant::connect_signed_in(&format!("ws://{}/ws", srv.addr), &auth)
        .await
        .expect("captioner's socket");
    p.send(ClientMsg::CaptionerDuty { on: true });
    duty(&mut p).await;
    p
}

async fn duty(p: &mut Participant) -> CaptionerDuty {
    match p
        .expect("duty", T, |m| matches!(m, ServerMsg::CaptionerDuty(_)))
        .await
        .unwrap()
    {
        ServerMsg::CaptionerDuty(d) => d,
        _ => unreachable!(),
    }
}

async fn duty_is(p: &mut Participant, call: Option<CallId>) {
    loop {
        if duty(p).await.call_id == call {
            return;
        }
    }
}

async fn state_is(p: &mut Participant, want: CaptionerState) -> CallCaptioner {
    loop {
        let m = p
            .expect("captioner state", T, |m| {
                matches!(m, ServerMsg::CallCaptioner(_))
            })
            .await
            .unwrap();
        if let ServerMsg::CallCaptioner(c) = m {
            if c.state == want {
                return c;
            }
        }
    }
}

async fn caption(p: &mut Participant, stable: bool) -> CaptionLine {
    loop {
        let m = p
            .expect("caption", T, |m| matches!(m, ServerMsg::Caption(_)))
            .await
            .unwrap();
        if let ServerMsg::Caption(l) = m {
            if l.stable == stable {
                return *l;
            }
        }
    }
}

fn line(text: &str, stable: bool) -> CaptionLine {
    CaptionLine {
        speaker: "p9".into(),
        role: Role::Guest,
        name: "医生".into(),
        seq: 77,
        text: text.into(),
        stable,
        start_ms: 0,
        end_ms: 1000,
        audio_end_unix_ms: 0,
        degraded: false,
        unsure: vec![[0, 2]],
        review: Default::default(),
    }
}

async fn metric(addr: std::net::SocketAddr, name: &str) -> u64 {
    let r = signrelay_bench::loadgen::http::request(addr, "GET", "/metrics", &[], b"")
        .await
        .unwrap();
    let body = r.body;
    body.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captioner_joins_a_call_only_with_the_callers_yes_and_corrects_it() {
    let srv = server().await;
    let (mut c, mut i) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    let call = connect_call(&mut c, &mut i).await;
    let mut k = captioner(&srv, "cap1").await;

    // The interpreter's proposal only asks the caller.
    i.send(ClientMsg::SuggestCaptioner);
    let m = c
        .expect("suggested", T, |m| {
            matches!(m, ServerMsg::CaptionerSuggested { .. })
        })
        .await
        .unwrap();
    assert_eq!(m, ServerMsg::CaptionerSuggested { call_id: call });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(srv.switchboard.call_captioners(), (0, 1));
    assert_eq!(k.counters.audio_in.load(Ordering::Relaxed), 0);

    // Lines before the captioner are numbered for the call, not per speaker.
    srv.switchboard.call_caption(call, line("今天天气", true));
    let first = caption(&mut c, true).await;
    assert_eq!(first.seq, 0, "the call's own numbering");

    // Only the caller decides.
    i.send(ClientMsg::WantCaptioner { yes: true });
    assert_eq!(error_code(&mut i).await, ErrorCode::Forbidden);
    c.send(ClientMsg::WantCaptioner { yes: true });
    let on = state_is(&mut c, CaptionerState::On).await;
    assert_eq!(on.name.as_deref(), Some("速录员cap1"));
    state_is(&mut i, CaptionerState::On).await;
    duty_is(&mut k, Some(call)).await;
    // The captioner hears and sees the call, and sends nothing.
    wait_for(|| k.counters.audio_in.load(Ordering::Relaxed) > 10).await;
    assert_eq!(srv.switchboard.call_captioners(), (1, 1));

    // A line goes to the captioner with its doubtful marks; a correction is a revision.
    srv.switchboard
        .call_caption(call, line("我要挂号看内科", false));
    let partial = caption(&mut k, false).await;
    assert_eq!(partial.text, "我要挂号看内科");
    srv.switchboard
        .call_caption(call, line("我要挂号看内课", true));
    let l = caption(&mut k, true).await;
    assert_eq!(l.unsure, vec![[0, 2]]);
    caption(&mut c, true).await;
    k.send(ClientMsg::CorrectCaption {
        seq: l.seq,
        text: "我要挂号看内科".into(),
    });
    for p in [&mut c, &mut i, &mut k] {
        let r = loop {
            let r = caption(p, true).await;
            if r.review.rev > 0 {
                break r;
            }
        };
        assert_eq!(r.seq, l.seq, "same line, not a new one");
        assert_eq!(r.text, "我要挂号看内科");
        assert_eq!(r.review.rev, 1);
        assert!(r.review.corrected);
        assert_eq!(r.review.machine_text.as_deref(), Some("我要挂号看内课"));
    }
    k.send(ClientMsg::AcceptCaption { seq: first.seq });

    // Bad corrections change nothing.
    k.send(ClientMsg::CorrectCaption {
        seq: 999,
        text: "x".into(),
    });
    assert_eq!(error_code(&mut k).await, ErrorCode::NoSuchLine);
    k.send(ClientMsg::CorrectCaption {
        seq: l.seq,
        text: "长".repeat(501),
    });
    assert_eq!(error_code(&mut k).await, ErrorCode::TooLarge);
    i.send(ClientMsg::CorrectCaption {
        seq: l.seq,
        text: "冒充".into(),
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::NotInCall);

    // 速录 beside the recognizer: typed text streams as it is typed, then ends as a line of
    // the call's own numbering, from the captioner, checked.
    k.send(ClientMsg::TypeCaption {
        text: "医生说".into(),
        done: false,
    });
    let typing = caption(&mut c, false).await;
    assert_eq!(
        (typing.text.as_str(), typing.role),
        ("医生说", Role::Captioner)
    );
    k.send(ClientMsg::TypeCaption {
        text: " 医生说先量血压 ".into(),
        done: true,
    });
    for p in [&mut c, &mut i] {
        let t = caption(p, true).await;
        assert_eq!(t.text, "医生说先量血压");
        assert_eq!(
            t.seq,
            l.seq + 1,
            "typed and machine lines share one numbering"
        );
        assert!(t.review.typed && t.review.checked);
        assert_eq!(t.name, "速录员cap1");
    }
    k.send(ClientMsg::TypeCaption {
        text: "长".repeat(501),
        done: true,
    });
    assert_eq!(error_code(&mut k).await, ErrorCode::TooLarge);
    // A replacement the captioner teaches applies to the call's later machine lines.
    k.send(ClientMsg::CaptionRule {
        wrong: "内课".into(),
        right: "内科".into(),
    });
    k.send(ClientMsg::CaptionRule {
        wrong: "".into(),
        right: "x".into(),
    });
    assert_eq!(error_code(&mut k).await, ErrorCode::BadMessage);
    srv.switchboard.call_caption(call, line("去内课三楼", true));
    assert_eq!(caption(&mut c, true).await.text, "去内科三楼");
    i.send(ClientMsg::TypeCaption {
        text: "冒充".into(),
        done: true,
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::NotInCall);

    // The caller withdraws: the captioner leaves at once and can correct nothing more.
    c.send(ClientMsg::WantCaptioner { yes: false });
    state_is(&mut c, CaptionerState::Off).await;
    duty_is(&mut k, None).await;
    assert_eq!(srv.switchboard.call_captioners(), (0, 1));
    k.send(ClientMsg::CorrectCaption {
        seq: l.seq,
        text: "晚了".into(),
    });
    assert_eq!(error_code(&mut k).await, ErrorCode::NotInCall);

    // A yes again, then the captioner's console drops: the call waits for another.
    c.send(ClientMsg::WantCaptioner { yes: true });
    state_is(&mut c, CaptionerState::On).await;
    duty_is(&mut k, Some(call)).await;
    k.disconnect().await;
    state_is(&mut c, CaptionerState::Waiting).await;
    // Captions go on without a person.
    srv.switchboard.call_caption(call, line("请稍等", true));
    assert_eq!(caption(&mut c, true).await.text, "请稍等");
    let mut k2 = captioner(&srv, "cap2").await;
    duty_is(&mut k2, Some(call)).await;
    state_is(&mut c, CaptionerState::On).await;

    // The call ends: nothing of it is left.
    c.send(ClientMsg::HangUp);
    duty_is(&mut k2, None).await;
    wait_for(|| srv.switchboard.call_caption_desks() == 0).await;
    assert_eq!(
        metric(srv.addr, "signrelay_call_captioners{state=\"serving\"}").await,
        0
    );
    assert_eq!(metric(srv.addr, "signrelay_call_caption_desks").await, 0);
    wait_for(|| srv.switchboard.sfu().rooms() == 0).await;
    // A line decoded after the end opens no desk.
    srv.switchboard.call_caption(call, line("迟到的一行", true));
    assert_eq!(srv.switchboard.call_caption_desks(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_signed_in_captioners_take_call_work_and_proposals_need_one_on_duty() {
    let srv = server().await;
    // An anonymous page cannot go on duty.
    let mut anon = join(srv.addr).await;
    anon.send(ClientMsg::CaptionerDuty { on: true });
    assert_eq!(error_code(&mut anon).await, ErrorCode::Forbidden);
    let (mut c, mut i) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    connect_call(&mut c, &mut i).await;
    // With nobody on duty, proposing is refused rather than raising the caller's hopes.
    i.send(ClientMsg::SuggestCaptioner);
    assert_eq!(error_code(&mut i).await, ErrorCode::CaptionerUnavailable);
    // The caller may still say yes: the call waits, captions go on.
    c.send(ClientMsg::WantCaptioner { yes: true });
    let w = state_is(&mut c, CaptionerState::Waiting).await;
    assert_eq!(w.on_duty, 0);
    // A caller outside a call cannot ask.
    let mut lone = caller(srv.addr).await;
    lone.send(ClientMsg::WantCaptioner { yes: true });
    assert_eq!(error_code(&mut lone).await, ErrorCode::NotInCall);
    // An interpreter account's socket is not a captioner.
    i.send(ClientMsg::CaptionerDuty { on: true });
    assert_eq!(error_code(&mut i).await, ErrorCode::Forbidden);
    c.send(ClientMsg::HangUp);
    wait_for(|| srv.switchboard.call_captioners() == (0, 0)).await;
}
