//! Service points (counters with a standing QR code): stored on SQLite and PostgreSQL, managed
//! by admins over HTTP, and a real call from a counter's code that the counter's own device
//! joins by itself, with media among the three.

mod common;

use common::{caller, databases, error_code, interpreter, join, server_with, wait_for, T};
use signrelay::signal::{ClientMsg, CounterState, ErrorCode, Purpose, Role, ServerMsg};
use signrelay::store::{AccountRole, NewServicePoint};
use signrelay_bench::loadgen::http::{request, HttpResponse};
use signrelay_bench::loadgen::Participant;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

fn window<'a>(name: &'a str) -> NewServicePoint<'a> {
    NewServicePoint {
        name,
        department: "社保局",
        address: "市民中心一楼",
        sign_language: "csl",
        purpose: "policy_consultation",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_points_are_kept_revoked_and_given_new_device_secrets_on_every_database() {
    for (url, store) in databases("counters").await {
        let (a, secret) = store
            .create_service_point(&window("3号窗口"))
            .await
            .unwrap();
        let (b, _) = store
            .create_service_point(&window("5号窗口"))
            .await
            .unwrap();
        assert_ne!(a.code, b.code, "{url}");
        assert!(a.code.len() >= 16, "codes are not guessable: {url}");
        let list = store.service_points().await.unwrap();
        assert_eq!(list.len(), 2, "{url}");
        assert_eq!(store.service_point(&a.code).await.unwrap(), Some(a.clone()));
        let by_device = store.service_point_by_device(&secret).await.unwrap();
        assert_eq!(by_device.map(|p| p.code), Some(a.code.clone()), "{url}");
        assert_eq!(store.service_point_by_device("nope").await.unwrap(), None);

        // A new tablet: the old secret stops working, the new one works.
        let renewed = store.new_device_secret(&a.code).await.unwrap().unwrap();
        assert_eq!(store.service_point_by_device(&secret).await.unwrap(), None);
        assert!(store
            .service_point_by_device(&renewed)
            .await
            .unwrap()
            .is_some());

        assert!(store.revoke_service_point(&a.code).await.unwrap(), "{url}");
        assert!(!store.revoke_service_point(&a.code).await.unwrap(), "once");
        let gone = store.service_point(&a.code).await.unwrap().unwrap();
        assert!(gone.revoked_at_ms.is_some(), "{url}");
        assert_eq!(store.service_point_by_device(&renewed).await.unwrap(), None);
        assert_eq!(store.new_device_secret(&a.code).await.unwrap(), None);

        // Names are required and bounded; control characters are dropped.
        assert!(store.create_service_point(&window("  ")).await.is_err());
        let long = "窗".repeat(121);
        assert!(store.create_service_point(&window(&long)).await.is_err());
        let (c, _) = store
            .create_service_point(&window("7号\u{7}窗口\n"))
            .await
            .unwrap();
        assert_eq!(c.name, "7号窗口", "{url}");
    }
}

async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    body: &str,
) -> HttpResponse {
    let mut h = vec![("Content-Type", "application/json")];
    if !cookie.is_empty() {
        h.push(("Cookie", cookie));
    }
    request(addr, method, path, &h, body.as_bytes())
        .await
        .unwrap()
}

async fn admin_cookie(addr: SocketAddr) -> String {
    let r = http(
        addr,
        "POST",
        "/api/login",
        "",
        r#"{"username":"boss","password":"pw-boss-long"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

fn json(r: &HttpResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

async fn tablet(addr: SocketAddr, secret: &str) -> Participant {
    let mut t = join(addr).await;
    t.send(ClientMsg::CounterSignIn {
        device: secret.into(),
    });
    t.expect(
        "welcome",
        T,
        |m| matches!(m, ServerMsg::Welcome { role: Role::Guest, name, .. } if name == "3号窗口"),
    )
    .await
    .unwrap();
    t
}

async fn counter_state(t: &mut Participant, want: CounterState) {
    t.expect(
        "counter state",
        T,
        |m| matches!(m, ServerMsg::CounterState { state } if *state == want),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_a_counters_code_brings_in_the_counters_tablet_by_itself() {
    let srv = server_with(|_| {}).await;
    srv.store
        .create_user("boss", "Boss", AccountRole::Admin, "pw-boss-long", &[])
        .await
        .unwrap();
    let addr = srv.addr;
    let boss = admin_cookie(addr).await;

    // Only an admin registers counters; a wrong field or an emergency purpose is refused.
    let body = r#"{"name":"3号窗口","department":"社保局","address":"市民中心一楼"}"#;
    assert_eq!(
        http(addr, "POST", "/api/admin/counters", "", body)
            .await
            .status,
        401
    );
    for bad in [
        r#"{"nam":"x"}"#,
        r#"{"name":"x","purpose":"emergency"}"#,
        r#"{"name":"x","sign_language":"klingon"}"#,
    ] {
        let r = http(addr, "POST", "/api/admin/counters", &boss, bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = http(addr, "POST", "/api/admin/counters", &boss, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = json(&r);
    let code = made["code"].as_str().unwrap().to_owned();
    let secret = made["device_secret"].as_str().unwrap().to_owned();
    assert_eq!(made["link"], format!("/c/{code}"));
    let listed = json(&http(addr, "GET", "/api/admin/counters", &boss, "").await);
    assert!(
        listed["points"][0].get("device_secret").is_none(),
        "the secret is shown once"
    );
    let public = json(&http(addr, "GET", &format!("/api/counters/{code}"), "", "").await);
    assert_eq!(public["name"], "3号窗口");
    assert_eq!(public["purpose"], "policy_consultation");
    let page = http(addr, "GET", &format!("/c/{code}"), "", "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("caller.js"));

    // A wrong device secret is refused clearly.
    let mut stranger = join(addr).await;
    stranger.send(ClientMsg::CounterSignIn {
        device: "guess".into(),
    });
    assert_eq!(error_code(&mut stranger).await, ErrorCode::NoSuchCounter);

    let mut tab = tablet(addr, &secret).await;
    counter_state(&mut tab, CounterState::Ready).await;
    let mut c = caller(addr).await;
    c.send(ClientMsg::PlaceCall {
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
        counter: Some(code.clone()),
    });
    counter_state(&mut tab, CounterState::CallerWaiting).await;
    let mut i = interpreter(addr, "anna").await;
    let rang = i
        .expect("ring", T, |m| matches!(m, ServerMsg::Incoming { .. }))
        .await
        .unwrap();
    let ServerMsg::Incoming {
        call_id,
        purpose,
        service_point,
        ..
    } = rang
    else {
        unreachable!()
    };
    assert_eq!(
        purpose,
        Purpose::PolicyConsultation,
        "the counter's purpose"
    );
    assert_eq!(service_point.as_deref(), Some("3号窗口"));
    i.send(ClientMsg::Accept { call_id });
    for p in [&mut c, &mut tab] {
        p.expect("connected", T, |m| {
            matches!(m, ServerMsg::CallConnected { .. })
        })
        .await
        .unwrap();
    }
    let _media = (c.start_media(20), i.start_media(20), tab.start_media(20));
    // Video both ways among three: each receives the other two's video.
    for p in [&c, &i, &tab] {
        wait_for(|| p.counters.video_in.load(Ordering::Relaxed) > 40).await;
    }
    c.expect("roster of three", T, |m| {
        matches!(m, ServerMsg::Room { participants, .. } if participants.len() == 3
            && participants.iter().any(|p| p.name == "3号窗口" && p.role == Role::Guest))
    })
    .await
    .unwrap();

    c.send(ClientMsg::HangUp);
    tab.expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
    counter_state(&mut tab, CounterState::Ready).await;
    // The record carries the counter; the dashboard counts its calls.
    let store = srv.store.clone();
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = store.calls(0, i64::MAX, None).await.unwrap();
        if rows.iter().any(|r| r.ended_at_ms.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].service_point.as_deref(), Some(code.as_str()));
    let stats = json(&http(addr, "GET", "/api/admin/stats", &boss, "").await);
    assert_eq!(stats["per_service_point"][&code], 1, "{stats}");
    // Peer connections close a moment after the call ends (their tasks wind down): the gauges
    // must get back to zero, not be zero at the first look.
    for gauge in [
        "signrelay_calls{state=\"connected\"} 0",
        "signrelay_peers 0",
    ] {
        let mut m = String::new();
        for _ in 0..50 {
            m = http(addr, "GET", "/metrics", "", "").await.body;
            if m.contains(gauge) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(m.contains(gauge), "{gauge}: {m}");
    }

    // Revoked: the tablet is told, the link answers 410, and a call from it is refused while a
    // plain call still works.
    let r = http(
        addr,
        "POST",
        &format!("/api/admin/counters/{code}/revoke"),
        &boss,
        "",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(error_code(&mut tab).await, ErrorCode::NoSuchCounter);
    let r = http(addr, "GET", &format!("/api/counters/{code}"), "", "").await;
    assert_eq!(r.status, 410);
    c.send(ClientMsg::PlaceCall {
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
        counter: Some(code.clone()),
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::NoSuchCounter);
    c.send(ClientMsg::PlaceCall {
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
        counter: Some("x".repeat(500)),
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::NoSuchCounter);
    c.send(ClientMsg::PlaceCall {
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
        counter: None,
    });
    i.expect_incoming(T).await.unwrap();
    let audit = json(&http(addr, "GET", "/api/admin/audit", &boss, "").await);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"create_counter") && actions.contains(&"revoke_counter"));
}
