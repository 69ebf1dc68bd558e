//! Packet forwarding: one reader per published track fans packets out to one bounded queue per
//! subscriber, and one writer per subscriber drains its queue. A slow subscriber loses its own
//! packets (counted) and never slows the publisher or anyone else.

use crate::sfu::codec::Codec;
use crate::sfu::ids::PeerId;
use crate::sfu::output::MediaTap;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

/// Packets a subscriber may have queued before new ones are dropped for it (~1 s of video).
pub const SUBSCRIBER_QUEUE: usize = 256;
/// Keyframe requests to one publisher are merged within this window: a burst of joins or
/// decoder errors costs one keyframe, not one each.
const PLI_MIN_INTERVAL: Duration = Duration::from_millis(300);

/// Process-wide forwarding counters (for `/metrics` and the benchmark).
#[derive(Debug, Default)]
pub struct SfuStats {
    /// RTP packets received from publishers.
    pub rtp_in: AtomicU64,
    /// RTP packets handed to subscribers' connections.
    pub rtp_out: AtomicU64,
    /// Packets dropped because a subscriber's queue was full.
    pub rtp_dropped: AtomicU64,
    /// Packets a subscriber's connection refused (not yet negotiated, closing).
    pub rtp_write_errors: AtomicU64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests: AtomicU64,
    /// Live peer connections.
    pub peers: AtomicU64,
}

/// One published track and the queues of everyone receiving it.
pub struct Fanout {
    /// Who publishes it.
    pub publisher: PeerId,
    /// Audio or video.
    pub kind: RtpCodecKind,
    /// What the publisher sends; subscribers are offered exactly this.
    pub codec: Codec,
    track: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    /// Where each packet goes; one lock for all of it, taken once per packet.
    targets: RwLock<Targets>,
    last_keyframe_request: Mutex<Option<Instant>>,
    stats: Arc<SfuStats>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Targets {
    subscribers: Vec<(PeerId, mpsc::Sender<rtp::Packet>)>,
    /// The owner's copy (captioned audio, recorded media); dropping it ends the tap.
    tap: Option<Box<dyn MediaTap>>,
}

impl Fanout {
    /// Starts reading `track` and forwarding its packets.
    pub fn start(
        publisher: PeerId,
        codec: Codec,
        track: Arc<dyn TrackRemote>,
        media_ssrc: u32,
        stats: Arc<SfuStats>,
    ) -> Arc<Self> {
        let f = Arc::new(Self {
            publisher,
            kind: codec.kind(),
            codec,
            track,
            media_ssrc,
            targets: RwLock::new(Targets::default()),
            last_keyframe_request: Mutex::new(None),
            stats,
            reader: Mutex::new(None),
        });
        let weak = Arc::downgrade(&f);
        let track = f.track.clone();
        let handle = tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(p) => {
                        let Some(f) = weak.upgrade() else { break };
                        f.forward(p);
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
        *f.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        f
    }

    fn forward(&self, p: rtp::Packet) {
        self.stats.rtp_in.fetch_add(1, Ordering::Relaxed);
        let targets = self.targets.read().unwrap_or_else(|p| p.into_inner());
        for (_, tx) in &targets.subscribers {
            // The payload is reference-counted: a clone per subscriber copies only the header.
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(p.clone()) {
                self.stats.rtp_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(tap) = &targets.tap {
            tap.feed(p);
            if tap.wants_keyframe() {
                self.request_keyframe();
            }
        }
    }

    /// Sends a copy of every packet to `tap` (dropped when the fanout stops).
    pub fn set_tap(&self, tap: Box<dyn MediaTap>) {
        self.targets.write().unwrap_or_else(|p| p.into_inner()).tap = Some(tap);
    }

    /// Adds a subscriber's queue.
    pub fn add_subscriber(&self, peer: PeerId, tx: mpsc::Sender<rtp::Packet>) {
        let mut t = self.targets.write().unwrap_or_else(|p| p.into_inner());
        t.subscribers.retain(|(s, _)| *s != peer);
        t.subscribers.push((peer, tx));
    }

    /// Removes a subscriber's queue; its writer then ends.
    pub fn remove_subscriber(&self, peer: PeerId) {
        let mut t = self.targets.write().unwrap_or_else(|p| p.into_inner());
        t.subscribers.retain(|(s, _)| *s != peer);
    }

    /// Asks the publisher for a keyframe (video only, rate-limited).
    pub fn request_keyframe(&self) {
        if self.kind != RtpCodecKind::Video {
            return;
        }
        {
            let mut last = self
                .last_keyframe_request
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < PLI_MIN_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        self.stats.keyframe_requests.fetch_add(1, Ordering::Relaxed);
        let track = self.track.clone();
        let media_ssrc = self.media_ssrc;
        tokio::spawn(async move {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                tracing::debug!(error = %e, "keyframe request not sent");
            }
        });
    }

    /// Stops reading the publisher's track.
    pub fn stop(&self) {
        if let Some(h) = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take() {
            h.abort();
        }
        // Dropping the queues ends the writers, and dropping the tap ends it.
        *self.targets.write().unwrap_or_else(|p| p.into_inner()) = Targets::default();
    }
}

/// Writes one subscriber's queued packets into its outgoing track, with the SSRC and payload
/// type that subscriber's connection negotiated (a mismatch is silently dropped by webrtc-rs).
///
/// Nothing is sent until `ready` is set (the subscriber has answered the offer that announced
/// this SSRC): Chromium binds an unknown SSRC to whichever m-line first matches it, and a later
/// offer that puts the SSRC elsewhere is then refused ("Failed to apply demuxer criteria").
pub fn spawn_writer(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: Arc<AtomicU8>,
    ready: Arc<AtomicBool>,
    mut rx: mpsc::Receiver<rtp::Packet>,
    stats: Arc<SfuStats>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(mut p) = rx.recv().await {
            if !ready.load(Ordering::Acquire) {
                continue;
            }
            p.header.ssrc = ssrc;
            // Our offers fix the number; a WHEP player's offer may use another one.
            p.header.payload_type = payload_type.load(Ordering::Relaxed);
            // The publisher's header extensions use its own leg's ids and name its own MID;
            // forwarded as-is they would steer the subscriber's demuxer to the wrong m-line.
            p.header.extension = false;
            p.header.extensions.clear();
            p.header.extension_profile = 0;
            match track.write_rtp(p).await {
                Ok(()) => stats.rtp_out.fetch_add(1, Ordering::Relaxed),
                Err(_) => stats.rtp_write_errors.fetch_add(1, Ordering::Relaxed),
            };
        }
    })
}

/// Passes a subscriber's keyframe requests for this track up to its publisher.
pub fn spawn_feedback(track: Arc<TrackLocalStaticRTP>, fanout: Arc<Fanout>) -> JoinHandle<()> {
    let weak = Arc::downgrade(&fanout);
    drop(fanout);
    tokio::spawn(async move {
        while let Some(ev) = track.poll().await {
            if let TrackLocalEvent::OnRtcpPacket(pkts) = ev {
                let wants_keyframe = pkts.iter().any(|p| {
                    let any = p.as_any();
                    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
                });
                match weak.upgrade() {
                    Some(f) if wants_keyframe => f.request_keyframe(),
                    Some(_) => {}
                    None => break,
                }
            }
        }
    })
}
