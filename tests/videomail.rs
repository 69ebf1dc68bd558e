//! Videomail: its rows and states on SQLite and PostgreSQL, and what the socket and the API
//! refuse (the recording itself is shown end to end in tests/e2e/videomail.test.mjs).

mod common;

use common::{caller, databases, error_code, interpreter, server_with, T};
use signrelay::signal::{ClientMsg, ErrorCode, Purpose, ServerMsg};
use signrelay::store::AccountRole;
use signrelay::videomail::{Action, State};
use signrelay_bench::loadgen::http::request;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_move_through_their_states_and_expire_on_every_database() {
    for (url, store) in databases("videomail").await {
        store
            .create_videomail("m1", "tok-1", 4000, 12345, "csl")
            .await
            .unwrap();
        store
            .create_videomail("m2", "tok-2", 9000, 54321, "csl")
            .await
            .unwrap();
        assert_eq!(store.videomails().await.unwrap().len(), 2, "{url}");
        let mine = store.videomail_by_token("tok-1").await.unwrap().unwrap();
        assert_eq!((mine.id.as_str(), mine.state), ("m1", State::Unread));
        assert!(store.videomail_by_token("tok-9").await.unwrap().is_none());

        let m = store
            .videomail_act("m1", "anna", Action::View, None, None)
            .await
            .unwrap();
        assert_eq!(m.state, State::InProgress, "{url}");
        assert_eq!(m.viewed_by.as_deref(), Some("anna"));
        // A second viewer does not replace the first.
        let m = store
            .videomail_act("m1", "bo", Action::View, None, None)
            .await
            .unwrap();
        assert_eq!(m.viewed_by.as_deref(), Some("anna"), "{url}");
        let m = store
            .videomail_act("m1", "bo", Action::Answer, Some("请明天上午来。"), None)
            .await
            .unwrap();
        assert_eq!(m.state, State::Answered);
        assert_eq!(m.answered_by.as_deref(), Some("bo"));
        assert_eq!(m.answer_text.as_deref(), Some("请明天上午来。"));
        assert!(store
            .videomail_act("m1", "anna", Action::Answer, Some("x"), None)
            .await
            .is_err());
        let m = store
            .videomail_act("m1", "anna", Action::Close, None, None)
            .await
            .unwrap();
        assert_eq!(
            (m.state, m.closed_by.as_deref()),
            (State::Closed, Some("anna"))
        );
        assert!(store
            .videomail_act("m1", "anna", Action::View, None, None)
            .await
            .is_err());
        assert!(store
            .videomail_act("nope", "anna", Action::View, None, None)
            .await
            .is_err());

        // Past retention: both go, the answer with them; the rows stay as records.
        let gone = store.expire_videomails(i64::MAX).await.unwrap();
        assert_eq!(gone.len(), 2, "{url}");
        assert!(store.videomails().await.unwrap().is_empty());
        let m = store.videomail("m1").await.unwrap().unwrap();
        assert!(
            m.deleted_at_ms.is_some() && m.answer_text.is_none(),
            "{url}"
        );
        assert!(store
            .videomail_act("m2", "anna", Action::Close, None, None)
            .await
            .is_err());
        assert!(store.expire_videomails(i64::MAX).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_and_the_api_refuse_what_they_should() {
    let srv = server_with(|_| {}).await;
    let addr = srv.addr;
    let mut c = caller(addr).await;
    c.send(ClientMsg::StopVideomail);
    assert_eq!(error_code(&mut c).await, ErrorCode::NotInCall);
    let mut i = interpreter(addr, "anna").await;
    i.send(ClientMsg::StartVideomail {
        sign_language: None,
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::Forbidden);

    // Starting while queued gives the queued call up first, and says how long and where.
    let mut c2 = caller(addr).await;
    c2.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    i.expect_incoming(T).await.unwrap();
    c2.send(ClientMsg::StartVideomail {
        sign_language: Some("klingon".into()),
    });
    c2.expect("cancelled", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
    match c2
        .expect("recording", T, |m| {
            matches!(m, ServerMsg::VideomailRecording { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::VideomailRecording { max_secs, token } => {
            assert_eq!(max_secs, 180);
            assert!(token.len() >= 32);
        }
        _ => unreachable!(),
    }
    c2.send(ClientMsg::StartVideomail {
        sign_language: None,
    });
    assert_eq!(error_code(&mut c2).await, ErrorCode::AlreadyInCall);
    // Nothing was sent: stopping says so and keeps nothing.
    c2.send(ClientMsg::StopVideomail);
    assert_eq!(error_code(&mut c2).await, ErrorCode::VideomailUnavailable);
    assert!(srv.store.videomails().await.unwrap().is_empty());

    // The API: staff only; a caller's token reads their own message only.
    let get = |path: &'static str, auth: Option<String>| async move {
        let mut h = vec![];
        let a;
        if let Some(v) = auth {
            a = v;
            h.push(("Authorization", a.as_str()));
        }
        request(addr, "GET", path, &h, b"").await.unwrap().status
    };
    assert_eq!(get("/api/videomail", None).await, 401);
    assert_eq!(get("/api/my-videomail", None).await, 401);
    assert_eq!(get("/api/my-videomail", Some("Bearer x".into())).await, 404);
    srv.store
        .create_user("boss", "Boss", AccountRole::Admin, "pw-boss-long", &[])
        .await
        .unwrap();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "boss:pw-boss-long"
        )
    );
    assert_eq!(get("/api/videomail", Some(basic.clone())).await, 200);
    let post = |path: String, body: &'static str| {
        let basic = basic.clone();
        async move {
            request(
                addr,
                "POST",
                &path,
                &[
                    ("Authorization", basic.as_str()),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
            )
            .await
            .unwrap()
            .status
        }
    };
    srv.store
        .create_videomail("m1", "tok", 3000, 100, "csl")
        .await
        .unwrap();
    assert_eq!(
        post("/api/videomail/m1/answer".into(), r#"{"text":"  "}"#).await,
        400
    );
    assert_eq!(
        post("/api/videomail/m1/answer".into(), r#"{"txt":"x"}"#).await,
        400
    );
    assert_eq!(
        post("/api/videomail/m1/answer".into(), r#"{"text":"好的"}"#).await,
        200
    );
    assert_eq!(
        post("/api/videomail/m1/answer".into(), r#"{"text":"再"}"#).await,
        400
    );
    assert_eq!(post("/api/videomail/zz/close".into(), "").await, 400);
    // A video answer: interpreters only, to a message that still takes one.
    let answer = |to: &str| ClientMsg::RecordAnswer {
        videomail: to.into(),
        text: None,
    };
    c.send(answer("m1"));
    assert_eq!(error_code(&mut c).await, ErrorCode::Forbidden);
    i.send(answer("m1"));
    assert_eq!(
        error_code(&mut i).await,
        ErrorCode::VideomailUnavailable,
        "answered"
    );
    i.send(answer("zz"));
    assert_eq!(
        error_code(&mut i).await,
        ErrorCode::VideomailUnavailable,
        "unknown"
    );
    // Calling back needs the author's page open; a wrong link and an unasked answer are refused.
    i.send(ClientMsg::CallBack {
        videomail: "m1".into(),
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::InterpreterUnavailable);
    c.send(ClientMsg::WatchVideomail {
        token: "nope".into(),
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::VideomailUnavailable);
    c.send(ClientMsg::AnswerCallBack { accept: true });
    assert_eq!(error_code(&mut c).await, ErrorCode::NoSuchCall);
    c.send(ClientMsg::WatchVideomail {
        token: "tok".into(),
    });
    c.expect("watched", T, |m| matches!(m, ServerMsg::VideomailWatched))
        .await
        .unwrap();
    i.send(ClientMsg::CallBack {
        videomail: "m1".into(),
    });
    c.expect(
        "offer",
        T,
        |m| matches!(m, ServerMsg::CallBackOffer { from, .. } if from == "安娜"),
    )
    .await
    .unwrap();
    c.send(ClientMsg::AnswerCallBack { accept: false });
    i.expect("declined", T, |m| {
        matches!(
            m,
            ServerMsg::CallBackEnded {
                outcome: signrelay::signal::AskOutcome::Declined
            }
        )
    })
    .await
    .unwrap();
    assert_eq!(
        get("/api/videomail/m1/answer-video", Some(basic.clone())).await,
        404,
        "answered in text only"
    );
    // The row has no file (made here by hand): playing it says so instead of failing silently.
    assert_eq!(
        get("/api/videomail/m1/video", Some(basic.clone())).await,
        500
    );
}

#[tokio::test]
async fn videomail_can_be_switched_off() {
    let srv = server_with(|c| c.videomail.enabled = false).await;
    let mut c = caller(srv.addr).await;
    c.send(ClientMsg::StartVideomail {
        sign_language: None,
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::VideomailUnavailable);
}

#[tokio::test]
async fn one_address_cannot_fill_the_disk_with_messages() {
    let srv = server_with(|_| {}).await;
    let mut c = caller(srv.addr).await;
    for _ in 0..signrelay::videomail::PER_ADDRESS_PER_HOUR {
        c.send(ClientMsg::StartVideomail {
            sign_language: None,
        });
        c.expect("recording", T, |m| {
            matches!(m, ServerMsg::VideomailRecording { .. })
        })
        .await
        .unwrap();
        c.send(ClientMsg::StopVideomail);
        assert_eq!(error_code(&mut c).await, ErrorCode::VideomailUnavailable);
    }
    c.send(ClientMsg::StartVideomail {
        sign_language: None,
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::RateLimited);
}
