//! Videomail on the switchboard: a caller's message is recorded from the media plane into a
//! sealed WebM file, and the files are opened for interpreters and expired.

use super::{lock, peer_of, refuse, store_down, RequestError, Switchboard};
use crate::config::Config;
use crate::sfu::{MediaTap, Presence, RoomId};
use crate::signal::{ErrorCode, ServerMsg, SessionId};
use crate::videomail::recorder::Recorder;
use crate::videomail::seal::Key;
use rtc::rtp;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shortest message kept: less is a slip of the finger.
const MIN_MESSAGE: Duration = Duration::from_millis(800);

/// Where messages are kept and how they are sealed.
pub struct Desk {
    key: Mutex<Option<Key>>,
    data_dir: PathBuf,
    dir: PathBuf,
    recordings: Mutex<HashMap<SessionId, Recording>>,
    next_room: AtomicU64,
    /// Callers with their message's page open, by message id: they can be called back.
    pub(super) watchers: Mutex<HashMap<String, SessionId>>,
    /// Messages started per address in the last hour.
    quota: Mutex<crate::videomail::Quota>,
}

struct Recording {
    room: u64,
    kind: Kind,
    deadline: Instant,
    recorder: Arc<Mutex<Recorder>>,
}

/// What is being recorded.
enum Kind {
    /// A caller's message (`id` new), opened later with `token`.
    Message {
        id: String,
        token: String,
        sign_language: String,
    },
    /// An interpreter's video answer to message `to`.
    Answer {
        to: String,
        by: String,
        text: Option<String>,
    },
}

/// The associated data an answer's file is sealed with (never a message id: those have no
/// slash).
fn answer_aad(id: &str) -> String {
    format!("{id}/answer")
}

/// A failure to keep or open a message file.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// The file is not there or cannot be read or written.
    #[error("message file: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not open with the configured key.
    #[error(transparent)]
    Seal(#[from] crate::videomail::seal::SealError),
}

impl Desk {
    /// The desk of a configuration, or None when videomail is off. Without a configured key
    /// one is made at the first message and kept in the data directory (owner-only), so the
    /// defaults work out of the box and a server that never took a message writes nothing.
    pub fn open(cfg: &Config) -> Option<Desk> {
        if !cfg.videomail.enabled {
            return None;
        }
        let key = if cfg.videomail.key.is_empty() {
            None
        } else {
            match Key::from_hex(&cfg.videomail.key) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::error!(error = %e, "videomail is off");
                    return None;
                }
            }
        };
        Some(Desk {
            key: Mutex::new(key),
            data_dir: cfg.data_dir.clone(),
            dir: cfg.data_dir.join("videomail"),
            recordings: Mutex::new(HashMap::new()),
            next_room: AtomicU64::new(1),
            watchers: Mutex::new(HashMap::new()),
            quota: Mutex::new(crate::videomail::Quota::default()),
        })
    }

    /// The sealing key: configured, or the one kept in the data directory (made if missing).
    fn key(&self) -> Result<Key, DeskError> {
        let mut key = lock(&self.key);
        if let Some(k) = key.as_ref() {
            return Ok(k.clone());
        }
        let k = stored_key(&self.data_dir)?;
        *key = Some(k.clone());
        Ok(k)
    }

    /// Seals and writes one file (the folder is made at the first message).
    async fn write(&self, path: &std::path::Path, aad: &str, webm: &[u8]) -> Result<(), DeskError> {
        let sealed = self.key()?.seal(aad, webm);
        tokio::fs::create_dir_all(&self.dir).await?;
        tokio::fs::write(path, &sealed).await?;
        Ok(())
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.vm"))
    }

    fn answer_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.answer.vm"))
    }

    /// The WebM file of a message, opened.
    pub async fn read(&self, id: &str) -> Result<Vec<u8>, DeskError> {
        let sealed = tokio::fs::read(self.path(id)).await?;
        Ok(self.key()?.open(id, &sealed)?)
    }

    /// The WebM file of a message's video answer, opened.
    pub async fn read_answer(&self, id: &str) -> Result<Vec<u8>, DeskError> {
        let sealed = tokio::fs::read(self.answer_path(id)).await?;
        Ok(self.key()?.open(&answer_aad(id), &sealed)?)
    }

    /// Removes a message's files (expired); missing ones are fine.
    pub async fn remove(&self, id: &str) {
        for path in [self.path(id), self.answer_path(id)] {
            if let Err(e) = tokio::fs::remove_file(path).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, "an expired message file could not be removed");
                }
            }
        }
    }

    /// Messages being recorded now.
    pub fn recording(&self) -> usize {
        lock(&self.recordings).len()
    }

    /// Whether the author of message `id` has its page open now.
    pub fn watched(&self, id: &str) -> bool {
        lock(&self.watchers).contains_key(id)
    }
}

fn stored_key(data_dir: &std::path::Path) -> std::io::Result<Key> {
    let path = data_dir.join("videomail.key");
    if let Ok(hex) = std::fs::read_to_string(&path) {
        return Key::from_hex(&hex).map_err(|e| std::io::Error::other(e.to_string()));
    }
    std::fs::create_dir_all(data_dir)?;
    let hex = Key::generate_hex();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    opts.open(&path)?.write_all(hex.as_bytes())?;
    tracing::info!(path = %path.display(), "videomail key made (keep it with the data)");
    Key::from_hex(&hex).map_err(|e| std::io::Error::other(e.to_string()))
}

/// The media plane's copy of a recorded track goes into its recorder.
struct RecordTap {
    recorder: Arc<Mutex<Recorder>>,
    video: bool,
    /// What the last packet left the recorder needing, so the forwarder's question after
    /// every packet does not take the lock again.
    needs_keyframe: AtomicBool,
}

impl MediaTap for RecordTap {
    fn feed(&self, p: rtp::Packet) {
        let mut r = lock(&self.recorder);
        let now = Instant::now();
        if self.video {
            r.video(
                p.header.sequence_number,
                p.header.timestamp,
                p.header.marker,
                &p.payload,
                now,
            );
            self.needs_keyframe
                .store(r.needs_keyframe(), Ordering::Relaxed);
        } else {
            r.audio(p.header.timestamp, &p.payload, now);
        }
    }

    fn wants_keyframe(&self) -> bool {
        self.needs_keyframe.load(Ordering::Relaxed)
    }
}

impl Switchboard {
    /// A caller starts leaving a message: a queued call is cancelled, a recording room opens
    /// with the caller as its only publisher, and the page is told the limit and its link.
    pub(super) fn start_videomail(
        &self,
        session: SessionId,
        sign_language: Option<String>,
    ) -> Result<(), RequestError> {
        self.recording_allowed(session)?;
        let now = Instant::now();
        if let (Some(desk), Some(addr)) = (self.videomail.as_ref(), self.addr(session)) {
            if !lock(&desk.quota).try_start(addr, now) {
                return Err(refuse(
                    ErrorCode::RateLimited,
                    "too many messages from here in the last hour; please try again later",
                ));
            }
        }
        {
            let mut relay = lock(&self.relay);
            if relay.call_of(session).is_some() {
                // Waiting callers may switch to a message; a connected call cannot.
                let fx = relay.cancel(session, now)?;
                drop(relay);
                self.apply(fx);
            }
        }
        let offered = &self.cfg.service.sign_languages;
        let sign_language = sign_language
            .filter(|l| offered.iter().any(|o| &o.code == l))
            .or_else(|| offered.first().map(|o| o.code.clone()))
            .unwrap_or_default();
        let token = crate::token::new_token();
        let kind = Kind::Message {
            id: crate::token::new_token()[..24].to_owned(),
            token: token.clone(),
            sign_language,
        };
        self.begin_recording(session, kind, token)
    }

    /// An interpreter starts recording a video answer to message `to` (with `text`, if any).
    /// The console is set away meanwhile so no call rings into the recording.
    pub(super) async fn start_answer(
        &self,
        session: SessionId,
        to: &str,
        text: Option<String>,
    ) -> Result<(), RequestError> {
        self.recording_allowed(session)?;
        let Some(by) = lock(&self.relay).username_of(session) else {
            return Err(refuse(
                ErrorCode::Forbidden,
                "only interpreters answer messages",
            ));
        };
        if lock(&self.relay).call_of(session).is_some() {
            return Err(refuse(ErrorCode::Busy, "end the current call first"));
        }
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > crate::videomail::MAX_ANSWER_CHARS)
        {
            return Err(refuse(ErrorCode::BadMessage, "the text answer is too long"));
        }
        let m = self
            .store
            .videomail(to)
            .await
            .map_err(store_down)?
            .filter(|m| m.deleted_at_ms.is_none())
            .ok_or_else(|| refuse(ErrorCode::VideomailUnavailable, "no such message"))?;
        crate::videomail::next(m.state, crate::videomail::Action::Answer)
            .map_err(|e| refuse(ErrorCode::VideomailUnavailable, e.to_string()))?;
        let fx = lock(&self.relay)
            .set_presence(session, crate::signal::Presence::Away, Instant::now())
            .unwrap_or_default();
        self.apply(fx);
        let kind = Kind::Answer { to: m.id, by, text };
        self.begin_recording(session, kind, String::new())
    }

    fn recording_allowed(&self, session: SessionId) -> Result<(), RequestError> {
        let Some(desk) = self.videomail.as_ref() else {
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "videomail is not offered here",
            ));
        };
        if lock(&desk.recordings).contains_key(&session) {
            return Err(refuse(
                ErrorCode::AlreadyInCall,
                "you are recording already",
            ));
        }
        if desk.recording() >= self.cfg.videomail.max_recording {
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "too many messages are being recorded; please try again in a minute",
            ));
        }
        Ok(())
    }

    fn begin_recording(
        &self,
        session: SessionId,
        kind: Kind,
        token: String,
    ) -> Result<(), RequestError> {
        let Some(desk) = self.videomail.as_ref() else {
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "videomail is not offered here",
            ));
        };
        let now = Instant::now();
        let max = Duration::from_secs(self.cfg.videomail.max_secs.into());
        let max_bytes = self.cfg.videomail.max_mib as usize * 1024 * 1024;
        let room = desk.next_room.fetch_add(1, Ordering::Relaxed);
        let rec = Recording {
            room,
            kind,
            // The clock starts now; negotiation takes a moment of it, which the page shows.
            deadline: now + max,
            recorder: Arc::new(Mutex::new(Recorder::new(now, max_bytes))),
        };
        lock(&desk.recordings).insert(session, rec);
        let id = RoomId::Recording(room);
        self.sfu.open_room(id);
        if let Err(e) = self.sfu.join(
            id,
            peer_of(session),
            Presence::Publisher { featured: false },
        ) {
            lock(&desk.recordings).remove(&session);
            self.sfu.close(id);
            tracing::warn!(error = %e, "recording room could not be joined");
            return Err(refuse(
                ErrorCode::VideomailUnavailable,
                "recording could not start; please try again",
            ));
        }
        tracing::info!(%session, "videomail recording started");
        self.deliver(
            session,
            ServerMsg::VideomailRecording {
                max_secs: self.cfg.videomail.max_secs,
                token,
            },
        );
        Ok(())
    }

    /// The recording room a session publishes into, if it is recording.
    pub(super) fn recording_room(&self, session: SessionId) -> Option<RoomId> {
        let desk = self.videomail.as_ref()?;
        lock(&desk.recordings)
            .get(&session)
            .map(|r| RoomId::Recording(r.room))
    }

    /// Where the media plane's copy of a recording room's track goes.
    pub(super) fn record_tap(
        &self,
        room: u64,
        session: SessionId,
        video: bool,
    ) -> Option<Box<dyn MediaTap>> {
        let desk = self.videomail.as_ref()?;
        let recs = lock(&desk.recordings);
        let rec = recs.get(&session).filter(|r| r.room == room)?;
        Some(Box::new(RecordTap {
            recorder: rec.recorder.clone(),
            video,
            needs_keyframe: AtomicBool::new(video),
        }))
    }

    /// Ends a recording (asked, at its limit, or the page went away) and saves the message.
    pub(super) fn stop_videomail(&self, session: SessionId, limit_reached: bool) {
        let (Some(desk), Some(sb)) = (self.videomail.as_ref(), self.me.upgrade()) else {
            return;
        };
        let Some(rec) = lock(&desk.recordings).remove(&session) else {
            return;
        };
        self.sfu.close(RoomId::Recording(rec.room));
        tokio::spawn(async move {
            let result = sb.save(rec).await;
            match result {
                Ok(secs) => {
                    tracing::info!(%session, secs, "videomail saved");
                    sb.deliver(
                        session,
                        ServerMsg::VideomailSaved {
                            secs,
                            limit_reached,
                        },
                    );
                }
                Err(why) => {
                    tracing::warn!(%session, why = %why, "videomail not saved");
                    sb.deliver(
                        session,
                        ServerMsg::error(None, ErrorCode::VideomailUnavailable, why),
                    );
                }
            }
        });
    }

    async fn save(&self, rec: Recording) -> Result<u32, String> {
        let Some(desk) = self.videomail.as_ref() else {
            return Err("videomail is off".into());
        };
        let recorder = match Arc::try_unwrap(rec.recorder) {
            Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
            // A tap still holds it for a moment (the room is closing): take what is there.
            Err(shared) => std::mem::replace(&mut *lock(&shared), Recorder::new(Instant::now(), 0)),
        };
        let duration = recorder.duration();
        if duration < MIN_MESSAGE {
            return Err("nothing was recorded (check the camera and microphone)".into());
        }
        let webm = tokio::task::spawn_blocking(move || recorder.finish())
            .await
            .map_err(|e| format!("the recording could not be written: {e}"))?
            .map_err(|e| e.to_string())?;
        let stored = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "videomail not stored");
            "the message could not be stored; please try again".to_owned()
        };
        let ms = duration.as_millis() as i64;
        match rec.kind {
            Kind::Message {
                id,
                token,
                sign_language,
            } => {
                desk.write(&desk.path(&id), &id, &webm)
                    .await
                    .map_err(|e| stored(&e))?;
                self.store
                    .create_videomail(&id, &token, ms, webm.len() as i64, &sign_language)
                    .await
                    .map_err(|e| stored(&e))?;
            }
            Kind::Answer { to, by, text } => {
                // Written aside first: if a colleague answered meanwhile, their answer's file
                // is left alone.
                let aside = desk
                    .dir
                    .join(format!("{to}.{}.tmp", crate::token::new_token()));
                desk.write(&aside, &answer_aad(&to), &webm)
                    .await
                    .map_err(|e| stored(&e))?;
                let acted = self
                    .store
                    .videomail_act(
                        &to,
                        &by,
                        crate::videomail::Action::Answer,
                        text.as_deref(),
                        Some(ms),
                    )
                    .await;
                if let Err(e) = acted {
                    let _ = tokio::fs::remove_file(&aside).await;
                    return Err(match e {
                        crate::store::StoreError::Invalid(why) => why,
                        other => stored(&other),
                    });
                }
                tokio::fs::rename(&aside, desk.answer_path(&to))
                    .await
                    .map_err(|e| stored(&e))?;
                self.store.audit(&by, "answer_videomail", &to).await;
            }
        }
        Ok(duration.as_secs().max(1) as u32)
    }

    /// Ends recordings past their length or size limit.
    pub(super) fn videomail_tick(&self, now: Instant) {
        let Some(desk) = self.videomail.as_ref() else {
            return;
        };
        let due: Vec<SessionId> = lock(&desk.recordings)
            .iter()
            .filter(|(_, r)| r.deadline <= now || lock(&r.recorder).is_full())
            .map(|(s, _)| *s)
            .collect();
        for s in due {
            self.stop_videomail(s, true);
        }
    }

    /// Every hour, messages past `videomail.retention_days` lose their file and answer.
    pub(super) fn spawn_videomail_retention(&self) {
        let me = self.me.clone();
        let days = i64::from(self.cfg.videomail.retention_days);
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_secs(3600));
            loop {
                iv.tick().await;
                let Some(sb) = me.upgrade() else { break };
                let Some(desk) = sb.videomail.as_ref() else {
                    break;
                };
                let before = crate::store::now_ms() - days * 86_400_000;
                match sb.store.expire_videomails(before).await {
                    Ok(ids) => {
                        for id in &ids {
                            desk.remove(id).await;
                        }
                        if !ids.is_empty() {
                            tracing::info!(
                                deleted = ids.len(),
                                "videomail past retention; deleted"
                            );
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "videomail retention failed"),
                }
            }
        });
    }

    /// The videomail desk, when videomail is on.
    pub fn videomail(&self) -> Option<&Desk> {
        self.videomail.as_ref()
    }
}
