//! The signaling protocol over a real WebSocket against an in-process server, with real
//! webrtc-rs peers for media: the call flow, bad input, and isolation between calls.

mod common;

use common::*;
use signrelay::signal::{CallId, ClientMsg, ErrorCode, Presence, Purpose, Role, ServerMsg};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn malformed_and_oversized_messages_get_clear_errors_and_the_socket_survives() {
    let srv = server().await;
    let mut p = join(srv.addr).await;
    p.send_raw("{not json");
    assert_eq!(error_code(&mut p).await, ErrorCode::BadMessage);
    p.send_raw(r#"{"type":"fly","req":5}"#);
    match p
        .expect("error", T, |m| matches!(m, ServerMsg::Error { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Error { code, req, message } => {
            assert_eq!((code, req), (ErrorCode::BadMessage, Some(5)));
            assert!(message.contains("unknown variant"), "{message}");
        }
        _ => unreachable!(),
    }
    p.send_raw(&format!(
        r#"{{"type":"chat","text":"{}"}}"#,
        "字".repeat(30_000)
    ));
    assert_eq!(error_code(&mut p).await, ErrorCode::TooLarge);
    p.send_binary(vec![0, 1, 2]);
    assert_eq!(error_code(&mut p).await, ErrorCode::BadMessage);
    p.send(ClientMsg::Ping);
    p.expect("pong", T, |m| matches!(m, ServerMsg::Pong))
        .await
        .unwrap();
}

#[tokio::test]
async fn every_action_checks_the_role() {
    let srv = server().await;
    let mut anon = join(srv.addr).await;
    anon.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::Emergency,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    assert_eq!(error_code(&mut anon).await, ErrorCode::NotIdentified);
    anon.send(ClientMsg::Hello {
        role: Role::Interpreter,
        name: None,
        invite: None,
    });
    assert_eq!(error_code(&mut anon).await, ErrorCode::Forbidden);
    anon.send(ClientMsg::Login {
        username: "anna".into(),
        password: "wrong".into(),
    });
    assert_eq!(error_code(&mut anon).await, ErrorCode::AuthFailed);
    anon.send(ClientMsg::Hello {
        role: Role::Guest,
        name: None,
        invite: Some("forged".into()),
    });
    assert_eq!(error_code(&mut anon).await, ErrorCode::InviteInvalid);

    let mut c = caller(srv.addr).await;
    c.send(ClientMsg::Accept { call_id: CallId(1) });
    assert_eq!(error_code(&mut c).await, ErrorCode::Forbidden);
    c.send(ClientMsg::SetPresence {
        status: Presence::Available,
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::Forbidden);
    c.send(ClientMsg::Answer { sdp: "v=0".into() });
    assert_eq!(error_code(&mut c).await, ErrorCode::NotInCall);
    c.send(ClientMsg::CreateInvite);
    assert_eq!(error_code(&mut c).await, ErrorCode::NotInCall);

    let mut i = interpreter(srv.addr, "anna").await;
    i.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::Forbidden);
    let mut twin = join(srv.addr).await;
    twin.send(ClientMsg::Login {
        username: "anna".into(),
        password: "pw-anna".into(),
    });
    assert_eq!(error_code(&mut twin).await, ErrorCode::AlreadySignedIn);
    i.send(ClientMsg::Accept {
        call_id: CallId(999),
    });
    assert_eq!(error_code(&mut i).await, ErrorCode::NoSuchCall);
}

#[tokio::test]
async fn a_call_connects_real_media_and_bad_sdp_disturbs_no_other_call() {
    let srv = server().await;
    let (mut c1, mut i1) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    connect_call(&mut c1, &mut i1).await;
    let (mut c2, mut i2) = (caller(srv.addr).await, interpreter(srv.addr, "bo").await);
    connect_call(&mut c2, &mut i2).await;
    // The first offer carries no remote tracks; each side's arrive by renegotiation.
    assert!(c1.counters.offers.load(Ordering::Relaxed) >= 2);

    // Caller 2 misbehaves every way it can on the media path.
    c2.send(ClientMsg::Answer {
        sdp: "this is not sdp".into(),
    });
    assert_eq!(error_code(&mut c2).await, ErrorCode::BadSdp);
    c2.send(ClientMsg::Candidate {
        candidate: "candidate:garbage".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    });
    assert_eq!(error_code(&mut c2).await, ErrorCode::BadCandidate);
    c2.send_raw(r#"{"type":"candidate"}"#);
    assert_eq!(error_code(&mut c2).await, ErrorCode::BadMessage);

    // Then vanishes without a word; its interpreter is told, the other call goes on.
    c2.close().await;
    drop(c2);
    i2.expect("call ended", T, |m| {
        matches!(m, ServerMsg::CallEnded { .. })
    })
    .await
    .unwrap();
    let before = c1.counters.received();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        c1.counters.received() > before + 20,
        "call 1 media keeps flowing"
    );

    // Chat reaches everyone in the call, with the sender's role.
    c1.send(ClientMsg::Chat {
        text: "  你好  ".into(),
    });
    match i1
        .expect("chat", T, |m| matches!(m, ServerMsg::Chat { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Chat { text, role, .. } => {
            assert_eq!((text.as_str(), role), ("你好", Role::Caller))
        }
        _ => unreachable!(),
    }
    i1.send(ClientMsg::HangUp);
    c1.expect("call ended", T, |m| {
        matches!(
            m,
            ServerMsg::CallEnded {
                by: Some(Role::Interpreter),
                ..
            }
        )
    })
    .await
    .unwrap();
    wait_for(|| srv.switchboard.sfu().rooms() == 0).await;
}

#[tokio::test]
async fn a_guest_joins_by_invitation_once_and_receives_both() {
    let srv = server().await;
    let (mut c, mut i) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    connect_call(&mut c, &mut i).await;
    i.send(ClientMsg::CreateInvite);
    let token = match i
        .expect("invite", T, |m| {
            matches!(m, ServerMsg::InviteCreated { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::InviteCreated { token, path, .. } => {
            assert_eq!(path, format!("/guest#{token}"));
            token
        }
        _ => unreachable!(),
    };
    let mut g = join(srv.addr).await;
    g.send(ClientMsg::Hello {
        role: Role::Guest,
        name: Some("王医生".into()),
        invite: Some(token.clone()),
    });
    g.expect(
        "room",
        T,
        |m| matches!(m, ServerMsg::Room { participants, .. } if participants.len() == 3),
    )
    .await
    .unwrap();
    let _m = g.start_media(20);
    wait_for(|| {
        g.counters.video_in.load(Ordering::Relaxed) > 40
            && g.counters.audio_in.load(Ordering::Relaxed) > 40
    })
    .await;
    let mut again = join(srv.addr).await;
    again.send(ClientMsg::Hello {
        role: Role::Guest,
        name: None,
        invite: Some(token),
    });
    assert_eq!(error_code(&mut again).await, ErrorCode::InviteInvalid);
    c.send(ClientMsg::HangUp);
    g.expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
}

/// A plain HTTP/1.1 GET: status line, headers and body as one string.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut buf = String::new();
    stream.read_to_string(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn healthz_and_pages_are_served() {
    let srv = server().await;
    assert!(http_get(srv.addr, "/healthz")
        .await
        .contains("\"status\":\"ok\""));
    let page = http_get(srv.addr, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("呼叫手语翻译员"));
    assert!(page.to_lowercase().contains("content-security-policy"));
    assert!(http_get(srv.addr, "/static/js/nope.js")
        .await
        .starts_with("HTTP/1.1 404"));
    assert!(http_get(srv.addr, "/qr.svg?text=")
        .await
        .starts_with("HTTP/1.1 400"));
}

#[tokio::test]
async fn an_interpreter_whose_media_vanishes_is_replaced_and_the_caller_keeps_their_place() {
    let srv = server_with(|c| {
        c.media.ice_disconnected_secs = 1;
        c.media.ice_failed_secs = 2;
    })
    .await;
    let (mut c, mut i) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    let call_id = connect_call(&mut c, &mut i).await;
    // The interpreter's network dies: media stops, the signaling socket stays open.
    i.close().await;
    c.expect("interpreter lost", Duration::from_secs(20), |m| {
        matches!(m, ServerMsg::InterpreterLost { .. })
    })
    .await
    .unwrap();
    c.expect("queued first", T, |m| {
        matches!(m, ServerMsg::Queued { position: 1, .. })
    })
    .await
    .unwrap();
    i.expect("told", T, |m| {
        matches!(
            m,
            ServerMsg::CallEnded {
                reason: signrelay::signal::EndReason::MediaFailed,
                ..
            }
        )
    })
    .await
    .unwrap();
    // Another interpreter takes the same call.
    let mut b = interpreter(srv.addr, "bo").await;
    assert_eq!(b.expect_incoming(T).await.unwrap(), call_id);
}

#[tokio::test]
async fn a_caller_whose_video_fails_keeps_the_call_as_text() {
    let srv = server_with(|c| {
        c.media.ice_disconnected_secs = 1;
        c.media.ice_failed_secs = 2;
    })
    .await;
    let (mut c, mut i) = (caller(srv.addr).await, interpreter(srv.addr, "anna").await);
    connect_call(&mut c, &mut i).await;
    c.close().await;
    match c
        .expect("media failed", Duration::from_secs(20), |m| {
            matches!(m, ServerMsg::Error { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::MediaFailed);
            assert!(message.contains("text"), "{message}");
        }
        _ => unreachable!(),
    }
    c.send(ClientMsg::Chat {
        text: "视频断了，打字吧".into(),
    });
    match i
        .expect("chat", T, |m| {
            matches!(m, ServerMsg::Chat { .. } | ServerMsg::CallEnded { .. })
        })
        .await
        .unwrap()
    {
        ServerMsg::Chat { text, .. } => assert_eq!(text, "视频断了，打字吧"),
        other => panic!("the call should go on as text, got {other:?}"),
    }
}

#[tokio::test]
async fn metrics_follow_the_queue_and_the_media() {
    let srv = server().await;
    let mut c = caller(srv.addr).await;
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::Emergency,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    c.expect("queued", T, |m| matches!(m, ServerMsg::Queued { .. }))
        .await
        .unwrap();
    let m = http_get(srv.addr, "/metrics").await;
    assert!(m.contains("# TYPE signrelay_calls gauge"), "{m}");
    assert!(m.contains("signrelay_calls{state=\"waiting\"} 1"), "{m}");
    assert!(
        m.contains("signrelay_interpreters{state=\"available\"} 0"),
        "{m}"
    );
    let mut i = interpreter(srv.addr, "anna").await;
    let call_id = i.expect_incoming(T).await.unwrap();
    i.send(ClientMsg::Accept { call_id });
    let _media = (c.start_media(20), i.start_media(20));
    wait_for(|| c.counters.received() > 20).await;
    let m = http_get(srv.addr, "/metrics").await;
    assert!(m.contains("signrelay_calls{state=\"connected\"} 1"), "{m}");
    assert!(m.contains("signrelay_peers 2"), "{m}");
    let out: u64 = m
        .lines()
        .find_map(|l| l.strip_prefix("signrelay_rtp_packets_total{direction=\"out\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(out > 20, "{m}");
}

fn turn_of(servers: &[signrelay::signal::IceServerInfo]) -> (String, String) {
    let t = servers
        .iter()
        .find(|s| s.username.is_some())
        .expect("a TURN server with a credential");
    (
        t.username.clone().unwrap_or_default(),
        t.credential.clone().unwrap_or_default(),
    )
}

#[tokio::test]
async fn every_session_gets_its_own_expiring_turn_credential_and_can_renew_it() {
    let turn = signrelay::sfu::TurnConfig {
        urls: vec!["turns:turn.example.org:443?transport=tcp".into()],
        secret: "shared-with-coturn".into(),
        ttl_secs: 3600,
    };
    let t2 = turn.clone();
    let srv = server_with(move |c| c.media.turn = Some(t2)).await;
    let check = |user: &str, cred: &str| {
        let (expiry, who) = user.split_once(':').expect("expiry:id");
        let expiry: u64 = expiry.parse().expect("expiry in Unix seconds");
        let now = signrelay::clock::unix_ms() / 1000;
        assert!(expiry > now + 3500 && expiry <= now + 3601, "lives an hour");
        // coturn recomputes the password from the user name and the shared secret.
        let again = signrelay::turn::issue(&turn, who, expiry - turn.ttl_secs);
        assert_eq!(again.username, user);
        assert_eq!(again.credential, cred);
        who.to_owned()
    };
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let mut c = join(srv.addr).await;
        c.send(ClientMsg::Hello {
            role: Role::Caller,
            name: None,
            invite: None,
        });
        let Ok(ServerMsg::Welcome {
            ice_servers,
            ice_refresh_secs,
            ..
        }) = c
            .expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
            .await
        else {
            panic!("no welcome");
        };
        assert_eq!(ice_refresh_secs, 2700, "renewed well before it expires");
        let (user, cred) = turn_of(&ice_servers);
        sessions.push(check(&user, &cred));
        assert!(!cred.contains("shared-with-coturn"));

        c.send(ClientMsg::RefreshIce);
        let Ok(ServerMsg::IceServers {
            ice_servers,
            ice_refresh_secs,
        }) = c
            .expect("ice_servers", T, |m| {
                matches!(m, ServerMsg::IceServers { .. })
            })
            .await
        else {
            panic!("no fresh ICE servers");
        };
        assert_eq!(ice_refresh_secs, 2700);
        let (user2, cred2) = turn_of(&ice_servers);
        assert_eq!(check(&user2, &cred2), *sessions.last().unwrap());
    }
    assert_ne!(sessions[0], sessions[1], "no two pages share a TURN user");
}

#[tokio::test]
async fn without_turn_the_welcome_asks_for_no_refresh() {
    let srv = server().await;
    let mut c = join(srv.addr).await;
    c.send(ClientMsg::Hello {
        role: Role::Caller,
        name: None,
        invite: None,
    });
    let Ok(ServerMsg::Welcome {
        ice_servers,
        ice_refresh_secs,
        ..
    }) = c
        .expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
        .await
    else {
        panic!("no welcome");
    };
    assert!(ice_servers.is_empty());
    assert_eq!(ice_refresh_secs, 0);
}

#[tokio::test]
async fn out_of_hours_only_emergencies_ring_and_the_caller_is_told_before_the_tap() {
    // A centre with no opening hours at all is closed whenever the test runs.
    let srv = server_with(|c| {
        c.service.hours = Some(signrelay::hours::HoursConfig {
            utc_offset_minutes: 480,
            ..Default::default()
        })
    })
    .await;
    let mut anna = interpreter(srv.addr, "anna").await;
    let mut c = join(srv.addr).await;
    c.send(ClientMsg::Hello {
        role: Role::Caller,
        name: None,
        invite: None,
    });
    let Ok(ServerMsg::Welcome { service_hours, .. }) = c
        .expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
        .await
    else {
        panic!("no welcome");
    };
    let h = service_hours.expect("hours in the welcome");
    assert!(!h.open);
    assert_eq!(h.utc_offset_minutes, 480);

    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::PolicyConsultation,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::ServiceClosed);
    // Nothing was queued: the next request is an emergency, and it rings the interpreter
    // on duty.
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::Emergency,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let call_id = anna.expect_incoming(T).await.unwrap();
    anna.send(ClientMsg::Accept { call_id });
    c.expect("connected", T, |m| {
        matches!(m, ServerMsg::CallConnected { .. })
    })
    .await
    .unwrap();

    let body: serde_json::Value = reqwest_get(srv.addr, "/api/hours").await;
    assert_eq!(body["open"], false);
}

#[tokio::test]
async fn in_hours_calls_ring_and_the_page_learns_the_service_is_open() {
    let all = || vec!["00:00-24:00".to_owned()];
    let srv = server_with(move |c| {
        c.service.hours = Some(signrelay::hours::HoursConfig {
            utc_offset_minutes: 480,
            mon: all(),
            tue: all(),
            wed: all(),
            thu: all(),
            fri: all(),
            sat: all(),
            sun: all(),
            ..Default::default()
        })
    })
    .await;
    let mut anna = interpreter(srv.addr, "anna").await;
    let c = caller(srv.addr).await;
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    anna.expect_incoming(T).await.unwrap();
    let body: serde_json::Value = reqwest_get(srv.addr, "/api/hours").await;
    assert_eq!(body["open"], true);
    let closes = body["closes_at_ms"].as_i64().expect("closes_at_ms");
    let now = signrelay::clock::unix_ms() as i64;
    assert!(
        closes > now + 86_400_000,
        "a round-the-clock service does not close tonight"
    );
}

/// GET on the test server, as JSON.
async fn reqwest_get(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn a_medical_call_rings_the_interpreter_who_knows_medical_calls_first() {
    let srv = server_with(|c| {
        c.interpreters[1].topics = vec!["medical".into()];
        c.interpreters[1].gender = "male".into();
    })
    .await;
    // Anna has been free longest; Bo knows medical calls.
    let mut anna = interpreter(srv.addr, "anna").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut bo = interpreter(srv.addr, "bo").await;
    let c = caller(srv.addr).await;
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::Medical,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    bo.expect_incoming(T).await.unwrap();
    // A call wished to a woman while the only free interpreter is not one: a preference,
    // not a refusal, so it rings her anyway rather than wait.
    let c2 = caller(srv.addr).await;
    c2.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: Some("female".into()),
    });
    anna.expect_incoming(T).await.unwrap();
}
