//! One signaling WebSocket per page.

use super::auth::current_user;
use super::guard::{client_addr, too_many};
use super::AppState;
use crate::admission::{Pass, Resource, Who};
use crate::signal::{self, ErrorCode, ServerMsg};
use crate::store::AccountRole;
use crate::switchboard::SESSION_QUEUE;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::net::IpAddr;
use tokio::sync::mpsc;

/// Pages ping every 20 s; one silent for this long has vanished (network lost, device asleep)
/// and its session ends, so a caller never holds an interpreter with no one there.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Frames above this close the socket; frames up to it but above the protocol limit get a
/// clear `too_large` error instead.
const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Opens a page's socket if its address may hold another: refused with 429 before the
/// upgrade otherwise. A signed-in console (session cookie) is staff and shares its address
/// with its colleagues.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Response {
    if *app.switchboard.closing().borrow() {
        return crate::http::error::problem(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the service is restarting; try again in a moment",
        )
        .into_response();
    }
    let addr = client_addr(&headers);
    let user = current_user(&app, &headers).await.ok().flatten();
    let who = if user.is_some() {
        Who::Staff
    } else {
        Who::Anonymous
    };
    // A captioner's console may take call work on this socket without a second sign-in.
    let captioner = user
        .filter(|u| u.role == AccountRole::Captioner)
        .map(|u| u.display_name);
    let pass = match app
        .switchboard
        .admission()
        .admit(addr, Resource::Socket, who)
    {
        Ok(p) => p,
        Err(r) => return too_many(r).into_response(),
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| session(socket, app, addr, pass, captioner))
}

async fn session(
    socket: WebSocket,
    app: AppState,
    addr: IpAddr,
    _pass: Pass,
    captioner: Option<String>,
) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<ServerMsg>(SESSION_QUEUE);
    let sb = app.switchboard.clone();
    let id = sb.open_session(tx.clone(), addr);
    if let Some(name) = &captioner {
        sb.set_captioner(id, name);
    }
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
    let mut closing = sb.closing();
    loop {
        let next = tokio::select! {
            f = tokio::time::timeout(IDLE_TIMEOUT, stream.next()) => Some(f),
            _ = closing.wait_for(|c| *c) => None,
        };
        let Some(next) = next else {
            // The goodbye message is queued; give the writer a moment to send it.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            break;
        };
        let frame = match next {
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
