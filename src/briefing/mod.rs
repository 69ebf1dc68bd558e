//! Press briefings and emergency announcements: briefings an organizer creates, with a
//! speaker, a sign interpreter and any number of viewers, live captions of the speaker and a
//! transcript. The rules live in [`core`]; this module keeps each briefing's stored record,
//! its captions and the status watchers see. Briefings and their transcripts are kept in the
//! store, so links and transcripts outlive a restart.

pub mod captioning;
pub mod core;
pub mod hub;
pub mod review;

use self::core::{BriefingCore, Effect};
use crate::asr::Lang;
use crate::captions::Vocabulary;
use crate::clock::unix_ms;
use crate::signal::{
    CaptionLine, CaptionStatus, EventCreated, EventInfo, EventState, NewEvent, Role,
};
use crate::store::events::EventRow as Stored;
use crate::store::{Store, StoreError};
use crate::token::{constant_time_eq, new_token};
use hub::{CaptionHub, Keep};
use review::Rule;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use thiserror::Error;
use tokio::sync::{mpsc, watch};

/// Longest title.
const MAX_TITLE_CHARS: usize = 200;
/// Most hotwords per briefing, and the longest one.
const MAX_HOTWORDS: usize = 50;
const MAX_HOTWORD_CHARS: usize = 30;
/// How long publishing links work after the planned start (or creation, if later).
pub const TOKEN_LIFETIME_MS: u64 = 2 * 86_400_000;
/// Briefings kept at once (ended ones included), so a runaway script cannot fill the disk.
const MAX_BRIEFINGS: usize = 10_000;

/// Why a briefing could not be created or changed.
#[derive(Debug, Error)]
pub enum BriefingError {
    /// The request makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The database refused the write.
    #[error("cannot save the event: {0}")]
    Store(#[from] StoreError),
}

/// One briefing: its record, captions, rules and the status watchers follow.
pub struct Briefing {
    stored: Mutex<Stored>,
    /// Its media room's number.
    pub room: u64,
    /// Its captions and transcript.
    pub hub: CaptionHub,
    lang: Lang,
    core: Mutex<BriefingCore>,
    status: watch::Sender<EventInfo>,
    store: Option<Store>,
    /// The recognizer's vocabulary, read at every decode: terms learnt during the event
    /// reach the running caption stream.
    vocabulary: Vocabulary,
}

impl Briefing {
    fn new(
        stored: Stored,
        room: u64,
        store: Option<Store>,
        lines: Vec<CaptionLine>,
        captions_on: bool,
    ) -> Arc<Self> {
        let lang = Lang::parse(&stored.language).unwrap_or(Lang::Zh);
        // Final lines are written by one task per briefing, in order, off the caption path.
        let keep = store.clone().map(|st| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Keep>();
            let id = stored.id.clone();
            tokio::spawn(async move {
                while let Some(item) = rx.recv().await {
                    match item {
                        Keep::Line(seq, json) => {
                            if let Err(e) = st.append_line(&id, seq, &json).await {
                                tracing::error!(event = %id, seq, error = %e, "transcript line not stored");
                            }
                        }
                        Keep::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
            tx
        });
        let rules = stored
            .rules
            .iter()
            .map(|[wrong, right]| Rule {
                wrong: wrong.clone(),
                right: right.clone(),
            })
            .collect();
        let hub = CaptionHub::open(lines, keep, stored.correction_window_ms, rules);
        let state = if stored.ended {
            EventState::Ended
        } else if hub.lines_from(0).is_empty() {
            EventState::Scheduled
        } else {
            EventState::Paused
        };
        let core = BriefingCore::new(state, captions_on);
        let info = Self::info_of(&stored, &core, &hub);
        let (status, _) = watch::channel(info);
        let vocabulary = Vocabulary::new(stored.hotwords.clone());
        Arc::new(Self {
            vocabulary,
            stored: Mutex::new(stored),
            room,
            hub,
            lang,
            core: Mutex::new(core),
            status,
            store,
        })
    }

    fn stored(&self) -> std::sync::MutexGuard<'_, Stored> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn core(&self) -> std::sync::MutexGuard<'_, BriefingCore> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the rules' state.
    pub fn with_core<R>(&self, f: impl FnOnce(&BriefingCore) -> R) -> R {
        f(&self.core())
    }

    /// Feeds the rules one input; a status change is passed to watchers here, the other
    /// effects are the caller's to carry out.
    pub fn update<R>(&self, f: impl FnOnce(&mut BriefingCore) -> R) -> R
    where
        R: Effects,
    {
        let (out, info) = {
            let mut core = self.core();
            let out = f(&mut core);
            let info = out
                .effects()
                .contains(&Effect::Status)
                .then(|| Self::info_of(&self.stored(), &core, &self.hub));
            (out, info)
        };
        if let Some(info) = info {
            self.status.send_replace(info);
        }
        out
    }

    /// Public id.
    pub fn id(&self) -> String {
        self.stored().id.clone()
    }

    /// Spoken language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The recognizer's vocabulary: the organizer's terms and those learnt since.
    pub fn vocabulary(&self) -> Vocabulary {
        self.vocabulary.clone()
    }

    /// Who created it.
    pub fn organizer(&self) -> String {
        self.stored().organizer.clone()
    }

    fn info_of(s: &Stored, core: &BriefingCore, hub: &CaptionHub) -> EventInfo {
        let (captions, behind) = core.caption_health();
        let (captioning, captioner_present, correction_window_ms) =
            hub.with_review(|r| (r.mode(), r.captioner_present(), r.window_ms()));
        EventInfo {
            id: s.id.clone(),
            title: s.title.clone(),
            language: s.language.clone(),
            starts_at_unix_ms: s.starts_at_unix_ms,
            state: core.state(),
            captions,
            captions_behind_secs: behind,
            interpreter_present: core.interpreter_present(),
            viewers: core.viewers(),
            captioning,
            captioner_present,
            correction_window_ms,
        }
    }

    /// The state as anyone may see it.
    pub fn info(&self) -> EventInfo {
        let core = self.core();
        Self::info_of(&self.stored(), &core, &self.hub)
    }

    /// Follows status changes (not viewer counts, which change too often to push to everyone).
    pub fn watch(&self) -> watch::Receiver<EventInfo> {
        self.status.subscribe()
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
        self.core().ended()
    }

    /// Ends the briefing for good. It is reported ended only once the store has it.
    pub async fn end(&self) -> Result<Vec<Effect>, BriefingError> {
        let id = self.id();
        if let Some(store) = &self.store {
            store.end_event(&id).await?;
        }
        self.stored().ended = true;
        Ok(self.update(|c| c.end()))
    }

    /// A caption update of the speaker: into the transcript and out to subscribers.
    pub fn caption(&self, line: CaptionLine) -> Vec<Effect> {
        let degraded = line.degraded;
        self.hub.publish(line);
        self.update(|c| c.caption_line(degraded))
    }

    /// What the speaker's caption stream says of itself.
    pub fn caption_status(&self, status: &CaptionStatus) -> Vec<Effect> {
        self.update(|c| c.caption_status(status.behind_ms, status.degraded))
    }
}

/// What an input of the rules returned, so [`Briefing::update`] can see its effects.
pub trait Effects {
    /// The effects in it (none for a refusal).
    fn effects(&self) -> &[Effect];
}

impl Effects for Vec<Effect> {
    fn effects(&self) -> &[Effect] {
        self
    }
}

impl<E> Effects for Result<Vec<Effect>, E> {
    fn effects(&self) -> &[Effect] {
        self.as_deref().unwrap_or(&[])
    }
}

/// All briefings of this server.
pub struct Briefings {
    store: Option<Store>,
    map: RwLock<HashMap<String, Arc<Briefing>>>,
    /// By media room number, for what the media plane reports.
    by_room: RwLock<HashMap<u64, Arc<Briefing>>>,
    next_room: AtomicU64,
    captions_on: bool,
}

impl Briefings {
    /// Loads the events kept in `store` (`None` keeps them in memory only).
    pub async fn open(store: Option<Store>, captions_on: bool) -> Result<Self, BriefingError> {
        let events = Self {
            store: store.clone(),
            map: RwLock::new(HashMap::new()),
            by_room: RwLock::new(HashMap::new()),
            next_room: AtomicU64::new(1),
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
        for (row, lines) in loaded {
            let room = events.next_room.fetch_add(1, Ordering::Relaxed);
            events.insert(Briefing::new(
                row,
                room,
                Some(store.clone()),
                lines,
                captions_on,
            ));
        }
        tracing::info!(events = events.list().len(), "events loaded");
        Ok(events)
    }

    /// Creates an event.
    pub async fn create(
        &self,
        new: NewEvent,
        organizer: &str,
    ) -> Result<Arc<Briefing>, BriefingError> {
        let title = new.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(BriefingError::Invalid(format!(
                "title must be 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let language = new.language.unwrap_or_else(|| "zh".into());
        if !matches!(language.as_str(), "zh" | "en") {
            return Err(BriefingError::Invalid(format!(
                "language {language:?} is not offered (zh, en)"
            )));
        }
        let hotwords = captioning::check_hotwords(&new.hotwords)?;
        let captioners = captioning::check_captioners(&new.captioners)?;
        let window = new
            .correction_window_ms
            .unwrap_or(crate::store::events::DEFAULT_WINDOW_MS);
        if window > review::MAX_WINDOW_MS {
            return Err(BriefingError::Invalid(
                review::ReviewError::BadWindow.to_string(),
            ));
        }
        if self.map.read().unwrap_or_else(|p| p.into_inner()).len() >= MAX_BRIEFINGS {
            return Err(BriefingError::Invalid(
                "too many events on this server".into(),
            ));
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
            captioners,
            correction_window_ms: window,
            rules: Vec::new(),
        };
        if let Some(store) = &self.store {
            store.insert_event(&stored).await?;
        }
        let room = self.next_room.fetch_add(1, Ordering::Relaxed);
        let ev = Briefing::new(
            stored,
            room,
            self.store.clone(),
            Vec::new(),
            self.captions_on,
        );
        self.insert(ev.clone());
        Ok(ev)
    }

    fn insert(&self, b: Arc<Briefing>) {
        self.by_room
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(b.room, b.clone());
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(b.id(), b);
    }

    /// The briefing of a media room.
    pub fn by_room(&self, room: u64) -> Option<Arc<Briefing>> {
        self.by_room
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&room)
            .cloned()
    }

    /// Forgets ended briefings created before `before_ms`, with their transcripts, in the
    /// store and here (retention). Returns how many.
    pub async fn purge_ended(&self, before_ms: u64) -> Result<usize, BriefingError> {
        let old: Vec<Arc<Briefing>> = self
            .list()
            .into_iter()
            .filter(|b| b.ended() && b.stored().created_at_unix_ms < before_ms)
            .collect();
        for b in &old {
            if let Some(store) = &self.store {
                store.delete_event(&b.id()).await?;
            }
            self.map
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&b.id());
            self.by_room
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&b.room);
        }
        Ok(old.len())
    }

    /// A briefing by public id.
    pub fn get(&self, id: &str) -> Option<Arc<Briefing>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Every briefing, newest first.
    pub fn list(&self) -> Vec<Arc<Briefing>> {
        let mut v: Vec<(u64, Arc<Briefing>)> = self
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
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn tokens_grant_their_role_and_nothing_else() {
        let events = Briefings::open(None, true).await.unwrap();
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
    async fn watchers_see_status_changes_but_not_every_viewer() {
        use super::core::{Link, Publisher, Seat, Watcher};
        let events = Briefings::open(None, true).await.unwrap();
        let ev = events.create(new_event("应急通告"), "org").await.unwrap();
        let mut w = ev.watch();
        assert_eq!(ev.info().state, EventState::Scheduled);
        let fx = ev.update(|c| {
            c.take_seat(Publisher {
                session: crate::signal::SessionId(7),
                seat: Seat::Speaker,
                link: Link::Page,
                name: "发言人".into(),
            })
        });
        assert!(fx.is_ok());
        assert!(w.has_changed().unwrap());
        assert_eq!(w.borrow_and_update().state, EventState::Live);
        ev.update(|c| c.watch(crate::signal::SessionId(8), Watcher::Page))
            .unwrap();
        assert!(
            !w.has_changed().unwrap(),
            "a viewer is not pushed to everyone"
        );
        assert_eq!(ev.info().viewers, 1);
        // A caption made while overloaded says so to watchers.
        let line = CaptionLine {
            speaker: "p7".into(),
            role: Role::Broadcaster,
            name: "发言人".into(),
            seq: 0,
            text: "各位".into(),
            stable: false,
            start_ms: 0,
            end_ms: 500,
            audio_end_unix_ms: 1_000,
            degraded: true,
            unsure: Vec::new(),
            review: Default::default(),
        };
        assert_eq!(ev.caption(line), vec![Effect::Status]);
        assert_eq!(
            w.borrow_and_update().captions,
            crate::signal::CaptionHealth::Degraded
        );
        assert_eq!(
            ev.end().await.unwrap(),
            vec![Effect::Status, Effect::CloseRoom]
        );
        assert_eq!(w.borrow_and_update().state, EventState::Ended);
        assert!(events.by_room(ev.room).is_some_and(|b| b.ended()));
    }

    #[tokio::test]
    async fn ended_briefings_past_retention_are_forgotten_and_live_ones_kept() {
        let events = Briefings::open(None, true).await.unwrap();
        let old = events.create(new_event("旧的"), "org").await.unwrap();
        let live = events.create(new_event("进行中"), "org").await.unwrap();
        old.end().await.unwrap();
        assert_eq!(events.purge_ended(0).await.unwrap(), 0, "none old enough");
        assert_eq!(events.purge_ended(unix_ms() + 1).await.unwrap(), 1);
        assert!(events.get(&old.id()).is_none());
        assert!(events.by_room(old.room).is_none());
        assert!(events.get(&live.id()).is_some(), "not ended: kept");
    }

    #[tokio::test]
    async fn bad_requests_are_refused_with_reasons() {
        let events = Briefings::open(None, true).await.unwrap();
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
            let events = Briefings::open(Some(store), true).await.unwrap();
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
                    unsure: Vec::new(),
                    review: Default::default(),
                });
            }
            // The writer task stores lines a moment later.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            (a.id(), a.created().broadcaster_token)
        };
        let events = Briefings::open(Some(Store::open(&url).await.unwrap()), true)
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
