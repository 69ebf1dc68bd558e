//! Publishing and subscribing: a participant's track becomes a fanout, every other member who
//! receives gets a subscription to it, and spoken audio is captioned.

use super::{Member, Room, RoomCaptions, Subscription};
use crate::captions::live::Speaker;
use crate::sfu::forward::{self, Fanout, SUBSCRIBER_QUEUE};
use crate::sfu::peer::{self, Codec};
use crate::sfu::{participant_id, RoomKind, SfuError};
use crate::signal::{Role, SessionId};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;

impl Room {
    pub(super) async fn subscribe(
        &self,
        member: &mut Member,
        session: SessionId,
        fanout: &Arc<Fanout>,
    ) -> Result<(), SfuError> {
        let ssrc: u32 = rand::random();
        let pt = fanout.codec.payload_type();
        let kind_name = match fanout.kind {
            RtpCodecKind::Audio => "audio",
            _ => "video",
        };
        let stream = participant_id(fanout.publisher);
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            stream.clone(),
            format!("{stream}-{kind_name}"),
            format!("{stream}-{kind_name}"),
            fanout.kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                active: true,
                codec: peer::codec_for(fanout.codec),
                ..Default::default()
            }],
        )));
        let transceiver = member
            .pc
            .add_transceiver_from_track(
                track.clone(),
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    streams: vec![stream],
                    ..Default::default()
                }),
            )
            .await?;
        // Only the publisher's codec is offered on this m-line: a browser that cannot decode it
        // rejects the line instead of accepting packets it cannot play.
        transceiver
            .set_codec_preferences(vec![fanout.codec.params()])
            .await?;
        let Some(sender) = transceiver.sender().await? else {
            return Ok(());
        };
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        fanout.add_subscriber(session, tx);
        let stats = self.shared.stats.clone();
        let ready = Arc::new(AtomicBool::new(false));
        let payload_type = Arc::new(AtomicU8::new(pt));
        member.subs.push(Subscription {
            publisher: fanout.publisher,
            payload_type: payload_type.clone(),
            ready: ready.clone(),
            fanout: Arc::downgrade(fanout),
            sender,
            writer: forward::spawn_writer(track.clone(), ssrc, payload_type, ready, rx, stats),
            feedback: forward::spawn_feedback(track, fanout.clone()),
        });
        member.needs_offer = true;
        Ok(())
    }

    pub(super) async fn publish(&mut self, session: SessionId, track: Arc<dyn TrackRemote>) {
        if !self.members.contains_key(&session) {
            return;
        }
        let kind = track.kind().await;
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            return;
        };
        let negotiated = track.codec(ssrc).await;
        let Some(codec) = negotiated
            .as_ref()
            .and_then(|c| Codec::from_mime(&c.mime_type))
            .or(match kind {
                RtpCodecKind::Audio => Some(Codec::Opus),
                RtpCodecKind::Video => Some(Codec::Vp8),
                _ => None,
            })
        else {
            return;
        };
        let fanout = Fanout::start(session, codec, track, ssrc, self.shared.stats.clone());
        tracing::info!(call = self.call, session, ?kind, "track published");
        if kind == RtpCodecKind::Audio {
            self.caption(session, &fanout);
        }
        let others: Vec<SessionId> = self
            .members
            .iter()
            .filter(|(s, m)| **s != session && m.receives())
            .map(|(s, _)| *s)
            .collect();
        for other in others {
            let Some(mut m) = self.members.remove(&other) else {
                continue;
            };
            if let Err(e) = self.subscribe(&mut m, other, &fanout).await {
                tracing::warn!(error = %e, "could not forward a track to a participant");
            }
            self.members.insert(other, m);
            self.negotiate(other).await;
        }
        if let Some(m) = self.members.get_mut(&session) {
            m.published.push(fanout);
        }
    }

    /// Starts captioning a published audio track: everyone who speaks in a call, the
    /// broadcaster at an event.
    fn caption(&self, session: SessionId, fanout: &Arc<Fanout>) {
        let (Some(live), Some(m)) = (&self.shared.captions, self.members.get(&session)) else {
            return;
        };
        let speaker = Speaker {
            id: m.pid.clone(),
            role: m.role,
            name: m.name.clone(),
        };
        let stream = match &self.kind {
            RoomKind::Call => {
                live.start(speaker, None, &[], Arc::new(RoomCaptions(self.me.clone())))
            }
            RoomKind::Event {
                sink,
                lang,
                hotwords,
            } if m.role == Role::Broadcaster => {
                live.start(speaker, Some(*lang), hotwords, sink.clone())
            }
            RoomKind::Event { .. } => return,
        };
        fanout.set_tap(stream);
    }
}
