//! Attacks from anonymous addresses against a live server, each while a real caller from
//! another address reaches an interpreter with media both ways and the admin signs in. Test
//! hosts are distinct loopback addresses (127.0.0.x); every loop is bounded.

use base64::Engine as _;
use signrelay::config::{Config, InterpreterAccount};
use signrelay::signal::{ClientMsg, ErrorCode, Presence, Purpose, Role, ServerMsg};
use signrelay::store::AccountRole;
use signrelay_bench::loadgen::http::{request_from, HttpResponse};
use signrelay_bench::loadgen::Participant;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn host(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// A server of its own for test `n` (its own data and media ports).
async fn server(n: u16) -> (signrelay::server::Running, SocketAddr) {
    server_with(n, |_| {}).await
}

async fn server_with(
    n: u16,
    tune: impl FnOnce(&mut Config),
) -> (signrelay::server::Running, SocketAddr) {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: std::env::temp_dir().join(format!("signrelay-abuse-{}-{n}", std::process::id())),
        ..Config::default()
    };
    let _ = std::fs::remove_dir_all(&cfg.data_dir);
    cfg.captions.enabled = false;
    let base = 43000 + (std::process::id() % 50) as u16 * 40 + n * 20;
    cfg.media.port_min = base;
    cfg.media.port_max = base + 19;
    // A small queue makes "the queue is full of other calls" reachable.
    cfg.service.max_queue = 4;
    // A peer that never connects loses its port after this long.
    cfg.media.ice_connect_timeout_secs = 2;
    cfg.service.max_emergency_queue = 4;
    cfg.interpreters.push(InterpreterAccount {
        username: "anna".into(),
        password: "pw-anna-long".into(),
        display_name: "安娜".into(),
        sign_languages: vec![],
        ..Default::default()
    });
    tune(&mut cfg);
    let running = signrelay::server::start(cfg).await.expect("server starts");
    running
        .store
        .create_user("admin", "Admin", AccountRole::Admin, "pw-admin-long", &[])
        .await
        .unwrap();
    let addr = running.addr;
    (running, addr)
}

fn ws(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

async fn http(
    from: IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    request_from(from, addr, method, path, headers, body)
        .await
        .unwrap()
}

async fn error_code(p: &mut Participant) -> ErrorCode {
    match p
        .expect("error", T, |m| matches!(m, ServerMsg::Error { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

/// Waits for the reply `ok` matches or for a refusal, which must be `rate_limited`; true if
/// it was refused.
async fn rate_limited(p: &mut Participant, ok: impl Fn(&ServerMsg) -> bool) -> bool {
    let reply = p
        .expect("reply or refusal", T, |m| {
            ok(m) || matches!(m, ServerMsg::Error { .. })
        })
        .await
        .unwrap();
    match reply {
        ServerMsg::Error { code, .. } => {
            assert_eq!(code, ErrorCode::RateLimited);
            true
        }
        _ => false,
    }
}

async fn metric(addr: SocketAddr, line_start: &str) -> u64 {
    let r = http(host(1), addr, "GET", "/metrics", &[], b"").await;
    r.body
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The real users: a caller (address .50) places a call; an interpreter (staff, address
/// .60) comes on duty, is rung for it (emergencies first), answers, and media flows both
/// ways; the admin signs in from .51.
async fn real_call_works(addr: SocketAddr, purpose: Purpose) {
    let mut c = Participant::caller_from(Some(host(50)), &ws(addr))
        .await
        .unwrap();
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    c.expect("queued", T, |m| matches!(m, ServerMsg::Queued { .. }))
        .await
        .unwrap();
    let mut i = Participant::connect_from(Some(host(60)), &ws(addr))
        .await
        .unwrap();
    i.send(ClientMsg::Login {
        username: "anna".into(),
        password: "pw-anna-long".into(),
    });
    i.expect("welcome", T, |m| {
        matches!(
            m,
            ServerMsg::Welcome {
                role: Role::Interpreter,
                ..
            }
        )
    })
    .await
    .unwrap();
    i.send(ClientMsg::SetPresence {
        status: Presence::Available,
    });
    let call_id = i.expect_incoming(T).await.unwrap();
    i.send(ClientMsg::Accept { call_id });
    c.expect("connected", T, |m| {
        matches!(m, ServerMsg::CallConnected { .. })
    })
    .await
    .unwrap();
    let _media = (c.start_media(20), i.start_media(20));
    let deadline = tokio::time::Instant::now() + T;
    while [&c, &i].iter().any(|p| {
        p.counters.audio_in.load(Ordering::Relaxed) < 10
            || p.counters.video_in.load(Ordering::Relaxed) < 10
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the real call's media did not flow both ways"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.send(ClientMsg::HangUp);
    c.expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
    let admin = basic("admin", "pw-admin-long");
    let r = http(
        host(51),
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &admin)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "the admin signs in: {}", r.body);
    i.disconnect().await;
    c.disconnect().await;
}

async fn close_all(ps: Vec<Participant>) {
    for p in ps {
        p.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_the_service_down() {
    let (srv, addr) = server(0).await;

    // 1. A socket flood from one address: it gets its share, then 429 before any upgrade.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..30 {
        match Participant::connect_from(Some(host(2)), &ws(addr)).await {
            Ok(p) => held.push(p),
            Err(_) => refused += 1,
        }
    }
    assert_eq!(held.len(), 20, "the per-address socket cap");
    assert_eq!(refused, 10);
    assert_eq!(
        metric(
            addr,
            "signrelay_admission_refused_total{resource=\"socket\",scope=\"address\"}"
        )
        .await,
        10
    );
    real_call_works(addr, Purpose::DailyLife).await;

    // 2. Captioned calls that never answer their offer, from one address: two, then refused
    //    (each would hold a media port).
    for (n, p) in held.iter_mut().take(3).enumerate() {
        p.send(ClientMsg::Hello {
            role: Role::Caller,
            name: None,
            invite: None,
        });
        p.expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
            .await
            .unwrap();
        // Its WebRTC side is gone: it will never answer an offer (a script that only talks).
        p.close().await;
        p.send(ClientMsg::StartCaptionedCall);
        if n < 2 {
            p.expect("started", T, |m| {
                matches!(m, ServerMsg::InviteCreated { .. } | ServerMsg::Room { .. })
            })
            .await
            .unwrap();
        } else {
            assert_eq!(error_code(p).await, ErrorCode::RateLimited);
        }
    }
    // They never answer their offers: after the connect deadline their ports are free again
    // (no peer left), and they keep their calls: text still goes through.
    for p in held.iter_mut().take(2) {
        assert_eq!(error_code(p).await, ErrorCode::MediaFailed);
    }
    let deadline = tokio::time::Instant::now() + T;
    while metric(addr, "signrelay_peers ").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "ports still held");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    held[0].send(ClientMsg::Chat {
        text: "还在吗".into(),
    });
    held[0]
        .expect("own chat back", T, |m| matches!(m, ServerMsg::Chat { .. }))
        .await
        .unwrap();
    real_call_works(addr, Purpose::DailyLife).await;
    close_all(held).await;

    // 3. The queue full of other calls (four addresses), and emergencies from one address:
    //    a real emergency caller elsewhere is still answered.
    let mut fillers = Vec::new();
    for n in 10..14 {
        let c = Participant::caller_from(Some(host(n)), &ws(addr))
            .await
            .unwrap();
        c.send(ClientMsg::PlaceCall {
            counter: None,
            purpose: Purpose::DailyLife,
            sign_language: None,
            preferred_interpreter_gender: None,
        });
        fillers.push(c);
    }
    let mut late = Participant::caller_from(Some(host(14)), &ws(addr))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    late.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    assert_eq!(error_code(&mut late).await, ErrorCode::QueueFull);
    let mut flood = Vec::new();
    let mut flood_refused = 0;
    for _ in 0..5 {
        let mut c = Participant::caller_from(Some(host(3)), &ws(addr))
            .await
            .unwrap();
        c.send(ClientMsg::PlaceCall {
            counter: None,
            purpose: Purpose::Emergency,
            sign_language: None,
            preferred_interpreter_gender: None,
        });
        if rate_limited(&mut c, |m| matches!(m, ServerMsg::Queued { .. })).await {
            flood_refused += 1;
        }
        flood.push(c);
    }
    assert_eq!(flood_refused, 2, "one address holds three calls at most");
    close_all(flood).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    real_call_works(addr, Purpose::Emergency).await;
    close_all(fillers).await;
    late.disconnect().await;

    // 4. Guessing the admin's password from one address slows that address only.
    let wrong = basic("admin", "guess");
    for _ in 0..8 {
        http(
            host(4),
            addr,
            "GET",
            "/api/me",
            &[("Authorization", &wrong)],
            b"",
        )
        .await;
    }
    let right = basic("admin", "pw-admin-long");
    let r = http(
        host(4),
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &right)],
        b"",
    )
    .await;
    assert_eq!(r.status, 429);

    // 5. Cross-site requests: another site's form (text/plain) or origin changes nothing.
    let r = http(
        host(5),
        addr,
        "POST",
        "/api/events",
        &[("Authorization", &right), ("Content-Type", "text/plain")],
        br#"{"title":"x"}"#,
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.body);
    let r = http(
        host(5),
        addr,
        "POST",
        "/api/admin/users",
        &[
            ("Authorization", &right),
            ("Content-Type", "application/json"),
            ("Origin", "https://evil.example"),
        ],
        br#"{"username":"mallory","role":"admin","password":"long-enough-pw"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(srv.store.user("mallory").await.unwrap().is_none());

    // 6. SSE with an overflowing Last-Event-ID or a bad query: the usual JSON refusal.
    let created = srv
        .switchboard
        .create_event(
            signrelay::signal::NewEvent {
                title: "通告".into(),
                language: None,
                hotwords: vec![],
                starts_at_unix_ms: None,
                ..Default::default()
            },
            "admin",
        )
        .await
        .unwrap();
    let id = created.event.id;
    // A crowd waiting for the briefing to start holds no media ports, and one address may
    // open ten viewer pages.
    let mut crowd = Vec::new();
    let mut turned_away = 0;
    for _ in 0..12 {
        let mut v = Participant::connect_from(Some(host(9)), &ws(addr))
            .await
            .unwrap();
        v.send(ClientMsg::JoinEvent {
            event: id.clone(),
            token: None,
            name: None,
        });
        if rate_limited(&mut v, |m| matches!(m, ServerMsg::Welcome { .. })).await {
            turned_away += 1;
        }
        crowd.push(v);
    }
    assert_eq!(turned_away, 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        metric(addr, "signrelay_peers ").await,
        0,
        "waiting viewers hold ports"
    );
    close_all(crowd).await;
    let path = format!("/events/{id}/captions");
    let r = http(
        host(6),
        addr,
        "GET",
        &path,
        &[("Last-Event-ID", "18446744073709551615")],
        b"",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\"error\""), "{}", r.body);
    let r = http(host(6), addr, "GET", &format!("{path}?since=-1"), &[], b"").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("\"error\""), "{}", r.body);
    // 7. WHEP resources carry a secret: guessing a session number ends nobody's session.
    let r = http(host(7), addr, "DELETE", &format!("/whep/{id}/1"), &[], b"").await;
    assert_eq!(r.status, 404);
    let r = http(
        host(7),
        addr,
        "DELETE",
        &format!("/whep/{id}/1-guess"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);

    // 8. A candidate pointing the server at a link-local address (cloud metadata) is refused.
    let mut c = Participant::caller_from(Some(host(8)), &ws(addr))
        .await
        .unwrap();
    c.send(ClientMsg::StartCaptionedCall);
    c.expect("offer", T, |m| matches!(m, ServerMsg::Offer { .. }))
        .await
        .unwrap();
    c.send(ClientMsg::Candidate {
        candidate: "candidate:1 1 udp 2122260223 169.254.169.254 80 typ host".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    });
    assert_eq!(error_code(&mut c).await, ErrorCode::BadCandidate);
    c.disconnect().await;

    real_call_works(addr, Purpose::PolicyConsultation).await;

    // Everything the attacks held is given back once they are gone.
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let open = metric(addr, "signrelay_admission_open{resource=\"socket\"}").await;
        let calls = metric(addr, "signrelay_calls{state=\"waiting\"}").await;
        if open == 0 && calls == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left over: {open} sockets, {calls} waiting calls"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_pages_and_writes_the_records_first() {
    let (srv, addr) = server(1).await;
    let mut c = Participant::caller_from(Some(host(20)), &ws(addr))
        .await
        .unwrap();
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    c.expect("queued", T, |m| matches!(m, ServerMsg::Queued { .. }))
        .await
        .unwrap();
    let store = srv.store.clone();
    srv.shutdown(Duration::from_secs(5)).await;
    assert_eq!(error_code(&mut c).await, ErrorCode::ShuttingDown);
    // The call was ended and recorded before the server stopped: not "interrupted".
    let now = signrelay::store::now_ms();
    let rows = store.calls(now - 60_000, now + 1, None).await.unwrap();
    let last = rows.last().expect("the call is recorded");
    assert_ne!(last.outcome, "interrupted", "{}", last.outcome);
    assert!(last.ended_at_ms.is_some());
}

#[tokio::test]
async fn metrics_can_be_kept_behind_a_token() {
    let (_srv, addr) = server_with(2, |c| c.service.metrics_token = "s3cret-metrics".into()).await;
    let r = http(host(30), addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(r.status, 401);
    let r = http(
        host(30),
        addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer s3cret-metrics")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("signrelay_admission_open"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_checks_its_password_once_per_sign_in() {
    let (_srv, addr) = server(3).await;
    let mut i = Participant::connect_from(Some(host(40)), &ws(addr))
        .await
        .unwrap();
    i.send(ClientMsg::Login {
        username: "anna".into(),
        password: "pw-anna-long".into(),
    });
    let ticket = match i
        .expect("ticket", T, |m| matches!(m, ServerMsg::WebTicket { .. }))
        .await
        .unwrap()
    {
        ServerMsg::WebTicket { ticket } => ticket,
        _ => unreachable!(),
    };
    let body = format!(r#"{{"ticket":"{ticket}"}}"#);
    let json = [("Content-Type", "application/json")];
    let r = http(host(40), addr, "POST", "/api/login", &json, body.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("set-cookie")
        .is_some_and(|c| c.contains("HttpOnly")));
    let again = http(host(40), addr, "POST", "/api/login", &json, body.as_bytes()).await;
    assert_eq!(again.status, 401, "a ticket works once");
    i.disconnect().await;
}
