//! The `signrelay` command.

use clap::{Parser, Subcommand};
use signrelay::config::{Config, InterpreterAccount};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "signrelay",
    version,
    about = "Video relay for sign-language interpreting"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve(ServeArgs),
    /// Benchmark: N concurrent two-party calls of synthetic RTP through a server process.
    BenchCalls {
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
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "SIGNRELAY_CONFIG")]
    config: Option<PathBuf>,
    /// HTTP listen address (default 127.0.0.1:8080).
    #[arg(long, env = "SIGNRELAY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory (default ./data).
    #[arg(long, env = "SIGNRELAY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// IP the media sockets bind to (default 127.0.0.1; 0.0.0.0 for every interface).
    #[arg(long, env = "SIGNRELAY_MEDIA_IP")]
    media_ip: Option<IpAddr>,
    /// Public IP written into ICE candidates (1:1 NAT).
    #[arg(long, env = "SIGNRELAY_PUBLIC_IP")]
    public_ip: Option<IpAddr>,
    /// Media UDP port range, MIN-MAX (default 40000-40999).
    #[arg(long, env = "SIGNRELAY_RTC_PORTS")]
    rtc_ports: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "SIGNRELAY_LOG_JSON")]
    log_json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve(args) => serve(args),
        Cmd::BenchCalls {
            calls,
            seconds,
            video_fps,
        } => bench(signrelay::bench::BenchArgs {
            calls,
            seconds,
            video_fps,
        }),
    }
}

fn bench(args: signrelay::bench::BenchArgs) -> ExitCode {
    init_logging(false);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signrelay: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(signrelay::bench::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signrelay bench-calls: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SIGNRELAY_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
            "info,webrtc=warn,rtc=error,rtc_dtls=error,rtc_ice=error,rtc_srtp=error,rtc_sctp=error",
        )
        });
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        b.json().init();
    } else {
        b.init();
    }
}

fn load_config(args: &ServeArgs) -> Result<Config, String> {
    let mut cfg = match &args.config {
        Some(p) => Config::from_file(p).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(d) = &args.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(ip) = args.media_ip {
        cfg.media.bind_ip = ip;
    }
    if let Some(ip) = args.public_ip {
        cfg.media.public_ip = Some(ip);
    }
    if let Some(r) = &args.rtc_ports {
        cfg.set_port_range(r).map_err(|e| e.to_string())?;
    }
    if cfg.interpreters.is_empty() {
        // A first run must be usable without writing a config: one account with a fresh
        // password, shown once in the log.
        let password: String = {
            use rand::Rng;
            let b: [u8; 6] = rand::rng().random();
            b.iter().map(|x| format!("{x:02x}")).collect()
        };
        tracing::warn!(
            "no interpreters configured: sign in at /interpreter as user \"interpreter\" with password \"{password}\""
        );
        cfg.interpreters.push(InterpreterAccount {
            username: "interpreter".into(),
            password,
            display_name: "值班翻译员 Duty interpreter".into(),
            sign_languages: vec![],
        });
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

fn serve(args: ServeArgs) -> ExitCode {
    init_logging(args.log_json);
    let cfg = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("signrelay: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&cfg.data_dir) {
        eprintln!(
            "signrelay: cannot create data dir {}: {e}",
            cfg.data_dir.display()
        );
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signrelay: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let running = match signrelay::server::start(cfg).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("signrelay: {e}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            "signrelay listening on http://{} (caller page /, interpreter console /interpreter)",
            running.addr
        );
        tokio::select! {
            r = running.task => match r {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => { eprintln!("signrelay: {e}"); ExitCode::FAILURE }
                Err(e) => { eprintln!("signrelay: {e}"); ExitCode::FAILURE }
            },
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("shutting down");
                ExitCode::SUCCESS
            }
        }
    })
}
