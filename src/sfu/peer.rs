//! Building one server-side peer connection: codecs, interceptors, ICE settings, bound port,
//! and an event handler that turns webrtc-rs callbacks into room commands.

use super::room::RoomCmd;
use super::SfuError;
use crate::config::MediaConfig;
use crate::signal::SessionId;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::error::Error as RtcError;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionState, Registry, SettingEngineBuilder,
};

/// Payload type of Opus in every offer we make.
pub const OPUS_PT: u8 = 111;
/// Payload type of VP8 in every offer we make.
pub const VP8_PT: u8 = 96;
/// Payload type of H.264 (constrained baseline, packetization mode 1) in every offer we make.
pub const H264_PT: u8 = 102;

/// The codecs this SFU forwards, with fixed payload types. Because the server makes every
/// offer, every leg it offers uses these numbers and forwarded packets only need their payload
/// type set. Browsers publish VP8; H.264 is there for encoders such as OBS, whose WHIP output is
/// H.264 only, and is passed through untouched to viewers whose browsers decode it. No RTX:
/// Chromium then retransmits NACKed packets on the main SSRC, which the forwarder passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Opus audio.
    Opus,
    /// VP8 video.
    Vp8,
    /// H.264 video.
    H264,
}

impl Codec {
    /// All of them, in order of preference within a kind.
    pub const ALL: [Codec; 3] = [Codec::Opus, Codec::Vp8, Codec::H264];

    /// By MIME type (case-insensitive), if forwarded.
    pub fn from_mime(mime: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|c| c.params().rtp_codec.mime_type.eq_ignore_ascii_case(mime))
    }

    /// Audio or video.
    pub fn kind(self) -> RtpCodecKind {
        match self {
            Codec::Opus => RtpCodecKind::Audio,
            _ => RtpCodecKind::Video,
        }
    }

    /// Payload type in our offers.
    pub fn payload_type(self) -> u8 {
        self.params().payload_type
    }

    /// Full codec parameters.
    pub fn params(self) -> RTCRtpCodecParameters {
        let fb = |typ: &str, parameter: &str| RTCPFeedback {
            typ: typ.to_owned(),
            parameter: parameter.to_owned(),
        };
        let video_fb = vec![fb("ccm", "fir"), fb("nack", ""), fb("nack", "pli")];
        let (mime, clock_rate, channels, fmtp, rtcp_feedback, payload_type) = match self {
            Codec::Opus => (
                MIME_TYPE_OPUS,
                48000,
                2,
                "minptime=10;useinbandfec=1",
                vec![],
                OPUS_PT,
            ),
            Codec::Vp8 => (MIME_TYPE_VP8, 90000, 0, "", video_fb, VP8_PT),
            Codec::H264 => (
                MIME_TYPE_H264,
                90000,
                0,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                video_fb,
                H264_PT,
            ),
        };
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: mime.to_owned(),
                clock_rate,
                channels,
                sdp_fmtp_line: fmtp.to_owned(),
                rtcp_feedback,
            },
            payload_type,
        }
    }
}

/// A media engine with exactly the forwarded codecs.
pub fn media_engine() -> Result<MediaEngine, SfuError> {
    let mut me = MediaEngine::default();
    for c in Codec::ALL {
        me.register_codec(c.params(), c.kind())?;
    }
    Ok(me)
}

/// Codec description of a forwarded track (as our outgoing tracks declare it).
pub fn codec_for(codec: Codec) -> RTCRtpCodec {
    let mut c = codec.params().rtp_codec;
    // Feedback is negotiated per leg; the track itself declares none.
    c.rtcp_feedback.clear();
    c
}

/// Everything needed to build a peer connection for one participant.
pub struct PeerSpec<'a> {
    /// Transport settings.
    pub media: &'a MediaConfig,
    /// Port to bind.
    pub port: u16,
    /// Where events go.
    pub room: mpsc::UnboundedSender<RoomCmd>,
    /// Whose connection this is.
    pub session: SessionId,
}

/// A built connection and a way to wait for its candidates.
pub struct BuiltPeer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    /// Becomes true when ICE gathering completes.
    pub gathered: watch::Receiver<bool>,
}

/// Builds a peer connection bound to `spec.port`.
pub async fn build(spec: PeerSpec<'_>) -> Result<BuiltPeer, SfuError> {
    let mut me = media_engine()?;
    let registry = register_default_interceptors(Registry::new(), &mut me)?;
    // Last in the chain, after the interceptors that consume RTCP, so keyframe requests from
    // subscribers reach the forwarder (which asks the publisher).
    let registry = registry.with(Slot::from(14_000), KeyframeRequestFilter::default());
    let ice_servers = spec
        .media
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect();
    let settings = SettingEngineBuilder::new()
        // mDNS needs a multicast interface servers often lack, and hides nothing on a server.
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(spec.media.bind_ip.is_loopback())
        .with_ice_timeouts(
            Some(Duration::from_secs(spec.media.ice_disconnected_secs)),
            Some(Duration::from_secs(spec.media.ice_failed_secs)),
            Some(Duration::from_secs(1)),
        )
        // The server is the controlling agent (it offers): checking every 50 ms instead of
        // 200 ms lets a call's media start about 200 ms sooner; 28 tries keep the 1.4 s budget.
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(28))
        .build();
    let (gtx, grx) = watch::channel(false);
    let handler = Arc::new(PeerEvents {
        room: spec.room,
        session: spec.session,
        gathered: gtx,
    });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(ice_servers)
                .build(),
        )
        .with_media_engine(me)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![std::net::SocketAddr::new(
            spec.media.bind_ip,
            spec.port,
        )])
        .build()
        .await?;
    Ok(BuiltPeer {
        pc: Arc::new(pc),
        gathered: grx,
    })
}

/// Forwards webrtc-rs callbacks to the room actor, which owns all state.
struct PeerEvents {
    room: mpsc::UnboundedSender<RoomCmd>,
    session: SessionId,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.room.send(RoomCmd::PcState {
            session: self.session,
            state,
        });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.room.send(RoomCmd::Track {
            session: self.session,
            track,
        });
    }
}

/// Lets keyframe requests (PLI, FIR) through to the application and stops all other inbound
/// RTCP at the end of the interceptor chain, where it has already been acted on.
#[derive(Default)]
struct KeyframeRequestFilter {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

fn is_keyframe_request(p: &dyn rtc::rtcp::Packet) -> bool {
    let any = p.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestFilter {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = RtcError;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let wanted: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| is_keyframe_request(p.as_ref()))
                .cloned()
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(wanted);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequestFilter {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
