//! `signrelay-bench viewers`: what browser viewers of a press briefing cost. A server process,
//! an encoder publishing by WHIP (Opus silence and 16.7 fps of 1 000-byte video packets), and N
//! scripted viewers joining the event over the signaling protocol, each with its own WebRTC
//! connection. Prints the server's memory and CPU per viewer and the share of packets each
//! viewer received. The viewers run in this process, on the same two cores.

use super::calls::{spawn_server, wait_healthy};
use super::procstat;
use crate::loadgen::http::request;
use crate::loadgen::whip::WhipPublisher;
use crate::loadgen::Participant;
use base64::Engine as _;
use signrelay::sfu::Codec;
use signrelay::signal::{ClientMsg, EventCreated, ServerMsg};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct ViewerBenchArgs {
    /// Numbers of viewers to measure, in order.
    pub viewers: Vec<usize>,
    /// Seconds of steady load per step.
    pub seconds: u64,
}

/// Runs the benchmark and prints a table.
pub async fn run(args: ViewerBenchArgs) -> Result<(), String> {
    let max = args.viewers.iter().copied().max().unwrap_or(0);
    let srv = spawn_server(
        "[[organizers]]\nusername = \"bench\"\npassword = \"bench-pass\"\n",
        max + 20,
        10,
    )?;
    wait_healthy(&srv.addr).await?;
    let addr: std::net::SocketAddr = srv.addr.parse().map_err(|e| format!("{e}"))?;
    let (ev, encoder) = briefing_with_encoder(addr, "bench", "bench-pass").await?;
    let _media = encoder.stream(Vec::new());
    let pid = srv.child.id();
    let ticks = procstat::clock_ticks();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let base_rss = procstat::status_mb(pid, "VmRSS:");
    let cpu0 = procstat::cpu_secs(pid, ticks);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let base_cpu = (procstat::cpu_secs(pid, ticks) - cpu0) / 3.0;
    println!("# signrelay-bench viewers: one WHIP encoder (50 audio + 16.7 video packets/s), N WebRTC viewers");
    println!(
        "# server alone with the encoder: RSS {base_rss:.1} MB, CPU {:.1} % of a core",
        base_cpu * 100.0
    );
    println!(
        "viewers | join p50 / max | delivered | server CPU (per viewer) | server RSS (per viewer)"
    );
    let ws = format!("ws://{addr}/ws");
    let mut viewers: Vec<Participant> = Vec::new();
    for &n in &args.viewers {
        let mut joins = Vec::new();
        while viewers.len() < n {
            let t = Instant::now();
            let mut v = Participant::connect(&ws).await.map_err(|e| e.to_string())?;
            v.send(ClientMsg::JoinEvent {
                event: ev.event.id.clone(),
                token: None,
                name: None,
            });
            v.expect("welcome", Duration::from_secs(10), |m| {
                matches!(m, ServerMsg::Welcome { .. })
            })
            .await
            .map_err(|e| e.to_string())?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while v.counters.video_in.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            joins.push(t.elapsed().as_secs_f64() * 1000.0);
            viewers.push(v);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before: Vec<u64> = viewers.iter().map(|v| v.counters.received()).collect();
        let cpu0 = procstat::cpu_secs(pid, ticks);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let secs = t0.elapsed().as_secs_f64();
        let cpu = (procstat::cpu_secs(pid, ticks) - cpu0) / secs;
        let got: u64 = viewers
            .iter()
            .zip(&before)
            .map(|(v, b)| v.counters.received() - b)
            .sum();
        // 50 audio packets and a video packet every third 20 ms tick, a second, to each viewer.
        let expected = (50.0 + 50.0 / 3.0) * secs * viewers.len() as f64;
        let rss = procstat::status_mb(pid, "VmRSS:");
        println!(
            "{n} | {:.0} / {:.0} ms | {:.1} % | {:.0} % ({:.2} %) | {rss:.0} MB ({:.2} MB)",
            super::percentile(&joins, 0.5),
            super::percentile(&joins, 1.0),
            100.0 * got as f64 / expected,
            cpu * 100.0,
            (cpu - base_cpu) * 100.0 / n as f64,
            (rss - base_rss) / n as f64,
        );
    }
    Ok(())
}

/// Creates a briefing as organizer `user` and starts a WHIP encoder publishing to it.
pub(super) async fn briefing_with_encoder(
    addr: std::net::SocketAddr,
    user: &str,
    pass: &str,
) -> Result<(EventCreated, WhipPublisher), String> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    let res = request(
        addr,
        "POST",
        "/api/events",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        br#"{"title":"bench"}"#,
    )
    .await
    .map_err(|e| e.to_string())?;
    let ev: EventCreated = serde_json::from_str(&res.body)
        .map_err(|e| format!("event not created ({}): {e}", res.status))?;
    let encoder = WhipPublisher::publish(addr, &ev.event.id, &ev.broadcaster_token, Codec::Vp8)
        .await
        .map_err(|e| e.to_string())?;
    Ok((ev, encoder))
}
