//! Interpreters working one call together over real sockets and media: a team support who
//! cannot end the call, private notes, a warm transfer with its overlap, and the refusals a
//! console gets for colleagues who cannot take a call.

mod common;

use common::*;
use signrelay::config::InterpreterAccount;
use signrelay::signal::{AskKind, AskOutcome, ClientMsg, EndReason, ErrorCode, ServerMsg};
use std::sync::atomic::Ordering;

fn with_cy(cfg: &mut signrelay::config::Config) {
    cfg.interpreters.push(InterpreterAccount {
        username: "cy".into(),
        password: "pw-cy".into(),
        display_name: "Cy".into(),
        sign_languages: vec![],
        ..Default::default()
    });
    cfg.service.transfer_overlap_secs = 1;
}

#[tokio::test]
async fn a_team_and_a_warm_transfer_keep_the_call_and_refuse_what_they_should() {
    let srv = server_with(with_cy).await;
    let mut c = caller(srv.addr).await;
    let mut anna = interpreter(srv.addr, "anna").await;
    connect_call(&mut c, &mut anna).await;
    let mut bo = interpreter(srv.addr, "bo").await;

    // Colleagues that cannot take it: clear errors, the call goes on.
    for (to, code) in [
        ("anna", ErrorCode::InterpreterUnavailable),
        ("nobody", ErrorCode::InterpreterUnavailable),
    ] {
        anna.send(ClientMsg::Transfer { to: to.into() });
        assert_eq!(error_code(&mut anna).await, code, "transfer to {to}");
    }
    c.send(ClientMsg::Transfer { to: "bo".into() });
    assert_eq!(error_code(&mut c).await, ErrorCode::Forbidden);
    bo.send(ClientMsg::TeamNote { text: "x".into() });
    assert_eq!(error_code(&mut bo).await, ErrorCode::NotInCall);

    // Bo joins as support, with media.
    // Bo's presence was applied before that reply: he is free to be asked.
    anna.send(ClientMsg::AskTeam {
        to: Some("bo".into()),
    });
    let call_id = match bo
        .expect("asked", T, |m| matches!(m, ServerMsg::Asked { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Asked { call_id, kind, .. } => {
            assert_eq!(kind, AskKind::Team);
            call_id
        }
        _ => unreachable!(),
    };
    bo.send(ClientMsg::Accept { call_id });
    anna.expect("accepted", T, |m| {
        matches!(
            m,
            ServerMsg::AskEnded {
                outcome: AskOutcome::Accepted,
                ..
            }
        )
    })
    .await
    .unwrap();
    let _media = bo.start_media(20);
    wait_for(|| bo.counters.video_in.load(Ordering::Relaxed) > 10).await;
    c.expect("roster with a support", T, |m| {
        matches!(m, ServerMsg::Room { participants, .. } if participants.iter().filter(|p| p.support).count() == 1)
    })
    .await
    .unwrap();

    // The support cannot end the call; their note reaches the active interpreter only.
    bo.send(ClientMsg::HangUp);
    assert_eq!(error_code(&mut bo).await, ErrorCode::Forbidden);
    bo.send(ClientMsg::TeamNote {
        text: "药名：阿莫西林".into(),
    });
    anna.expect(
        "note",
        T,
        |m| matches!(m, ServerMsg::TeamNote { text, .. } if text == "药名：阿莫西林"),
    )
    .await
    .unwrap();

    // Switch, then Anna (now support) leaves: the call goes on with Bo.
    anna.send(ClientMsg::SwitchActive);
    c.expect(
        "bo leads",
        T,
        |m| matches!(m, ServerMsg::CallConnected { interpreter, .. } if interpreter == "Bo"),
    )
    .await
    .unwrap();
    anna.send(ClientMsg::LeaveTeam);
    anna.expect("left", T, |m| {
        matches!(
            m,
            ServerMsg::CallEnded {
                reason: EndReason::LeftTeam,
                ..
            }
        )
    })
    .await
    .unwrap();

    // Warm transfer to Cy: she is rung, joins, and after the overlap Bo is let go.
    let mut cy = interpreter(srv.addr, "cy").await;
    cy.expect("free", T, |m| matches!(m, ServerMsg::Status { .. }))
        .await
        .unwrap();
    bo.send(ClientMsg::Transfer { to: "cy".into() });
    let ask = cy
        .expect("asked", T, |m| {
            matches!(
                m,
                ServerMsg::Asked {
                    kind: AskKind::Transfer,
                    ..
                }
            )
        })
        .await
        .unwrap();
    let ServerMsg::Asked { call_id, from, .. } = ask else {
        unreachable!()
    };
    assert_eq!(from, "Bo");
    cy.send(ClientMsg::Accept { call_id });
    c.expect(
        "cy leads",
        T,
        |m| matches!(m, ServerMsg::CallConnected { interpreter, .. } if interpreter == "Cy"),
    )
    .await
    .unwrap();
    bo.expect("transferred", T, |m| {
        matches!(
            m,
            ServerMsg::CallEnded {
                reason: EndReason::Transferred,
                ..
            }
        )
    })
    .await
    .unwrap();
    let _cy_media = cy.start_media(20);
    wait_for(|| cy.counters.video_in.load(Ordering::Relaxed) > 10).await;
    c.send(ClientMsg::HangUp);
    cy.expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
}
