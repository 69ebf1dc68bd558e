//! What the socket-level tests share: a test server on its own ports and data dir, and
//! callers and interpreters speaking the real protocol.
// Each test crate uses some of these, not all.
#![allow(dead_code)]

use signrelay::config::{Config, InterpreterAccount};
use signrelay::signal::{CallId, ClientMsg, ErrorCode, Presence, Purpose, Role, ServerMsg};
use signrelay::store::Store;
use signrelay_bench::loadgen::Participant;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

/// How long a test waits for any one message.
pub const T: Duration = Duration::from_secs(10);
static PORTS: AtomicU16 = AtomicU16::new(0);
static DIRS: AtomicU16 = AtomicU16::new(0);

/// A test server with the default configuration.
pub async fn server() -> signrelay::server::Running {
    server_with(|_| {}).await
}

/// A test server, its configuration tuned first.
pub async fn server_with(tune: impl FnOnce(&mut Config)) -> signrelay::server::Running {
    // A fresh data dir: one named only by process id and a counter outlives its run, and a
    // later run with the same (recycled) pid found an earlier run's call records in it.
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: temp_dir("sig"),
        ..Config::default()
    };
    // The load generator's audio is not speech; captions are tested in tests/events.rs.
    cfg.captions.enabled = false;
    // Each test server gets its own media port range so parallel tests never collide.
    let base =
        45000 + (std::process::id() % 40) as u16 * 200 + PORTS.fetch_add(20, Ordering::SeqCst);
    cfg.media.port_min = base;
    cfg.media.port_max = base + 19;
    for (u, n) in [("anna", "安娜"), ("bo", "Bo")] {
        cfg.interpreters.push(InterpreterAccount {
            username: u.into(),
            password: format!("pw-{u}"),
            display_name: n.into(),
            sign_languages: vec![],
            ..Default::default()
        });
    }
    tune(&mut cfg);
    signrelay::server::start(cfg).await.expect("server starts")
}

/// A fresh scratch directory.
pub fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "signrelay-acct-{what}-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The databases to test: SQLite, and PostgreSQL if configured (a fresh schema each time).
pub async fn databases(what: &str) -> Vec<(String, Store)> {
    let mut out = Vec::new();
    let url = Store::default_url(&temp_dir(what));
    out.push((url.clone(), Store::open(&url).await.unwrap()));
    if let Ok(pg) = std::env::var("SIGNRELAY_TEST_POSTGRES") {
        let admin = Store::open(&pg).await.expect("the test PostgreSQL server");
        let db = format!("signrelay_{what}_{}", std::process::id());
        admin.recreate_database(&db).await.unwrap();
        let base = pg.rsplit_once('/').map(|(b, _)| b).unwrap_or(&pg);
        let url = format!("{base}/{db}");
        out.push((url.clone(), Store::open(&url).await.unwrap()));
    } else {
        eprintln!("SIGNRELAY_TEST_POSTGRES not set: PostgreSQL not tested here");
    }
    out
}

/// A page's socket, not yet identified.
pub async fn join(addr: std::net::SocketAddr) -> Participant {
    Participant::connect(&format!("ws://{addr}/ws"))
        .await
        .expect("websocket connects")
}

/// Waits for the next error and gives its code.
pub async fn error_code(p: &mut Participant) -> ErrorCode {
    match p
        .expect("error", T, |m| matches!(m, ServerMsg::Error { .. }))
        .await
        .unwrap()
    {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

/// An anonymous caller, welcomed.
pub async fn caller(addr: std::net::SocketAddr) -> Participant {
    let mut c = join(addr).await;
    c.send(ClientMsg::Hello {
        role: Role::Caller,
        name: Some("来电者".into()),
        invite: None,
    });
    c.expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
        .await
        .unwrap();
    c
}

/// An interpreter signed in and set available.
pub async fn interpreter(addr: std::net::SocketAddr, user: &str) -> Participant {
    let mut i = join(addr).await;
    i.send(ClientMsg::Login {
        username: user.into(),
        password: format!("pw-{user}"),
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
    i
}

/// Places a call from `c`, accepts it on `i`, and waits until both receive each other's media.
pub async fn connect_call(c: &mut Participant, i: &mut Participant) -> CallId {
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let call_id = i.expect_incoming(T).await.unwrap();
    i.send(ClientMsg::Accept { call_id });
    c.expect("connected", T, |m| {
        matches!(m, ServerMsg::CallConnected { .. })
    })
    .await
    .unwrap();
    let _media = (c.start_media(20), i.start_media(20));
    for p in [&*c, &*i] {
        wait_for(|| {
            p.counters.audio_in.load(Ordering::Relaxed) > 10
                && p.counters.video_in.load(Ordering::Relaxed) > 10
        })
        .await;
    }
    call_id
}

/// Waits (15 s at most) until `cond` holds.
pub async fn wait_for(cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
