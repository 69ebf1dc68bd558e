//! The captioner's desk over real HTTP and SSE (同步速录): corrections arrive as revisions in
//! every view and the transcript, checked viewers wait for the captioner or the window,
//! typed captions stream, learnt rules apply to later lines, and bad requests change nothing.
//! Lines are fed to the briefing directly, so this runs without the speech model (the browser
//! test speaks a real clip).

use base64::Engine as _;
use signrelay::config::{Config, OrganizerAccount};
use signrelay::signal::{CaptionLine, EventCreated, EventInfo, Role};
use signrelay::store::AccountRole;
use signrelay_bench::loadgen::http::{request, HttpResponse, SseStream};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
static DIRS: AtomicU16 = AtomicU16::new(0);

async fn server() -> signrelay::server::Running {
    let dir = std::env::temp_dir().join(format!(
        "signrelay-captioner-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir,
        ..Config::default()
    };
    cfg.captions.enabled = false;
    cfg.organizers.push(OrganizerAccount {
        username: "org".into(),
        password: "pw-org-123".into(),
    });
    let srv = signrelay::server::start(cfg).await.expect("server starts");
    for name in ["cap1", "cap2", "cap3"] {
        srv.store
            .create_user(
                name,
                &format!("速录员{name}"),
                AccountRole::Captioner,
                &format!("pw-{name}-123"),
                &[],
            )
            .await
            .unwrap();
    }
    srv
}

fn basic(user: &str) -> String {
    let pass = if user == "org" {
        "pw-org-123".to_owned()
    } else {
        format!("pw-{user}-123")
    };
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

async fn call(
    addr: SocketAddr,
    who: Option<&str>,
    method: &str,
    path: &str,
    body: &str,
) -> HttpResponse {
    let auth = who.map(basic);
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    request(addr, method, path, &h, body.as_bytes())
        .await
        .unwrap()
}

fn line(text: &str, n: u64) -> CaptionLine {
    let t0 = signrelay::clock::unix_ms() - 60_000;
    CaptionLine {
        speaker: "p1".into(),
        role: Role::Broadcaster,
        name: "发言人".into(),
        seq: n,
        text: text.into(),
        stable: true,
        start_ms: n * 1000,
        end_ms: n * 1000 + 900,
        audio_end_unix_ms: t0 + n * 1000 + 900,
        degraded: false,
        unsure: vec![[0, 2]],
        review: Default::default(),
    }
}

/// Creates an event as the organizer; its id.
async fn create_event(addr: SocketAddr, body: &str) -> String {
    let res = call(addr, Some("org"), "POST", "/api/events", body).await;
    assert_eq!(res.status, 201, "{}", res.body);
    let created: EventCreated = serde_json::from_str(&res.body).unwrap();
    created.event.id
}

/// The next caption of a stream (status frames are skipped).
async fn caption(sse: &mut SseStream) -> CaptionLine {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, sse.next())
            .await
            .expect("a caption in time")
            .unwrap()
            .expect("stream open");
        if m.event == "caption" {
            return serde_json::from_str(&m.data).unwrap();
        }
    }
}

/// The next caption of a stream that satisfies `want`.
async fn caption_where(sse: &mut SseStream, want: impl Fn(&CaptionLine) -> bool) -> CaptionLine {
    loop {
        let l = caption(sse).await;
        if want(&l) {
            return l;
        }
    }
}

/// The next status of a stream that satisfies `want`.
async fn status(sse: &mut SseStream, want: impl Fn(&EventInfo) -> bool) -> EventInfo {
    let deadline = Instant::now() + T;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, sse.next())
            .await
            .expect("a status in time")
            .unwrap()
            .expect("stream open");
        if m.event == "status" {
            let info: EventInfo = serde_json::from_str(&m.data).unwrap();
            if want(&info) {
                return info;
            }
        }
    }
}

async fn open(addr: SocketAddr, id: &str, view: &str, who: Option<&str>) -> SseStream {
    let auth = who.map(basic);
    let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let mut s = SseStream::open(addr, &format!("/events/{id}/captions?view={view}"), &h)
        .await
        .unwrap();
    status(&mut s, |_| true).await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captioner_corrects_accepts_types_and_teaches_and_every_view_follows() {
    let srv = server().await;
    let addr = srv.addr;
    let id = create_event(
        addr,
        r#"{"title":"新闻发布会","correction_window_ms":4000}"#,
    )
    .await;
    let ev = srv.briefings.get(&id).unwrap();
    let base = format!("/api/events/{id}");

    // Only captioners' accounts can be assigned, and only by the organizer.
    let r = call(
        addr,
        Some("org"),
        "PUT",
        &format!("{base}/captioners"),
        r#"{"captioners":["org"]}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = call(
        addr,
        Some("cap1"),
        "PUT",
        &format!("{base}/captioners"),
        r#"{"captioners":["cap1"]}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        addr,
        Some("org"),
        "PUT",
        &format!("{base}/captioners"),
        r#"{"captioners":["cap1","cap2"]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mine = call(addr, Some("cap1"), "GET", "/api/captioner/events", "").await;
    assert!(mine.body.contains(&id));
    let theirs = call(addr, Some("cap3"), "GET", "/api/captioner/events", "").await;
    assert!(!theirs.body.contains(&id), "cap3 is not on this event");

    // A desk stream needs an assigned captioner.
    for who in [None, Some("cap3"), Some("org")] {
        let auth = who.map(basic);
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        assert!(
            SseStream::open(addr, &format!("/events/{id}/captions?view=desk"), &h)
                .await
                .is_err(),
            "{who:?} opened a desk"
        );
    }
    let mut live = open(addr, &id, "live", None).await;
    let mut checked = open(addr, &id, "checked", None).await;
    let mut desk1 = open(addr, &id, "desk", Some("cap1")).await;
    let mut desk2 = open(addr, &id, "desk", Some("cap2")).await;
    let info = status(&mut live, |i| i.captioner_present).await;
    assert_eq!(info.correction_window_ms, 4000);

    // A machine line goes to live viewers and the desks at once, with its uncertain marks.
    ev.caption(line("林清市残连今天发布", 0));
    let l = caption(&mut live).await;
    assert_eq!(
        (l.seq, l.review.rev, l.unsure.clone()),
        (0, 0, vec![[0, 2]])
    );
    assert_eq!(caption(&mut desk1).await.seq, 0);
    assert_eq!(caption(&mut desk2).await.seq, 0);

    // Bad corrections: a clear refusal each, nothing changed.
    let path = format!("{base}/captions/0");
    for (who, body, code) in [
        (None, r#"{"text":"x"}"#, 401),
        (Some("org"), r#"{"text":"x"}"#, 403),
        (Some("cap3"), r#"{"text":"x"}"#, 403),
        (Some("cap1"), r#"{"text":"#, 400),
        (Some("cap1"), r#"{"txt":"x"}"#, 400),
    ] {
        let r = call(addr, who, "POST", &path, body).await;
        assert_eq!(r.status, code, "{who:?} {body}: {}", r.body);
        assert!(r.body.contains("\"message\""), "a reason: {}", r.body);
    }
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("{base}/captions/99"),
        r#"{"text":"x"}"#,
    )
    .await;
    assert_eq!(r.status, 404);
    let long = format!(r#"{{"text":"{}"}}"#, "长".repeat(501));
    assert_eq!(
        call(addr, Some("cap1"), "POST", &path, &long).await.status,
        413
    );

    // The correction: the same line, the next revision, to every view.
    let shown = Instant::now();
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &path,
        r#"{"text":"临清市残联今天发布"}"#,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    for (name, s) in [
        ("live", &mut live),
        ("checked", &mut checked),
        ("desk1", &mut desk1),
        ("desk2", &mut desk2),
    ] {
        let l = caption(s).await;
        assert_eq!((l.seq, l.review.rev), (0, 1), "{name}");
        assert!(l.review.corrected && l.review.checked, "{name}");
        assert_eq!(l.text, "临清市残联今天发布", "{name}");
        assert_eq!(l.review.machine_text.as_deref(), Some("林清市残连今天发布"));
    }
    assert!(
        shown.elapsed() < Duration::from_millis(500),
        "within 500 ms of the correction"
    );
    // A second captioner's later correction wins, and both desks show it.
    let r = call(
        addr,
        Some("cap2"),
        "POST",
        &path,
        r#"{"text":"临清市残联今天上午发布"}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(caption(&mut desk1).await.review.rev, 2);
    assert_eq!(caption(&mut desk2).await.text, "临清市残联今天上午发布");
    assert_eq!(caption(&mut live).await.review.rev, 2);
    assert_eq!(caption(&mut checked).await.review.rev, 2);

    // Checked viewers: a line waits for acceptance (here 1 s after it was shown)...
    ev.caption(line("第二句", 1));
    assert_eq!(caption(&mut live).await.seq, 1);
    let at = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("{base}/captions/1/accept"),
        "",
    )
    .await;
    assert_eq!(r.status, 204);
    let c = caption(&mut checked).await;
    assert_eq!((c.seq, c.text.as_str()), (1, "第二句"));
    assert!(
        at.elapsed() >= Duration::from_millis(1000),
        "held until accepted"
    );
    // ...or for the window.
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("{base}/captioning"),
        r#"{"correction_window_ms":1500}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        call(
            addr,
            Some("cap1"),
            "POST",
            &format!("{base}/captioning"),
            r#"{"correction_window_ms":999999}"#
        )
        .await
        .status,
        400
    );
    let at = Instant::now();
    ev.caption(line("第三句", 2));
    let c = caption(&mut checked).await;
    assert_eq!(c.seq, 2);
    let waited = at.elapsed();
    assert_eq!(caption(&mut live).await.seq, 2);
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_millis(4000),
        "{waited:?}"
    );

    // Learning: a rule and a term from a correction apply to later lines.
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("{base}/rules"),
        r#"{"wrong":"林清","right":"临清","hotword":true}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        call(
            addr,
            Some("cap1"),
            "POST",
            &format!("{base}/rules"),
            r#"{"wrong":"同","right":"同"}"#
        )
        .await
        .status,
        400
    );
    let r = call(
        addr,
        Some("org"),
        "PUT",
        &format!("{base}/glossary"),
        r#"{"text":"聊城市\n残连 => 残联\n"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("聊城市") && r.body.contains("临清"),
        "{}",
        r.body
    );
    ev.caption(line("林清的残连", 3));
    let l = caption(&mut live).await;
    assert_eq!(l.text, "临清的残联");
    assert!(l.unsure.is_empty(), "marks were for the recognizer's text");

    // 速录: typed text streams as typed; the recognizer only suggests, on the desk.
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("{base}/captioning"),
        r#"{"mode":"typed"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    status(&mut live, |i| {
        i.captioning == signrelay::signal::Captioning::Typed
    })
    .await;
    ev.caption(line("机器的建议", 4));
    let d = caption_where(&mut desk2, |l| l.seq >= 4).await;
    assert!(d.review.draft && d.text == "机器的建议", "{d:?}");
    let typing = format!("{base}/typing");
    assert_eq!(
        call(addr, Some("cap1"), "POST", &typing, r#"{"text":"各位"}"#)
            .await
            .status,
        204
    );
    let p = caption(&mut live).await;
    assert!(!p.stable && p.review.typed && p.text == "各位", "{p:?}");
    assert_eq!(
        call(
            addr,
            Some("cap1"),
            "POST",
            &typing,
            r#"{"text":"各位记者","done":true}"#
        )
        .await
        .status,
        204
    );
    let done = caption(&mut live).await;
    assert!(done.stable && done.review.typed && done.text == "各位记者");
    assert_eq!(done.seq, 4, "the suggestion took no line number");
    assert_eq!(done.name, "速录员cap1");
    assert_eq!(
        call(
            addr,
            Some("cap3"),
            "POST",
            &typing,
            r#"{"text":"x","done":true}"#
        )
        .await
        .status,
        403
    );

    // Both captioners drop out: the badge says so, typed mode ends with them (nobody is left
    // to type) and checked viewers get live captions.
    drop(desk1);
    drop(desk2);
    let info = status(&mut checked, |i| !i.captioner_present).await;
    assert_eq!(info.captioning, signrelay::signal::Captioning::Machine);
    let r = call(
        addr,
        Some("org"),
        "POST",
        &format!("{base}/captioning"),
        r#"{"mode":"machine"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let at = Instant::now();
    ev.caption(line("没人校对了", 5));
    let c = caption(&mut checked).await;
    assert!(
        c.text == "没人校对了" && at.elapsed() < Duration::from_millis(1000),
        "not held: {c:?}"
    );

    // Downloads carry the corrected text; the JSON keeps the machine's beside it.
    let vtt = call(
        addr,
        None,
        "GET",
        &format!("/events/{id}/transcript.vtt"),
        "",
    )
    .await
    .body;
    assert!(
        vtt.contains("临清市残联今天上午发布") && !vtt.contains("林清市残连"),
        "{vtt}"
    );
    let json = call(
        addr,
        None,
        "GET",
        &format!("/events/{id}/transcript.json"),
        "",
    )
    .await
    .body;
    let lines: Vec<CaptionLine> = serde_json::from_str(&json).unwrap();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[0].review.machine_text.as_deref(),
        Some("林清市残连今天发布")
    );
    assert_eq!(lines[0].review.rev, 2);
    let o: serde_json::Value = serde_json::from_str(
        &call(addr, Some("org"), "GET", &format!("{base}/captioning"), "")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(o["stats"]["lines"], 6);
    assert_eq!(o["stats"]["corrected"], 1);
    assert_eq!(o["stats"]["typed"], 1);
    assert!(o["stats"]["chars_changed"].as_u64().unwrap() >= 4);
    assert!(o["stats"]["median_correction_ms"].as_u64().is_some());

    // The event ended: captions can no longer change.
    let r = call(addr, Some("org"), "POST", &format!("{base}/end"), "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        call(addr, Some("cap1"), "POST", &path, r#"{"text":"晚了"}"#)
            .await
            .status,
        409
    );
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recognizers_settled_text_replaces_its_live_line_everywhere_but_not_a_persons() {
    let srv = server().await;
    let addr = srv.addr;
    let id = create_event(addr, r#"{"title":"发布会"}"#).await;
    let ev = srv.briefings.get(&id).unwrap();
    let mut live = open(addr, &id, "live", None).await;
    // The recognizer's lines 7 and 8 are the event's first two.
    ev.caption(line("甚至出现交易几乎停止的情况", 7));
    ev.caption(line("东北军的一些爱国将士", 8));
    assert_eq!(caption(&mut live).await.seq, 0);
    assert_eq!(caption(&mut live).await.seq, 1);
    let settled = |text: &str, n: u64| {
        let mut l = line(text, n);
        l.review.settled = true;
        l
    };
    ev.caption(settled("甚至出现交易几乎停滞的情况", 7));
    let l = caption(&mut live).await;
    assert_eq!(
        (
            l.seq,
            l.review.rev,
            l.review.settled,
            l.review.corrected,
            l.text.as_str()
        ),
        (0, 1, true, false, "甚至出现交易几乎停滞的情况")
    );
    // A line a person corrected keeps the person's text.
    let res = call(
        addr,
        Some("org"),
        "PUT",
        &format!("/api/events/{id}/captioners"),
        r#"{"captioners":["cap1"]}"#,
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let r = call(
        addr,
        Some("cap1"),
        "POST",
        &format!("/api/events/{id}/captions/1"),
        r#"{"text":"东北军的一些爱国将士们"}"#,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(caption(&mut live).await.review.rev, 1);
    ev.caption(settled("东北军一些爱国将士", 8));
    let vtt = call(
        addr,
        None,
        "GET",
        &format!("/events/{id}/transcript.vtt"),
        "",
    )
    .await
    .body;
    assert!(
        vtt.contains("几乎停滞的情况") && !vtt.contains("停止") && vtt.contains("将士们"),
        "{vtt}"
    );
    let json = call(
        addr,
        None,
        "GET",
        &format!("/events/{id}/transcript.json"),
        "",
    )
    .await
    .body;
    let lines: Vec<CaptionLine> = serde_json::from_str(&json).unwrap();
    assert_eq!(lines.len(), 2, "a revision is no new line");
    assert!(lines[0].review.settled && !lines[0].review.corrected);
    srv.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_rules_and_captioners_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "signrelay-captioner-restart-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let url = signrelay::store::Store::default_url(&dir);
    let id = {
        let store = signrelay::store::Store::open(&url).await.unwrap();
        let events = signrelay::briefing::Briefings::open(Some(store), false)
            .await
            .unwrap();
        let ev = events
            .create(
                signrelay::signal::NewEvent {
                    title: "重启".into(),
                    captioners: vec!["cap1".into()],
                    correction_window_ms: Some(2000),
                    ..Default::default()
                },
                "org",
            )
            .await
            .unwrap();
        ev.caption(line("林清", 0));
        ev.review(|r, now| r.correct(0, "临清", now)).unwrap();
        ev.learn("残连", "残联", true).await.unwrap();
        ev.hub.flush().await;
        ev.id()
    };
    let store = signrelay::store::Store::open(&url).await.unwrap();
    let events = signrelay::briefing::Briefings::open(Some(store), false)
        .await
        .unwrap();
    let ev = events.get(&id).unwrap();
    assert!(ev.is_captioner("cap1"));
    assert_eq!(ev.info().correction_window_ms, 2000);
    let l = ev.hub.lines_from(0);
    assert_eq!((l[0].text.as_str(), l[0].review.rev), ("临清", 1));
    let (terms, rules) = ev.learnt();
    assert!(terms.contains(&"残联".to_owned()));
    assert_eq!(rules.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
