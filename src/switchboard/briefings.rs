//! Briefings in the switchboard: pages joining as speaker, interpreter or viewer, encoders
//! publishing by WHIP and players receiving by WHEP, fed to the briefing rules, whose effects
//! are carried out here.

use super::{clean_name, lock, peer_of, refuse, RequestError, Switchboard};
use crate::admission::{Pass, Resource, Who};
use crate::briefing::core::{BriefingRefusal, Effect, Link, Publisher, Seat, Watcher};
use crate::briefing::{Briefing, BriefingError, Briefings};
use crate::captions::live::CaptionSink;
use crate::sfu::{Presence, RoomId, SfuError};
use crate::signal::{
    CallId, CaptionLine, CaptionStatus, ClientMsg, EndReason, ErrorCode, EventCreated, NewEvent,
    Participant, Role, ServerMsg, SessionId,
};
use crate::token::{constant_time_eq, new_token};
use std::sync::{Arc, Weak};
use thiserror::Error;

/// Largest WHIP offer accepted.
pub const MAX_WHIP_OFFER_BYTES: usize = 64 * 1024;

/// Why a WHIP or WHEP request was refused.
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
            SfuError::RoomClosed => WhipError::NoSuchEvent,
            other => WhipError::Media(other),
        }
    }
}

impl From<BriefingRefusal> for WhipError {
    fn from(e: BriefingRefusal) -> Self {
        match e {
            BriefingRefusal::Ended => WhipError::NoSuchEvent,
            BriefingRefusal::NotLive => WhipError::NotLive,
        }
    }
}

impl From<BriefingRefusal> for RequestError {
    fn from(e: BriefingRefusal) -> Self {
        refuse(ErrorCode::NoSuchEvent, e.to_string())
    }
}

/// The number pages know a briefing's room by: their messages name it in `call_id`.
fn wire_room(b: &Briefing) -> CallId {
    CallId(b.room)
}

fn room_of(b: &Briefing) -> RoomId {
    RoomId::Briefing(b.room)
}

/// The speaker's captions go into the briefing's transcript and out to its subscribers.
pub(super) struct BriefingCaptions {
    pub(super) sb: Weak<Switchboard>,
    pub(super) briefing: Arc<Briefing>,
}

impl CaptionSink for BriefingCaptions {
    fn caption(&self, line: CaptionLine) {
        let fx = self.briefing.caption(line);
        if let Some(sb) = self.sb.upgrade() {
            sb.run_briefing(&self.briefing, fx);
        }
    }

    fn status(&self, status: CaptionStatus) {
        let fx = self.briefing.caption_status(&status);
        if let Some(sb) = self.sb.upgrade() {
            sb.run_briefing(&self.briefing, fx);
        }
    }
}

impl Switchboard {
    /// The briefings of this server.
    pub fn briefings(&self) -> &Arc<Briefings> {
        &self.briefings
    }

    pub(super) fn briefing_of(&self, session: SessionId) -> Option<Arc<Briefing>> {
        lock(&self.sessions)
            .get(&session)
            .and_then(|s| s.briefing.clone())
    }

    /// Carries out what a briefing's rules decided.
    pub(super) fn run_briefing(&self, b: &Arc<Briefing>, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::LeaveRoom(s) => {
                    self.sfu.leave(room_of(b), peer_of(s));
                    // A WHIP/WHEP session's resource and admission place go with it.
                    lock(&self.media_sessions).remove(&s);
                }
                Effect::Replaced(s) => {
                    self.deliver(
                        s,
                        ServerMsg::CallEnded {
                            call_id: wire_room(b),
                            reason: EndReason::Taken,
                            by: None,
                        },
                    );
                    if let Some(info) = lock(&self.sessions).get_mut(&s) {
                        info.briefing = None;
                    }
                }
                Effect::Status => {
                    let info = b.info();
                    for s in b.with_core(|c| c.pages()) {
                        self.deliver(s, ServerMsg::EventStatus(info.clone()));
                    }
                }
                Effect::Roster => {
                    for s in b.with_core(|c| c.pages()) {
                        self.send_briefing_roster(b, s);
                    }
                }
                Effect::RosterTo(s) => self.send_briefing_roster(b, s),
                Effect::CloseRoom => self.sfu.close(room_of(b)),
            }
        }
    }

    /// A briefing's roster lists its publishers only.
    fn send_briefing_roster(&self, b: &Briefing, to: SessionId) {
        let participants = b.with_core(|c| {
            c.publishers()
                .map(|p| Participant {
                    id: peer_of(p.session).to_string(),
                    role: match p.seat {
                        Seat::Speaker => Role::Broadcaster,
                        Seat::Interpreter => Role::Interpreter,
                    },
                    name: p.name.clone(),
                    support: false,
                })
                .collect()
        });
        self.deliver(
            to,
            ServerMsg::Room {
                call_id: wire_room(b),
                you: peer_of(to).to_string(),
                participants,
            },
        );
    }

    /// Creates a briefing for an organizer.
    pub async fn create_event(
        &self,
        new: NewEvent,
        organizer: &str,
    ) -> Result<EventCreated, BriefingError> {
        let b = self.briefings.create(new, organizer).await?;
        tracing::info!(event = %b.id(), organizer, "event created");
        Ok(b.created())
    }

    /// Ends a briefing: everyone's media goes, pages learn it from the status, the
    /// transcript is kept.
    pub async fn end_event(&self, b: &Arc<Briefing>) -> Result<(), BriefingError> {
        let fx = b.end().await?;
        self.run_briefing(b, fx);
        tracing::info!(event = %b.id(), "event ended");
        Ok(())
    }

    pub(super) fn join_briefing(
        &self,
        session: SessionId,
        id: &str,
        token: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), RequestError> {
        let Some(b) = self.briefings.get(id).filter(|e| !e.ended()) else {
            return Err(refuse(
                ErrorCode::NoSuchEvent,
                "no such event, or it has ended",
            ));
        };
        let role = match token {
            None => Role::Viewer,
            Some(t) => b.role_for_token(t).ok_or_else(|| {
                tracing::warn!(%session, event = id, "event token refused");
                refuse(
                    ErrorCode::TokenInvalid,
                    "this link's token is not valid for the event",
                )
            })?,
        };
        let name = clean_name(name, role);
        let (mine, total) = {
            let sessions = lock(&self.sessions);
            let Some(me) = sessions.get(&session) else {
                return Ok(()); // the page went while this was checked
            };
            let mine = sessions
                .values()
                .filter(|s| s.addr == me.addr && s.briefing.is_some())
                .count();
            let total = sessions.values().filter(|s| s.briefing.is_some()).count();
            (mine, total)
        };
        // Publishing links are staff's: only viewers count against the address.
        let who = if role == Role::Viewer {
            Who::Anonymous
        } else {
            Who::Staff
        };
        self.gate
            .admit_counted(Resource::Briefing, who, mine, total)
            .map_err(|r| {
                tracing::warn!(session = %session, "briefing join refused by admission control");
                refuse(ErrorCode::RateLimited, r.message())
            })?;
        let (fx, presence) = match role {
            Role::Viewer => (
                b.update(|c| c.watch(session, Watcher::Page))?,
                Presence::Viewer,
            ),
            _ => {
                let seat = if role == Role::Broadcaster {
                    Seat::Speaker
                } else {
                    Seat::Interpreter
                };
                let fx = b.update(|c| {
                    c.take_seat(Publisher {
                        session,
                        seat,
                        link: Link::Page,
                        name: name.clone(),
                    })
                })?;
                (
                    fx,
                    Presence::Publisher {
                        featured: seat == Seat::Speaker,
                    },
                )
            }
        };
        if let Some(s) = lock(&self.sessions).get_mut(&session) {
            s.role = Some(role);
            s.name = name.clone();
            s.briefing = Some(b.clone());
        }
        self.deliver(session, self.welcome(session, role, &name));
        self.deliver(session, ServerMsg::EventStatus(b.info()));
        self.run_briefing(&b, fx);
        self.sfu.open_room(room_of(&b));
        if let Err(e) = self.sfu.join(room_of(&b), peer_of(session), presence) {
            tracing::warn!(%session, event = id, error = %e, "could not join the media room");
        }
        tracing::info!(%session, event = id, ?role, "joined event");
        Ok(())
    }

    /// What a page in a briefing may do: negotiate its media, leave, ping.
    pub(super) fn route_briefing(
        &self,
        session: SessionId,
        msg: ClientMsg,
    ) -> Result<(), RequestError> {
        let Some(b) = self.briefing_of(session) else {
            return Ok(());
        };
        match msg {
            ClientMsg::Ping => self.deliver(session, ServerMsg::Pong),
            ClientMsg::HangUp => {
                let by = self.role(session);
                self.leave_briefing(session);
                self.deliver(
                    session,
                    ServerMsg::CallEnded {
                        call_id: wire_room(&b),
                        reason: EndReason::HangUp,
                        by,
                    },
                );
            }
            m @ (ClientMsg::Answer { .. }
            | ClientMsg::Candidate { .. }
            | ClientMsg::RequestKeyframe) => self.media(room_of(&b), session, m)?,
            _ => {
                return Err(refuse(
                    ErrorCode::Forbidden,
                    "not possible while in an event",
                ))
            }
        }
        Ok(())
    }

    /// A page leaves its briefing (hang-up, closed tab, failed media).
    pub(super) fn leave_briefing(&self, session: SessionId) {
        let b = {
            let mut sessions = lock(&self.sessions);
            let Some(b) = sessions.get_mut(&session).and_then(|s| s.briefing.take()) else {
                return;
            };
            b
        };
        let fx = b.update(|c| c.leave(session));
        self.run_briefing(&b, fx);
    }

    pub(super) fn briefing_media_failed(&self, room: u64, session: SessionId) {
        let Some(b) = self.briefings.by_room(room) else {
            return;
        };
        let page = self
            .briefing_of(session)
            .is_some_and(|mine| Arc::ptr_eq(&mine, &b));
        if page {
            tracing::warn!(%session, "event media failed");
            self.leave_briefing(session);
            // The page reconnects with a new socket; the briefing resumes when it is back.
            self.deliver(
                session,
                ServerMsg::error(
                    None,
                    ErrorCode::MediaFailed,
                    "the media connection failed; reconnecting",
                ),
            );
            return;
        }
        // An encoder or a player: nobody to tell.
        tracing::warn!(%session, event = %b.id(), "WHIP/WHEP media failed");
        let fx = b.update(|c| c.leave(session));
        self.run_briefing(&b, fx);
    }

    /// A briefing that has not ended, for WHIP and WHEP.
    fn open_briefing(&self, id: &str) -> Result<Arc<Briefing>, WhipError> {
        self.briefings
            .get(id)
            .filter(|e| !e.ended())
            .ok_or(WhipError::NoSuchEvent)
    }

    /// Checks a WHIP/WHEP offer, gives its session a number and opens the briefing's room.
    fn sdp_session(&self, b: &Briefing, offer: &str) -> Result<SessionId, WhipError> {
        if offer.len() > MAX_WHIP_OFFER_BYTES || !offer.starts_with("v=0") {
            return Err(WhipError::BadOffer(
                "the body is not an SDP offer (application/sdp, starting with v=0)".into(),
            ));
        }
        self.sfu.open_room(room_of(b));
        Ok(SessionId(
            self.next_session
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        ))
    }

    /// Names a WHIP/WHEP session's resource with a secret only its client learns, so no one
    /// else can end it; the pass holds its place under admission control until it ends.
    fn keep_resource(&self, session: SessionId, pass: Pass) -> String {
        let secret = new_token();
        let resource = format!("{session}-{secret}");
        lock(&self.media_sessions).insert(session, (secret, pass));
        resource
    }

    /// The session a resource name stands for, if its secret is right.
    fn resource_session(&self, resource: &str) -> Option<SessionId> {
        let (session, secret) = resource.split_once('-')?;
        let session: SessionId = session.parse().ok()?;
        let sessions = lock(&self.media_sessions);
        let (kept, _) = sessions.get(&session)?;
        constant_time_eq(kept.as_bytes(), secret.as_bytes()).then_some(session)
    }

    /// An encoder publishes by WHIP: returns its resource name and our answer.
    pub async fn whip_publish(
        &self,
        id: &str,
        bearer: Option<&str>,
        offer: String,
        pass: Pass,
    ) -> Result<(String, String), WhipError> {
        let b = self.open_briefing(id)?;
        if bearer.and_then(|t| b.role_for_token(t)) != Some(Role::Broadcaster) {
            tracing::warn!(event = id, "WHIP request with a wrong token");
            return Err(WhipError::Unauthorized);
        }
        let session = self.sdp_session(&b, &offer)?;
        let answer = self.sfu.whip(room_of(&b), peer_of(session), offer).await?;
        let seated = b.update(|c| {
            c.take_seat(Publisher {
                session,
                seat: Seat::Speaker,
                link: Link::Whip,
                name: format!("{} (WHIP)", clean_name(None, Role::Broadcaster)),
            })
        });
        let resource = self.admitted(&b, session, pass, seated)?;
        tracing::info!(%session, event = id, "WHIP publishing");
        Ok((resource, answer))
    }

    /// A WHIP/WHEP session's media is up: the rules take it in (or, if the briefing ended or
    /// the speaker went while its offer was answered, it is let go), and it gets its resource.
    fn admitted(
        &self,
        b: &Arc<Briefing>,
        session: SessionId,
        pass: Pass,
        taken: Result<Vec<Effect>, BriefingRefusal>,
    ) -> Result<String, WhipError> {
        let fx = taken.inspect_err(|_| self.sfu.leave(room_of(b), peer_of(session)))?;
        let resource = self.keep_resource(session, pass);
        self.run_briefing(b, fx);
        Ok(resource)
    }

    /// Ends the WHIP/WHEP session a resource names, if `mine` says it is that kind of session
    /// of this briefing; false if there is no such resource.
    fn end_resource(
        &self,
        id: &str,
        resource: &str,
        mine: impl FnOnce(&Briefing, SessionId) -> bool,
    ) -> bool {
        let (Some(b), Some(session)) = (self.briefings.get(id), self.resource_session(resource))
        else {
            return false;
        };
        if !mine(&b, session) {
            return false;
        }
        let fx = b.update(|c| c.leave(session));
        self.run_briefing(&b, fx);
        true
    }

    /// An encoder stops (HTTP DELETE of its resource); false if there is no such resource.
    pub fn whip_end(&self, id: &str, resource: &str, bearer: Option<&str>) -> bool {
        self.end_resource(id, resource, |b, session| {
            bearer.and_then(|t| b.role_for_token(t)) == Some(Role::Broadcaster)
                && b.with_core(|c| c.seat_of(session).is_some_and(|p| p.link == Link::Whip))
        })
    }

    /// A player asks for the speaker by WHEP: returns its resource name and our answer.
    pub async fn whep_play(
        &self,
        id: &str,
        offer: String,
        pass: Pass,
    ) -> Result<(String, String), WhipError> {
        let b = self.open_briefing(id)?;
        let session = self.sdp_session(&b, &offer)?;
        let answer = self.sfu.whep(room_of(&b), peer_of(session), offer).await?;
        let watching = b.update(|c| c.watch(session, Watcher::Whep));
        let resource = self.admitted(&b, session, pass, watching)?;
        Ok((resource, answer))
    }

    /// A player stops (HTTP DELETE of its resource); false if there is no such resource.
    pub fn whep_end(&self, id: &str, resource: &str) -> bool {
        self.end_resource(id, resource, |b, session| {
            b.with_core(|c| c.watcher(session)) == Some(Watcher::Whep)
        })
    }
}
