//! A WHIP encoder (RFC 9725) as OBS would act: offer with every candidate, POST it with a bearer
//! token, apply the answer, publish; DELETE the resource to stop. Its microphone is a speech
//! clip, encoded to Opus in real time; its camera sends VP8-sized packets.

use super::http::request;
use super::{client_peer, local_track, packet, ClientError, Counters};
use bytes::Bytes;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use signrelay::sfu::{Codec, OPUS_PT};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

/// Offers with every candidate to `path` (WHIP or WHEP), applies the answer of the `201` and
/// returns the session's resource (its `Location`).
async fn offer_to(
    pc: &Arc<dyn PeerConnection>,
    mut gathered: watch::Receiver<bool>,
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
) -> Result<String, ClientError> {
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer).await?;
    let _ = tokio::time::timeout(Duration::from_secs(3), gathered.wait_for(|d| *d)).await;
    let sdp = pc
        .local_description()
        .await
        .ok_or_else(|| ClientError::Timeout("local description".into()))?
        .sdp;
    let mut headers = vec![("Content-Type", "application/sdp")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    let res = request(addr, "POST", path, &headers, sdp.as_bytes()).await?;
    if res.status != 201 {
        return Err(ClientError::Http(format!(
            "POST {path} answered {}: {}",
            res.status, res.body
        )));
    }
    let resource = res
        .header("location")
        .ok_or_else(|| ClientError::Http("201 without Location".into()))?
        .to_owned();
    pc.set_remote_description(RTCSessionDescription::answer(res.body)?)
        .await?;
    Ok(resource)
}

/// 20 ms of 16 kHz audio: one Opus frame.
const FRAME: usize = 320;

/// A connected encoder.
pub struct WhipPublisher {
    addr: SocketAddr,
    token: String,
    /// The session's resource path (the `Location` of the 201).
    pub resource: String,
    pc: Arc<dyn PeerConnection>,
    audio: (Arc<TrackLocalStaticRTP>, u32),
    video: (Arc<TrackLocalStaticRTP>, u32),
    video_pt: u8,
}

impl WhipPublisher {
    /// Offers to `POST /whip/{event}` with `token` and applies the answer; video is offered
    /// in `video` only (OBS offers H.264 alone).
    pub async fn publish(
        addr: SocketAddr,
        event: &str,
        token: &str,
        video_codec: Codec,
    ) -> Result<Self, ClientError> {
        let (pc, gathered) = client_peer(Arc::new(Counters::default())).await?;
        let (assrc, vssrc): (u32, u32) = (rand::random(), rand::random());
        let audio = (local_track(Codec::Opus, assrc), assrc);
        let video = (local_track(video_codec, vssrc), vssrc);
        for (track, codec) in [(&audio.0, Codec::Opus), (&video.0, video_codec)] {
            let t = pc
                .add_transceiver_from_track(
                    track.clone() as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendonly,
                        ..Default::default()
                    }),
                )
                .await?;
            t.set_codec_preferences(vec![codec.params()]).await?;
        }
        let auth = format!("Bearer {token}");
        let resource =
            offer_to(&pc, gathered, addr, &format!("/whip/{event}"), Some(&auth)).await?;
        Ok(Self {
            addr,
            token: token.to_owned(),
            resource,
            pc,
            audio,
            video,
            video_pt: video_codec.payload_type(),
        })
    }

    /// Sends `pcm` (16 kHz mono) as Opus at real-time pace, with 15 video frames a second
    /// beside it; then keeps sending silence until the task is aborted, as a live microphone
    /// would.
    pub fn stream(&self, pcm: Vec<f32>) -> tokio::task::JoinHandle<()> {
        let ((audio, assrc), (video, vssrc)) = (self.audio.clone(), self.video.clone());
        let video_pt = self.video_pt;
        tokio::spawn(async move {
            let mut enc =
                match opus::Encoder::new(16_000, opus::Channels::Mono, opus::Application::Voip) {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::error!(error = %e, "no opus encoder");
                        return;
                    }
                };
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let silence = [0.0f32; FRAME];
            let video_payload = Bytes::from(vec![0x10u8; 1000]);
            let (mut aseq, mut vseq) = (0u16, 0u16);
            for n in 0u64.. {
                tick.tick().await;
                let at = n as usize * FRAME;
                let frame = pcm.get(at..at + FRAME).unwrap_or(&silence);
                let Ok(payload) = enc.encode_vec_float(frame, 1500) else {
                    continue;
                };
                aseq = aseq.wrapping_add(1);
                let a = packet(
                    OPUS_PT,
                    assrc,
                    aseq,
                    (n * 960) as u32,
                    false,
                    payload.into(),
                );
                let _ = audio.write_rtp(a).await;
                if n % 3 == 0 {
                    vseq = vseq.wrapping_add(1);
                    let v = packet(
                        video_pt,
                        vssrc,
                        vseq,
                        (n * 1800) as u32,
                        true,
                        video_payload.clone(),
                    );
                    let _ = video.write_rtp(v).await;
                }
            }
        })
    }

    /// Ends the session with `DELETE` on its resource; returns the HTTP status.
    pub async fn stop(&self) -> Result<u16, ClientError> {
        let auth = format!("Bearer {}", self.token);
        let res = request(
            self.addr,
            "DELETE",
            &self.resource,
            &[("Authorization", &auth)],
            b"",
        )
        .await?;
        let _ = self.pc.close().await;
        Ok(res.status)
    }
}

/// A WHEP player: offers to receive audio and video, counts what arrives.
pub struct WhepPlayer {
    addr: SocketAddr,
    /// The session's resource path.
    pub resource: String,
    /// Packets received.
    pub counters: Arc<Counters>,
    pc: Arc<dyn PeerConnection>,
}

impl WhepPlayer {
    /// Offers to `POST /whep/{event}` and applies the answer.
    pub async fn play(addr: SocketAddr, event: &str) -> Result<Self, ClientError> {
        let counters = Arc::new(Counters::default());
        let (pc, gathered) = client_peer(counters.clone()).await?;
        for kind in [Codec::Opus.kind(), Codec::Vp8.kind()] {
            pc.add_transceiver_from_kind(
                kind,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    ..Default::default()
                }),
            )
            .await?;
        }
        let resource = offer_to(&pc, gathered, addr, &format!("/whep/{event}"), None).await?;
        Ok(Self {
            addr,
            resource,
            counters,
            pc,
        })
    }

    /// Ends the session with `DELETE`; returns the HTTP status.
    pub async fn stop(&self) -> Result<u16, ClientError> {
        let res = request(self.addr, "DELETE", &self.resource, &[], b"").await?;
        let _ = self.pc.close().await;
        Ok(res.status)
    }
}
