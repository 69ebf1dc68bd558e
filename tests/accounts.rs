//! Accounts, roles and call records against real databases: an SQLite file always, and a real
//! PostgreSQL server when `SIGNRELAY_TEST_POSTGRES` names one (the test script starts one).
//! Every route is tried with every role; records are written by a real call flow; the server
//! process is killed with SIGKILL mid-flow and its records are there after the restart.

mod common;

use base64::Engine as _;
use common::{databases, temp_dir};
use signrelay::config::{Config, InterpreterAccount, OrganizerAccount};
use signrelay::relay::{CallRecord, StretchRecord};
use signrelay::signal::{
    CallId, ClientMsg, EndReason, ErrorCode, Presence, Purpose, Role, ServerMsg,
};
use signrelay::store::{AccountRole, LoginError, Store};
use signrelay_bench::loadgen::http::{request, request_from, HttpResponse};
use signrelay_bench::loadgen::Participant;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
static N: AtomicU16 = AtomicU16::new(0);

fn record(call_id: u64, answered: bool) -> CallRecord {
    CallRecord {
        call_id: CallId(call_id),
        purpose: Purpose::DailyLife,
        sign_language: "csl".into(),
        rang: vec!["anna".into()],
        answered_by: answered.then(|| "anna".into()),
        wait: Duration::from_secs(12),
        talk: answered.then(|| Duration::from_secs(60)),
        reason: if answered {
            EndReason::HangUp
        } else {
            EndReason::Cancelled
        },
        ended_by: Some(Role::Caller),
        direct: false,
        // Anna answered and handed over to Bo_1, whose name a SQL pattern would also match
        // for "bo11" (the underscore): the interpreter filter must be exact.
        interpreters: if answered {
            vec![
                StretchRecord {
                    username: "anna".into(),
                    support: false,
                    from_ms: 12_000,
                    ms: 30_000,
                },
                StretchRecord {
                    username: "bo_1".into(),
                    support: false,
                    from_ms: 42_000,
                    ms: 30_000,
                },
            ]
        } else {
            Vec::new()
        },
    }
}

#[tokio::test]
async fn accounts_lockout_sessions_records_and_retention_on_every_database() {
    for (url, store) in databases("store").await {
        eprintln!("database {url}");
        let evil = "x');DROP/**/TABLE/**/users;--";
        let u = store
            .create_user("anna", "安娜", AccountRole::Interpreter, "long-enough", &[])
            .await
            .unwrap();
        assert_eq!(u.role, AccountRole::Interpreter);
        assert!(store
            .create_user("anna", "x", AccountRole::Admin, "long-enough", &[])
            .await
            .is_err());
        assert!(store
            .create_user("short", "x", AccountRole::Admin, "short", &[])
            .await
            .is_err());
        // SQL-looking input is data, nothing else.
        store
            .create_user(evil, evil, AccountRole::Organizer, "long-enough", &[])
            .await
            .unwrap();
        assert_eq!(store.user(evil).await.unwrap().unwrap().display_name, evil);
        assert_eq!(store.user_count().await.unwrap(), 2);

        // An interpreter's skills: kept, read back with the account and its sessions.
        let topics = vec![
            "medical".to_owned(),
            "legal".to_owned(),
            "medical".to_owned(),
        ];
        let u = store.set_skills("anna", "female", &topics).await.unwrap();
        assert_eq!(
            (u.gender.as_str(), u.topics.clone()),
            ("female", vec!["legal".to_owned(), "medical".to_owned()])
        );
        assert!(store.set_skills("anna", "robot", &[]).await.is_err());
        assert!(store
            .set_skills("anna", "", &["astrology".to_owned()])
            .await
            .is_err());
        assert_eq!(
            store.user("anna").await.unwrap().unwrap().gender,
            "female",
            "nothing changed by a refusal"
        );
        let token = store.create_session(&u).await.unwrap();
        assert_eq!(
            store
                .session_user(&token)
                .await
                .unwrap()
                .unwrap()
                .topics
                .len(),
            2
        );
        store.delete_session(&token).await.unwrap();

        assert!(store.login("anna", "long-enough").await.unwrap().is_ok());
        assert_eq!(
            store.login("nobody", "x").await.unwrap(),
            Err(LoginError::Wrong)
        );
        // Parallel guesses each count (one UPDATE each), and none of them locks the
        // account: anyone could lock the real user out that way. The sign-in throttle slows
        // the guesser's address instead.
        let guesses = (0..6).map(|_| store.login("anna", "wrong"));
        for r in futures::future::join_all(guesses).await {
            assert_eq!(r.unwrap(), Err(LoginError::Wrong));
        }
        assert!(
            store.login("anna", "long-enough").await.unwrap().is_ok(),
            "not locked by wrong passwords"
        );
        store
            .update_user("anna", None, Some("a-new-password"), None)
            .await
            .unwrap();
        let anna = store
            .login("anna", "a-new-password")
            .await
            .unwrap()
            .unwrap();

        let token = store.create_session(&anna).await.unwrap();
        assert_eq!(
            store.session_user(&token).await.unwrap().unwrap().id,
            anna.id
        );
        assert!(store.session_user("forged").await.unwrap().is_none());
        store
            .update_user("anna", None, None, Some(true))
            .await
            .unwrap();
        assert!(
            store.session_user(&token).await.unwrap().is_none(),
            "switching an account off ends its sessions"
        );
        assert_eq!(
            store.login("anna", "a-new-password").await.unwrap(),
            Err(LoginError::Disabled)
        );

        let now = signrelay::store::now_ms();
        let a = store
            .call_placed(1, now - 5000, "daily_life", "csl", false, None)
            .await
            .unwrap();
        store.call_answered(a, now - 4000, "anna").await.unwrap();
        store.call_ended(a, now, &record(1, true)).await.unwrap();
        let b = store
            .call_placed(2, now - 3000, "emergency", "csl", false, None)
            .await
            .unwrap();
        store.call_ended(b, now, &record(2, false)).await.unwrap();
        let old = store
            .call_placed(3, now - 200 * 86_400_000, "daily_life", "csl", false, None)
            .await
            .unwrap();
        store.call_ended(old, now, &record(3, true)).await.unwrap();
        let rows = store.calls(now - 60_000, now + 1, None).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].outcome, "answered");
        assert_eq!(rows[0].answered_by.as_deref(), Some("anna"));
        assert_eq!(rows[0].talk_ms, Some(60_000));
        assert_eq!(rows[1].outcome, "abandoned");
        assert_eq!(rows[1].end_reason.as_deref(), Some("cancelled"));
        assert_eq!(
            store.calls(0, now + 1, Some("anna")).await.unwrap().len(),
            2,
            "an interpreter's own calls"
        );
        // Bo_1 took over two calls he did not answer: they are his calls too; nobody else's.
        let bos = store.calls(0, now + 1, Some("bo_1")).await.unwrap();
        assert_eq!(bos.len(), 2, "the calls Bo_1 interpreted a stretch of");
        assert_eq!(bos[0].interpreters[1].username, "bo_1");
        assert_eq!(bos[0].interpreters[0].ms, 30_000);
        assert!(store
            .calls(0, now + 1, Some("bo11"))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.purge_calls(now - 180 * 86_400_000).await.unwrap(),
            1,
            "only the record past retention goes"
        );

        // A call in progress when the server stops is marked interrupted on the next start.
        store
            .call_placed(4, now, "daily_life", "csl", false, None)
            .await
            .unwrap();
        drop(store);
        let again = Store::open(&url).await.unwrap();
        let rows = again.calls(now - 60_000, now + 1, None).await.unwrap();
        assert_eq!(rows.last().unwrap().outcome, "interrupted");
    }
}

#[tokio::test]
async fn a_damaged_database_file_is_refused_and_left_untouched() {
    let dir = temp_dir("corrupt");
    let path = dir.join("signrelay.db");
    let junk = b"this is not a database, but someone's data all the same".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    let err = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("damaged"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), junk, "not a byte changed");

    // And the server says so and exits instead of starting.
    let out = Command::new(env!("CARGO_BIN_EXE_signrelay"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("SIGNRELAY_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("damaged"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

// ---- HTTP: every route with every role -------------------------------------------------

struct Srv {
    addr: SocketAddr,
    _running: signrelay::server::Running,
}

async fn server(dir: &Path) -> Srv {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    cfg.captions.enabled = false;
    let base = 48000 + (std::process::id() % 40) as u16 * 50 + N.fetch_add(10, Ordering::SeqCst);
    cfg.media.port_min = base;
    cfg.media.port_max = base + 9;
    cfg.interpreters.push(InterpreterAccount {
        username: "anna".into(),
        password: "pw-anna-long".into(),
        display_name: "安娜".into(),
        sign_languages: vec![],
        ..Default::default()
    });
    cfg.organizers.push(OrganizerAccount {
        username: "org".into(),
        password: "pw-org-long".into(),
    });
    let running = signrelay::server::start(cfg).await.unwrap();
    running
        .store
        .create_user("boss", "Boss", AccountRole::Admin, "pw-boss-long", &[])
        .await
        .unwrap();
    Srv {
        addr: running.addr,
        _running: running,
    }
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> HttpResponse {
    let mut h = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        h.push(if a.starts_with("signrelay_session=") {
            ("Cookie", a)
        } else {
            ("Authorization", a)
        });
    }
    request(addr, method, path, &h, body.as_bytes())
        .await
        .unwrap()
}

async fn cookie_of(addr: SocketAddr, user: &str, pass: &str) -> String {
    let r = call(
        addr,
        "POST",
        "/api/login",
        None,
        &format!(r#"{{"username":"{user}","password":"{pass}"}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_the_role() {
    let dir = temp_dir("roles");
    let srv = server(&dir).await;
    let addr = srv.addr;
    let admin = cookie_of(addr, "boss", "pw-boss-long").await;
    let interp = cookie_of(addr, "anna", "pw-anna-long").await;
    let org = basic("org", "pw-org-long");
    let ev: serde_json::Value = serde_json::from_str(
        &call(addr, "POST", "/api/events", Some(&org), r#"{"title":"t"}"#)
            .await
            .body,
    )
    .unwrap();
    let id = ev["event"]["id"].as_str().unwrap().to_owned();
    let end = format!("/api/events/{id}/end");

    // (method, path, body, expected status for: nobody, interpreter, organizer, admin)
    let table: Vec<(&str, String, &str, [u16; 4])> = vec![
        ("GET", "/api/me".into(), "", [401, 200, 200, 200]),
        ("GET", "/api/my/calls".into(), "", [401, 200, 403, 403]),
        ("GET", "/api/events".into(), "", [401, 403, 200, 200]),
        (
            "POST",
            "/api/events".into(),
            r#"{"title":"x"}"#,
            [401, 403, 201, 201],
        ),
        ("GET", "/api/admin/live".into(), "", [401, 403, 403, 200]),
        ("GET", "/api/admin/stats".into(), "", [401, 403, 403, 200]),
        ("GET", "/api/admin/calls".into(), "", [401, 403, 403, 200]),
        (
            "GET",
            "/api/admin/calls.csv".into(),
            "",
            [401, 403, 403, 200],
        ),
        ("GET", "/api/admin/users".into(), "", [401, 403, 403, 200]),
        (
            "POST",
            "/api/admin/users".into(),
            r#"{"username":"NAME","role":"interpreter","password":"long-enough"}"#,
            [401, 403, 403, 201],
        ),
        (
            "POST",
            "/api/admin/users/anna".into(),
            r#"{"display_name":"安娜"}"#,
            [401, 403, 403, 200],
        ),
        ("GET", "/api/admin/audit".into(), "", [401, 403, 403, 200]),
        // A caller profile is reached with its own token only, never with an account.
        (
            "GET",
            "/api/caller-profile".into(),
            "",
            [401, 401, 401, 401],
        ),
        // Public: the viewer side of an event, health, pages.
        ("GET", format!("/api/events/{id}"), "", [200, 200, 200, 200]),
        (
            "GET",
            format!("/events/{id}/transcript.vtt"),
            "",
            [200, 200, 200, 200],
        ),
        ("GET", "/healthz".into(), "", [200, 200, 200, 200]),
        ("GET", "/admin".into(), "", [200, 200, 200, 200]),
        // Ending an event: only its organizer or an admin (run last: it ends the event).
        ("POST", end, "", [401, 403, 200, 200]),
    ];
    let who = [
        None,
        Some(interp.as_str()),
        Some(org.as_str()),
        Some(admin.as_str()),
    ];
    for (i, (method, path, body, expect)) in table.iter().enumerate() {
        for (w, want) in who.iter().zip(expect) {
            let body = body.replace("NAME", &format!("u{i}{}", w.map_or(0, |s| s.len())));
            let r = call(addr, method, path, *w, &body).await;
            assert_eq!(
                r.status,
                *want,
                "{method} {path} as {:?}: {}",
                w.map(|s| &s[..s.len().min(20)]),
                r.body
            );
        }
    }

    // A forged cookie is nobody; a logged-out cookie too.
    assert_eq!(
        call(addr, "GET", "/api/me", Some("signrelay_session=forged"), "")
            .await
            .status,
        401
    );
    let r = call(addr, "POST", "/api/logout", Some(&interp), "").await;
    assert_eq!(r.status, 204);
    assert_eq!(
        call(addr, "GET", "/api/me", Some(&interp), "").await.status,
        401
    );
    // Malformed input: a clear 400, nothing created.
    let r = call(addr, "POST", "/api/admin/users", Some(&admin), "{not json").await;
    assert_eq!(r.status, 400);
    let r = call(
        addr,
        "POST",
        "/api/admin/users",
        Some(&admin),
        r#"{"username":"z","role":"king","password":"long-enough"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    // A guesser over HTTP Basic slows only themself: after five wrong passwords their
    // address waits (429 with Retry-After, even with the right password), while the real
    // organizer, from another address, gets in at once. Failures are audit-logged.
    let guesser: std::net::IpAddr = "127.0.0.9".parse().unwrap();
    let wrong = basic("org", "nope");
    for _ in 0..5 {
        let r = request_from(
            guesser,
            addr,
            "GET",
            "/api/me",
            &[("Authorization", &wrong)],
            b"",
        )
        .await
        .unwrap();
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.header("www-authenticate").is_none(), "no Basic challenge");
    }
    let right = basic("org", "pw-org-long");
    let r = request_from(
        guesser,
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &right)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    let elsewhere: std::net::IpAddr = "127.0.0.10".parse().unwrap();
    let r = request_from(
        elsewhere,
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &right)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "the real user gets in: {}", r.body);
    // An absurd name is refused before it is stored or logged.
    let huge = basic(&"x".repeat(100_000), "nope");
    let r = request_from(
        elsewhere,
        addr,
        "GET",
        "/api/me",
        &[("Authorization", &huge)],
        b"",
    )
    .await
    .unwrap();
    assert_eq!(r.status, 401);
    let audit = call(addr, "GET", "/api/admin/audit", Some(&admin), "").await;
    assert!(audit.body.contains("login_failed"), "{}", audit.body);
    assert!(!audit
        .body
        .contains("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
}

/// Places a call from a caller, answered by `interp`, and hangs up.
async fn one_call(addr: SocketAddr, interp: &mut Participant, answer: bool) {
    let mut caller = Participant::caller(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    caller.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::Emergency,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let call_id = interp.expect_incoming(T).await.unwrap();
    if answer {
        interp.send(ClientMsg::Accept { call_id });
        caller
            .expect("connected", T, |m| {
                matches!(m, ServerMsg::CallConnected { .. })
            })
            .await
            .unwrap();
        caller.send(ClientMsg::HangUp);
    } else {
        caller.send(ClientMsg::CancelCall);
    }
    caller
        .expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .unwrap();
}

async fn signed_in_interpreter(addr: SocketAddr, pass: &str) -> Participant {
    let mut p = Participant::connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    p.send(ClientMsg::Login {
        username: "anna".into(),
        password: pass.into(),
    });
    p.expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
        .await
        .unwrap();
    p.send(ClientMsg::SetPresence {
        status: Presence::Available,
    });
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_call_flow_writes_records_that_interpreters_see_only_their_own_of() {
    let dir = temp_dir("flow");
    let srv = server(&dir).await;
    let addr = srv.addr;
    // The console refuses a wrong password with a clear error.
    let mut wrong = Participant::connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    wrong.send(ClientMsg::Login {
        username: "anna".into(),
        password: "guess".into(),
    });
    wrong
        .expect("refusal", T, |m| {
            matches!(
                m,
                ServerMsg::Error {
                    code: ErrorCode::AuthFailed,
                    ..
                }
            )
        })
        .await
        .unwrap();
    let mut anna = signed_in_interpreter(addr, "pw-anna-long").await;
    one_call(addr, &mut anna, true).await;
    one_call(addr, &mut anna, false).await;
    let admin = basic("boss", "pw-boss-long");
    let deadline = Instant::now() + T;
    let rows = loop {
        let r = call(addr, "GET", "/api/admin/calls", Some(&admin), "").await;
        let rows: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
        if rows.len() == 2 && rows.iter().all(|r| r["outcome"] != "in_progress") {
            break rows;
        }
        assert!(Instant::now() < deadline, "records not written: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rows[0]["outcome"], "answered");
    assert_eq!(rows[0]["answered_by"], "anna");
    assert_eq!(rows[0]["purpose"], "emergency");
    assert_eq!(rows[0]["rang"][0], "anna");
    assert_eq!(rows[0]["ended_by"], "caller");
    assert_eq!(rows[1]["outcome"], "abandoned");
    let stats: serde_json::Value = serde_json::from_str(
        &call(addr, "GET", "/api/admin/stats", Some(&admin), "")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(stats["offered"], 2);
    assert_eq!(stats["answered"], 1);
    assert_eq!(stats["abandonment_pct"], 50.0);
    let csv = call(addr, "GET", "/api/admin/calls.csv", Some(&admin), "").await;
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
    let mine = call(
        addr,
        "GET",
        "/api/my/calls",
        Some(&basic("anna", "pw-anna-long")),
        "",
    )
    .await;
    let mine: Vec<serde_json::Value> = serde_json::from_str(&mine.body).unwrap();
    assert_eq!(mine.len(), 1, "only the call anna answered");
    let metrics = call(addr, "GET", "/metrics", None, "").await;
    assert!(
        metrics.body.contains("signrelay_answer_seconds_count 1"),
        "{}",
        metrics.body
    );
}

// ---- crash safety -----------------------------------------------------------------------

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(dir: &Path, port: u16) -> Proc {
    let cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n[media]\nport_min = {}\nport_max = {}\n[captions]\nenabled = false\n\
         [[interpreters]]\nusername = \"anna\"\npassword = \"pw-anna-long\"\ndisplay_name = \"安娜\"\n",
        dir.display(),
        port + 1,
        port + 20
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_signrelay"))
            .args(["serve", "--config"])
            .arg(dir.join("config.toml"))
            .env("SIGNRELAY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

async fn wait_healthy(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = request(addr, "GET", "/healthz", &[], b"").await {
            if r.status == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_kill_dash_nine() {
    let dir = temp_dir("crash");
    let port = 49000 + (std::process::id() % 40) as u16 * 25;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The first admin comes from the command line, as on a new installation.
    let out = Command::new(env!("CARGO_BIN_EXE_signrelay"))
        .args(["admin", "--data-dir"])
        .arg(&dir)
        .args(["create-user", "--username", "boss", "--role", "admin"])
        .env("SIGNRELAY_NEW_PASSWORD", "pw-boss-long")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut server = spawn_server(&dir, port);
    wait_healthy(addr).await;
    let mut anna = signed_in_interpreter(addr, "pw-anna-long").await;
    one_call(addr, &mut anna, true).await;
    // A second call is left in progress (answered, never hung up) when the process dies.
    let mut caller = Participant::caller(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    caller.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::PolicyConsultation,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let id = anna.expect_incoming(T).await.unwrap();
    anna.send(ClientMsg::Accept { call_id: id });
    caller
        .expect("connected", T, |m| {
            matches!(m, ServerMsg::CallConnected { .. })
        })
        .await
        .unwrap();
    let admin = basic("boss", "pw-boss-long");
    let deadline = Instant::now() + T;
    loop {
        let r = call(addr, "GET", "/api/admin/calls", Some(&admin), "").await;
        let rows: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap_or_default();
        if rows.len() == 2 && rows[1]["answered_by"] == "anna" {
            break;
        }
        assert!(Instant::now() < deadline, "records not written: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGKILL: no shutdown code runs.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop((anna, caller));

    let _server = spawn_server(&dir, port);
    wait_healthy(addr).await;
    let r = call(addr, "GET", "/api/admin/calls", Some(&admin), "").await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    assert_eq!(rows.len(), 2, "{}", r.body);
    assert_eq!(rows[0]["outcome"], "answered");
    assert_eq!(rows[0]["talk_ms"].as_i64().map(|t| t >= 0), Some(true));
    assert_eq!(rows[1]["outcome"], "interrupted");
    assert_eq!(
        rows[1]["answered_by"], "anna",
        "what was known before the crash is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_profile_is_kept_only_with_consent_and_deleted_on_request() {
    let dir = temp_dir("profile");
    let srv = server(&dir).await;
    let addr = srv.addr;
    let no = call(
        addr,
        "POST",
        "/api/caller-profile",
        None,
        r#"{"consent":false,"name":"王"}"#,
    )
    .await;
    assert_eq!(no.status, 400, "{}", no.body);
    let bad = call(
        addr,
        "POST",
        "/api/caller-profile",
        None,
        r#"{"consent":true,"preferred_interpreter_gender":"robot"}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    let ok = call(
        addr,
        "POST",
        "/api/caller-profile",
        None,
        r#"{"consent":true,"name":"王阿姨","preferred_interpreter_gender":"female","sign_variety":"csl-local"}"#,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let token = serde_json::from_str::<serde_json::Value>(&ok.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let got = call(addr, "GET", "/api/caller-profile", Some(&bearer), "").await;
    assert_eq!(got.status, 200);
    assert!(got.body.contains("王阿姨") && got.body.contains("female"));
    assert_eq!(
        call(
            addr,
            "GET",
            "/api/caller-profile",
            Some("Bearer forged"),
            ""
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(addr, "DELETE", "/api/caller-profile", Some(&bearer), "")
            .await
            .status,
        204
    );
    assert_eq!(
        call(addr, "GET", "/api/caller-profile", Some(&bearer), "")
            .await
            .status,
        404
    );
}
