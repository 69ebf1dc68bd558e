//! Starting the server: used by `signrelay serve`, the tests and the benchmark.

use crate::asr::{Engine, EngineConfig, Lang};
use crate::briefing::{BriefingError, Briefings};
use crate::captions::live::LiveCaptions;
use crate::config::{CaptionsConfig, Config};
use crate::http::{router, AppState};
use crate::store::{AccountRole, Store, StoreError};
use crate::switchboard::Switchboard;
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;

/// Why the server could not start.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The listen address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The events directory is unusable.
    #[error("events: {0}")]
    Briefings(#[from] BriefingError),
    /// The database is unusable.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// A bound, running server.
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// Calls and signaling.
    pub switchboard: Arc<Switchboard>,
    /// Accounts and records.
    pub store: Store,
    /// Press briefings.
    pub briefings: Arc<Briefings>,
    /// Ends when the server stops.
    pub task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl Running {
    /// Stops accepting, tells connected pages, ends their calls and drains the record and
    /// transcript writers (at most `limit`), then stops the listener.
    pub async fn shutdown(self, limit: std::time::Duration) {
        self.switchboard.shutdown(limit).await;
        self.task.abort();
    }
}

/// Loads the speech model for live captions; without it the server runs with captions off.
async fn load_captions(cfg: &CaptionsConfig) -> Option<LiveCaptions> {
    if !cfg.enabled {
        tracing::info!("live captions disabled in the configuration");
        return None;
    }
    let path = cfg
        .model
        .clone()
        .unwrap_or_else(crate::asr::default_model_path);
    let engine_cfg = EngineConfig {
        workers: cfg.workers,
        threads_per_worker: cfg.threads_per_worker,
        beam: 1,
        background_workers: cfg.background_workers,
    };
    let loaded = tokio::task::spawn_blocking(move || Engine::load(&path, engine_cfg)).await;
    match loaded {
        Ok(Ok(engine)) => {
            let lang = Lang::parse(&cfg.language).unwrap_or(Lang::Zh);
            tracing::info!(language = %cfg.language, "live captions on");
            Some(LiveCaptions::new(engine, lang, cfg.hotwords.clone()))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "live captions off (run `signrelay model install`)");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "speech model loader crashed; captions off");
            None
        }
    }
}

/// Accounts listed in the configuration file are created on first start (never overwritten:
/// once in the database, they are managed on the dashboard).
async fn seed_accounts(store: &Store, cfg: &Config) -> Result<(), StoreError> {
    for a in &cfg.interpreters {
        if store
            .seed_user(
                &a.username,
                &a.display_name,
                AccountRole::Interpreter,
                &a.password,
                &a.sign_languages,
            )
            .await?
        {
            if !a.gender.is_empty() || !a.topics.is_empty() {
                store.set_skills(&a.username, &a.gender, &a.topics).await?;
            }
            tracing::info!(user = %a.username, "interpreter account created from the configuration");
        }
    }
    for o in &cfg.organizers {
        if store
            .seed_user(
                &o.username,
                &o.username,
                AccountRole::Organizer,
                &o.password,
                &[],
            )
            .await?
        {
            tracing::info!(user = %o.username, "organizer account created from the configuration");
        }
    }
    if store.user_count().await? == 0 {
        // A first run must be usable without writing a config: one account per role with a
        // fresh password, written to a file only the server's user may read (never to the
        // log, which is collected and kept); change them on the dashboard, then delete it.
        let mut note = String::from(
            "# signrelay first start: one account per role. Change these passwords on the\n\
             # dashboard (/admin), then delete this file.\n",
        );
        for (name, role, display) in [
            ("admin", AccountRole::Admin, "管理员 Admin"),
            (
                "interpreter",
                AccountRole::Interpreter,
                "值班翻译员 Duty interpreter",
            ),
            (
                "organizer",
                AccountRole::Organizer,
                "发布会组织者 Organizer",
            ),
        ] {
            let password = crate::token::new_token()[..16].to_owned();
            store
                .create_user(name, display, role, &password, &[])
                .await?;
            note.push_str(&format!("{} {name} {password}\n", role.as_str()));
        }
        let path = cfg.data_dir.join("first-start-passwords.txt");
        match write_private(&path, &note) {
            Ok(()) => tracing::warn!(
                file = %path.display(),
                "first start: one account per role created; their passwords are in this file (owner-only)"
            ),
            // Never to the log instead: set new ones with `signrelay admin set-password`.
            Err(e) => tracing::error!(
                file = %path.display(),
                error = %e,
                "first-start passwords could not be written; set them with `signrelay admin set-password`"
            ),
        }
    }
    Ok(())
}

/// Writes a file only its owner may read or write.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

/// Binds and starts serving in the background.
pub async fn start(cfg: Config) -> Result<Running, ServeError> {
    let addr = cfg.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr()?;
    let store = Store::open(&cfg.database()).await?;
    seed_accounts(&store, &cfg).await?;
    let captions = load_captions(&cfg.captions).await;
    let briefings = Arc::new(Briefings::open(Some(store.clone()), captions.is_some()).await?);
    let switchboard = Switchboard::start(
        Arc::new(cfg),
        captions.clone(),
        briefings.clone(),
        store.clone(),
    );
    let app = router(AppState {
        sfu: switchboard.sfu().clone(),
        switchboard: switchboard.clone(),
        store: store.clone(),
        briefings: briefings.clone(),
        captions,
    });
    // Caption frames and signaling messages are small and often come in twos (a final line,
    // then the next guess): Nagle's algorithm would hold the second for the first's ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // Admission control counts per client address, so handlers need the peer's.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running {
        addr,
        switchboard,
        store,
        briefings,
        task,
    })
}
