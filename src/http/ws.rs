//! One signaling WebSocket per page.

use super::AppState;
use crate::signal::{self, ErrorCode, ServerMsg};
use crate::switchboard::SESSION_QUEUE;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;

/// Pages ping every 20 s; one silent for this long has vanished (network lost, device asleep)
/// and its session ends, so a caller never holds an interpreter with no one there.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Frames above this close the socket; frames up to it but above the protocol limit get a
/// clear `too_large` error instead.
const MAX_FRAME_BYTES: usize = 1024 * 1024;

pub async fn upgrade(ws: WebSocketUpgrade, State(app): State<AppState>) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session(socket, app))
}

async fn session(socket: WebSocket, app: AppState) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<ServerMsg>(SESSION_QUEUE);
    let sb = app.switchboard.clone();
    let id = sb.open_session(tx.clone());
    tracing::debug!(session = %id, "page connected");
    let writer = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            let text = match serde_json::to_string(&msg) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, "unserializable message");
                    continue;
                }
            };
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
    });
    loop {
        let frame = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(f))) => f,
            Ok(Some(Err(e))) => {
                tracing::debug!(session = %id, error = %e, "socket error");
                break;
            }
            Ok(None) => break,
            Err(_) => {
                tracing::info!(
                    session = %id,
                    "page silent for {IDLE_TIMEOUT:?}; closing its session"
                );
                break;
            }
        };
        match frame {
            Message::Text(text) => match signal::parse_client(text.as_str()) {
                Ok(env) => sb.handle(id, env).await,
                Err(reply) => sb.deliver(id, reply),
            },
            Message::Binary(_) => sb.deliver(
                id,
                ServerMsg::error(None, ErrorCode::BadMessage, "signaling uses text frames"),
            ),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    sb.close_session(id);
    drop(tx);
    writer.abort();
    tracing::debug!(session = %id, "page disconnected");
}
