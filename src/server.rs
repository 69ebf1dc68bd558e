//! Starting the server: used by `signrelay serve`, the tests and the benchmark.

use crate::config::Config;
use crate::http::{router, AppState};
use crate::switchboard::Switchboard;
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
}

/// A bound, running server.
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The service behind it.
    pub switchboard: Arc<Switchboard>,
    /// Ends when the server stops.
    pub task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

/// Binds and starts serving in the background.
pub async fn start(cfg: Config) -> Result<Running, ServeError> {
    let addr = cfg.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let addr = listener.local_addr()?;
    let switchboard = Switchboard::start(Arc::new(cfg));
    let app = router(AppState {
        switchboard: switchboard.clone(),
    });
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Running {
        addr,
        switchboard,
        task,
    })
}
