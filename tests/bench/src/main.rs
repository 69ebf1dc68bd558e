//! The `signrelay-bench` command: benchmarks that print figures (README "Benchmarks").

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "signrelay-bench",
    version,
    about = "Benchmarks of the signrelay server"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Benchmark: caption accuracy, latency and throughput on the shared speech clips.
    #[command(name = "captions", alias = "bench-captions")]
    Captions {
        /// Directory with manifest.tsv.
        #[arg(long, default_value = "../shared/speech")]
        speech: PathBuf,
        /// Model file.
        #[arg(long, env = "SIGNRELAY_MODEL")]
        model: Option<PathBuf>,
        /// Concurrent stream counts to try.
        #[arg(long, default_value = "1,2,3", value_delimiter = ',')]
        streams: Vec<usize>,
        /// Beam of the offline reference decode.
        #[arg(long, default_value_t = 5)]
        offline_beam: usize,
        /// Streaming decode interval, ms.
        #[arg(long, default_value_t = 1000)]
        chunk_ms: u64,
        /// Pause that ends an utterance, ms.
        #[arg(long, default_value_t = 600)]
        pause_ms: u64,
        /// Last units of a decode that do not vote (default: the recognizer's own).
        #[arg(long)]
        provisional: Option<usize>,
        /// Audio heard after a word before it is committed on one decode's spelling, ms
        /// (0: only agreement commits; default: the recognizer's own).
        #[arg(long)]
        deadline_ms: Option<u64>,
        /// Leave the live lines as committed (no settling pass).
        #[arg(long)]
        no_settle: bool,
        /// How long speech without a pause runs before it is settled, ms (default: the
        /// recognizer's own).
        #[arg(long)]
        settle_span_ms: Option<u64>,
        /// Time streaming decodes by a model of the reference machine, not the clock: every
        /// run decodes at the same points (compare two versions clip by clip).
        #[arg(long)]
        modeled: bool,
        /// Write each clip's committed lines here as JSON lines.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Benchmark: time of one streaming caption decode per buffer length.
    #[command(name = "decode")]
    Decode {
        /// Directory with manifest.tsv.
        #[arg(long, default_value = "../shared/speech")]
        speech: PathBuf,
        /// Model file.
        #[arg(long, env = "SIGNRELAY_MODEL")]
        model: Option<PathBuf>,
        /// Buffer lengths, seconds.
        #[arg(long, default_value = "2,4,6,8,12", value_delimiter = ',')]
        seconds: Vec<usize>,
        /// Decodes per length.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        /// Beam width (1: greedy, as streaming decodes; 5: the settling pass).
        #[arg(long, default_value_t = 1)]
        beam: usize,
    },
    /// Benchmark: N concurrent two-party calls of synthetic RTP through a server process.
    #[command(name = "calls", alias = "bench-calls")]
    Calls {
        /// Comma-separated numbers of concurrent calls.
        #[arg(long, default_value = "10,50,100", value_delimiter = ',')]
        calls: Vec<usize>,
        /// Seconds of steady load per step.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Synthetic video frames per second per participant.
        #[arg(long, default_value_t = 25)]
        video_fps: u32,
    },
    /// Benchmark: caption subscribers (SSE) one node serves, and their delivery delay.
    #[command(name = "sse", alias = "bench-sse")]
    Sse {
        /// Subscribers.
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        /// Caption lines to send.
        #[arg(long, default_value_t = 30)]
        lines: usize,
        /// Time between lines, ms.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
    },
    /// Benchmark: WebRTC viewers of a press briefing: memory and CPU per viewer, delivery.
    #[command(name = "viewers", alias = "bench-viewers")]
    Viewers {
        /// Comma-separated numbers of viewers.
        #[arg(long, default_value = "50,100,200", value_delimiter = ',')]
        viewers: Vec<usize>,
        /// Seconds of steady load per step.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The subscriber side of bench-sse (started by it).
    /// Soak: churns calls, briefing viewers and caption subscribers for N minutes and prints
    /// the server's memory, open files, threads and gauges over time.
    #[command(name = "soak")]
    Soak {
        /// Minutes of churn.
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        /// Seconds between samples.
        #[arg(long, default_value_t = 60)]
        every_secs: u64,
        /// Live captions on (the speech model must be installed).
        #[arg(long)]
        captions: bool,
    },
    #[command(name = "sse-clients", hide = true)]
    SseClients {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        event: String,
        #[arg(long)]
        subscribers: usize,
        #[arg(long)]
        lines: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Captions {
            speech,
            model,
            streams,
            offline_beam,
            chunk_ms,
            pause_ms,
            provisional,
            deadline_ms,
            no_settle,
            settle_span_ms,
            modeled,
            events,
        } => bench_captions(signrelay_bench::bench::captions::CaptionBenchArgs {
            speech_dir: speech,
            model: model.unwrap_or_else(signrelay::asr::default_model_path),
            streams,
            offline_beam,
            chunk_ms,
            pause_ms,
            provisional,
            deadline_ms,
            settle: !no_settle,
            settle_span_ms,
            modeled,
            events_dir: events,
        }),
        Cmd::Decode {
            speech,
            model,
            seconds,
            repeats,
            beam,
        } => run_async(
            "decode",
            signrelay_bench::bench::decode::run(signrelay_bench::bench::decode::DecodeBenchArgs {
                speech_dir: speech,
                model: model.unwrap_or_else(signrelay::asr::default_model_path),
                seconds,
                repeats,
                beam,
            }),
        ),
        Cmd::Calls {
            calls,
            seconds,
            video_fps,
        } => bench(signrelay_bench::bench::BenchArgs {
            calls,
            seconds,
            video_fps,
        }),
        Cmd::Sse {
            subscribers,
            lines,
            interval_ms,
        } => run_async(
            "bench-sse",
            signrelay_bench::bench::sse::run(signrelay_bench::bench::sse::SseBenchArgs {
                subscribers,
                lines,
                interval_ms,
            }),
        ),
        Cmd::Viewers { viewers, seconds } => run_async(
            "bench-viewers",
            signrelay_bench::bench::viewers::run(
                signrelay_bench::bench::viewers::ViewerBenchArgs { viewers, seconds },
            ),
        ),
        Cmd::Soak {
            minutes,
            every_secs,
            captions,
        } => run_async(
            "soak",
            signrelay_bench::bench::soak::run(signrelay_bench::bench::soak::SoakArgs {
                minutes,
                every_secs,
                captions,
            }),
        ),
        Cmd::SseClients {
            addr,
            event,
            subscribers,
            lines,
        } => {
            // One thread: the load generator should take as little of the shared cores from
            // the server it measures as it can.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match rt.map(|rt| {
                rt.block_on(signrelay_bench::bench::sse::clients(
                    addr,
                    event,
                    subscribers,
                    lines,
                ))
            }) {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => {
                    eprintln!("signrelay-bench sse-clients: {e}");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("signrelay-bench sse-clients: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Runs an async command to completion, mapping its error to an exit code.
fn run_async<F>(what: &str, fut: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), String>>,
{
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGNRELAY_LOG")
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "warn,webrtc=error,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_srtp=error,rtc_sctp=error,whisper_rs=off",
            )
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signrelay-bench: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signrelay-bench {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench_captions(args: signrelay_bench::bench::captions::CaptionBenchArgs) -> ExitCode {
    run_async(
        "bench-captions",
        signrelay_bench::bench::captions::run(args),
    )
}

fn bench(args: signrelay_bench::bench::BenchArgs) -> ExitCode {
    run_async("bench-calls", signrelay_bench::bench::run(args))
}
