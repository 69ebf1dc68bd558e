//! `signrelay-bench calls`: runs a server as a child process and drives N two-party calls of
//! synthetic RTP through it, printing setup latencies, forwarding rate, delivery ratio and the
//! server's CPU and memory. The server is a separate process so its figures are its own; the
//! load generator shares the same cores, which the report states.

use super::procstat;
use crate::loadgen::Participant;
use signrelay::signal::{ClientMsg, Presence, Purpose, ServerMsg};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchArgs {
    /// Numbers of concurrent calls to measure, in order.
    pub calls: Vec<usize>,
    /// Seconds of steady load per step.
    pub seconds: u64,
    /// Synthetic video frame rate per participant (3 packets per frame).
    pub video_fps: u32,
}

/// A server child process, killed when dropped.
pub(super) struct ServerProc {
    pub(super) child: Child,
    pub(super) addr: String,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(max_calls: usize) -> Result<ServerProc, String> {
    let mut accounts = String::new();
    for i in 0..max_calls {
        accounts.push_str(&format!(
            "[[interpreters]]\nusername = \"i{i}\"\npassword = \"p{i}\"\ndisplay_name = \"I{i}\"\n"
        ));
    }
    spawn_server(&accounts, max_calls * 2 + 50, max_calls + 10)
}

/// Runs `signrelay serve` with captions off, `ports` media ports and `extra` TOML appended.
pub(super) fn spawn_server(
    extra: &str,
    ports: usize,
    max_queue: usize,
) -> Result<ServerProc, String> {
    spawn_server_with(extra, ports, max_queue, false)
}

/// The same, with live captions on when `captions` (the model must be installed).
pub(super) fn spawn_server_with(
    extra: &str,
    ports: usize,
    max_queue: usize,
    captions: bool,
) -> Result<ServerProc, String> {
    let dir = std::env::temp_dir().join(format!("signrelay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut cfg = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\n[media]\nport_min = 50000\nport_max = {}\n[service]\nmax_queue = {}\n[captions]\nenabled = {captions}\n{BENCH_ADMISSION}",
        dir.join("data").display(),
        50000 + ports,
        max_queue
    );
    cfg.push_str(extra);
    let path = dir.join("bench.toml");
    std::fs::write(&path, cfg).map_err(|e| e.to_string())?;
    let exe = server_binary()?;
    let child = Command::new(exe)
        .args(["serve", "--config"])
        .arg(&path)
        .env(
            "SIGNRELAY_LOG",
            "warn,webrtc=error,rtc=error,rtc_dtls=error,rtc_ice=error,rtc_srtp=error,rtc_sctp=error,whisper_rs=off",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start server: {e}"))?;
    Ok(ServerProc {
        child,
        addr: format!("127.0.0.1:{port}"),
    })
}

pub(super) async fn wait_healthy(addr: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("server did not start".into())
}

struct Call {
    caller: Participant,
    interp: Participant,
    _media: Vec<tokio::task::JoinHandle<()>>,
}

async fn setup_call(
    ws: &str,
    k: usize,
    video_fps: u32,
    ring_ms: &mut Vec<f64>,
    media_ms: &mut Vec<f64>,
) -> Result<Call, String> {
    let e = |x: crate::loadgen::ClientError| x.to_string();
    let mut interp = Participant::connect(ws).await.map_err(e)?;
    interp.send(ClientMsg::Login {
        username: format!("i{k}"),
        password: format!("p{k}"),
    });
    interp
        .expect("welcome", T, |m| matches!(m, ServerMsg::Welcome { .. }))
        .await
        .map_err(e)?;
    interp.send(ClientMsg::SetPresence {
        status: Presence::Available,
    });
    interp
        .expect("available", T, |m| {
            matches!(
                m,
                ServerMsg::Status {
                    status: signrelay::signal::InterpreterStatus::Available
                }
            )
        })
        .await
        .map_err(e)?;
    let caller = Participant::caller(ws).await.map_err(e)?;
    let imedia = interp.start_media(video_fps);
    let t0 = Instant::now();
    caller.send(ClientMsg::PlaceCall {
        counter: None,
        purpose: Purpose::DailyLife,
        sign_language: None,
        preferred_interpreter_gender: None,
    });
    let call_id = interp.expect_incoming(T).await.map_err(e)?;
    ring_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    let t1 = Instant::now();
    interp.send(ClientMsg::Accept { call_id });
    let deadline = Instant::now() + T;
    loop {
        let first = *caller
            .counters
            .first_media
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(at) = first {
            media_ms.push(at.duration_since(t1).as_secs_f64() * 1000.0);
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("call {k}: no media after accept"));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let cmedia = caller.start_media(video_fps);
    Ok(Call {
        caller,
        interp,
        _media: vec![imedia, cmedia],
    })
}

/// Runs the benchmark and prints its report.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    let max = args.calls.iter().copied().max().unwrap_or(0);
    let server = start_server(max)?;
    wait_healthy(&server.addr).await?;
    let pid = server.child.id();
    let ticks = procstat::clock_ticks();
    let ws = format!("ws://{}/ws", server.addr);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let base_rss = procstat::status_mb(pid, "VmRSS:");
    println!(
        "# signrelay-bench calls: 2-party calls, each side sending 50 audio + {} video packets/s",
        args.video_fps * 3
    );
    println!("# server pid {pid}, {cores} cores shared with this load generator; server idle RSS {base_rss:.1} MB");
    println!("calls | call->ring p50/max ms | accept->first media p50/max ms | fwd pkt/s | pkt/s per server core | delivery | server CPU % (per call) | RSS MB (per call)");
    let mut out = std::io::stdout();
    for &n in &args.calls {
        let (mut ring, mut media) = (Vec::new(), Vec::new());
        let mut calls = Vec::with_capacity(n);
        for k in 0..n {
            calls.push(setup_call(&ws, k, args.video_fps, &mut ring, &mut media).await?);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sent0: u64 = calls
            .iter()
            .map(|c| {
                c.caller.counters.sent.load(Ordering::Relaxed)
                    + c.interp.counters.sent.load(Ordering::Relaxed)
            })
            .sum();
        let recv0: u64 = calls
            .iter()
            .map(|c| c.caller.counters.received() + c.interp.counters.received())
            .sum();
        let cpu0 = procstat::cpu_secs(pid, ticks);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = procstat::cpu_secs(pid, ticks) - cpu0;
        let sent: u64 = calls
            .iter()
            .map(|c| {
                c.caller.counters.sent.load(Ordering::Relaxed)
                    + c.interp.counters.sent.load(Ordering::Relaxed)
            })
            .sum::<u64>()
            - sent0;
        let recv: u64 = calls
            .iter()
            .map(|c| c.caller.counters.received() + c.interp.counters.received())
            .sum::<u64>()
            - recv0;
        let rss = procstat::status_mb(pid, "VmRSS:");
        let fwd = recv as f64 / wall;
        let cpu_frac = cpu / wall;
        let per_core = if cpu_frac > 0.0 { fwd / cpu_frac } else { 0.0 };
        let delivery = if sent > 0 {
            recv as f64 / sent as f64
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "{n:5} | {:7.1} / {:7.1} | {:7.1} / {:7.1} | {fwd:9.0} | {per_core:9.0} | {:6.2}% | {:5.1}% ({:.2}%) | {rss:6.1} ({:.2})",
            super::percentile(&ring, 0.5), super::percentile(&ring, 1.0), super::percentile(&media, 0.5), super::percentile(&media, 1.0),
            delivery * 100.0, cpu_frac * 100.0, cpu_frac * 100.0 / n as f64, (rss - base_rss) / n as f64
        );
        for c in &calls {
            c.caller.send(ClientMsg::HangUp);
        }
        for c in &calls {
            c.caller.close().await;
            c.interp.close().await;
        }
        drop(calls);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

/// Every load of a benchmark comes from one address: its limits are lifted.
pub(crate) const BENCH_ADMISSION: &str = "[admission]\nburst = 100000\nper_second = 100000.0\n[admission.per_address]\nsocket = 100000\ncall = 100000\ncaptioned_call = 100000\nbriefing = 100000\nwhip = 100000\nwhep = 100000\nsse = 100000\n[admission.global]\nsocket = 100000\ncall = 100000\ncaptioned_call = 100000\nbriefing = 100000\nwhip = 100000\nwhep = 100000\nsse = 100000\n";

/// The server binary the benchmarks run: `$SIGNRELAY_BIN`, or `signrelay` beside this
/// command (both are built by `cargo build --release --workspace`).
fn server_binary() -> Result<std::path::PathBuf, String> {
    let path = match std::env::var_os("SIGNRELAY_BIN") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("signrelay"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no server binary at {} (build it with `cargo build --release --workspace`, or set SIGNRELAY_BIN)",
            path.display()
        ))
    }
}
