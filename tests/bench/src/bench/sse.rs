//! `signrelay-bench sse`: how many caption subscribers one node serves. The server runs in this
//! process (so the benchmark can inject caption lines and read the server's own memory and
//! CPU); the subscribers run in a child process (`bench-sse-clients`), each a real HTTP
//! connection reading `GET /events/{id}/captions`. Every injected line carries its send time;
//! subscribers report the delay until they read it.

use super::{percentile, procstat};
use serde::{Deserialize, Serialize};
use signrelay::config::Config;
use signrelay::signal::{CaptionLine, NewEvent, Role};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct SseBenchArgs {
    /// Subscribers.
    pub subscribers: usize,
    /// Caption lines sent.
    pub lines: usize,
    /// Time between lines, ms (speech commits a line every 1-3 s).
    pub interval_ms: u64,
}

/// What the subscriber process reports.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ClientReport {
    /// Connections that got the stream.
    pub connected: usize,
    /// Lines read, over all subscribers.
    pub received: usize,
    /// Delays, ms.
    pub delays_ms: Vec<f64>,
    /// Delays of each subscriber's first line, ms.
    pub first_line_ms: Vec<f64>,
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: SseBenchArgs) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("signrelay-bench-sse-{}", std::process::id()));
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        data_dir: dir.clone(),
        ..Config::default()
    };
    cfg.captions.enabled = false;
    cfg.admission = toml::from_str::<signrelay::config::Config>(super::calls::BENCH_ADMISSION)
        .map_err(|e| e.to_string())?
        .admission;
    let srv = signrelay::server::start(cfg)
        .await
        .map_err(|e| e.to_string())?;
    let created = srv
        .switchboard
        .create_event(
            NewEvent {
                title: "bench".into(),
                language: None,
                hotwords: vec![],
                starts_at_unix_ms: None,
                ..Default::default()
            },
            "bench",
        )
        .await
        .map_err(|e| e.to_string())?;
    let ev = srv
        .briefings
        .get(&created.event.id)
        .ok_or("event vanished")?;
    let pid = std::process::id();
    let ticks = procstat::clock_ticks();
    let rss_before = procstat::status_mb(pid, "VmRSS");

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "sse-clients",
            "--addr",
            &srv.addr.to_string(),
            "--event",
            &created.event.id,
            "--subscribers",
            &args.subscribers.to_string(),
            "--lines",
            &args.lines.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start subscribers: {e}"))?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let t_connect = Instant::now();
    match rx.recv().await.as_deref() {
        Some("READY") => {}
        other => return Err(format!("subscriber process did not start: {other:?}")),
    }
    let connect_secs = t_connect.elapsed().as_secs_f64();
    // Let the connections settle before reading memory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let subscribers = ev.hub.subscribers();
    let rss_idle = procstat::status_mb(pid, "VmRSS");
    println!(
        "{subscribers} SSE subscribers connected in {connect_secs:.1} s; server RSS {rss_before:.1} MB -> {rss_idle:.1} MB ({:.1} KB per idle subscriber)",
        (rss_idle - rss_before) * 1024.0 / subscribers.max(1) as f64
    );

    let cpu0 = procstat::cpu_secs(pid, ticks);
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(args.interval_ms));
    for seq in 0..args.lines as u64 {
        tick.tick().await;
        let now_ms = unix_micros() / 1000;
        ev.caption(CaptionLine {
            speaker: "p0".into(),
            role: Role::Broadcaster,
            name: "bench".into(),
            seq,
            // The subscriber reads the send time back from the text.
            text: unix_micros().to_string(),
            stable: true,
            start_ms: seq * 1000,
            end_ms: seq * 1000 + 900,
            audio_end_unix_ms: now_ms,
            degraded: false,
            unsure: Vec::new(),
            review: Default::default(),
        });
    }
    let fanout_secs = t0.elapsed().as_secs_f64();
    let cpu = (procstat::cpu_secs(pid, ticks) - cpu0) / fanout_secs.max(1e-3);
    let report_line = tokio::time::timeout(Duration::from_secs(120), rx.recv())
        .await
        .map_err(|_| "subscribers did not report")?
        .ok_or("subscriber process ended without a report")?;
    let _ = child.wait();
    let report: ClientReport =
        serde_json::from_str(&report_line).map_err(|e| format!("bad report: {e}"))?;
    let expected = report.connected * args.lines;
    println!(
        "{} lines every {} ms: {}/{} delivered ({:.3} %); server CPU {:.0} % of one core while fanning out",
        args.lines,
        args.interval_ms,
        report.received,
        expected,
        100.0 * report.received as f64 / expected.max(1) as f64,
        cpu * 100.0
    );
    let d = &report.delays_ms;
    let first: Vec<f64> = report.first_line_ms.clone();
    println!(
        "first line after connecting: p50 {:.1} p99 {:.1} ms",
        percentile(&first, 0.5),
        percentile(&first, 0.99)
    );
    println!(
        "delivery delay ms: p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}  (subscribers in a separate process on the same 2 cores)",
        percentile(d, 0.5),
        percentile(d, 0.95),
        percentile(d, 0.99),
        percentile(d, 1.0)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The subscriber side: opens `n` streams, prints `READY`, reads `lines` lines on each, then
/// prints a JSON report.
pub async fn clients(
    addr: SocketAddr,
    event: String,
    n: usize,
    lines: usize,
) -> Result<(), String> {
    let gate = Arc::new(Semaphore::new(256));
    let mut connecting = Vec::with_capacity(n);
    for _ in 0..n {
        let gate = gate.clone();
        let path = format!("/events/{event}/captions");
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.ok()?;
            let mut s = TcpStream::connect(addr).await.ok()?;
            let req = format!(
                "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.ok()?;
            // The status event arrives first: the stream is open.
            let mut buf = vec![0u8; 4096];
            let k = s.read(&mut buf).await.ok()?;
            let head = String::from_utf8_lossy(&buf[..k]).into_owned();
            head.starts_with("HTTP/1.1 200").then_some(s)
        }));
    }
    let mut streams = Vec::with_capacity(n);
    for c in connecting {
        if let Ok(Some(s)) = c.await {
            streams.push(s);
        }
    }
    let connected = streams.len();
    println!("READY");
    let _ = std::io::stdout().flush();
    let mut readers = Vec::with_capacity(connected);
    for mut s in streams {
        readers.push(tokio::spawn(async move {
            let mut delays = Vec::with_capacity(lines);
            let mut buf = vec![0u8; 16 * 1024];
            let mut pending = String::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60 + lines as u64);
            while delays.len() < lines {
                let Ok(Ok(k)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await else {
                    break;
                };
                if k == 0 {
                    break;
                }
                let now = unix_micros();
                pending.push_str(&String::from_utf8_lossy(&buf[..k]));
                while let Some(i) = pending.find("\"text\":\"") {
                    let rest = &pending[i + 8..];
                    let Some(j) = rest.find('"') else { break };
                    if let Ok(sent) = rest[..j].parse::<u64>() {
                        delays.push(now.saturating_sub(sent) as f64 / 1000.0);
                    }
                    pending.drain(..i + 8 + j);
                }
            }
            delays
        }));
    }
    let mut report = ClientReport {
        connected,
        ..Default::default()
    };
    for r in readers {
        if let Ok(d) = r.await {
            report.received += d.len();
            if let Some(f) = d.first() {
                report.first_line_ms.push(*f);
            }
            report.delays_ms.extend(d);
        }
    }
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}
