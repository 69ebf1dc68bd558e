//! `signrelay-bench soak`: churns calls (place, ring, accept, media, hang up), briefing
//! viewers and caption-stream subscribers against a server process for N minutes and prints
//! its memory, open files, threads and live gauges over time; at the end, with the load gone,
//! whether anything was left over and how much memory grew after warm-up.

use super::calls::{spawn_server_with, wait_healthy};
use super::procstat;
use super::viewers::briefing_with_encoder;
use crate::loadgen::http::request;
use crate::loadgen::Participant;
use signrelay::signal::{ClientMsg, Presence, Purpose, ServerMsg};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

/// Soak settings.
#[derive(Debug, Clone)]
pub struct SoakArgs {
    /// How long to churn.
    pub minutes: f64,
    /// Seconds between samples.
    pub every_secs: u64,
    /// Live captions on (needs the model).
    pub captions: bool,
}

#[derive(Default)]
struct Done {
    calls: AtomicU64,
    viewers: AtomicU64,
    streams: AtomicU64,
    errors: AtomicU64,
}

/// The server's own gauges, by name prefix, summed.
async fn gauge(addr: SocketAddr, prefix: &str) -> u64 {
    let Ok(r) = request(addr, "GET", "/metrics", &[], b"").await else {
        return u64::MAX;
    };
    r.body
        .lines()
        .filter(|l| l.starts_with(prefix) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn one_call(ws: &str, interp: &mut Participant) -> Result<(), String> {
    let mut c = Participant::caller(ws).await.map_err(|e| e.to_string())?;
    c.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let call_id = interp.expect_incoming(T).await.map_err(|e| e.to_string())?;
    interp.send(ClientMsg::Accept { call_id });
    c.expect("connected", T, |m| {
        matches!(m, ServerMsg::CallConnected { .. })
    })
    .await
    .map_err(|e| e.to_string())?;
    let media = (c.start_media(25), interp.start_media(25));
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.send(ClientMsg::HangUp);
    c.expect("ended", T, |m| matches!(m, ServerMsg::CallEnded { .. }))
        .await
        .map_err(|e| e.to_string())?;
    media.0.abort();
    media.1.abort();
    c.disconnect().await;
    Ok(())
}

async fn interpreter(ws: &str) -> Result<Participant, String> {
    let i = Participant::connect(ws).await.map_err(|e| e.to_string())?;
    i.send(ClientMsg::Login {
        username: "i0".into(),
        password: "p0".into(),
    });
    i.send(ClientMsg::SetPresence {
        status: Presence::Available,
    });
    Ok(i)
}

/// Runs the soak and prints its table.
pub async fn run(args: SoakArgs) -> Result<(), String> {
    let srv = spawn_server_with(
        "[[interpreters]]\nusername = \"i0\"\npassword = \"p0\"\ndisplay_name = \"I0\"\n[[organizers]]\nusername = \"soak\"\npassword = \"soak-pass\"\n",
        200,
        50,
        args.captions,
    )?;
    wait_healthy(&srv.addr).await?;
    let addr: SocketAddr = srv.addr.parse().map_err(|e| format!("{e}"))?;
    let pid = srv.child.id();
    let ws = format!("ws://{addr}/ws");
    let auth = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "soak:soak-pass")
    );
    let (ev, encoder) = briefing_with_encoder(addr, "soak", "soak-pass").await?;
    let encoder_media = encoder.stream(Vec::new());

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Done::default());
    let mut churn = Vec::new();
    {
        let (stop, done, ws) = (stop.clone(), done.clone(), ws.clone());
        churn.push(tokio::spawn(async move {
            let Ok(mut interp) = interpreter(&ws).await else {
                done.errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            while !stop.load(Ordering::Relaxed) {
                match one_call(&ws, &mut interp).await {
                    Ok(()) => done.calls.fetch_add(1, Ordering::Relaxed),
                    Err(_) => done.errors.fetch_add(1, Ordering::Relaxed),
                };
            }
            interp.disconnect().await;
        }));
    }
    for _ in 0..2 {
        let (stop, done, ws, id) = (stop.clone(), done.clone(), ws.clone(), ev.event.id.clone());
        churn.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut v) = Participant::connect(&ws).await else {
                    done.errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                v.send(ClientMsg::JoinEvent {
                    event: id.clone(),
                    token: None,
                    name: None,
                });
                let ok = v
                    .expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
                    .await
                    .is_ok();
                tokio::time::sleep(Duration::from_secs(2)).await;
                let counter = if ok && v.counters.video_in.load(Ordering::Relaxed) > 0 {
                    &done.viewers
                } else {
                    &done.errors
                };
                counter.fetch_add(1, Ordering::Relaxed);
                v.disconnect().await;
            }
        }));
    }
    {
        let (stop, done, id) = (stop.clone(), done.clone(), ev.event.id.clone());
        churn.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let path = format!("/events/{id}/captions");
                // A subscriber that listens for a second and goes.
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    request(addr, "GET", &path, &[], b""),
                )
                .await;
                done.streams.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    println!(
        "# signrelay-bench soak: {} min of calls (3 s of media each), briefing viewers (2 s each, two at a time) and caption subscribers (1 s each); captions {}",
        args.minutes,
        if args.captions { "on" } else { "off" }
    );
    println!("min | RSS MB | fds | threads | sessions | peers | rooms | caption streams | calls / viewers / streams done | errors");
    let start = Instant::now();
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let warm_at = total / 5;
    let mut warm_rss: Option<f64> = None;
    let mut max_rss: f64 = 0.0;
    let mut last_loaded = 0.0;
    let sample = |t: Duration| {
        let done = done.clone();
        async move {
            let rss = procstat::status_mb(pid, "VmRSS");
            let line = format!(
                "{:5.1} | {rss:6.1} | {:4} | {:3} | {:4} | {:4} | {:3} | {:3} | {} / {} / {} | {}",
                t.as_secs_f64() / 60.0,
                fds(pid),
                threads(pid),
                gauge(addr, "signrelay_sessions").await,
                gauge(addr, "signrelay_peers").await,
                gauge(addr, "signrelay_rooms").await,
                gauge(addr, "signrelay_caption_streams").await,
                done.calls.load(Ordering::Relaxed),
                done.viewers.load(Ordering::Relaxed),
                done.streams.load(Ordering::Relaxed),
                done.errors.load(Ordering::Relaxed),
            );
            (rss, line)
        }
    };
    let (_, line) = sample(Duration::ZERO).await;
    println!("{line}");
    let base_fds = fds(pid);
    while start.elapsed() < total {
        tokio::time::sleep(Duration::from_secs(args.every_secs)).await;
        let (rss, line) = sample(start.elapsed()).await;
        println!("{line}");
        last_loaded = rss;
        if warm_rss.is_none() && start.elapsed() >= warm_at {
            warm_rss = Some(rss);
        }
        if warm_rss.is_some() {
            max_rss = max_rss.max(rss);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in churn {
        let _ = tokio::time::timeout(Duration::from_secs(30), c).await;
    }
    encoder_media.abort();
    // The encoder says goodbye as a WHIP client does.
    let bearer = format!("Bearer {}", ev.broadcaster_token);
    let _ = request(
        addr,
        "DELETE",
        &encoder.resource,
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    drop(encoder);
    // The organizer ends the briefing: its media room closes too.
    let _ = request(
        addr,
        "POST",
        &format!("/api/events/{}/end", ev.event.id),
        &[("Authorization", &auth)],
        b"",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, line) = sample(start.elapsed()).await;
    println!("{line}  (load gone)");
    let left = [
        ("sessions", gauge(addr, "signrelay_sessions").await),
        ("peers", gauge(addr, "signrelay_peers").await),
        ("rooms with media", gauge(addr, "signrelay_rooms").await),
        (
            "caption streams",
            gauge(addr, "signrelay_caption_streams").await,
        ),
        (
            "admission places",
            gauge(addr, "signrelay_admission_open").await,
        ),
        ("calls", gauge(addr, "signrelay_calls").await),
    ];
    let warm = warm_rss.unwrap_or(rss);
    let growth = |to: f64| (to - warm) / warm.max(1.0) * 100.0;
    println!(
        "# RSS after warm-up {warm:.1} MB, highest since {max_rss:.1} MB, last under load {last_loaded:.1} MB ({:+.1} %), with the load gone {rss:.1} MB ({:+.1} %)",
        growth(last_loaded),
        growth(rss)
    );
    println!(
        "# open files at start {base_fds}, at the end {}; left over: {}",
        fds(pid),
        left.iter()
            .map(|(what, n)| format!("{what} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
