//! Press-briefing events in the switchboard: pages joining as broadcaster, interpreter or
//! viewer, encoders publishing by WHIP, and the event's state following its publishers.

use super::{clean_name, lock, refuse, Switchboard};
use crate::broadcast::{Event, EventError, Events};
use crate::relay::RelayError;
use crate::sfu::{RoomKind, SfuError};
use crate::signal::{
    ClientMsg, EndReason, ErrorCode, EventCreated, NewEvent, Role, ServerMsg, SessionId,
};
use std::sync::Arc;
use thiserror::Error;

/// Largest WHIP offer accepted.
pub const MAX_WHIP_OFFER_BYTES: usize = 64 * 1024;

/// Why a WHIP request was refused.
#[derive(Debug, Error)]
pub enum WhipError {
    /// No such event, or it ended.
    #[error("no such event, or it has ended")]
    NoSuchEvent,
    /// The bearer token is missing or is not the event's broadcaster token.
    #[error("the bearer token is not this event's broadcaster token")]
    Unauthorized,
    /// The offer is unusable.
    #[error("{0}")]
    BadOffer(String),
    /// Nothing to play yet (WHEP before the broadcaster is on).
    #[error("the event is not live yet; try again when it is")]
    NotLive,
    /// Media could not be set up (no free port...).
    #[error("media could not be set up: {0}")]
    Media(SfuError),
}

impl From<SfuError> for WhipError {
    fn from(e: SfuError) -> Self {
        match e {
            SfuError::BadOffer(why) => WhipError::BadOffer(why),
            SfuError::NotLive => WhipError::NotLive,
            other => WhipError::Media(other),
        }
    }
}

impl Switchboard {
    /// The events of this server.
    pub fn events(&self) -> &Arc<Events> {
        &self.events
    }

    pub(super) fn event_of(&self, session: SessionId) -> Option<Arc<Event>> {
        lock(&self.sessions)
            .get(&session)
            .and_then(|s| s.event.as_ref().map(|(e, _)| e.clone()))
    }

    fn open_room(&self, ev: &Arc<Event>) {
        self.sfu.open_room(
            ev.room,
            RoomKind::Event {
                sink: ev.clone(),
                lang: ev.lang(),
                hotwords: ev.hotwords(),
            },
        );
    }

    /// Creates an event for an organizer.
    pub async fn create_event(
        &self,
        new: NewEvent,
        organizer: &str,
    ) -> Result<EventCreated, EventError> {
        let ev = self.events.create(new, organizer).await?;
        tracing::info!(event = %ev.id(), organizer, "event created");
        Ok(ev.created())
    }

    /// Ends an event: publishers are disconnected, viewers told, the transcript kept.
    pub async fn end_event(&self, ev: &Arc<Event>) -> Result<(), EventError> {
        let publishers = ev.end().await?;
        for s in publishers {
            lock(&self.whip).remove(&s);
        }
        // Closing the room disconnects everyone's media; pages learn why from the status.
        self.sfu.close(ev.room);
        tracing::info!(event = %ev.id(), "event ended");
        Ok(())
    }

    pub(super) fn join_event(
        &self,
        session: SessionId,
        id: &str,
        token: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), RelayError> {
        let Some(ev) = self.events.get(id).filter(|e| !e.ended()) else {
            return Err(refuse(
                ErrorCode::NoSuchEvent,
                "no such event, or it has ended",
            ));
        };
        let role = match token {
            None => Role::Viewer,
            Some(t) => ev.role_for_token(t).ok_or_else(|| {
                tracing::warn!(session, event = id, "event token refused");
                refuse(
                    ErrorCode::TokenInvalid,
                    "this link's token is not valid for the event",
                )
            })?,
        };
        let name = clean_name(name, role);
        let tx = {
            let mut sessions = lock(&self.sessions);
            let Some(s) = sessions.get_mut(&session) else {
                return Ok(());
            };
            // Status changes reach this page as they happen.
            let mut watch = ev.watch();
            let out = s.tx.clone();
            let follower = tokio::spawn(async move {
                while watch.changed().await.is_ok() {
                    let info = watch.borrow_and_update().clone();
                    if out.try_send(ServerMsg::EventStatus(info)).is_err() && out.is_closed() {
                        break;
                    }
                }
            });
            s.role = Some(role);
            s.name = name.clone();
            s.event = Some((ev.clone(), follower));
            s.tx.clone()
        };
        self.deliver(session, self.welcome(session, role, &name));
        self.deliver(session, ServerMsg::EventStatus(ev.info()));
        if role == Role::Viewer {
            ev.viewer(true);
        } else if let Some(old) = ev.publisher_joined(role, session) {
            self.replace_publisher(&ev, old);
        }
        self.open_room(&ev);
        self.sfu.join(ev.room, session, role, name, tx);
        tracing::info!(session, event = id, ?role, "joined event");
        Ok(())
    }

    /// The newest connection of a publisher wins: the previous one is dropped.
    fn replace_publisher(&self, ev: &Arc<Event>, old: SessionId) {
        self.sfu.leave(ev.room, old);
        if lock(&self.whip).remove(&old).is_some() {
            return;
        }
        self.deliver(
            old,
            ServerMsg::CallEnded {
                call_id: ev.room,
                reason: EndReason::Taken,
                by: None,
            },
        );
        if let Some(s) = lock(&self.sessions).get_mut(&old) {
            if let Some((_, follower)) = s.event.take() {
                follower.abort();
            }
        }
    }

    /// What a page in an event may do: negotiate its media, leave, ping.
    pub(super) fn dispatch_event(
        &self,
        session: SessionId,
        msg: ClientMsg,
    ) -> Result<(), RelayError> {
        let Some(ev) = self.event_of(session) else {
            return Ok(());
        };
        match msg {
            ClientMsg::Ping => self.deliver(session, ServerMsg::Pong),
            ClientMsg::HangUp => {
                self.leave_event(session);
                self.deliver(
                    session,
                    ServerMsg::CallEnded {
                        call_id: ev.room,
                        reason: EndReason::HangUp,
                        by: self.role(session),
                    },
                );
            }
            m @ (ClientMsg::Answer { .. }
            | ClientMsg::Candidate { .. }
            | ClientMsg::RequestKeyframe) => self.media(ev.room, session, m)?,
            _ => {
                return Err(refuse(
                    ErrorCode::Forbidden,
                    "not possible while in an event",
                ))
            }
        }
        Ok(())
    }

    /// A page leaves its event (hang-up, closed tab, failed media).
    pub(super) fn leave_event(&self, session: SessionId) {
        let (ev, role) = {
            let mut sessions = lock(&self.sessions);
            let Some(s) = sessions.get_mut(&session) else {
                return;
            };
            let Some((ev, follower)) = s.event.take() else {
                return;
            };
            follower.abort();
            (ev, s.role)
        };
        self.sfu.leave(ev.room, session);
        if role == Some(Role::Viewer) {
            ev.viewer(false);
        } else {
            self.publisher_gone(&ev, session);
        }
    }

    pub(super) fn event_media_failed(&self, room: u64, session: SessionId) {
        let whip = lock(&self.whip).remove(&session);
        if let Some(ev) = whip {
            tracing::warn!(session, event = %ev.id(), "WHIP encoder's media failed");
            self.sfu.leave(room, session);
            self.publisher_gone(&ev, session);
            return;
        }
        let player = lock(&self.whep).remove(&session);
        if let Some(ev) = player {
            self.sfu.leave(room, session);
            ev.viewer(false);
            return;
        }
        if self.event_of(session).is_some_and(|e| e.room == room) {
            tracing::warn!(session, "event media failed");
            self.leave_event(session);
            // The page reconnects with a new socket; the event resumes when it is back.
            self.deliver(
                session,
                ServerMsg::error(
                    None,
                    ErrorCode::MediaFailed,
                    "the media connection failed; reconnecting",
                ),
            );
        }
    }

    /// An event that has not ended, for WHIP and WHEP.
    fn open_event(&self, id: &str) -> Result<Arc<Event>, WhipError> {
        self.events
            .get(id)
            .filter(|e| !e.ended())
            .ok_or(WhipError::NoSuchEvent)
    }

    /// Checks a WHIP/WHEP offer and gives its session a number and the event its room.
    fn sdp_session(&self, ev: &Arc<Event>, offer: &str) -> Result<SessionId, WhipError> {
        if offer.len() > MAX_WHIP_OFFER_BYTES || !offer.starts_with("v=0") {
            return Err(WhipError::BadOffer(
                "the body is not an SDP offer (application/sdp, starting with v=0)".into(),
            ));
        }
        self.open_room(ev);
        Ok(self
            .next_session
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }

    /// An encoder publishes by WHIP: returns its session (the resource id) and our answer.
    pub async fn whip_publish(
        &self,
        id: &str,
        bearer: Option<&str>,
        offer: String,
    ) -> Result<(SessionId, String), WhipError> {
        let ev = self.open_event(id)?;
        if bearer.and_then(|t| ev.role_for_token(t)) != Some(Role::Broadcaster) {
            tracing::warn!(event = id, "WHIP request with a wrong token");
            return Err(WhipError::Unauthorized);
        }
        let session = self.sdp_session(&ev, &offer)?;
        let name = format!("{} (WHIP)", clean_name(None, Role::Broadcaster));
        let answer = self.sfu.whip(ev.room, session, name, offer).await?;
        lock(&self.whip).insert(session, ev.clone());
        if let Some(old) = ev.publisher_joined(Role::Broadcaster, session) {
            self.replace_publisher(&ev, old);
        }
        tracing::info!(session, event = id, "WHIP publishing");
        Ok((session, answer))
    }

    /// An encoder stops (HTTP DELETE of its resource); false if there is no such resource.
    pub fn whip_end(&self, id: &str, session: SessionId, bearer: Option<&str>) -> bool {
        let mut whip = lock(&self.whip);
        let ours = whip.get(&session).is_some_and(|e| {
            e.id() == id && bearer.and_then(|t| e.role_for_token(t)) == Some(Role::Broadcaster)
        });
        if !ours {
            return false;
        }
        if let Some(ev) = whip.remove(&session) {
            drop(whip);
            self.sfu.leave(ev.room, session);
            self.publisher_gone(&ev, session);
        }
        true
    }

    /// A player asks for the broadcaster by WHEP: returns its session and our answer.
    pub async fn whep_play(
        &self,
        id: &str,
        offer: String,
    ) -> Result<(SessionId, String), WhipError> {
        let ev = self.open_event(id)?;
        let session = self.sdp_session(&ev, &offer)?;
        let answer = self.sfu.whep(ev.room, session, offer).await?;
        ev.viewer(true);
        lock(&self.whep).insert(session, ev);
        Ok((session, answer))
    }

    /// A player stops (HTTP DELETE of its resource); false if there is no such resource.
    pub fn whep_end(&self, id: &str, session: SessionId) -> bool {
        let mut whep = lock(&self.whep);
        if whep.get(&session).is_none_or(|e| e.id() != id) {
            return false;
        }
        if let Some(ev) = whep.remove(&session) {
            drop(whep);
            self.sfu.leave(ev.room, session);
            ev.viewer(false);
        }
        true
    }

    /// A publisher is gone. When it was the speaker, WHEP players are let go too: they cannot
    /// be renegotiated onto the speaker's next connection, and a player reconnects by itself.
    pub(super) fn publisher_gone(&self, ev: &Arc<Event>, session: SessionId) {
        ev.publisher_left(session);
        if ev.info().state == crate::signal::EventState::Live {
            return;
        }
        let players: Vec<SessionId> = {
            let mut whep = lock(&self.whep);
            let mine: Vec<SessionId> = whep
                .iter()
                .filter(|(_, e)| Arc::ptr_eq(e, ev))
                .map(|(s, _)| *s)
                .collect();
            for s in &mine {
                whep.remove(s);
            }
            mine
        };
        for s in players {
            self.sfu.leave(ev.room, s);
            ev.viewer(false);
        }
    }
}
