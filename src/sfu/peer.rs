//! Building one server-side peer connection: codecs, interceptors, ICE settings, bound port,
//! and an event handler that passes webrtc-rs callbacks on as [`PeerEvent`]s.

use crate::sfu::codec::media_engine;
use crate::sfu::error::SfuError;
use crate::sfu::settings::MediaConfig;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::sansio::Protocol;
use rtc::shared::error::Error as RtcError;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    register_default_interceptors, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionState, Registry, SettingEngineBuilder,
};

/// What a connection reports to whoever owns it.
pub enum PeerEvent {
    /// The far end started sending a track.
    Track(Arc<dyn TrackRemote>),
    /// The connection changed state.
    State(RTCPeerConnectionState),
}

/// Where a connection's events go (called on webrtc-rs's tasks: it must not block).
pub type PeerEvents = Arc<dyn Fn(PeerEvent) + Send + Sync>;

/// Everything needed to build a peer connection for one participant.
pub struct PeerSpec<'a> {
    /// Transport settings.
    pub media: &'a MediaConfig,
    /// Port to bind.
    pub port: u16,
    /// Where its events go.
    pub events: PeerEvents,
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
    let handler = Arc::new(Handler {
        events: spec.events,
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

/// Passes webrtc-rs callbacks on; the room actor owns all state.
struct Handler {
    events: PeerEvents,
    gathered: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        (self.events)(PeerEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        (self.events)(PeerEvent::Track(track));
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
