//! Publishing and subscribing: a peer's track becomes a fanout, every other peer who
//! receives gets a subscription to it, and published audio goes to the owner's tap if it
//! wants one.

use super::member::{Member, Subscription};
use super::Room;
use crate::sfu::codec::{codec_for, Codec};
use crate::sfu::error::SfuError;
use crate::sfu::forward::{self, Fanout, SUBSCRIBER_QUEUE};
use crate::sfu::ids::PeerId;
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
        fanout: &Arc<Fanout>,
    ) -> Result<(), SfuError> {
        let ssrc: u32 = rand::random();
        let pt = fanout.codec.payload_type();
        let kind_name = match fanout.kind {
            RtpCodecKind::Audio => "audio",
            _ => "video",
        };
        let stream = fanout.publisher.to_string();
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
                codec: codec_for(fanout.codec),
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
        fanout.add_subscriber(member.peer, tx);
        let stats = self.shared.stats.clone();
        let ready = Arc::new(AtomicBool::new(false));
        let payload_type = Arc::new(AtomicU8::new(pt));
        let id = member.sub_id();
        member.negotiation.add(id);
        member.subs.push(Subscription {
            id,
            publisher: fanout.publisher,
            payload_type: payload_type.clone(),
            ready: ready.clone(),
            fanout: Arc::downgrade(fanout),
            sender,
            writer: forward::spawn_writer(track.clone(), ssrc, payload_type, ready, rx, stats),
            feedback: forward::spawn_feedback(track, fanout.clone()),
        });
        Ok(())
    }

    pub(super) async fn publish(&mut self, peer: PeerId, track: Arc<dyn TrackRemote>) {
        if !self.members.contains_key(&peer) {
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
        let fanout = Fanout::start(peer, codec, track, ssrc, self.shared.stats.clone());
        tracing::info!(room = %self.id, %peer, ?kind, "track published");
        let tap = match kind {
            RtpCodecKind::Audio => self.shared.hooks.audio_tap(self.id, peer),
            RtpCodecKind::Video => self.shared.hooks.video_tap(self.id, peer),
            _ => None,
        };
        if let Some(tap) = tap {
            fanout.set_tap(tap);
        }
        let others: Vec<PeerId> = self
            .members
            .iter()
            .filter(|(s, m)| **s != peer && m.receives())
            .map(|(s, _)| *s)
            .collect();
        for other in others {
            let Some(mut m) = self.members.remove(&other) else {
                continue;
            };
            if let Err(e) = self.subscribe(&mut m, &fanout).await {
                tracing::warn!(error = %e, "could not forward a track to a participant");
            }
            self.members.insert(other, m);
            self.negotiate(other).await;
        }
        if let Some(m) = self.members.get_mut(&peer) {
            m.published.push(fanout);
        }
        self.admit_waiting().await;
    }
}
