//! Press briefings and emergency announcements: events an organizer creates, with a
//! broadcaster, a sign interpreter and any number of viewers, live captions of the speaker and
//! a transcript. Events and their transcripts are kept in the store, so links and transcripts
//! outlive a restart.

pub mod hub;

use crate::asr::Lang;
use crate::captions::live::{CaptionSink, DELAYED_MS};
use crate::clock::unix_ms;
use crate::signal::{
    CallId, CaptionHealth, CaptionLine, CaptionStatus, EventCreated, EventInfo, EventState,
    NewEvent, Role, SessionId,
};
use crate::store::events::EventRow as Stored;
use crate::store::{Store, StoreError};
use crate::token::{constant_time_eq, new_token};
use hub::CaptionHub;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use thiserror::Error;
use tokio::sync::{mpsc, watch};

/// Media rooms of events are numbered from here, apart from calls' rooms.
pub const EVENT_ROOM_BASE: CallId = 1 << 48;
/// Longest event title.
const MAX_TITLE_CHARS: usize = 200;
/// Most hotwords per event, and the longest one.
const MAX_HOTWORDS: usize = 50;
const MAX_HOTWORD_CHARS: usize = 30;
/// How long publishing links work after the planned start (or creation, if later).
pub const TOKEN_LIFETIME_MS: u64 = 2 * 86_400_000;
/// Events kept at once (ended ones included), so a runaway script cannot fill the disk.
const MAX_EVENTS: usize = 10_000;

/// Why an event could not be created or changed.
#[derive(Debug, Error)]
pub enum EventError {
    /// The request makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The database refused the write.
    #[error("cannot save the event: {0}")]
    Store(#[from] StoreError),
}

struct Runtime {
    state: EventState,
    broadcaster: Option<SessionId>,
    interpreter: Option<SessionId>,
    viewers: usize,
}

/// One event.
pub struct Event {
    stored: Mutex<Stored>,
    /// Its media room.
    pub room: CallId,
    /// Its captions and transcript.
    pub hub: CaptionHub,
    lang: Lang,
    rt: Mutex<Runtime>,
    status: watch::Sender<EventInfo>,
    captions_on: bool,
    store: Option<Store>,
    /// What the speaker's caption stream last said of itself.
    caption_status: Mutex<Option<CaptionStatus>>,
}

impl Event {
    fn new(
        stored: Stored,
        room: CallId,
        store: Option<Store>,
        lines: Vec<CaptionLine>,
        captions_on: bool,
    ) -> Arc<Self> {
        let lang = Lang::parse(&stored.language).unwrap_or(Lang::Zh);
        // Final lines are written by one task per event, in order, off the caption path.
        let keep = store.clone().map(|st| {
            let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Arc<str>)>();
            let id = stored.id.clone();
            tokio::spawn(async move {
                while let Some((seq, json)) = rx.recv().await {
                    if let Err(e) = st.append_line(&id, seq, &json).await {
                        tracing::error!(event = %id, seq, error = %e, "transcript line not stored");
                    }
                }
            });
            tx
        });
        let hub = CaptionHub::open(lines, keep);
        let state = if stored.ended {
            EventState::Ended
        } else if hub.lines_from(0).is_empty() {
            EventState::Scheduled
        } else {
            EventState::Paused
        };
        let rt = Runtime {
            state,
            broadcaster: None,
            interpreter: None,
            viewers: 0,
        };
        let (status, _) = watch::channel(EventInfo {
            id: stored.id.clone(),
            title: stored.title.clone(),
            language: stored.language.clone(),
            starts_at_unix_ms: stored.starts_at_unix_ms,
            state,
            captions: CaptionHealth::Off,
            captions_behind_secs: 0,
            interpreter_present: false,
            viewers: 0,
        });
        let ev = Arc::new(Self {
            stored: Mutex::new(stored),
            room,
            hub,
            lang,
            rt: Mutex::new(rt),
            status,
            captions_on,
            store,
            caption_status: Mutex::new(None),
        });
        ev.changed();
        ev
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rt(&self) -> std::sync::MutexGuard<'_, Runtime> {
        self.rt.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Public id.
    pub fn id(&self) -> String {
        self.stored().id.clone()
    }

    /// Spoken language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The organizer's vocabulary for the recognizer.
    pub fn hotwords(&self) -> Vec<String> {
        self.stored().hotwords.clone()
    }

    /// Who created it.
    pub fn organizer(&self) -> String {
        self.stored().organizer.clone()
    }

    fn caption_health(&self, behind_ms: u64, degraded: bool) -> CaptionHealth {
        if !self.captions_on {
            CaptionHealth::Off
        } else if behind_ms >= DELAYED_MS {
            CaptionHealth::Delayed
        } else if degraded || self.hub.degraded() {
            CaptionHealth::Degraded
        } else {
            CaptionHealth::Ok
        }
    }

    /// The state as anyone may see it.
    pub fn info(&self) -> EventInfo {
        let (behind_ms, degraded) = self
            .caption_status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or((0, false), |c| (c.behind_ms, c.degraded));
        let s = self.stored();
        let rt = self.rt();
        EventInfo {
            id: s.id.clone(),
            title: s.title.clone(),
            language: s.language.clone(),
            starts_at_unix_ms: s.starts_at_unix_ms,
            state: rt.state,
            captions: self.caption_health(behind_ms, degraded),
            captions_behind_secs: behind_ms / 1000,
            interpreter_present: rt.interpreter.is_some(),
            viewers: rt.viewers,
        }
    }

    /// Follows state changes (not viewer counts, which change too often to push to everyone).
    pub fn watch(&self) -> watch::Receiver<EventInfo> {
        self.status.subscribe()
    }

    fn changed(&self) {
        self.status.send_replace(self.info());
    }

    /// The organizer's copy: links and secrets.
    pub fn created(&self) -> EventCreated {
        let s = self.stored();
        EventCreated {
            broadcaster_path: format!("/stage#{}.{}", s.id, s.broadcaster_token),
            interpreter_path: format!("/stage#{}.{}", s.id, s.interpreter_token),
            viewer_path: format!("/events/{}", s.id),
            whip_path: format!("/whip/{}", s.id),
            broadcaster_token: s.broadcaster_token.clone(),
            interpreter_token: s.interpreter_token.clone(),
            event: {
                drop(s);
                self.info()
            },
        }
    }

    /// The publishing role a token grants, if any.
    pub fn role_for_token(&self, token: &str) -> Option<Role> {
        let s = self.stored();
        // Publishing links stop working a while after the planned start, ended or not.
        let from = s.starts_at_unix_ms.unwrap_or(0).max(s.created_at_unix_ms);
        if unix_ms() > from.saturating_add(TOKEN_LIFETIME_MS) {
            return None;
        }
        if constant_time_eq(token.as_bytes(), s.broadcaster_token.as_bytes()) {
            Some(Role::Broadcaster)
        } else if constant_time_eq(token.as_bytes(), s.interpreter_token.as_bytes()) {
            Some(Role::Interpreter)
        } else {
            None
        }
    }

    /// True once the organizer ended it.
    pub fn ended(&self) -> bool {
        self.rt().state == EventState::Ended
    }

    /// A publisher is on; returns the session it replaces (the newest connection wins, so a
    /// broadcaster whose old connection is still timing out can come straight back).
    pub fn publisher_joined(&self, role: Role, session: SessionId) -> Option<SessionId> {
        let old = {
            let mut rt = self.rt();
            let slot = match role {
                Role::Broadcaster => {
                    rt.state = EventState::Live;
                    &mut rt.broadcaster
                }
                _ => &mut rt.interpreter,
            };
            slot.replace(session).filter(|o| *o != session)
        };
        self.changed();
        old
    }

    /// A publisher left; the event pauses if it was the broadcaster.
    pub fn publisher_left(&self, session: SessionId) {
        {
            let mut rt = self.rt();
            if rt.broadcaster == Some(session) {
                rt.broadcaster = None;
                if rt.state == EventState::Live {
                    rt.state = EventState::Paused;
                }
            } else if rt.interpreter == Some(session) {
                rt.interpreter = None;
            } else {
                return;
            }
        }
        self.changed();
    }

    /// Counts a viewer in or out.
    pub fn viewer(&self, joined: bool) {
        let mut rt = self.rt();
        rt.viewers = if joined {
            rt.viewers + 1
        } else {
            rt.viewers.saturating_sub(1)
        };
    }

    /// Ends the event for good; returns the publishers to disconnect.
    pub async fn end(&self) -> Result<Vec<SessionId>, EventError> {
        let sessions = {
            let mut rt = self.rt();
            rt.state = EventState::Ended;
            [rt.broadcaster.take(), rt.interpreter.take()]
                .into_iter()
                .flatten()
                .collect()
        };
        let id = {
            let mut s = self.stored();
            s.ended = true;
            s.id.clone()
        };
        if let Some(store) = &self.store {
            store.end_event(&id).await?;
        }
        self.changed();
        Ok(sessions)
    }
}

impl CaptionSink for Event {
    fn caption(&self, line: CaptionLine) {
        let was = self.hub.degraded();
        self.hub.publish(line);
        if self.hub.degraded() != was {
            self.changed();
        }
    }

    fn status(&self, status: CaptionStatus) {
        let before = self.status.borrow().clone();
        *self
            .caption_status
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(status);
        let after = self.info();
        // Viewers hear of it when the health or the whole seconds behind change.
        if after.captions != before.captions
            || after.captions_behind_secs != before.captions_behind_secs
        {
            self.changed();
        }
    }
}

/// All events of this server.
pub struct Events {
    store: Option<Store>,
    map: RwLock<HashMap<String, Arc<Event>>>,
    next_room: AtomicU64,
    captions_on: bool,
}

impl Events {
    /// Loads the events kept in `store` (`None` keeps them in memory only).
    pub async fn open(store: Option<Store>, captions_on: bool) -> Result<Self, EventError> {
        let events = Self {
            store: store.clone(),
            map: RwLock::new(HashMap::new()),
            next_room: AtomicU64::new(EVENT_ROOM_BASE),
            captions_on,
        };
        let Some(store) = store else {
            return Ok(events);
        };
        let mut loaded = Vec::new();
        for row in store.events().await? {
            // A line that does not parse costs that line, not the event.
            let lines: Vec<CaptionLine> = store
                .lines(&row.id)
                .await?
                .iter()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            loaded.push((row, lines));
        }
        let mut map = events.map.write().unwrap_or_else(|p| p.into_inner());
        for (row, lines) in loaded {
            let room = events.next_room.fetch_add(1, Ordering::Relaxed);
            let id = row.id.clone();
            map.insert(
                id,
                Event::new(row, room, Some(store.clone()), lines, captions_on),
            );
        }
        tracing::info!(events = map.len(), "events loaded");
        drop(map);
        Ok(events)
    }

    /// Creates an event.
    pub async fn create(&self, new: NewEvent, organizer: &str) -> Result<Arc<Event>, EventError> {
        let title = new.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(EventError::Invalid(format!(
                "title must be 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let language = new.language.unwrap_or_else(|| "zh".into());
        if !matches!(language.as_str(), "zh" | "en") {
            return Err(EventError::Invalid(format!(
                "language {language:?} is not offered (zh, en)"
            )));
        }
        let hotwords: Vec<String> = new
            .hotwords
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect();
        if hotwords.len() > MAX_HOTWORDS
            || hotwords
                .iter()
                .any(|h| h.chars().count() > MAX_HOTWORD_CHARS || h.chars().any(char::is_control))
        {
            return Err(EventError::Invalid(format!(
                "at most {MAX_HOTWORDS} hotwords of at most {MAX_HOTWORD_CHARS} characters"
            )));
        }
        if self.map.read().unwrap_or_else(|p| p.into_inner()).len() >= MAX_EVENTS {
            return Err(EventError::Invalid("too many events on this server".into()));
        }
        let id: String = new_token()[..12].to_owned();
        let stored = Stored {
            id: id.clone(),
            title,
            language,
            hotwords,
            starts_at_unix_ms: new.starts_at_unix_ms,
            created_at_unix_ms: unix_ms(),
            organizer: organizer.to_owned(),
            broadcaster_token: new_token(),
            interpreter_token: new_token(),
            ended: false,
        };
        if let Some(store) = &self.store {
            store.insert_event(&stored).await?;
        }
        let room = self.next_room.fetch_add(1, Ordering::Relaxed);
        let ev = Event::new(
            stored,
            room,
            self.store.clone(),
            Vec::new(),
            self.captions_on,
        );
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, ev.clone());
        Ok(ev)
    }

    /// An event by public id.
    pub fn get(&self, id: &str) -> Option<Arc<Event>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Every event, newest first.
    pub fn list(&self) -> Vec<Arc<Event>> {
        let mut v: Vec<(u64, Arc<Event>)> = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|e| (e.stored().created_at_unix_ms, e.clone()))
            .collect();
        v.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        v.into_iter().map(|(_, e)| e).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_event(title: &str) -> NewEvent {
        NewEvent {
            title: title.into(),
            language: None,
            hotwords: vec!["临清".into(), "残联".into()],
            starts_at_unix_ms: Some(1_800_000_000_000),
        }
    }

    #[tokio::test]
    async fn tokens_grant_their_role_and_nothing_else() {
        let events = Events::open(None, true).await.unwrap();
        let ev = events.create(new_event("新闻发布会"), "org").await.unwrap();
        let c = ev.created();
        assert_eq!(
            ev.role_for_token(&c.broadcaster_token),
            Some(Role::Broadcaster)
        );
        assert_eq!(
            ev.role_for_token(&c.interpreter_token),
            Some(Role::Interpreter)
        );
        assert_eq!(ev.role_for_token(""), None);
        assert_eq!(ev.role_for_token(&c.broadcaster_token[1..]), None);
        assert_ne!(c.broadcaster_token, c.interpreter_token);
        // Publishing links expire two days after the planned start.
        let old = events
            .create(
                NewEvent {
                    starts_at_unix_ms: Some(unix_ms() - TOKEN_LIFETIME_MS - 1),
                    ..new_event("旧的")
                },
                "org",
            )
            .await
            .unwrap();
        let mut stored = old.stored().clone();
        stored.created_at_unix_ms = unix_ms() - TOKEN_LIFETIME_MS - 1;
        *old.stored() = stored;
        assert_eq!(old.role_for_token(&old.created().broadcaster_token), None);
        assert!(c.viewer_path.ends_with(&ev.id()));
    }

    #[tokio::test]
    async fn a_stalled_recognizer_is_reported_as_delayed_until_it_catches_up() {
        let events = Events::open(None, true).await.unwrap();
        let ev = events.create(new_event("通告"), "org").await.unwrap();
        let mut w = ev.watch();
        let status = |behind_ms| CaptionStatus {
            speaker: "p1".into(),
            behind_ms,
            degraded: false,
        };
        // No caption at all, but the stream says speech is waiting: not "live".
        ev.status(status(5_400));
        let info = w.borrow_and_update().clone();
        assert_eq!(info.captions, CaptionHealth::Delayed);
        assert_eq!(info.captions_behind_secs, 5);
        ev.status(status(6_100));
        assert_eq!(w.borrow_and_update().captions_behind_secs, 6);
        // A normal decode interval is not a delay.
        ev.status(status(1_200));
        assert_eq!(w.borrow_and_update().captions, CaptionHealth::Ok);
        ev.status(CaptionStatus {
            degraded: true,
            ..status(0)
        });
        assert_eq!(w.borrow_and_update().captions, CaptionHealth::Degraded);
    }

    #[tokio::test]
    async fn the_broadcaster_leaving_pauses_and_returning_resumes() {
        let events = Events::open(None, true).await.unwrap();
        let ev = events.create(new_event("应急通告"), "org").await.unwrap();
        let mut w = ev.watch();
        assert_eq!(ev.info().state, EventState::Scheduled);
        assert_eq!(ev.publisher_joined(Role::Broadcaster, 7), None);
        assert_eq!(w.borrow_and_update().state, EventState::Live);
        ev.publisher_left(99); // not a publisher: nothing changes
        assert_eq!(ev.info().state, EventState::Live);
        ev.publisher_left(7);
        assert_eq!(w.borrow_and_update().state, EventState::Paused);
        assert_eq!(ev.publisher_joined(Role::Broadcaster, 8), None);
        assert_eq!(ev.publisher_joined(Role::Broadcaster, 9), Some(8));
        ev.publisher_left(8); // the replaced connection's late goodbye
        assert_eq!(ev.info().state, EventState::Live);
        // An overloaded recognizer says so: viewers are told the captions are degraded.
        let line = |degraded| CaptionLine {
            speaker: "p9".into(),
            role: Role::Broadcaster,
            name: "发言人".into(),
            seq: 0,
            text: "各位".into(),
            stable: false,
            start_ms: 0,
            end_ms: 500,
            audio_end_unix_ms: 1_000,
            degraded,
        };
        ev.caption(line(true));
        assert_eq!(w.borrow_and_update().captions, CaptionHealth::Degraded);
        ev.caption(line(false));
        assert_eq!(w.borrow_and_update().captions, CaptionHealth::Ok);
        assert_eq!(ev.end().await.unwrap(), vec![9]);
        assert_eq!(ev.info().state, EventState::Ended);
    }

    #[tokio::test]
    async fn bad_requests_are_refused_with_reasons() {
        let events = Events::open(None, true).await.unwrap();
        assert!(events.create(new_event("  "), "o").await.is_err());
        let mut e = new_event("x");
        e.language = Some("fr".into());
        assert!(events.create(e, "o").await.is_err());
        let mut e = new_event("x");
        e.hotwords = vec!["很长".repeat(20)];
        assert!(events.create(e, "o").await.is_err());
    }

    #[tokio::test]
    async fn events_their_transcripts_and_their_end_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("signrelay-events-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = Store::default_url(&dir);
        let (id, token) = {
            let store = Store::open(&url).await.unwrap();
            let events = Events::open(Some(store), true).await.unwrap();
            let a = events.create(new_event("第一场"), "org").await.unwrap();
            let b = events.create(new_event("第二场"), "org").await.unwrap();
            b.end().await.unwrap();
            for (seq, text) in ["各位记者，", "大家好。"].iter().enumerate() {
                a.caption(CaptionLine {
                    speaker: "p1".into(),
                    role: Role::Broadcaster,
                    name: "发言人".into(),
                    seq: seq as u64,
                    text: (*text).into(),
                    stable: true,
                    start_ms: seq as u64 * 1000,
                    end_ms: seq as u64 * 1000 + 900,
                    audio_end_unix_ms: 10_000 + seq as u64 * 1000 + 900,
                    degraded: false,
                });
            }
            // The writer task stores lines a moment later.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            (a.id(), a.created().broadcaster_token)
        };
        let events = Events::open(Some(Store::open(&url).await.unwrap()), true)
            .await
            .unwrap();
        assert_eq!(events.list().len(), 2);
        let a = events.get(&id).unwrap();
        assert_eq!(a.role_for_token(&token), Some(Role::Broadcaster));
        assert_eq!(a.info().state, EventState::Paused, "it had begun");
        assert_eq!(a.hub.cues().len(), 2, "the transcript is back");
        assert_eq!(
            events.list().iter().filter(|e| e.ended()).count(),
            1,
            "the ended one stays ended"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
